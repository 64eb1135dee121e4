// Monte Carlo throughput of `flopline forecast` (one thread).
//
//   BM_CostMonteCarlo/N        cost of 1e26 FLOP over 11 years plus two budget crossings, N samples
//   BM_ThresholdMonteCarlo/N   SB 1047's line over 17 years plus the crossover year, N samples
//   BM_DrawOnly/N              baseline: N draws of the three triangular spreads and nothing else
//
// Run: build/bench/forecast_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <random>

#include "flopline/forecast/projection.h"

namespace {

using namespace flopline::forecast;

void BM_CostMonteCarlo(benchmark::State& state) {
  CostQuery q;
  q.flop = 1e26;
  q.base_year = 2024;
  for (int y = 2024; y <= 2034; ++y) q.years.push_back(y);
  q.usd_per_flop = {2.1e-18, 8.0e-18, 9.4e-18};
  q.hardware_halving_years = {2.07, 2.46, 2.95};
  q.budgets = {2e6, 5e4};
  q.mc.samples = state.range(0);
  for (auto _ : state) {
    auto f = ForecastCost(q);
    benchmark::DoNotOptimize(f->cost_usd[5].range->p50);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CostMonteCarlo)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_ThresholdMonteCarlo(benchmark::State& state) {
  ThresholdQuery q;
  q.threshold = {"ca-sb1047", "covered model", 1e26, 1e8, 2026, "§22602(e)(1)(A)(i)", ""};
  q.base_year = 2024;
  for (int y = 2024; y <= 2040; ++y) q.years.push_back(y);
  q.usd_per_flop = {2.1e-18, 8.0e-18, 9.4e-18};
  q.hardware_halving_years = {2.07, 2.46, 2.95};
  q.cpi_rate = {0.02, 0.025, 0.035};
  q.frontier_base_year = 2024;
  q.frontier_base_flop = 3.8e25;
  q.frontier_growth_per_year = {4.0, 4.5, 5.0};
  q.mc.samples = state.range(0);
  for (auto _ : state) {
    auto f = ForecastThreshold(q);
    benchmark::DoNotOptimize(f->cost_test_binds_from->range->p50);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ThresholdMonteCarlo)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

void BM_DrawOnly(benchmark::State& state) {
  const Spread a{2.1e-18, 8.0e-18, 9.4e-18}, b{2.07, 2.46, 2.95}, c{0.02, 0.025, 0.035};
  for (auto _ : state) {
    std::mt19937_64 rng(1);
    double sum = 0;
    for (std::int64_t i = 0; i < state.range(0); ++i) {
      auto u = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
      sum += a.Quantile(u()) + b.Quantile(u()) + c.Quantile(u());
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DrawOnly)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
