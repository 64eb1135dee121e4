// Architecture files (data/architectures/): every shipped one loads, a new family is a data change,
// unknown config keys that may change the count are refused by name, and broken files fail at
// their line with the key named.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "flopline/compute/family.h"
#include "flopline/compute/hf_config.h"
#include "test_paths.h"

namespace flopline::compute {
namespace {

std::string ArchitecturesDir() { return std::string(FLOPLINE_SOURCE_DIR) + "/data/architectures"; }

TEST(FamilyFilesTest, EveryShippedFileLoadsAndIsCompiledIn) {
  auto catalog = FamilyCatalog::LoadDir(ArchitecturesDir());
  ASSERT_TRUE(catalog) << catalog.error().ToString();
  EXPECT_EQ(catalog->ModelTypes(), FamilyCatalog::Shipped().ModelTypes());
  EXPECT_EQ(catalog->ModelTypes(), SupportedModelTypes());
  for (const char* type :
       {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "mixtral", "qwen2_moe", "qwen3_moe",
        "deepseek_v2", "deepseek_v3", "gpt2", "gpt_neox", "falcon", "RefinedWeb", "RefinedWebModel",
        "phi3", "phi", "olmo", "olmo2", "olmoe", "gemma3_text", "cohere", "cohere2", "starcoder2",
        "gpt_bigcode", "gptj", "bloom", "opt", "stablelm", "granite", "internlm2", "llama4",
        "llama4_text", "gpt_oss", "mamba", "mamba2", "jamba", "t5", "qwen2_5_vl"}) {
    EXPECT_NE(catalog->Find(type), nullptr) << type;
  }
}

// Every shipped family counts a small config built from its own required keys without error is
// covered by the per-family tests; here, each file must at least name a reference and a family.
TEST(FamilyFilesTest, EveryShippedFileHasAHeaderComment) {
  for (const auto& entry : std::filesystem::directory_iterator(ArchitecturesDir())) {
    std::ifstream in(entry.path());
    std::string first;
    std::getline(in, first);
    EXPECT_EQ(first.rfind("# ", 0), 0u) << entry.path() << ": a file starts by saying what it describes";
  }
}

constexpr const char* kMyLlama = R"toml(# A user's own Llama-like family: no recompile.
model_types = ["my_llama"]
family = "my_llama (Llama with a 2x wider MLP key)"
reference = "test"
seq_len = ["positions"]

[config]
hidden = { keys = ["d_model"] }
vocab = { keys = ["vocab_size"] }
layers = { keys = ["n_layers"], max = 65536 }
heads = { keys = ["n_heads"], max = 65536 }
ffn = { keys = ["ffn_width"] }
positions = { keys = ["context_length"], optional = true }

[model]
hidden = "hidden"
vocab = "vocab"
layers = "layers"

[layer]
norm = "2 * hidden"

[attention]
heads = "heads"
head_dim = "hidden / heads"

[mlp]
inner = "ffn"
)toml";

TEST(FamilyFilesTest, ANewLlamaLikeFamilyIsADataChange) {
  auto dir = std::filesystem::temp_directory_path() / "flopline-family-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "my_llama.toml") << kMyLlama;
  auto catalog = FamilyCatalog::LoadDir(dir.string());
  ASSERT_TRUE(catalog) << catalog.error().ToString();
  auto arch = ParseHfConfig(R"({"model_type": "my_llama", "d_model": 64, "vocab_size": 100,
    "n_layers": 2, "n_heads": 4, "ffn_width": 256, "context_length": 512, "dropout": 0.1})",
                            "c.json", *catalog);
  ASSERT_TRUE(arch) << arch.error().ToString();
  const std::int64_t d = 64;
  EXPECT_EQ(CountParams(*arch).total, 2 * 100 * d + d + 2 * (4 * d * d + 3 * d * 256 + 2 * d));
  EXPECT_EQ(arch->pretraining_seq_len, 512);
  EXPECT_EQ(arch->pretraining_seq_len_source, "context_length");
  EXPECT_EQ(arch->ignored_keys, std::vector<std::string>{"dropout"});
  std::filesystem::remove_all(dir);
}

TEST(FamilyFilesTest, UnknownKeyThatMayChangeTheCountIsRefusedByName) {
  auto arch = ParseHfConfig(R"({"model_type": "llama", "hidden_size": 64, "vocab_size": 10,
    "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 128,
    "num_experts": 8})", "c.json");
  ASSERT_FALSE(arch);
  EXPECT_EQ(arch.error().field, "num_experts");
  EXPECT_NE(arch.error().message.find("llama.toml"), std::string::npos) << arch.error().message;
  EXPECT_NE(arch.error().message.find("may change the parameter count"), std::string::npos);
  EXPECT_EQ(arch.error().where->line, 3);
}

TEST(FamilyFilesTest, KeysThatDoNotChangeTheCountAreListedAsIgnored) {
  auto arch = LoadHfConfig(testing::ExampleConfig("mistral-7b-instruct-v0.3-to-dict.json"));
  ASSERT_TRUE(arch) << arch.error().ToString();
  const auto& ignored = arch->ignored_keys;
  for (const char* key : {"rms_norm_eps", "rope_theta", "torch_dtype", "num_beams", "bos_token_id"}) {
    EXPECT_NE(std::find(ignored.begin(), ignored.end(), key), ignored.end()) << key;
  }
  EXPECT_EQ(std::find(ignored.begin(), ignored.end(), "hidden_size"), ignored.end());
  // Null or empty values of count-looking keys do not change the count either.
  auto null_key = ParseHfConfig(R"({"model_type": "llama", "hidden_size": 64, "vocab_size": 10,
    "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 128, "num_experts": null})",
                                "c.json");
  ASSERT_TRUE(null_key) << null_key.error().ToString();
}

