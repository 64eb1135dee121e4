// Estimates per second over the bundled configs (examples/configs/*.json).
//
//   BM_ParseAndEstimate/<config>  read-from-memory parse of config.json + exact count + 6ND, the
//                                 work of one `flopline flops --config` minus process start-up
//   BM_EstimateOnly/<config>      the count alone, on an already parsed Architecture
//   BM_ParseJsonOnly/<config>     baseline: nlohmann::json::parse of the same text and nothing else
//
// Run: build/bench/compute_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "flopline/compute/estimate.h"
#include "flopline/compute/hf_config.h"

namespace {

using namespace flopline::compute;

std::string Read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void BM_ParseAndEstimate(benchmark::State& state, const std::string& text) {
  AcceleratorTable accelerators;
  PriceTable prices;
  for (auto _ : state) {
    auto arch = ParseHfConfig(text, "config.json");
    EstimateRequest request;
    request.architecture = std::move(*arch);
    request.tokens = 1e12;
    request.seq_len = 4096;
    auto estimate = EstimateTraining(request, accelerators, prices);
    benchmark::DoNotOptimize(estimate->training_flop.point);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EstimateOnly(benchmark::State& state, const std::string& text) {
  AcceleratorTable accelerators;
  PriceTable prices;
  EstimateRequest request;
  request.architecture = *ParseHfConfig(text, "config.json");
  request.tokens = 1e12;
  request.seq_len = 4096;
  for (auto _ : state) {
    auto estimate = EstimateTraining(request, accelerators, prices);
    benchmark::DoNotOptimize(estimate->training_flop.point);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ParseJsonOnly(benchmark::State& state, const std::string& text) {
  for (auto _ : state) {
    auto json = nlohmann::json::parse(text);
    benchmark::DoNotOptimize(json.size());
  }
  state.SetItemsProcessed(state.iterations());
}

int Register() {
  std::filesystem::path dir = std::filesystem::path(FLOPLINE_SOURCE_DIR) / "examples" / "configs";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::string name = path.stem().string();
    std::string text = Read(path);
    benchmark::RegisterBenchmark(("BM_ParseAndEstimate/" + name).c_str(), BM_ParseAndEstimate, text);
    benchmark::RegisterBenchmark(("BM_EstimateOnly/" + name).c_str(), BM_EstimateOnly, text);
    benchmark::RegisterBenchmark(("BM_ParseJsonOnly/" + name).c_str(), BM_ParseJsonOnly, text);
  }
  return 0;
}

const int registered = Register();

}  // namespace

BENCHMARK_MAIN();
