// The forecast-trends parser on arbitrary bytes; whatever parses must hold its invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/forecast/trends.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto trends = flopline::forecast::ParseTrends(text, "fuzz.toml");
  if (!trends) {
    if (trends.error().message.empty()) std::abort();
    return 0;
  }
  for (const auto* s : {&trends->hardware_halving_years, &trends->algorithmic_halving_months, &trends->cpi_rate}) {
    if (!(s->low <= s->point && s->point <= s->high)) std::abort();
    double q = s->Quantile(0.5);
    if (!(q >= s->low && q <= s->high)) std::abort();
  }
  return 0;
}
