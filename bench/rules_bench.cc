// The rules engine's speed.
//
//   BM_Determination            one model, one regime (SB 1047, first reading): facts, rules, status.
//                               The bar: Cedar's 4-11 microseconds per authorization decision.
//   BM_AssessOneModelExplained  one model under all four regimes and every reading, with clause
//                               traces, margins, obligations and penalties (what `assess` prints).
//   BM_MillionModelLineage      1,000,000 models in chains of up to 20 (a pretrained root, then
//                               fine-tunes, copies, post-training modifications, combinations),
//                               classified under all four regimes: the target is under 3 s on 2 cores.
//
// Run: build/bench/rules_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>

#include "flopline/rules/engine.h"

namespace {

using namespace flopline;
using namespace flopline::rules;

std::vector<Regime> LoadRegimes() {
  std::vector<Regime> out;
  for (const char* id : {"ca-sb1047", "ca-sb53", "ny-raise", "eu-ai-act-gpai"}) {
    out.push_back(*Regime::Load(std::string(FLOPLINE_SOURCE_DIR) + "/regimes/" + id + ".toml"));
  }
  return out;
}

Model Stage(Model m, const char* kind, double flop, double cost) {
  TrainingStage s;
  s.kind = kind;
  s.start = core::Date::FromYmd(2026, 2, 1);
  s.flop = s.flop_low = s.flop_high = flop;
  s.cost_usd = cost;
  m.training.push_back(s);
  return m;
}

// Chains of 20: a root drawn around the lines, then derivatives of mixed kinds and sizes.
Inventory Lineage(std::size_t n, std::uint64_t seed) {
  static const char* kDerivations[] = {"fine-tune", "copy", "post-training-modification", "combination", "distillation"};
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> log_flop(23.0, 27.0), log_small(20.0, 25.5);
  Inventory inv;
  inv.models.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Model m;
    m.id = "m" + std::to_string(i);
    m.developer = "dev" + std::to_string(i % 1000);
    m.developer_revenue_usd = (i % 3 == 0) ? 1e9 : 1e7;
    m.foundation_model = i % 4 != 3;
    if (i % 20 == 0) {
      double flop = std::pow(10.0, log_flop(rng));
      m = Stage(std::move(m), "pretrain", flop, flop * 8e-19);
    } else {
      m.base = "m" + std::to_string(i - 1);
      m.derivation = kDerivations[rng() % 5];
      if (m.derivation != "copy") {
        double flop = std::pow(10.0, log_small(rng));
        m = Stage(std::move(m), m.derivation == "fine-tune" ? "fine-tune" : "other", flop, flop * 8e-19);
      }
    }
    inv.models.push_back(std::move(m));
  }
  (void)LinkLineage(inv);
  return inv;
}

void BM_Determination(benchmark::State& state) {
  std::vector<Regime> regimes;
  regimes.push_back(*Regime::Load(std::string(FLOPLINE_SOURCE_DIR) + "/regimes/ca-sb1047.toml"));
  Engine engine(std::move(regimes), {});
  Inventory inv = Lineage(1, 3);
  AssessOptions options{core::Date::FromYmd(2026, 6, 1), {}, {}};
  for (auto _ : state) {
    auto statuses = engine.Classify(inv, options);
    benchmark::DoNotOptimize(statuses->front().front());
  }
}
BENCHMARK(BM_Determination)->Unit(benchmark::kMicrosecond);

void BM_AssessOneModelExplained(benchmark::State& state) {
  Engine engine(LoadRegimes(), {});
  Inventory inv = Lineage(2, 5);
  AssessOptions options{core::Date::FromYmd(2026, 6, 1), {}, {}};
  for (auto _ : state) {
    auto answers = engine.Assess(inv, options);
    benchmark::DoNotOptimize(answers->back().determinations.size());
  }
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_AssessOneModelExplained)->Unit(benchmark::kMicrosecond);

void BM_MillionModelLineage(benchmark::State& state) {
  Engine engine(LoadRegimes(), {});
  Inventory inv = Lineage(static_cast<std::size_t>(state.range(0)), 7);
  AssessOptions options{core::Date::FromYmd(2026, 6, 1), {}, {}};
  std::size_t covered = 0;
  for (auto _ : state) {
    auto statuses = engine.Classify(inv, options);
    covered = 0;
    for (int s : statuses->front()) covered += s == 0 || s == 1;
    benchmark::DoNotOptimize(covered);
  }
  state.counters["models"] = static_cast<double>(inv.models.size());
  state.counters["sb1047_covered"] = static_cast<double>(covered);
  state.SetItemsProcessed(state.iterations() * state.range(0) * 4);
}
BENCHMARK(BM_MillionModelLineage)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
