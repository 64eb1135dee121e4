// File: flopline/forecast/trends.h
//
// The trend models behind `flopline forecast` (data/forecast-trends.toml): how fast the price of a
// FLOP falls, how fast algorithms need fewer FLOP for the same capability, how fast the CPI indexes
// the statutes' dollar amounts, and how fast the frontier grows. Each parameter is a Spread
// (low, point, high); projections use the point, the Monte Carlo draws over the spread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"

namespace flopline::forecast {

// A parameter with its uncertainty. Invariant: low <= point <= high.
struct Spread {
  double low = 0, point = 0, high = 0;

  static Spread Exactly(double value) { return {value, value, value}; }
  bool IsPoint() const { return low == high; }
  // The inverse CDF of the triangular distribution (low, point, high) at u in [0, 1).
  double Quantile(double u) const;
};

// A statutory compute line (built from regime files: thresholds.h).
struct Threshold {
  std::string regime;   // e.g. "ca-sb1047"
  std::string name;     // e.g. "covered model"
  double flop = 0;      // the compute line
  std::optional<double> cost_usd;        // a cost conjunct, if the statute has one
  std::optional<int> cpi_indexed_from;   // first year whose amount is CPI-adjusted
  std::string cite;
  std::string note;                      // the regime's one-line note (SB 1047: vetoed)
};

struct Trends {
  Spread hardware_halving_years;
  std::string hardware_source;
  std::string reference_accelerator;
  Spread utilization;
  Spread algorithmic_halving_months;
  std::string algorithmic_source;
  Spread cpi_rate;
  std::string cpi_source;
  int frontier_base_year = 0;
  double frontier_base_flop = 0;
  Spread frontier_growth_per_year;
  std::string frontier_source;
};

// Errors: unreadable file (kNotFound); bad TOML, unknown keys, missing or inconsistent values
// (kInvalidArgument at file:line with the field).
core::Result<Trends> LoadTrends(const std::string& path);
core::Result<Trends> ParseTrends(std::string_view text, const std::string& file);

}  // namespace flopline::forecast
