#include "flopline/forecast/projection.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include <fmt/format.h>

namespace flopline::forecast {
namespace {

using core::Result;

// Draws from spreads with a generator whose output the C++ standard fixes (mt19937_64), turning
// bits into a uniform double by hand: the distributions of <random> differ between libraries, and
// a fixed seed must give the same percentiles everywhere.
class Sampler {
 public:
  explicit Sampler(std::uint64_t seed) : rng_(seed) {}
  double Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  double Draw(const Spread& s) { return s.IsPoint() ? s.point : s.Quantile(Uniform()); }

 private:
  std::mt19937_64 rng_;
};

// Linear interpolation between order statistics (type 7), computed with successive nth_element
// calls on shrinking ranges instead of a full sort.
Percentiles PercentilesOf(std::vector<double>& values) {
  const std::size_t n = values.size();
  Percentiles out;
  double* slots[] = {&out.p5, &out.p50, &out.p95};
  const double qs[] = {0.05, 0.50, 0.95};
  auto begin = values.begin();
  for (int i = 0; i < 3; ++i) {
    double position = qs[i] * static_cast<double>(n - 1);
    auto k = static_cast<std::size_t>(std::floor(position));
    std::nth_element(begin, values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    double lower = values[k];
    double upper = lower;
    if (k + 1 < n) upper = *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(k) + 1, values.end());
    *slots[i] = lower + (position - static_cast<double>(k)) * (upper - lower);
    begin = values.begin() + static_cast<std::ptrdiff_t>(k);
  }
  return out;
}

// Runs `draw` once per sample; it fills one value per column. Returns each column's percentiles.
std::vector<Percentiles> Sample(const MonteCarlo& mc, std::size_t columns,
                                const std::function<void(Sampler&, double*)>& draw) {
  const auto n = static_cast<std::size_t>(mc.samples);
  std::vector<std::vector<double>> by_column(columns, std::vector<double>(n));
  std::vector<double> row(columns);
  Sampler sampler(mc.seed);
  for (std::size_t s = 0; s < n; ++s) {
    draw(sampler, row.data());
    for (std::size_t c = 0; c < columns; ++c) by_column[c][s] = row[c];
  }
  std::vector<Percentiles> out;
  out.reserve(columns);
  for (auto& column : by_column) out.push_back(PercentilesOf(column));
  return out;
}

// Every value of the spread must be in (0, max], or in [0, max] when zero is meaningful (a CPI
// rate of zero is no inflation; a halving time of zero is nonsense).
Result<void> CheckSpread(const Spread& s, const char* field, double max = 1e300, bool allow_zero = false) {
  const bool low_ok = allow_zero ? s.low >= 0 : s.low > 0;
  if (!(low_ok && s.low <= s.point && s.point <= s.high && s.high <= max && std::isfinite(s.high))) {
    return core::InvalidArgument(
        fmt::format("must be {}{}, with low <= point <= high; got {} / {} / {}",
                    allow_zero ? "zero or more" : "positive",
                    max < 1e300 ? fmt::format(" and at most {}", max) : "", s.low, s.point, s.high),
        field);
  }
  return core::Ok();
}

Result<void> CheckMonteCarlo(const MonteCarlo& mc) {
  if (mc.samples < 0 || mc.samples > 100'000'000) {
    return core::InvalidArgument(fmt::format("must be between 0 and 100000000, got {}", mc.samples), "samples");
  }
  return core::Ok();
}

// The fractional year when cost0 * 2^(-(Y - base)/h) reaches `budget`; the base year if already below.
double CrossingYear(double cost0, double budget, int base_year, double halving_years) {
  if (cost0 <= budget) return base_year;
  return base_year + halving_years * std::log2(cost0 / budget);
}

}  // namespace

double HardwareFactor(double years, double halving_years) { return std::exp2(-years / halving_years); }

double AlgorithmicFactor(double years, double halving_months) {
  return std::exp2(-12.0 * years / halving_months);
}

double CombinedFactor(double years, double factor, double per_years) {
  return std::pow(factor, -years / per_years);
}

double IndexedAmount(double base_usd, int first_indexed_year, int year, double cpi_rate) {
  double amount = base_usd;
  for (int y = first_indexed_year; y <= year; ++y) amount = std::round(amount * (1.0 + cpi_rate) / 100.0) * 100.0;
  return amount;
}

Result<void> CheckYears(const std::vector<int>& years, int base_year, const char* field) {
  if (years.empty()) return core::InvalidArgument("the year range is empty", field);
  for (std::size_t i = 0; i < years.size(); ++i) {
    if (years[i] < 1900 || years[i] > 3000) {
      return core::InvalidArgument(fmt::format("year {} is outside 1900..3000", years[i]), field);
    }
    if (years[i] < base_year) {
      return core::InvalidArgument(fmt::format("year {} is before the base year {}", years[i], base_year), field);
    }
    if (i > 0 && years[i] <= years[i - 1]) {
      return core::InvalidArgument("years must be in ascending order, without repeats", field);
    }
  }
  return core::Ok();
}

Result<CostForecast> ForecastCost(const CostQuery& q) {
  if (!(q.flop > 0 && std::isfinite(q.flop))) return core::InvalidArgument("must be a positive number", "flop");
  FL_RETURN_IF_ERROR(CheckYears(q.years, q.base_year, "years"));
  FL_RETURN_IF_ERROR(CheckSpread(q.usd_per_flop, "usd_per_flop"));
  FL_RETURN_IF_ERROR(CheckSpread(q.hardware_halving_years, "hardware_halving_years"));
  FL_RETURN_IF_ERROR(CheckMonteCarlo(q.mc));
  for (double budget : q.budgets) {
    if (!(budget > 0 && std::isfinite(budget))) {
      return core::InvalidArgument(fmt::format("must be a positive amount, got {}", budget), "budget");
    }
  }
  CostForecast out;
  out.years = q.years;
  const double cost0 = q.flop * q.usd_per_flop.point;
  for (int year : q.years) {
    out.cost_usd.push_back({cost0 * HardwareFactor(year - q.base_year, q.hardware_halving_years.point), {}});
  }
  for (double budget : q.budgets) {
    BudgetCrossing c;
    c.budget_usd = budget;
    c.crossing_year.point = CrossingYear(cost0, budget, q.base_year, q.hardware_halving_years.point);
    c.first_year_below = cost0 < budget ? q.base_year : static_cast<int>(std::floor(c.crossing_year.point)) + 1;
    out.budgets.push_back(c);
  }
  if (q.mc.samples > 0) {
    const std::size_t n_years = q.years.size();
    auto ranges = Sample(q.mc, n_years + q.budgets.size(), [&](Sampler& s, double* row) {
      const double c0 = q.flop * s.Draw(q.usd_per_flop);
      const double h = s.Draw(q.hardware_halving_years);
      for (std::size_t i = 0; i < n_years; ++i) row[i] = c0 * HardwareFactor(q.years[i] - q.base_year, h);
      for (std::size_t b = 0; b < q.budgets.size(); ++b) {
        row[n_years + b] = CrossingYear(c0, q.budgets[b], q.base_year, h);
      }
    });
    for (std::size_t i = 0; i < n_years; ++i) out.cost_usd[i].range = ranges[i];
    for (std::size_t b = 0; b < q.budgets.size(); ++b) out.budgets[b].crossing_year.range = ranges[n_years + b];
  }
  return out;
}

Result<CapabilityForecast> ForecastCapability(const CapabilityQuery& q) {
  if (!(q.base_cost_usd > 0 && std::isfinite(q.base_cost_usd))) {
    return core::InvalidArgument("must be a positive amount", "base_cost_usd");
  }
  FL_RETURN_IF_ERROR(CheckYears(q.years, q.base_year, "years"));
  FL_RETURN_IF_ERROR(CheckSpread(q.hardware_halving_years, "hardware_halving_years"));
  FL_RETURN_IF_ERROR(CheckSpread(q.algorithmic_halving_months, "algorithmic_halving_months"));
  FL_RETURN_IF_ERROR(CheckMonteCarlo(q.mc));
  if (q.combined_factor && !(*q.combined_factor > 0 && q.combined_per_years > 0)) {
    return core::InvalidArgument("the combined factor and its period must be positive", "combined_factor");
  }
  CapabilityForecast out;
  out.years = q.years;
  for (int year : q.years) {
    const double dt = year - q.base_year;
    const double hw = HardwareFactor(dt, q.hardware_halving_years.point);
    const double algo = AlgorithmicFactor(dt, q.algorithmic_halving_months.point);
    out.hardware_only.push_back({q.base_cost_usd * hw, {}});
    out.algorithms_only.push_back({q.base_cost_usd * algo, {}});
    out.both.push_back({q.base_cost_usd * hw * algo, {}});
    if (q.combined_factor) {
      out.combined.push_back(q.base_cost_usd * CombinedFactor(dt, *q.combined_factor, q.combined_per_years));
    }
  }
  if (q.mc.samples > 0) {
    const std::size_t n = q.years.size();
    auto ranges = Sample(q.mc, 3 * n, [&](Sampler& s, double* row) {
      const double h = s.Draw(q.hardware_halving_years);
      const double m = s.Draw(q.algorithmic_halving_months);
      for (std::size_t i = 0; i < n; ++i) {
        const double dt = q.years[i] - q.base_year;
        const double hw = HardwareFactor(dt, h), algo = AlgorithmicFactor(dt, m);
        row[i] = q.base_cost_usd * hw;
        row[n + i] = q.base_cost_usd * algo;
        row[2 * n + i] = q.base_cost_usd * hw * algo;
      }
    });
    for (std::size_t i = 0; i < n; ++i) {
      out.hardware_only[i].range = ranges[i];
      out.algorithms_only[i].range = ranges[n + i];
      out.both[i].range = ranges[2 * n + i];
    }
  }
  return out;
}

Result<ThresholdForecast> ForecastThreshold(const ThresholdQuery& q) {
  FL_RETURN_IF_ERROR(CheckYears(q.years, q.base_year, "years"));
  FL_RETURN_IF_ERROR(CheckSpread(q.usd_per_flop, "usd_per_flop"));
  FL_RETURN_IF_ERROR(CheckSpread(q.hardware_halving_years, "hardware_halving_years"));
  FL_RETURN_IF_ERROR(CheckSpread(q.cpi_rate, "cpi_rate", 1.0, /*allow_zero=*/true));
  FL_RETURN_IF_ERROR(CheckSpread(q.frontier_growth_per_year, "frontier_growth_per_year"));
  if (q.frontier_growth_per_year.low <= 1 || !(q.frontier_base_flop > 0)) {
    return core::InvalidArgument("the frontier must grow (factor > 1) from a positive base", "frontier");
  }
  FL_RETURN_IF_ERROR(CheckMonteCarlo(q.mc));
  const Threshold& t = q.threshold;
  auto frontier_year = [&](double growth) {
    return q.frontier_base_year + std::log(t.flop / q.frontier_base_flop) / std::log(growth);
  };
  auto limit = [&](int year, double cpi) -> std::optional<double> {
    if (!t.cost_usd) return std::nullopt;
    if (!t.cpi_indexed_from) return *t.cost_usd;
    return IndexedAmount(*t.cost_usd, *t.cpi_indexed_from, year, cpi);
  };
  // The first year from the base year on whose FLOP-line cost is strictly below the cost limit,
  // stepping price and limit forward a year at a time (the limit as IndexedAmount computes it).
  // Hardware keeps getting cheaper faster than any plausible CPI, so it is found within 400 years;
  // if not, 400 years on stands for "not within any horizon that matters".
  auto binds_from = [&](double usd_per_flop, double h, double cpi) {
    const double yearly = HardwareFactor(1, h);
    double cost = t.flop * usd_per_flop;
    double cost_limit = limit(q.base_year - 1, cpi).value_or(0);
    for (int year = q.base_year; year < q.base_year + 400; ++year) {
      if (t.cpi_indexed_from && year >= *t.cpi_indexed_from) {
        cost_limit = std::round(cost_limit * (1.0 + cpi) / 100.0) * 100.0;
      }
      if (cost < cost_limit) return double(year);
      cost *= yearly;
    }
    return double(q.base_year + 400);
  };

  ThresholdForecast out;
  out.threshold = t;
  for (int year : q.years) {
    ThresholdYear y;
    y.year = year;
    const double price = q.usd_per_flop.point * HardwareFactor(year - q.base_year, q.hardware_halving_years.point);
    y.flop_cost_usd.point = t.flop * price;
    y.cost_limit_usd = limit(year, q.cpi_rate.point);
    y.cost_test_binds = y.cost_limit_usd && y.flop_cost_usd.point < *y.cost_limit_usd;
    // When the cost test binds, a covered model needs the compute the cost limit buys.
    y.effective_flop = y.cost_test_binds ? *y.cost_limit_usd / price : t.flop;
    y.frontier_flop = q.frontier_base_flop * std::pow(q.frontier_growth_per_year.point, year - q.frontier_base_year);
    out.years.push_back(y);
  }
  if (t.cost_usd) {
    out.cost_test_binds_from = Projected{binds_from(q.usd_per_flop.point, q.hardware_halving_years.point,
                                                    q.cpi_rate.point), {}};
  }
  out.frontier_reaches_line.point = frontier_year(q.frontier_growth_per_year.point);
  if (q.mc.samples > 0) {
    const std::size_t n = q.years.size();
    const std::size_t frontier = n, binds = n + 1;
    auto ranges = Sample(q.mc, n + (t.cost_usd ? 2 : 1), [&](Sampler& s, double* row) {
      const double p0 = s.Draw(q.usd_per_flop);
      const double h = s.Draw(q.hardware_halving_years);
      const double cpi = s.Draw(q.cpi_rate);
      for (std::size_t i = 0; i < n; ++i) row[i] = t.flop * p0 * HardwareFactor(q.years[i] - q.base_year, h);
      row[frontier] = frontier_year(s.Draw(q.frontier_growth_per_year));
      if (t.cost_usd) row[binds] = binds_from(p0, h, cpi);
    });
    for (std::size_t i = 0; i < n; ++i) out.years[i].flop_cost_usd.range = ranges[i];
    out.frontier_reaches_line.range = ranges[frontier];
    if (t.cost_usd) out.cost_test_binds_from->range = ranges[binds];
  }
  return out;
}

}  // namespace flopline::forecast
