// FLOP per token against hand derivations: every term written out from the module shapes.
#include "flopline/compute/flop_count.h"

#include <gtest/gtest.h>

#include "flopline/compute/hf_config.h"
#include "test_paths.h"

namespace flopline::compute {
namespace {

using testing::ExampleConfig;

Architecture Load(const std::string& path) {
  auto arch = LoadHfConfig(path);
  EXPECT_TRUE(arch) << arch.error().ToString();
  return arch ? *arch : Architecture{};
}

TEST(MeanAttendedPositionsTest, CausalFullAndWindowed) {
  EXPECT_DOUBLE_EQ(MeanAttendedPositions(4096, std::nullopt, AttentionMask::kCausal), 2048.5);
  EXPECT_DOUBLE_EQ(MeanAttendedPositions(4096, std::nullopt, AttentionMask::kFull), 4096);
  // S = 8, W = 3: positions see 1, 2, 3, 3, 3, 3, 3, 3 keys.
  EXPECT_DOUBLE_EQ(MeanAttendedPositions(8, 3, AttentionMask::kCausal), 21.0 / 8.0);
  // A window at least as long as the sequence changes nothing.
  EXPECT_DOUBLE_EQ(MeanAttendedPositions(8, 8, AttentionMask::kCausal), 4.5);
  EXPECT_DOUBLE_EQ(MeanAttendedPositions(1, std::nullopt, AttentionMask::kCausal), 1.0);
}

TEST(FlopCountTest, Llama2_7bEveryTermByHand) {
  const double d = 4096, ff = 11008, v = 32000, layers = 32, s = 4096;
  PerTokenFlop f = CountPerToken(Load(ExampleConfig("llama-2-7b-chat.json")), 4096, AttentionMask::kCausal);
  const double context = (s + 1) / 2;
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kAttentionQkv)), layers * 2 * 3 * d * d);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kAttentionOutput)), layers * 2 * d * d);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kAttentionScores)), layers * 2 * 32 * 128 * context);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kAttentionValues)), layers * 2 * 32 * 128 * context);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kMlp)), layers * 2 * 3 * d * ff);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kOutputHead)), 2 * d * v);
  double sum = 0;
  for (const auto& [name, flop] : f.forward_by_component) sum += flop;
  EXPECT_DOUBLE_EQ(f.forward, sum);
  EXPECT_EQ(f.training_only_forward, 0);
}

TEST(FlopCountTest, FullMaskDoublesTheContextTermOnly) {
  Architecture arch = Load(ExampleConfig("llama-2-7b-chat.json"));
  PerTokenFlop causal = CountPerToken(arch, 4096, AttentionMask::kCausal);
  PerTokenFlop full = CountPerToken(arch, 4096, AttentionMask::kFull);
  EXPECT_DOUBLE_EQ(full.forward_by_component.at(ComponentName(Component::kAttentionScores)) / causal.forward_by_component.at(ComponentName(Component::kAttentionScores)),
                   4096.0 / 2048.5);
  EXPECT_DOUBLE_EQ(full.forward_by_component.at(ComponentName(Component::kMlp)), causal.forward_by_component.at(ComponentName(Component::kMlp)));
}

TEST(FlopCountTest, MixtralRunsTopTwoExpertsAndTheRouter) {
  const double d = 4096, ff = 14336;
  PerTokenFlop f = CountPerToken(Load(ExampleConfig("mixtral-8x7b-instruct-gptq.json")), 4096,
                                 AttentionMask::kCausal);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kMoeRoutedExperts)), 32 * 2 * (2 * 3 * d * ff));
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kMoeRouter)), 32 * 2 * d * 8);
  EXPECT_EQ(f.forward_by_component.count(ComponentName(Component::kMlp)), 0u);
}

TEST(FlopCountTest, MixtralSlidingWindowCapsTheContext) {
  Architecture arch = Load(ExampleConfig("mixtral-8x7b-instruct-gptq.json"));
  ASSERT_EQ(arch.layers[0].attention.window, 4096);
  PerTokenFlop f = CountPerToken(arch, 32768, AttentionMask::kCausal);
  double context = MeanAttendedPositions(32768, 4096, AttentionMask::kCausal);
  EXPECT_LT(context, 4096);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kAttentionScores)), 32 * 2 * 32 * 128 * context);
}

TEST(FlopCountTest, Gemma2AlternatesWindowedAndGlobalLayers) {
  Architecture arch = Load(ExampleConfig("gemma-2-9b-it.json"));
  PerTokenFlop f = CountPerToken(arch, 8192, AttentionMask::kCausal);
  double windowed = MeanAttendedPositions(8192, 4096, AttentionMask::kCausal);
  double global = MeanAttendedPositions(8192, std::nullopt, AttentionMask::kCausal);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kAttentionScores)), 21 * 2 * 16 * 256 * (windowed + global));
}

TEST(FlopCountTest, DeepseekV3MlaAndTrainingOnlyMtp) {
  Architecture arch = Load(ExampleConfig("deepseek-v3.json"));
  PerTokenFlop f = CountPerToken(arch, 4096, AttentionMask::kCausal);
  const double context = 2048.5, d = 7168;
  // Scores use the 192-wide (128 nope + 64 rope) query-key head, values the 128-wide value head.
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kAttentionScores)), 61 * 2 * 128 * 192 * context);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kAttentionValues)), 61 * 2 * 128 * 128 * context);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kMoeRoutedExperts)), 58 * 8 * 2 * 3 * d * 2048);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kMoeSharedExperts)), 58 * 2 * 3 * d * 2048);
  EXPECT_DOUBLE_EQ(f.forward_by_component.at(ComponentName(Component::kMlp)), 3 * 2 * 3 * d * 18432);
  // MTP: one more MoE layer, the [embedding; hidden] projection and another pass through the head.
  double one_moe_layer = (f.forward_by_component.at(ComponentName(Component::kMoeRoutedExperts)) +
                          f.forward_by_component.at(ComponentName(Component::kMoeSharedExperts)) +
                          f.forward_by_component.at(ComponentName(Component::kMoeRouter))) / 58 +
                         (f.forward_by_component.at(ComponentName(Component::kAttentionQkv)) + f.forward_by_component.at(ComponentName(Component::kAttentionOutput)) +
                          f.forward_by_component.at(ComponentName(Component::kAttentionScores)) + f.forward_by_component.at(ComponentName(Component::kAttentionValues))) / 61;
  EXPECT_NEAR(f.training_only_forward, one_moe_layer + 2 * 2 * d * d + 2 * d * 129280, 1.0);
}

TEST(FlopCountTest, ForwardMatmulsAreTwiceTheActiveMatmulParameters) {
  // With the context term removed, forward FLOP = 2 x (active non-embedding params + head) minus
  // the parameters that are not matmul weights (norms, biases): a cross-check of two code paths.
  Architecture arch = Load(ExampleConfig("llama-3.1-8b-instruct.json"));
  PerTokenFlop f = CountPerToken(arch, 1, AttentionMask::kCausal);
  ParamCounts p = CountParams(arch);
  double context = f.forward_by_component.at(ComponentName(Component::kAttentionScores)) + f.forward_by_component.at(ComponentName(Component::kAttentionValues));
  const std::int64_t norms = 32 * 2 * 4096 + 4096;  // per-layer RMSNorms and the final one
  EXPECT_DOUBLE_EQ(f.forward - context,
                   2.0 * static_cast<double>(p.active_non_embedding - norms + p.output_head));
}

}  // namespace
}  // namespace flopline::compute
