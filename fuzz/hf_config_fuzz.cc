// Any bytes given to the config.json parser either parse into an architecture whose counts are
// consistent, or produce an error with a message; never a crash, a hang or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/compute/flop_count.h"
#include "flopline/compute/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto arch = flopline::compute::ParseHfConfig(text, "fuzz.json");
  if (!arch) {
    if (arch.error().message.empty()) std::abort();
    return 0;
  }
  flopline::compute::ParamCounts p = flopline::compute::CountParams(*arch);
  if (p.active > p.total || p.total <= 0) std::abort();
  auto flop = flopline::compute::CountPerToken(*arch, 4096, flopline::compute::AttentionMask::kCausal);
  if (!(flop.forward > 0)) std::abort();
  return 0;
}
