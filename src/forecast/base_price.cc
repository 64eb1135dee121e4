#include "flopline/forecast/base_price.h"

#include <fmt/format.h>

#include "flopline/core/format.h"

namespace flopline::forecast {

core::Result<BasePrice> BasePricePerFlop(const compute::AcceleratorTable& accelerators,
                                         const compute::PriceTable& prices,
                                         const std::string& accelerator, int year,
                                         const Spread& utilization) {
  FL_ASSIGN_OR_RETURN(const compute::Accelerator* a, accelerators.Find(accelerator));
  FL_ASSIGN_OR_RETURN(core::FlopPerSecond peak, accelerators.Peak(*a, ""));
  auto row = prices.At(a->id, core::Date::FromYmd(year, 1, 1));
  if (!row) {
    core::Error error = row.error();
    error.message += "; or give --usd-per-flop";
    return tl::unexpected(error);
  }
  const double per_second = peak.value() * 3600.0;
  BasePrice out;
  out.usd_per_flop = {(*row)->low / (per_second * utilization.high),
                      (*row)->typical / (per_second * utilization.point),
                      (*row)->high / (per_second * utilization.low)};
  out.detail = fmt::format(
      "{} on {}-01-01: ${:.2f} / ${:.2f} / ${:.2f} per hour (data/cloud-prices.toml row from {}) at {} "
      "{} peak and {} / {} / {} utilization",
      a->id, year, (*row)->low, (*row)->typical, (*row)->high, (*row)->from.ToString(),
      core::Sci3(peak.value()), a->default_precision, core::Percent(utilization.high, 0),
      core::Percent(utilization.point, 0), core::Percent(utilization.low, 0));
  return out;
}

}  // namespace flopline::forecast
