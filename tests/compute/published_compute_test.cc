// The estimator against the training compute that papers publish (shared/data/README.md, Epoch AI
// E26 snapshot): 6·N·D within +-15% of the published figure, and the exact count's excess over
// 6·N·D explained term by term (attention over the context, the output head, MTP).
#include <gtest/gtest.h>

#include "flopline/compute/estimate.h"
#include "flopline/compute/hf_config.h"
#include "test_paths.h"

namespace flopline::compute {
namespace {

struct Published {
  const char* name;
  std::string config;
  double tokens;
  double published_flop;
};

class PublishedComputeTest : public ::testing::TestWithParam<Published> {};

TEST_P(PublishedComputeTest, SixNdWithinFifteenPercentAndExactCountExplained) {
  const Published& p = GetParam();
  auto arch = LoadHfConfig(p.config);
  ASSERT_TRUE(arch) << arch.error().ToString();
  EstimateRequest request;
  request.architecture = *arch;
  request.tokens = p.tokens;
  auto e = EstimateTraining(request, AcceleratorTable(), PriceTable());
  ASSERT_TRUE(e) << e.error().ToString();

  double ratio = *e->training_flop_6nd / p.published_flop;
  EXPECT_GT(ratio, 0.85) << p.name;
  EXPECT_LT(ratio, 1.15) << p.name;

  // exact - 6ND is exactly the attention-over-context products, the output head and any
  // training-only module, less the non-matmul parameters (norms, biases) that 6ND counts.
  const ArchitectureEstimate& a = *e->architecture;
  auto part = [&](Component c) {
    auto it = a.breakdown.find(ComponentName(c));
    return it == a.breakdown.end() ? 0.0 : it->second;
  };
  double explained = part(Component::kAttentionScores) + part(Component::kAttentionValues) +
                     part(Component::kOutputHead) + part(Component::kMtp);
  double not_matmul_params = 0;
  for (const Layer& layer : arch->layers) {
    not_matmul_params += static_cast<double>(layer.other_params);
    for (const Linear& l : layer.dense) not_matmul_params += l.bias ? static_cast<double>(l.out) : 0.0;
    for (const Linear& l : layer.routed_expert) {
      not_matmul_params += l.bias ? static_cast<double>(l.out * layer.experts_per_token) : 0.0;
    }
  }
  not_matmul_params += static_cast<double>(arch->final_norm_params);
  double expected_gap = explained - 6.0 * not_matmul_params * p.tokens;
  EXPECT_NEAR((a.training_flop - *e->training_flop_6nd) / expected_gap, 1.0, 1e-9) << p.name;
  EXPECT_GT(a.training_flop, *e->training_flop_6nd) << p.name;
}

using testing::ExampleConfig;
using testing::FixtureConfig;

INSTANTIATE_TEST_SUITE_P(
    Papers, PublishedComputeTest,
    ::testing::Values(
        Published{"Llama2_7B", ExampleConfig("llama-2-7b-chat.json"), 2.0e12, 8.4e22},
        Published{"Llama2_70B", FixtureConfig("llama-2-70b.json"), 2.0e12, 8.1e23},
        Published{"LLaMA_65B", FixtureConfig("llama-65b.json"), 1.4e12, 5.5e23},
        Published{"Chinchilla_70B", FixtureConfig("chinchilla-70b.json"), 1.4e12, 5.76e23},
        Published{"PaLM_540B", FixtureConfig("palm-540b.json"), 780e9, 2.5272e24},
        Published{"Pythia_12B", ExampleConfig("pythia-12b.json"), 299'892'736'000.0, 2.159e22},
        Published{"DeepSeek_V3", ExampleConfig("deepseek-v3.json"), 14.8e12, 3.4078e24},
        Published{"Nemotron4_340B", FixtureConfig("nemotron-4-340b.json"), 9.0e12, 1.8e25}),
    [](const ::testing::TestParamInfo<Published>& param_info) { return std::string(param_info.param.name); });

TEST(PublishedHardwareTest, Llama2_70bReproducesEpochsHardwareEstimate) {
  // Epoch: 311.84 TFLOP/s x 1,720,320 A100-hours x 0.40 = 7.725e23 (our table's peak is 312 TF).
  auto table = AcceleratorTable::Load(testing::DataFile("accelerators.toml"));
  ASSERT_TRUE(table) << table.error().ToString();
  EstimateRequest request;
  request.hardware = HardwareRun{"A100-SXM4-80GB", 1, 1'720'320, 0.40, 0.40, ""};
  auto e = EstimateTraining(request, *table, PriceTable());
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_NEAR(e->training_flop.point / 7.725e23, 1.0, 0.001);
}

}  // namespace
}  // namespace flopline::compute
