// File: flopline/forecast/projection.h
//
// Projections of what crossing a compute line costs over the years, each as a point (the trend
// parameters' point values) and, by Monte Carlo over their spreads, a median and 5th-95th
// percentiles. Pure functions of their inputs; the Monte Carlo is deterministic for a given seed.
//
//   cost:       what training `flop` FLOP costs in each year, and when it falls below budgets;
//   capability: what reaching the capability that cost $X in a base year costs later, through
//               cheaper hardware, better algorithms, both, or a stated combined factor;
//   threshold:  for a statutory line, the cost of its FLOP against its (CPI-indexed) cost test, and
//               from which year the cost test, not the FLOP line, decides who is covered.
//
// Year arithmetic: a cost "in year Y" is the cost of a run starting on January 1 of Y, i.e. after
// Y - base_year whole years of the trends.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/forecast/trends.h"

namespace flopline::forecast {

// Price-per-FLOP multiplier after `years` with a halving time of `halving_years`: 2^(-years/h).
double HardwareFactor(double years, double halving_years);
// Compute-for-fixed-capability multiplier after `years`, halving every `halving_months`.
double AlgorithmicFactor(double years, double halving_months);
// A stated combined improvement: `factor` cheaper every `per_years`: factor^(-years/per_years).
double CombinedFactor(double years, double factor, double per_years);
// SB 1047 §22602(e)(2): `base_usd` adjusted on January 1 of each year from `first_indexed_year` by
// the previous year's CPI change, "to the nearest one hundred dollars"; unadjusted before.
double IndexedAmount(double base_usd, int first_indexed_year, int year, double cpi_rate);

struct MonteCarlo {
  std::int64_t samples = 100000;  // 0: points only
  std::uint64_t seed = 1;
};

struct Percentiles {
  double p5 = 0, p50 = 0, p95 = 0;
};

// A projected quantity: its point value and, when sampled, its percentiles.
struct Projected {
  double point = 0;
  std::optional<Percentiles> range;
};

// ---- cost of a fixed amount of compute ----

struct CostQuery {
  double flop = 0;
  int base_year = 0;
  std::vector<int> years;
  Spread usd_per_flop;   // in base_year
  Spread hardware_halving_years;
  std::vector<double> budgets;
  MonteCarlo mc;
};

struct BudgetCrossing {
  double budget_usd = 0;
  Projected crossing_year;  // fractional: base_year + h * log2(cost / budget); base_year if already below
  int first_year_below = 0; // the first whole year whose cost is strictly below the budget (point)
};

struct CostForecast {
  std::vector<int> years;
  std::vector<Projected> cost_usd;  // one per year
  std::vector<BudgetCrossing> budgets;
};

core::Result<CostForecast> ForecastCost(const CostQuery& query);

// ---- cost of a fixed capability ----

struct CapabilityQuery {
  int base_year = 0;
  double base_cost_usd = 0;
  std::vector<int> years;
  Spread hardware_halving_years;
  Spread algorithmic_halving_months;
  std::optional<double> combined_factor;  // with combined_per_years: the debate's "50x every 5 years"
  double combined_per_years = 0;
  MonteCarlo mc;
};

struct CapabilityForecast {
  std::vector<int> years;
  std::vector<Projected> hardware_only, algorithms_only, both;  // USD, one per year
  std::vector<double> combined;                                   // USD, when a factor was given
};

core::Result<CapabilityForecast> ForecastCapability(const CapabilityQuery& query);

// ---- when a statutory definition binds ----

struct ThresholdQuery {
  Threshold threshold;
  int base_year = 0;
  std::vector<int> years;
  Spread usd_per_flop;  // in base_year
  Spread hardware_halving_years;
  Spread cpi_rate;
  // The frontier's largest training run: base_flop in frontier_base_year, growing by the spread.
  int frontier_base_year = 0;
  double frontier_base_flop = 0;
  Spread frontier_growth_per_year;
  MonteCarlo mc;
};

struct ThresholdYear {
  int year = 0;
  Projected flop_cost_usd;               // what the threshold's FLOP cost that year
  std::optional<double> cost_limit_usd;  // the cost test that year (point CPI rate)
  bool cost_test_binds = false;          // the FLOP line costs less than the cost test (point)
  double effective_flop = 0;             // the compute a covered model needs that year (point)
  double frontier_flop = 0;              // the largest training run that year (point growth)
};

struct ThresholdForecast {
  Threshold threshold;
  std::vector<ThresholdYear> years;
  // The first year the cost test binds: the FLOP line costs strictly less than the cost limit, so
  // models just above the line are excluded by cost. Absent for lines with no cost test.
  std::optional<Projected> cost_test_binds_from;
  // The fractional year the frontier's largest run reaches the FLOP line (before the base year if
  // it already had): frontier_base_year + log(flop / base_flop) / log(growth).
  Projected frontier_reaches_line;
};

core::Result<ThresholdForecast> ForecastThreshold(const ThresholdQuery& query);

// Validates a year list against a base year: non-empty, ascending, none before the base year,
// within 1900..3000. kInvalidArgument naming `field` otherwise.
core::Result<void> CheckYears(const std::vector<int>& years, int base_year, const char* field);

}  // namespace flopline::forecast