TEST(FamilyFilesTest, UnknownFamilyNamesTheClosestAndHowToDescribeIt) {
  auto arch = ParseHfConfig(R"({"model_type": "qwen3_vl"})", "c.json");
  ASSERT_FALSE(arch);
  EXPECT_EQ(arch.error().field, "model_type");
  const std::string& m = arch.error().message;
  EXPECT_NE(m.find("Closest known: qwen3"), std::string::npos) << m;
  EXPECT_NE(m.find("data/architectures/"), std::string::npos) << m;
  EXPECT_NE(m.find("Adding a family"), std::string::npos) << m;
  const FamilyCatalog& catalog = FamilyCatalog::Shipped();
  EXPECT_EQ(catalog.Closest("olmo3", 1), std::vector<std::string>{"olmo"});
  EXPECT_EQ(catalog.Closest("Gemma3", 1), std::vector<std::string>{"gemma3_text"});
}

struct BadFile {
  const char* name;
  const char* text;
  const char* field;
};

class BadFamilyFileTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(BadFamilyFileTest, FailsAtTheKeyItNames) {
  auto catalog = FamilyCatalog::Parse(GetParam().text, "bad.toml");
  ASSERT_FALSE(catalog) << GetParam().name;
  EXPECT_EQ(catalog.error().field, GetParam().field) << catalog.error().ToString();
  EXPECT_EQ(catalog.error().code, core::Code::kInvalidArgument);
}

constexpr const char* kHead = "model_types = [\"x\"]\nfamily = \"x\"\nreference = \"t\"\n";

INSTANTIATE_TEST_SUITE_P(
    Files, BadFamilyFileTest,
    ::testing::Values(
        BadFile{"NoModelTypes", "family = \"x\"\nreference = \"t\"\n[config]\n", "model_types"},
        BadFile{"UnknownTopKey", "model_types = [\"x\"]\nfamilly = \"x\"\n", "familly"},
        BadFile{"UnknownName",
                "model_types = [\"x\"]\nfamily = \"x\"\nreference = \"t\"\n[config]\nh = { keys = [\"h\"] }\n"
                "[model]\nhidden = \"hiden\"\nvocab = 1\nlayers = 1\n[layer]\nnorm = 0\n",
                "model.hidden"},
        BadFile{"BadExpression",
                "model_types = [\"x\"]\nfamily = \"x\"\nreference = \"t\"\n[config]\nh = { keys = [\"h\"] }\n"
                "[model]\nhidden = \"h +\"\nvocab = 1\nlayers = 1\n[layer]\nnorm = 0\n",
                "model.hidden"},
        BadFile{"UnknownSectionKey",
                "model_types = [\"x\"]\nfamily = \"x\"\nreference = \"t\"\n[config]\nh = { keys = [\"h\"] }\n"
                "[model]\nhidden = 1\nvocab = 1\nlayers = 1\n[layer]\nnorm = 0\n[attention]\nhead = 1\n",
                "attention.head"},
        BadFile{"MissingRequired",
                "model_types = [\"x\"]\nfamily = \"x\"\nreference = \"t\"\n[config]\nh = { keys = [\"h\"] }\n"
                "[model]\nhidden = 1\nvocab = 1\n[layer]\nnorm = 0\n",
                "model.layers"},
        BadFile{"DefaultReadsALaterName",
                "model_types = [\"x\"]\nfamily = \"x\"\nreference = \"t\"\n[config]\n"
                "a = { keys = [\"a\"], default = \"b\" }\nb = { keys = [\"b\"] }\n",
                "config.a.default"},
        BadFile{"BadParamType",
                "model_types = [\"x\"]\nfamily = \"x\"\nreference = \"t\"\n[config]\n"
                "a = { keys = [\"a\"], type = \"float\" }\n",
                "config.a.type"},
        BadFile{"EmptyKeyPath",
                "model_types = [\"x\"]\nfamily = \"x\"\nreference = \"t\"\n[config]\na = { keys = [\"a..b\"] }\n",
                "config.a"}),
    [](const ::testing::TestParamInfo<BadFile>& param_info) { return std::string(param_info.param.name); });

TEST(FamilyFilesTest, TwoFilesClaimingOneModelTypeAreAnError) {
  auto dir = std::filesystem::temp_directory_path() / "flopline-family-dup";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.toml") << kMyLlama;
  std::ofstream(dir / "b.toml") << kMyLlama;
  auto catalog = FamilyCatalog::LoadDir(dir.string());
  ASSERT_FALSE(catalog);
  EXPECT_NE(catalog.error().message.find("also described by"), std::string::npos);
  std::filesystem::remove_all(dir);
}

// A family file evaluated against a config can still go wrong (an expression dividing by a
// config value of the wrong shape): the error names the family file and the key, never crashes.
TEST(FamilyFilesTest, EvaluationErrorsNameTheFamilyFile) {
  std::string text = std::string(kHead) +
                     "[config]\nh = { keys = [\"h\"], min = 0 }\n[model]\nhidden = \"64 / h\"\nvocab = 1\n"
                     "layers = 1\n[layer]\nnorm = 0\nmlp = false\nmixer = \"'none'\"\n";
  auto catalog = FamilyCatalog::Parse(text, "div.toml");
  ASSERT_TRUE(catalog) << catalog.error().ToString();
  auto arch = ParseHfConfig(R"({"model_type": "x", "h": 0})", "c.json", *catalog);
  ASSERT_FALSE(arch);
  EXPECT_EQ(arch.error().field, "model.hidden");
  EXPECT_NE(arch.error().message.find("division by zero"), std::string::npos) << arch.error().message;
  EXPECT_NE(arch.error().message.find("div.toml"), std::string::npos);
}

}  // namespace
}  // namespace flopline::compute
