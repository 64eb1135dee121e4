// The accelerator and price table parsers on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/compute/accelerators.h"
#include "flopline/compute/prices.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto accelerators = flopline::compute::AcceleratorTable::Parse(text, "fuzz.toml");
  if (accelerators) {
    for (const auto& a : accelerators->all()) {
      if (!accelerators->Peak(a, "")) std::abort();  // default precision always has a peak
    }
  }
  auto prices = flopline::compute::PriceTable::Parse(text, "fuzz.toml");
  if (prices) (void)prices->At("A100", flopline::core::Date::FromYmd(2024, 1, 1));
  return 0;
}
