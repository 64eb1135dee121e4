// Any bytes given as an architecture file (data/architectures/*.toml), and then as a config.json
// read through it, either load and count consistently or give an error with a message; never a
// crash, a hang or undefined behaviour. The input is the family file, optionally followed by a line
// "#config" and the config's JSON; without one, a small config of the common keys is used.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "flopline/compute/family.h"
#include "flopline/compute/flop_count.h"
#include "flopline/compute/hf_config.h"

namespace {

constexpr std::string_view kDefaultConfig = R"({"model_type": "x", "hidden_size": 64, "vocab_size": 100,
  "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
  "num_experts": 4, "num_experts_per_tok": 2, "max_position_embeddings": 256})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view family = input;
  std::string_view config = kDefaultConfig;
  if (auto split = input.find("\n#config\n"); split != std::string_view::npos) {
    family = input.substr(0, split);
    config = input.substr(split + 9);
  }
  auto catalog = flopline::compute::FamilyCatalog::Parse(family, "fuzz.toml");
  if (!catalog) {
    if (catalog.error().message.empty()) std::abort();
    return 0;
  }
  for (const std::string& type : catalog->ModelTypes()) {
    // The config is read as the file's first model_type, whatever it says.
    std::string text(config);
    if (auto at = text.find("\"x\""); at != std::string::npos) text.replace(at, 3, "\"" + type + "\"");
    auto arch = flopline::compute::ParseHfConfig(text, "fuzz.json", *catalog);
    if (!arch) {
      if (arch.error().message.empty()) std::abort();
      return 0;
    }
    flopline::compute::ParamCounts p = flopline::compute::CountParams(*arch);
    if (p.active > p.total || p.total < 0) std::abort();
    auto flop = flopline::compute::CountPerToken(*arch, 256, flopline::compute::AttentionMask::kCausal);
    if (!(flop.forward >= 0)) std::abort();
    break;
  }
  return 0;
}
