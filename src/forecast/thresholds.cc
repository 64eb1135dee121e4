#include "flopline/forecast/thresholds.h"

#include <fmt/format.h>

namespace flopline::forecast {

std::vector<Threshold> ThresholdsFromRegimes(const std::vector<rules::Regime>& regimes, core::Date date) {
  std::vector<Threshold> out;
  for (const rules::Regime& r : regimes) {
    for (const rules::Line& line : r.lines) {
      Threshold t;
      t.regime = r.id;
      t.name = line.name;
      t.note = r.note;
      t.flop = r.StatutoryValue(line.flop_param, date);
      const rules::Parameter& flop = r.params[static_cast<std::size_t>(r.ParamIndex(line.flop_param))];
      t.cite = flop.cite;
      if (!line.cost_param.empty()) {
        const rules::Parameter& cost = r.params[static_cast<std::size_t>(r.ParamIndex(line.cost_param))];
        t.cost_usd = r.StatutoryValue(line.cost_param, date);
        t.cpi_indexed_from = cost.cpi_indexed_from;
        t.cite = fmt::format("{}; {}", flop.cite, cost.cite);
      }
      out.push_back(std::move(t));
    }
  }
  return out;
}

}  // namespace flopline::forecast
