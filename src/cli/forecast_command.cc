// `flopline forecast cost|capability|threshold`: how the cost of crossing a compute line moves
// over the years. Thin: flags -> forecast:: projections -> table, JSON or SVG.
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "range_flag.h"
#include "flopline/compute/accelerators.h"
#include "flopline/compute/prices.h"
#include "flopline/core/format.h"
#include "flopline/forecast/base_price.h"
#include "flopline/forecast/projection.h"
#include "flopline/forecast/svg_chart.h"
#include "flopline/forecast/thresholds.h"
#include "flopline/rules/regime.h"

namespace flopline::cli {
namespace {

using forecast::Spread;
using json = nlohmann::json;

struct ForecastOptions {
  std::string mode;  // the subcommand
  std::string years, hardware_halving, algorithmic_halving, cpi_rate, usd_per_flop, format = "table";
  std::string svg, data_dir, regimes_dir;
  std::optional<int> base_year;
  std::optional<double> flop, base_cost_usd, combined_factor, per_years;
  std::vector<double> budgets;
  std::vector<std::string> regimes;
  std::int64_t samples = 100000;
  std::uint64_t seed = 1;
};

core::Result<double> Number(const std::string& text, const char* field) {
  try {
    std::size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  return core::InvalidArgument(fmt::format("'{}' is not a number", text), field);
}

// "2.5" -> exactly 2.5; "2.1-2.9" -> low 2.1, point 2.5, high 2.9.
core::Result<std::optional<Spread>> ParseSpread(const std::string& text, const char* field,
                                                bool allow_zero = false) {
  if (text.empty()) return std::optional<Spread>();
  FL_ASSIGN_OR_RETURN(auto range, ParseValueOrRange(text, field));
  auto [low, high] = range;
  if (!((low > 0 || (allow_zero && low == 0)) && high >= low)) {
    return core::InvalidArgument(
        fmt::format("must be {}{}, got {}", allow_zero ? "zero or more" : "positive",
                    low == high ? "" : ", as LOW-HIGH with LOW <= HIGH", text),
        field);
  }
  return std::optional<Spread>(Spread{low, (low + high) / 2, high});
}

// "2024..2034", "2029,2034" or "2030".
core::Result<std::vector<int>> ParseYears(const std::string& text) {
  auto year = [&](const std::string& part) -> core::Result<int> {
    FL_ASSIGN_OR_RETURN(double v, Number(part, "--years"));
    if (v != std::floor(v) || v < 1900 || v > 3000) {
      return core::InvalidArgument(fmt::format("'{}' is not a year between 1900 and 3000", part), "--years");
    }
    return static_cast<int>(v);
  };
  std::vector<int> years;
  if (auto dots = text.find(".."); dots != std::string::npos) {
    FL_ASSIGN_OR_RETURN(int from, year(text.substr(0, dots)));
    FL_ASSIGN_OR_RETURN(int to, year(text.substr(dots + 2)));
    if (to < from) return core::InvalidArgument(fmt::format("the range {} is empty", text), "--years");
    for (int y = from; y <= to; ++y) years.push_back(y);
    return years;
  }
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    FL_ASSIGN_OR_RETURN(int y, year(part));
    years.push_back(y);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return years;
}

json RangeJson(const forecast::Projected& p, const char* point_key) {
  json out{{point_key, p.point}};
  if (p.range) {
    out["p5"] = p.range->p5;
    out["p50"] = p.range->p50;
    out["p95"] = p.range->p95;
  }
  return out;
}

std::string RangeText(const forecast::Projected& p, const std::function<std::string(double)>& show) {
  if (!p.range) return show(p.point);
  return fmt::format("{:>9}  {:>9}  {:>9} - {:<9}", show(p.point), show(p.range->p50), show(p.range->p5),
                     show(p.range->p95));
}

std::string Year1(double year) { return fmt::format("{:.1f}", year); }

struct Context {
  forecast::Trends trends;
  Spread hardware, algorithmic, cpi;
  std::optional<Spread> usd_per_flop_override;
  compute::AcceleratorTable accelerators;
  compute::PriceTable prices;
};

core::Result<Context> LoadContext(const ForecastOptions& o) {
  std::string dir = FindDataDir(o.data_dir);
  Context c;
  FL_ASSIGN_OR_RETURN(c.trends, forecast::LoadTrends(dir + "/forecast-trends.toml"));
  FL_ASSIGN_OR_RETURN(c.accelerators, compute::AcceleratorTable::Load(dir + "/accelerators.toml"));
  FL_ASSIGN_OR_RETURN(c.prices, compute::PriceTable::Load(dir + "/cloud-prices.toml"));
  FL_ASSIGN_OR_RETURN(auto hw, ParseSpread(o.hardware_halving, "--hardware-halving-years"));
  FL_ASSIGN_OR_RETURN(auto algo, ParseSpread(o.algorithmic_halving, "--algorithmic-halving-months"));
  FL_ASSIGN_OR_RETURN(auto cpi, ParseSpread(o.cpi_rate, "--cpi-rate", /*allow_zero=*/true));
  FL_ASSIGN_OR_RETURN(c.usd_per_flop_override, ParseSpread(o.usd_per_flop, "--usd-per-flop"));
  c.hardware = hw.value_or(c.trends.hardware_halving_years);
  c.algorithmic = algo.value_or(c.trends.algorithmic_halving_months);
  c.cpi = cpi.value_or(c.trends.cpi_rate);
  if (o.samples < 0) return core::InvalidArgument("must be zero or more", "--samples");
  return c;
}

core::Result<forecast::BasePrice> BasePrice(const Context& c, int base_year) {
  if (c.usd_per_flop_override) return forecast::BasePrice{*c.usd_per_flop_override, "given with --usd-per-flop"};
  return forecast::BasePricePerFlop(c.accelerators, c.prices, c.trends.reference_accelerator, base_year,
                                    c.trends.utilization);
}

json SpreadJson(const Spread& s) { return {{"low", s.low}, {"point", s.point}, {"high", s.high}}; }

std::string SpreadText(const Spread& s, const std::string& unit) {
  if (s.IsPoint()) return fmt::format("{:g} {}", s.point, unit);
  return fmt::format("{:g} {} ({:g}-{:g})", s.point, unit, s.low, s.high);
}

core::Result<void> WriteSvg(const std::string& path, const forecast::Chart& chart) {
  std::ofstream out(path);
  out << forecast::RenderSvg(chart);
  if (!out) return core::InvalidArgument(fmt::format("cannot write '{}'", path), "--svg");
  return core::Ok();
}

forecast::ChartSeries Band(const std::string& name, const std::string& color,
                           const std::vector<forecast::Projected>& values) {
  forecast::ChartSeries s{name, color, {}, {}, {}, false};
  for (const auto& p : values) {
    s.values.push_back(p.range ? p.range->p50 : p.point);
    if (p.range) {
      s.band_low.push_back(p.range->p5);
      s.band_high.push_back(p.range->p95);
    }
  }
  return s;
}

forecast::ChartSeries Flat(const std::string& name, const std::string& color, double value, std::size_t n) {
  return {name, color, std::vector<double>(n, value), {}, {}, true};
}

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

core::Result<int> RunCost(const ForecastOptions& o, const Context& c) {
  if (!o.flop) return core::InvalidArgument("is required", "--flop");
  if (o.years.empty()) return core::InvalidArgument("is required, e.g. 2024..2034", "--years");
  FL_ASSIGN_OR_RETURN(std::vector<int> years, ParseYears(o.years));
  forecast::CostQuery q;
  q.flop = *o.flop;
  q.base_year = o.base_year.value_or(years.front());
  q.years = years;
  FL_ASSIGN_OR_RETURN(forecast::BasePrice base, BasePrice(c, q.base_year));
  q.usd_per_flop = base.usd_per_flop;
  q.hardware_halving_years = c.hardware;
  q.budgets = o.budgets;
  q.mc = {o.samples, o.seed};
  FL_ASSIGN_OR_RETURN(forecast::CostForecast f, forecast::ForecastCost(q));

  if (o.format == "json") {
    json out{{"mode", "cost"}, {"flop", q.flop}, {"base_year", q.base_year},
             {"usd_per_flop", SpreadJson(q.usd_per_flop)}, {"usd_per_flop_source", base.detail},
             {"hardware_halving_years", SpreadJson(c.hardware)}, {"hardware_source", c.trends.hardware_source},
             {"samples", o.samples}, {"seed", o.seed}};
    out["years"] = json::array();
    for (std::size_t i = 0; i < f.years.size(); ++i) {
      json row = RangeJson(f.cost_usd[i], "cost_usd");
      row["year"] = f.years[i];
      out["years"].push_back(row);
    }
    out["budgets"] = json::array();
    for (const auto& b : f.budgets) {
      json row = RangeJson(b.crossing_year, "crossing_year");
      row["budget_usd"] = b.budget_usd;
      row["first_year_below"] = b.first_year_below;
      out["budgets"].push_back(row);
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << fmt::format("Cost of training {} FLOP, by year (hardware price-performance; better algorithms "
                             "do not make a FLOP cheaper)\n",
                             core::Sci3(q.flop));
    std::cout << fmt::format("  price per FLOP in {}: {:.3g} USD (range {:.3g} - {:.3g}); {}\n", q.base_year,
                             q.usd_per_flop.point, q.usd_per_flop.low, q.usd_per_flop.high, base.detail);
    std::cout << fmt::format("  hardware halving time: {}; {}\n\n", SpreadText(c.hardware, "years"),
                             c.trends.hardware_source);
    std::cout << fmt::format("{:<6} {:>9}  {:>9}  {:>21}\n", "year", "point", "median", "5th - 95th");
    for (std::size_t i = 0; i < f.years.size(); ++i) {
      std::cout << fmt::format("{:<6} {}\n", f.years[i], RangeText(f.cost_usd[i], core::Dollars));
    }
    for (const auto& b : f.budgets) {
      std::cout << fmt::format("\nBudget {}: first year below it {} (crossing at {}", core::Dollars(b.budget_usd),
                               b.first_year_below, Year1(b.crossing_year.point));
      if (b.crossing_year.range) {
        std::cout << fmt::format("; median {}, 5th-95th {} - {}", Year1(b.crossing_year.range->p50),
                                 Year1(b.crossing_year.range->p5), Year1(b.crossing_year.range->p95));
      }
      std::cout << ")\n";
    }
    if (o.samples > 0) std::cout << fmt::format("\nMonte Carlo: {} samples, seed {}.\n", o.samples, o.seed);
  }
  if (!o.svg.empty()) {
    forecast::Chart chart{fmt::format("Cost of {} FLOP", core::Sci3(q.flop)), "USD", f.years, {}};
    chart.series.push_back(Band("cost (median, 5th-95th)", kColors[0], f.cost_usd));
    std::size_t color = 1;
    for (const auto& b : f.budgets) {
      chart.series.push_back(Flat("budget " + core::Dollars(b.budget_usd), kColors[color++ % 6], b.budget_usd,
                                  f.years.size()));
    }
    FL_RETURN_IF_ERROR(WriteSvg(o.svg, chart));
  }
  return 0;
}

core::Result<int> RunCapability(const ForecastOptions& o, const Context& c) {
  if (!o.base_cost_usd) return core::InvalidArgument("is required", "--base-cost-usd");
  if (!o.base_year) return core::InvalidArgument("is required", "--base-year");
  if (o.years.empty()) return core::InvalidArgument("is required, e.g. 2029,2034", "--years");
  if (o.combined_factor.has_value() != o.per_years.has_value()) {
    return core::InvalidArgument("--combined-factor and --per-years go together", "--combined-factor");
  }
  FL_ASSIGN_OR_RETURN(std::vector<int> years, ParseYears(o.years));
  forecast::CapabilityQuery q;
  q.base_year = *o.base_year;
  q.base_cost_usd = *o.base_cost_usd;
  q.years = years;
  q.hardware_halving_years = c.hardware;
  q.algorithmic_halving_months = c.algorithmic;
  q.combined_factor = o.combined_factor;
  q.combined_per_years = o.per_years.value_or(0);
  q.mc = {o.samples, o.seed};
  FL_ASSIGN_OR_RETURN(forecast::CapabilityForecast f, forecast::ForecastCapability(q));

  if (o.format == "json") {
    json out{{"mode", "capability"}, {"base_year", q.base_year}, {"base_cost_usd", q.base_cost_usd},
             {"hardware_halving_years", SpreadJson(c.hardware)},
             {"algorithmic_halving_months", SpreadJson(c.algorithmic)},
             {"combined_factor", o.combined_factor ? json(*o.combined_factor) : json(nullptr)},
             {"per_years", o.per_years ? json(*o.per_years) : json(nullptr)},
             {"sources", {{"hardware", c.trends.hardware_source}, {"algorithmic", c.trends.algorithmic_source}}},
             {"samples", o.samples}, {"seed", o.seed}};
    out["years"] = json::array();
    for (std::size_t i = 0; i < f.years.size(); ++i) {
      out["years"].push_back({{"year", f.years[i]},
                              {"hardware_only", RangeJson(f.hardware_only[i], "cost_usd")},
                              {"algorithms_only", RangeJson(f.algorithms_only[i], "cost_usd")},
                              {"both", RangeJson(f.both[i], "cost_usd")},
                              {"combined", f.combined.empty() ? json(nullptr) : json(f.combined[i])}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << fmt::format("Cost of the capability that cost {} in {}\n", core::Dollars(q.base_cost_usd), q.base_year);
    std::cout << fmt::format("  hardware halving time:    {}; {}\n", SpreadText(c.hardware, "years"),
                             c.trends.hardware_source);
    std::cout << fmt::format("  algorithmic halving time: {}; {}\n", SpreadText(c.algorithmic, "months"),
                             c.trends.algorithmic_source);
    if (o.combined_factor) {
      std::cout << fmt::format("  combined: {:g}x cheaper every {:g} years (as stated)\n", *o.combined_factor, *o.per_years);
    }
    std::cout << fmt::format("\n{:<6} {:<16} {:>9}  {:>9}  {:>21}\n", "year", "through", "point", "median", "5th - 95th");
    for (std::size_t i = 0; i < f.years.size(); ++i) {
      std::cout << fmt::format("{:<6} {:<16} {}\n", f.years[i], "hardware only", RangeText(f.hardware_only[i], core::Dollars));
      std::cout << fmt::format("{:<6} {:<16} {}\n", "", "algorithms only", RangeText(f.algorithms_only[i], core::Dollars));
      std::cout << fmt::format("{:<6} {:<16} {}\n", "", "both", RangeText(f.both[i], core::Dollars));
      if (!f.combined.empty()) {
        std::cout << fmt::format("{:<6} {:<16} {:>9}\n", "", "combined factor", core::Dollars(f.combined[i]));
      }
    }
    if (o.samples > 0) std::cout << fmt::format("\nMonte Carlo: {} samples, seed {}.\n", o.samples, o.seed);
  }
  if (!o.svg.empty()) {
    forecast::Chart chart{fmt::format("Cost of the capability that cost {} in {}", core::Dollars(q.base_cost_usd),
                                      q.base_year),
                          "USD", f.years, {}};
    chart.series.push_back(Band("hardware only", kColors[0], f.hardware_only));
    chart.series.push_back(Band("algorithms only", kColors[2], f.algorithms_only));
    chart.series.push_back(Band("both", kColors[1], f.both));
    if (!f.combined.empty()) {
      chart.series.push_back({fmt::format("{:g}x per {:g} years", *o.combined_factor, *o.per_years), kColors[3],
                              f.combined, {}, {}, true});
    }
    FL_RETURN_IF_ERROR(WriteSvg(o.svg, chart));
  }
  return 0;
}

core::Result<int> RunThreshold(const ForecastOptions& o, const Context& c) {
  FL_ASSIGN_OR_RETURN(std::vector<rules::Regime> regimes, rules::LoadRegimeDir(FindRegimesDir(o.regimes_dir)));
  std::vector<forecast::Threshold> all = forecast::ThresholdsFromRegimes(regimes, core::Date::FromYmd(o.base_year.value_or(2024), 1, 1));
  std::vector<forecast::Threshold> chosen;
  for (const auto& t : all) {
    if (o.regimes.empty() || std::find(o.regimes.begin(), o.regimes.end(), t.regime) != o.regimes.end()) {
      chosen.push_back(t);
    }
  }
  if (chosen.empty()) {
    std::string known;
    for (const auto& t : all) {
      if (known.find(t.regime) == std::string::npos) known += (known.empty() ? "" : ", ") + t.regime;
    }
    return core::InvalidArgument(fmt::format("no threshold for that regime; known: {}", known), "--regime");
  }
  int base_year = o.base_year.value_or(2024);
  std::vector<int> years;
  if (o.years.empty()) {
    for (int y = base_year; y <= base_year + 16; ++y) years.push_back(y);
  } else {
    FL_ASSIGN_OR_RETURN(years, ParseYears(o.years));
  }
  if (!o.base_year) base_year = years.front();
  FL_ASSIGN_OR_RETURN(forecast::BasePrice base, BasePrice(c, base_year));

  std::vector<forecast::ThresholdForecast> results;
  for (const auto& t : chosen) {
    forecast::ThresholdQuery q{t, base_year, years, base.usd_per_flop, c.hardware, c.cpi,
                               c.trends.frontier_base_year, c.trends.frontier_base_flop,
                               c.trends.frontier_growth_per_year, {o.samples, o.seed}};
    FL_ASSIGN_OR_RETURN(forecast::ThresholdForecast f, forecast::ForecastThreshold(q));
    results.push_back(std::move(f));
  }
  // Each regime's one-line note (SB 1047: vetoed, evaluated as written), once.
  std::vector<std::string> notes;
  for (const auto& t : chosen) {
    if (!t.note.empty() && std::find(notes.begin(), notes.end(), t.note) == notes.end()) notes.push_back(t.note);
  }

  if (o.format == "json") {
    json out{{"mode", "threshold"}, {"base_year", base_year}, {"usd_per_flop", SpreadJson(base.usd_per_flop)},
             {"usd_per_flop_source", base.detail}, {"hardware_halving_years", SpreadJson(c.hardware)},
             {"cpi_rate", SpreadJson(c.cpi)}, {"frontier_growth_per_year", SpreadJson(c.trends.frontier_growth_per_year)},
             {"frontier_source", c.trends.frontier_source}, {"samples", o.samples}, {"seed", o.seed},
             {"notes", notes}};
    out["thresholds"] = json::array();
    for (const auto& f : results) {
      json t{{"regime", f.threshold.regime}, {"name", f.threshold.name}, {"flop", f.threshold.flop},
             {"cost_usd", f.threshold.cost_usd ? json(*f.threshold.cost_usd) : json(nullptr)},
             {"cpi_indexed_from", f.threshold.cpi_indexed_from ? json(*f.threshold.cpi_indexed_from) : json(nullptr)},
             {"cite", f.threshold.cite},
             {"cost_test_binds_from", f.cost_test_binds_from ? RangeJson(*f.cost_test_binds_from, "year") : json(nullptr)},
             {"frontier_reaches_line", RangeJson(f.frontier_reaches_line, "year")}};
      t["years"] = json::array();
      for (const auto& y : f.years) {
        json row = RangeJson(y.flop_cost_usd, "flop_cost_usd");
        row["year"] = y.year;
        row["cost_limit_usd"] = y.cost_limit_usd ? json(*y.cost_limit_usd) : json(nullptr);
        row["binding"] = y.cost_limit_usd ? (y.cost_test_binds ? "cost" : "flop") : "flop";
        row["effective_flop"] = y.effective_flop;
        row["frontier_flop"] = y.frontier_flop;
        t["years"].push_back(row);
      }
      out["thresholds"].push_back(t);
    }
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& n : notes) std::cout << n << "\n";
    std::cout << fmt::format("Price per FLOP in {}: {:.3g} USD (range {:.3g} - {:.3g}); {}\n", base_year,
                             base.usd_per_flop.point, base.usd_per_flop.low, base.usd_per_flop.high, base.detail);
    std::cout << fmt::format("Hardware halving time {}; CPI {}\n", SpreadText(c.hardware, "years"),
                             SpreadText(c.cpi, "per year"));
    std::cout << fmt::format("Frontier: {:.3g} FLOP in {}, growing {}; {}\n", c.trends.frontier_base_flop,
                             c.trends.frontier_base_year, SpreadText(c.trends.frontier_growth_per_year, "x per year"),
                             c.trends.frontier_source);
    for (const auto& f : results) {
      const auto& t = f.threshold;
      std::cout << fmt::format("\n{} - {}: > {} FLOP{} [{}]\n", t.regime, t.name, core::Sci3(t.flop),
                               t.cost_usd ? " and > " + core::Dollars(*t.cost_usd) +
                                                (t.cpi_indexed_from ? fmt::format(" (CPI-indexed from {})", *t.cpi_indexed_from) : "")
                                          : "",
                               t.cite);
      {
        const auto& r = f.frontier_reaches_line;
        std::cout << fmt::format("  The frontier's largest run reaches this line in {:.1f}", r.point);
        if (r.range) std::cout << fmt::format(" (median {:.1f}, 5th-95th {:.1f} - {:.1f})", r.range->p50, r.range->p5, r.range->p95);
        std::cout << ".\n";
      }
      if (f.cost_test_binds_from) {
        const auto& b = *f.cost_test_binds_from;
        std::cout << fmt::format(
            "  Until {:.0f} the FLOP line costs more than the cost test, so every model above it also passes "
            "the cost test: the FLOP line decides. From {:.0f} the FLOP line costs less: the cost test "
            "decides, and a covered model needs the compute the cost limit buys.",
            b.point, b.point);
        if (b.range) std::cout << fmt::format(" (median {:.0f}, 5th-95th {:.0f} - {:.0f})", b.range->p50, b.range->p5, b.range->p95);
        std::cout << "\n";
      } else {
        std::cout << "  No cost test: the FLOP line alone decides, however cheap its compute becomes.\n";
      }
      std::cout << fmt::format("  {:<6} {:>9}  {:>9}  {:>21}  {:>10}  {:<8} {:>14}  {}\n", "year", "FLOP cost", "median",
                               "5th - 95th", "cost test", "decides", "compute needed", "frontier run");
      for (const auto& y : f.years) {
        std::cout << fmt::format("  {:<6} {}  {:>10}  {:<8} {:>14}  {}\n", y.year, RangeText(y.flop_cost_usd, core::Dollars),
                                 y.cost_limit_usd ? core::Dollars(*y.cost_limit_usd) : "-",
                                 y.cost_test_binds ? "cost" : "FLOP", core::Sci3(y.effective_flop),
                                 core::Sci3(y.frontier_flop));
      }
    }
    if (o.samples > 0) std::cout << fmt::format("\nMonte Carlo: {} samples, seed {}.\n", o.samples, o.seed);
  }
  if (!o.svg.empty()) {
    forecast::Chart chart{"Cost of each statutory compute line", "USD", years, {}};
    // Regimes that share a line (SB 53, RAISE and SB 1047 at 1e26) share one series.
    std::vector<std::pair<double, std::size_t>> drawn;  // FLOP line -> its series
    std::size_t color = 0;
    for (const auto& f : results) {
      auto same = std::find_if(drawn.begin(), drawn.end(), [&](const auto& d) { return d.first == f.threshold.flop; });
      if (same != drawn.end()) {
        std::string& name = chart.series[same->second].name;
        name.insert(name.find(" ("), ", " + f.threshold.regime);
      } else {
        std::vector<forecast::Projected> costs;
        for (const auto& y : f.years) costs.push_back(y.flop_cost_usd);
        drawn.emplace_back(f.threshold.flop, chart.series.size());
        chart.series.push_back(Band(fmt::format("{} ({:.0e} FLOP)", f.threshold.regime, f.threshold.flop),
                                    kColors[color % 6], costs));
      }
      if (f.threshold.cost_usd) {
        forecast::ChartSeries limit{f.threshold.regime + " cost test, " + f.threshold.name, kColors[color % 6], {}, {}, {}, true};
        for (const auto& y : f.years) limit.values.push_back(y.cost_limit_usd.value_or(0));
        chart.series.push_back(limit);
      }
      ++color;
    }
    FL_RETURN_IF_ERROR(WriteSvg(o.svg, chart));
  }
  return 0;
}

int Run(const ForecastOptions& o) {
  auto context = LoadContext(o);
  if (!context) return ReportError("forecast", context.error().ToString());
  core::Result<int> result = o.mode == "cost"         ? RunCost(o, *context)
                             : o.mode == "capability" ? RunCapability(o, *context)
                                                      : RunThreshold(o, *context);
  if (!result) return ReportError("forecast", result.error().ToString());
  return *result;
}

void AddCommonFlags(CLI::App* cmd, ForecastOptions& o) {
  cmd->add_option("--years", o.years, "years to project: 2024..2034, 2029,2034 or 2030");
  cmd->add_option("--base-year", o.base_year, "the year the trends start from");
  cmd->add_option("--hardware-halving-years", o.hardware_halving,
                  "years for the price of a FLOP to halve: 2.5, or a range 2.1-2.9 (default: data/forecast-trends.toml)");
  cmd->add_option("--usd-per-flop", o.usd_per_flop,
                  "price of one FLOP in the base year, or a range (default: from data/cloud-prices.toml)");
  cmd->add_option("--samples", o.samples, "Monte Carlo samples (default 100000; 0 for points only)");
  cmd->add_option("--seed", o.seed, "Monte Carlo seed (default 1)");
  cmd->add_option("--format", o.format, "table (default) or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--svg", o.svg, "also write a chart to this SVG file");
  cmd->add_option("--data-dir", o.data_dir, "directory of the data tables");
  cmd->add_option("--regimes-dir", o.regimes_dir, "directory of the regime files (statutory lines)");
}

}  // namespace

CommandRunner AddForecastCommand(CLI::App& app) {
  auto options = std::make_shared<ForecastOptions>();
  ForecastOptions& o = *options;
  CLI::App* forecast = app.add_subcommand("forecast", "How the cost of crossing a compute line falls over the years");
  forecast->require_subcommand(1);

  CLI::App* cost = forecast->add_subcommand("cost", "The cost of a fixed amount of compute, by year");
  AddCommonFlags(cost, o);
  cost->add_option("--flop", o.flop, "training compute, e.g. 1e26");
  cost->add_option("--budget", o.budgets, "a budget in USD: the year the cost falls below it (repeatable)");

  CLI::App* capability = forecast->add_subcommand("capability", "The cost, later, of a capability bought in a base year");
  AddCommonFlags(capability, o);
  capability->add_option("--base-cost-usd", o.base_cost_usd, "what the capability cost in the base year");
  capability->add_option("--algorithmic-halving-months", o.algorithmic_halving,
                         "months for the compute needed at fixed capability to halve, or a range");
  capability->add_option("--combined-factor", o.combined_factor, "a stated combined improvement, e.g. 50 ...");
  capability->add_option("--per-years", o.per_years, "... every this many years, e.g. 5");

  CLI::App* threshold = forecast->add_subcommand("threshold", "When a statute's cost test, not its FLOP line, decides");
  AddCommonFlags(threshold, o);
  threshold->add_option("--regime", o.regimes, "regime id (repeatable; default all): ca-sb1047, ca-sb53, ny-raise, eu-ai-act-gpai");
  threshold->add_option("--cpi-rate", o.cpi_rate, "annual CPI change, 0.025 or a range 0.02-0.035");

  for (CLI::App* sub : {cost, capability, threshold}) {
    sub->callback([options, sub] { options->mode = sub->get_name(); });
  }
  return [options] { return Run(*options); };
}

}  // namespace flopline::cli
