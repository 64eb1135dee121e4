#include "flops_table.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "flopline/core/format.h"

namespace flopline::cli {
namespace {

using core::Grouped;
using core::Sci3;

std::string FlopRange(const compute::Range& r) {
  return fmt::format("{} FLOP  (range {} - {})", Sci3(r.point), Sci3(r.low), Sci3(r.high));
}

void PrintArchitecture(std::ostream& out, const compute::Estimate& e) {
  const compute::ArchitectureEstimate& a = *e.architecture;
  out << fmt::format("Model             {} - {} ({})\n", a.model_type, a.family, a.family_file);
  if (!a.ignored_keys.empty()) {
    out << fmt::format("Ignored keys      {} config keys with no effect on the count (listed with --format json)\n",
                       a.ignored_keys.size());
  }
  out << fmt::format("Parameters        {} total, {} active per token, {} active non-embedding\n",
                     Grouped(a.params.total), Grouped(a.params.active),
                     Grouped(a.params.active_non_embedding));
  if (a.params.training_only > 0) {
    out << fmt::format("                  + {} in training-only modules (not in the total)\n",
                       Grouped(a.params.training_only));
  }
  out << fmt::format("Sequence length   {} (from {}), {} attention\n", Grouped(a.seq_len),
                     a.seq_len_source, compute::AttentionMaskName(a.mask));
  out << fmt::format("FLOP per token    {} forward, {} training (3x forward)\n",
                     Sci3(a.per_token.forward), Sci3(a.flop_per_token_training));
}

void PrintBreakdown(std::ostream& out, const compute::ArchitectureEstimate& a) {
  std::vector<std::pair<std::string, double>> parts(a.breakdown.begin(), a.breakdown.end());
  std::sort(parts.begin(), parts.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  out << "\nBreakdown (training FLOP)\n";
  for (const auto& [component, flop] : parts) {
    if (flop <= 0) continue;
    out << fmt::format("  {:<20} {:>10}  {:>6}\n", component, Sci3(flop),
                       core::Percent(flop / a.training_flop));
  }
}

}  // namespace

void PrintEstimate(std::ostream& out, const compute::Estimate& e) {
  if (!e.config_path.empty()) out << fmt::format("Config            {}\n", e.config_path);
  if (e.architecture) PrintArchitecture(out, e);
  if (e.params_given) out << fmt::format("Parameters        {} (given)\n", Sci3(*e.params_given));
  if (e.tokens) out << fmt::format("Tokens            {}\n", Sci3(*e.tokens));

  out << fmt::format("\nTraining compute  {}\n", FlopRange(e.training_flop));
  out << fmt::format("Method            {}\n", e.method);
  if (e.architecture) {
    out << fmt::format("  exact count     {} FLOP\n", Sci3(e.architecture->training_flop));
  }
  if (e.training_flop_6nd) {
    // N comes from the user with --params: only exact-looking counts are grouped (and an int64 holds them).
    const double n = *e.six_nd_n;
    out << fmt::format("  6*N*D           {} FLOP  with N = {} ({})\n", Sci3(*e.training_flop_6nd),
                       n < 9e15 && n == std::floor(n) ? Grouped(static_cast<std::int64_t>(n)) : Sci3(n),
                       e.six_nd_n_definition);
    if (e.architecture) {
      out << fmt::format("                  exact / 6ND = {:.3f}; with all active parameters 6ND = {}\n",
                         e.architecture->training_flop / *e.training_flop_6nd,
                         Sci3(*e.training_flop_6nd_total_active));
    }
  }
  if (e.recompute_flop) {
    out << fmt::format("  recomputation   +{} FLOP (one more forward pass; not in the total above)\n",
                       Sci3(*e.recompute_flop));
  }
  if (e.hardware) {
    const compute::HardwareEstimate& h = *e.hardware;
    out << fmt::format("  hardware-time   {}\n", FlopRange(h.flop));
    out << fmt::format("                  {} x {} h of {} at {} {} peak\n", h.count, h.hours,
                       h.accelerator_name, Sci3(h.peak_flops), h.precision);
    out << fmt::format("                  utilization {} - {} ({})\n", core::Percent(h.utilization.low),
                       core::Percent(h.utilization.high), h.utilization_source);
  }
  if (e.reconciliation) {
    out << fmt::format("  reconciled      counted / hardware = {:.2f}; implied utilization {}\n",
                       e.reconciliation->ratio, core::Percent(e.reconciliation->implied_utilization));
  }
  if (e.architecture) PrintBreakdown(out, *e.architecture);

  out << "\nCost              ";
  if (e.cost) {
    const compute::CostEstimate& c = *e.cost;
    out << fmt::format("{} (range {} - {}), source: {}{}\n", core::Dollars(c.usd.point.dollars()),
                       core::Dollars(c.usd.low.dollars()), core::Dollars(c.usd.high.dollars()),
                       c.source, c.basis.empty() ? "" : ", from " + c.basis);
    out << fmt::format("                  {}\n", c.detail);
  } else {
    out << "not priced\n";
  }
  if (!e.notes.empty()) {
    out << "\nNotes\n";
    for (const std::string& note : e.notes) out << "  - " << note << "\n";
  }
}

void PrintRunsTable(std::ostream& out, const std::vector<std::string>& names,
                    const std::vector<compute::Estimate>& estimates) {
  out << fmt::format("{:<34} {:>9} {:>9} {:>9} {:>9} {:>7} {:>19} {:>10}\n", "run", "params",
                     "training", "low", "high", "ex/6ND", "hardware-time", "cost");
  for (std::size_t i = 0; i < estimates.size(); ++i) {
    const compute::Estimate& e = estimates[i];
    std::string params = e.architecture ? Sci3(static_cast<double>(e.architecture->params.total))
                         : e.params_given ? Sci3(*e.params_given) : "-";
    std::string ratio = (e.architecture && e.training_flop_6nd)
                            ? fmt::format("{:.3f}", e.architecture->training_flop / *e.training_flop_6nd)
                            : "-";
    std::string hardware = e.hardware ? fmt::format("{}-{}", Sci3(e.hardware->flop.low),
                                                    Sci3(e.hardware->flop.high))
                                      : "-";
    std::string cost = e.cost ? core::Dollars(e.cost->usd.point.dollars()) : "-";
    out << fmt::format("{:<34} {:>9} {:>9} {:>9} {:>9} {:>7} {:>19} {:>10}\n", names[i].substr(0, 34),
                       params, Sci3(e.training_flop.point), Sci3(e.training_flop.low),
                       Sci3(e.training_flop.high), ratio, hardware, cost);
  }
  out << "\ntraining = exact count where a config is given (else 6ND or hardware-time); "
         "low/high span the methods and conventions.\nDetails per run: --format json, or "
         "flopline flops --config FILE --tokens N.\n";
}

}  // namespace flopline::cli
