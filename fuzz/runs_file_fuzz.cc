// The runs-file parser on arbitrary bytes, with configs served from memory (no file access).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/compute/runs_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loader = [](const std::string&) -> flopline::core::Result<flopline::compute::Architecture> {
    return flopline::compute::Architecture{};
  };
  auto runs = flopline::compute::ParseRunsFile(text, "fuzz.toml", loader);
  if (!runs && runs.error().message.empty()) std::abort();
  return 0;
}
