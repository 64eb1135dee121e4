// Parameter counts, exact to the parameter, for real config.json files. Each expected total is the
// figure the model's publisher or Hugging Face reports, and each is also derived by hand here from
// the module shapes, so a wrong parser cannot agree with both by accident.
#include "flopline/compute/hf_config.h"

#include <gtest/gtest.h>

#include "test_paths.h"

namespace flopline::compute {
namespace {

using testing::ExampleConfig;
using testing::FixtureConfig;

ParamCounts Count(const std::string& path) {
  auto arch = LoadHfConfig(path);
  EXPECT_TRUE(arch) << arch.error().ToString();
  return arch ? CountParams(*arch) : ParamCounts{};
}

// Llama-style layer: q, k, v, o; gated MLP; two RMSNorms.
std::int64_t LlamaLayer(std::int64_t d, std::int64_t heads, std::int64_t kv, std::int64_t hd,
                        std::int64_t ff) {
  return d * heads * hd + 2 * d * kv * hd + heads * hd * d + 3 * d * ff + 2 * d;
}

TEST(HfConfigTest, Llama2_7bIsExact) {
  const std::int64_t d = 4096, v = 32000;
  std::int64_t by_hand = 2 * v * d + 32 * LlamaLayer(d, 32, 32, 128, 11008) + d;
  ParamCounts p = Count(ExampleConfig("llama-2-7b-chat.json"));
  EXPECT_EQ(p.total, by_hand);
  EXPECT_EQ(p.total, 6'738'415'616);  // meta-llama/Llama-2-7b-hf
  EXPECT_EQ(p.active, p.total);
  EXPECT_EQ(p.embedding, v * d);
  EXPECT_EQ(p.output_head, v * d);
  EXPECT_EQ(p.active_non_embedding, p.total - 2 * v * d);
}

TEST(HfConfigTest, Llama31_8bGqaIsExact) {
  const std::int64_t d = 4096, v = 128256;
  std::int64_t by_hand = 2 * v * d + 32 * LlamaLayer(d, 32, 8, 128, 14336) + d;
  ParamCounts p = Count(ExampleConfig("llama-3.1-8b-instruct.json"));
  EXPECT_EQ(p.total, by_hand);
  EXPECT_EQ(p.total, 8'030'261'248);  // meta-llama/Llama-3.1-8B
}

TEST(HfConfigTest, MistralToDictDumpIsExact) {
  const std::int64_t d = 4096, v = 32768;
  ParamCounts p = Count(ExampleConfig("mistral-7b-instruct-v0.3-to-dict.json"));
  EXPECT_EQ(p.total, 2 * v * d + 32 * LlamaLayer(d, 32, 8, 128, 14336) + d);
  EXPECT_EQ(p.total, 7'248'023'552);  // mistralai/Mistral-7B-v0.3
}

TEST(HfConfigTest, Qwen2HasQkvBiasesOnly) {
  const std::int64_t d = 3584, v = 152064;
  std::int64_t layer = LlamaLayer(d, 28, 4, 128, 18944) + 28 * 128 + 2 * 4 * 128;  // q, k, v biases
  ParamCounts p = Count(FixtureConfig("qwen2-7b-instruct.json"));
  EXPECT_EQ(p.total, 2 * v * d + 28 * layer + d);
  EXPECT_EQ(p.total, 7'615'616'512);  // Qwen/Qwen2-7B
}

TEST(HfConfigTest, Gemma2HeadDimApartFourNormsAndTiedEmbedding) {
  const std::int64_t d = 3584, v = 256000;
  std::int64_t layer = LlamaLayer(d, 16, 8, 256, 14336) + 2 * d;  // four norms
  auto arch = LoadHfConfig(ExampleConfig("gemma-2-9b-it.json"));
  ASSERT_TRUE(arch) << arch.error().ToString();
  ParamCounts p = CountParams(*arch);
  EXPECT_EQ(p.total, v * d + 42 * layer + d);
  EXPECT_EQ(p.total, 9'241'705'984);  // google/gemma-2-9b
  EXPECT_EQ(p.output_head, 0);
  // Even layers slide over 4096 tokens, odd layers are global.
  EXPECT_EQ(arch->layers[0].attention.window, 4096);
  EXPECT_FALSE(arch->layers[1].attention.window.has_value());
  EXPECT_EQ(arch->layers[0].attention.qk_dim, 256);
}

TEST(HfConfigTest, GemmaHeadDimLargerThanHiddenOverHeadsAndTiedHead) {
  const std::int64_t d = 3072, v = 256000;  // 16 heads x 256 = 4096 != 3072
  ParamCounts p = Count(FixtureConfig("gemma-7b.json"));
  EXPECT_EQ(p.total, v * d + 28 * LlamaLayer(d, 16, 16, 256, 24576) + d);
  EXPECT_EQ(p.total, 8'537'680'896);  // google/gemma-7b
  EXPECT_EQ(p.output_head, 0);
}

TEST(HfConfigTest, Qwen3AddsQueryAndKeyNormsOverHeadDim) {
  auto arch = ParseHfConfig(R"({"model_type": "qwen3", "hidden_size": 1024, "vocab_size": 1000,
    "num_hidden_layers": 2, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
    "intermediate_size": 3072, "max_position_embeddings": 4096, "tie_word_embeddings": true})", "q3.json");
  ASSERT_TRUE(arch) << arch.error().ToString();
  const std::int64_t d = 1024;
  std::int64_t layer = LlamaLayer(d, 16, 8, 128, 3072) + 2 * 128;
  EXPECT_EQ(CountParams(*arch).total, 1000 * d + 2 * layer + d);
}

TEST(HfConfigTest, Qwen3MoeHonoursMlpOnlyLayersAndSparseStep) {
  auto arch = ParseHfConfig(R"({"model_type": "qwen3_moe", "hidden_size": 64, "vocab_size": 10,
    "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "intermediate_size": 256, "moe_intermediate_size": 32, "num_experts": 8, "num_experts_per_tok": 2,
    "decoder_sparse_step": 2, "mlp_only_layers": [3], "max_position_embeddings": 128})", "q3m.json");
  ASSERT_TRUE(arch) << arch.error().ToString();
  // (i + 1) % 2 == 0 selects layers 1 and 3; layer 3 is listed as dense.
  EXPECT_EQ(arch->layers[0].routed_experts, 0);
  EXPECT_EQ(arch->layers[1].routed_experts, 8);
  EXPECT_EQ(arch->layers[2].routed_experts, 0);
  EXPECT_EQ(arch->layers[3].routed_experts, 0);
  EXPECT_EQ(arch->layers[1].experts_per_token, 2);
}

TEST(HfConfigTest, MixtralCountsAllExpertsInTotalAndTopKActive) {
  const std::int64_t d = 4096, v = 32000, expert = 3 * d * 14336;
  std::int64_t attention_and_norms = LlamaLayer(d, 32, 8, 128, 0);
  std::int64_t router = d * 8;
  ParamCounts p = Count(ExampleConfig("mixtral-8x7b-instruct-gptq.json"));
  EXPECT_EQ(p.total, 2 * v * d + 32 * (attention_and_norms + router + 8 * expert) + d);
  EXPECT_EQ(p.total, 46'702'792'704);   // mistralai/Mixtral-8x7B-v0.1
  EXPECT_EQ(p.active, 2 * v * d + 32 * (attention_and_norms + router + 2 * expert) + d);
  EXPECT_EQ(p.active, 12'879'925'248);  // Mistral's "12.9B active"
}

TEST(HfConfigTest, QwenMoeHasSharedExpertAndItsGate) {
  const std::int64_t d = 2048, v = 151936;
  std::int64_t attention = 4 * d * d + 3 * d + 2 * d;  // q, k, v, o (MHA) + qkv biases + 2 norms
  std::int64_t sparse = d * 60 + 60 * 3 * d * 1408 + 3 * d * 5632 + d;
  ParamCounts p = Count(FixtureConfig("qwen1.5-moe-a2.7b.json"));
  EXPECT_EQ(p.total, 2 * v * d + 24 * (attention + sparse) + d);
  EXPECT_EQ(p.total, 14'315'784'192);  // Qwen/Qwen1.5-MoE-A2.7B: "14.3B parameters in total"
  EXPECT_EQ(p.active - 2 * v * d - d, 24 * (attention + d * 60 + 4 * 3 * d * 1408 + 3 * d * 5632 + d));
}

TEST(HfConfigTest, DeepseekV2LiteMlaWithoutQueryCompression) {
  const std::int64_t d = 2048, v = 102400, h = 16;
  std::int64_t mla = d * h * 192 + d * (512 + 64) + 512 + 512 * h * (128 + 128) + h * 128 * d + 2 * d;
  std::int64_t dense = mla + 3 * d * 10944;
  std::int64_t moe = mla + d * 64 + 64 * 3 * d * 1408 + 3 * d * 2816;
  ParamCounts p = Count(FixtureConfig("deepseek-v2-lite.json"));
  EXPECT_EQ(p.total, 2 * v * d + dense + 26 * moe + d);
  EXPECT_EQ(p.total, 15'706'484'224);  // deepseek-ai/DeepSeek-V2-Lite
}

TEST(HfConfigTest, DeepseekV3MlaSharedAndRoutedExpertsDenseFirstLayers) {
  const std::int64_t d = 7168, v = 129280, h = 128;
  std::int64_t mla = d * 1536 + 1536 + 1536 * h * 192 + d * (512 + 64) + 512 + 512 * h * 256 +
                     h * 128 * d + 2 * d;
  std::int64_t dense = mla + 3 * d * 18432;
  std::int64_t moe = mla + d * 256 + 256 /* score-correction bias */ + 256 * 3 * d * 2048 + 3 * d * 2048;
  auto arch = LoadHfConfig(ExampleConfig("deepseek-v3.json"));
  ASSERT_TRUE(arch) << arch.error().ToString();
  ParamCounts p = CountParams(*arch);
  EXPECT_EQ(p.total, 2 * v * d + 3 * dense + 58 * moe + d);
  EXPECT_NEAR(static_cast<double>(p.total), 671e9, 0.5e9);     // "671B total"
  EXPECT_NEAR(static_cast<double>(p.active), 37e9, 0.6e9);     // "37B activated"
  // The multi-token-prediction module is reported apart: one MoE layer, its projection and norms.
  EXPECT_EQ(p.training_only, moe + 2 * d * d + 3 * d);
  EXPECT_EQ(arch->pretraining_seq_len, 4096);
  EXPECT_EQ(arch->pretraining_seq_len_source, "rope_scaling.original_max_position_embeddings");
}

TEST(HfConfigTest, Gpt2LearnedPositionsBiasesAndTiedHead) {
  const std::int64_t d = 768, v = 50257;
  std::int64_t layer = (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + 4 * d;
  ParamCounts p = Count(ExampleConfig("gpt2.json"));
  EXPECT_EQ(p.total, v * d + 1024 * d + 12 * layer + 2 * d);
  EXPECT_EQ(p.total, 124'439'808);  // openai-community/gpt2
  EXPECT_EQ(p.embedding, v * d + 1024 * d);
}

TEST(HfConfigTest, PythiaGptNeoxIsExact) {
  const std::int64_t d = 5120, v = 50688, ff = 20480;
  std::int64_t layer = (d * 3 * d + 3 * d) + (d * d + d) + (d * ff + ff) + (ff * d + d) + 4 * d;
  ParamCounts p = Count(ExampleConfig("pythia-12b.json"));
  EXPECT_EQ(p.total, 2 * v * d + 36 * layer + 2 * d);
  EXPECT_EQ(p.total, 11'846'072'320);  // EleutherAI/pythia-12b
}

TEST(HfConfigTest, FalconMultiQueryWithHfDefaults) {
  const std::int64_t d = 4544, v = 65024;
  std::int64_t layer = d * (71 + 2) * 64 + d * d + 2 * d * 4 * d + 2 * d;
  auto arch = LoadHfConfig(FixtureConfig("falcon-7b.json"));
  ASSERT_TRUE(arch) << arch.error().ToString();
  ParamCounts p = CountParams(*arch);
  EXPECT_EQ(p.total, v * d + 32 * layer + 2 * d);
  EXPECT_EQ(p.total, 6'921'720'704);  // tiiuae/falcon-7b
  EXPECT_FALSE(arch->pretraining_seq_len.has_value());  // this config states none
}

TEST(HfConfigTest, FalconNewDecoderArchitectureUsesGroupedKv) {
  auto arch = LoadHfConfig(FixtureConfig("nemotron-4-340b.json"));
  ASSERT_TRUE(arch) << arch.error().ToString();
  const std::int64_t d = 18432;
  EXPECT_EQ(arch->layers[0].dense[0].out, (96 + 2 * 8) * 192);
  EXPECT_NEAR(static_cast<double>(CountParams(*arch).total), 341e9, 1e9);  // "340B"
  EXPECT_EQ(arch->layers[0].other_params, 4 * d);  // ln_attn and ln_mlp
}

// ---- Bad input: one clear error naming file, line, column and field ----

TEST(HfConfigErrorTest, MalformedJsonGivesLineAndColumn) {
  auto arch = ParseHfConfig("{\n  \"model_type\": \"llama\",\n  \"hidden_size\": 40 96\n}", "c.json");
  ASSERT_FALSE(arch);
  EXPECT_EQ(arch.error().code, core::Code::kInvalidArgument);
  ASSERT_TRUE(arch.error().where);
  EXPECT_EQ(arch.error().where->file, "c.json");
  EXPECT_EQ(arch.error().where->line, 3);
  EXPECT_EQ(arch.error().where->column, 22);  // nlohmann reports the offending token's last character
  EXPECT_NE(arch.error().message.find("malformed JSON"), std::string::npos);
}

// Regression (hf_config_fuzz): nlohmann throws out_of_range, not parse_error, for huge literals.
TEST(HfConfigErrorTest, NumberTooLargeForADoubleIsAnErrorNotACrash) {
  auto arch = ParseHfConfig(R"({"model_type": "llama", "hidden_size": 1e999})", "c.json");
  ASSERT_FALSE(arch);
  EXPECT_NE(arch.error().message.find("malformed JSON"), std::string::npos);
}

TEST(HfConfigErrorTest, WrongTypeNamesFieldAndItsLine) {
  std::string text = R"({
  "model_type": "llama",
  "hidden_size": 4096,
  "num_hidden_layers": "32",
  "vocab_size": 32000
})";
  auto arch = ParseHfConfig(text, "c.json");
  ASSERT_FALSE(arch);
  EXPECT_EQ(arch.error().field, "num_hidden_layers");
  EXPECT_EQ(arch.error().where->line, 4);
  EXPECT_EQ(arch.error().ToString(),
            "c.json:4:3: field 'num_hidden_layers': expected an integer, got \"32\" (string)");
}

TEST(HfConfigErrorTest, UnknownModelTypeListsTheSupportedOnes) {
  // (This used t5, which is now described: data/architectures/t5.toml.)
  auto arch = ParseHfConfig(R"({"model_type": "bert", "d_model": 512})", "bert.json");
  ASSERT_FALSE(arch);
  EXPECT_EQ(arch.error().field, "model_type");
  for (const std::string& type : SupportedModelTypes()) {
    EXPECT_NE(arch.error().message.find(type), std::string::npos) << type;
  }
  EXPECT_NE(arch.error().message.find("--params"), std::string::npos);
}

TEST(HfConfigErrorTest, SupportsEveryFamilyTheIssueNames) {
  for (const char* type : {"llama", "mistral", "qwen2", "gpt2", "gpt_neox", "falcon", "gemma", "gemma2",
                           "mixtral", "qwen2_moe", "deepseek_v2", "deepseek_v3"}) {
    EXPECT_NE(std::find(SupportedModelTypes().begin(), SupportedModelTypes().end(), type),
              SupportedModelTypes().end())
        << type;
  }
}

TEST(HfConfigErrorTest, MissingRequiredFieldIsNamed) {
  auto arch = ParseHfConfig(R"({"model_type": "llama", "hidden_size": 4096})", "c.json");
  ASSERT_FALSE(arch);
  EXPECT_EQ(arch.error().field, "vocab_size");
}

TEST(HfConfigErrorTest, ImpossibleShapesAreRejected) {
  std::string base = R"({"model_type": "llama", "hidden_size": 4096, "vocab_size": 100,
    "num_hidden_layers": 2, "intermediate_size": 11008, )";
  auto indivisible = ParseHfConfig(base + R"("num_attention_heads": 33})", "c.json");
  ASSERT_FALSE(indivisible);
  EXPECT_EQ(indivisible.error().field, "num_attention_heads");
  auto bad_gqa = ParseHfConfig(base + R"("num_attention_heads": 32, "num_key_value_heads": 5})", "c.json");
  ASSERT_FALSE(bad_gqa);
  EXPECT_EQ(bad_gqa.error().field, "num_key_value_heads");
  auto negative = ParseHfConfig(base + R"("num_attention_heads": -32})", "c.json");
  ASSERT_FALSE(negative);
  EXPECT_NE(negative.error().message.find("at least 1"), std::string::npos);
}

TEST(HfConfigErrorTest, AbsurdSizesAreRejectedNotOverflowed) {
  auto arch = ParseHfConfig(R"({"model_type": "mixtral", "hidden_size": 16000000, "vocab_size": 16000000,
    "num_hidden_layers": 65536, "num_attention_heads": 1, "intermediate_size": 16000000,
    "num_local_experts": 65536, "num_experts_per_tok": 2})", "big.json");
  ASSERT_FALSE(arch);
  EXPECT_NE(arch.error().message.find("beyond what flopline counts"), std::string::npos);
}

TEST(HfConfigErrorTest, MissingFileIsNotFound) {
  auto arch = LoadHfConfig("/nonexistent/config.json");
  ASSERT_FALSE(arch);
  EXPECT_EQ(arch.error().code, core::Code::kNotFound);
  EXPECT_EQ(arch.error().where->file, "/nonexistent/config.json");
}

}  // namespace
}  // namespace flopline::compute
