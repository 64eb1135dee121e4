#include "flopline/core/format.h"

#include <cmath>

#include <fmt/compile.h>
#include <fmt/format.h>

namespace flopline::core {

std::string Sci3(double value) { return fmt::format(FMT_COMPILE("{:.2e}"), value); }

std::string Grouped(std::int64_t value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return value < 0 ? "-" + out : out;
}

std::string Dollars(double dollars) {
  double magnitude = std::fabs(dollars);
  if (magnitude >= 1e9) return fmt::format("${:.3g}B", dollars / 1e9);
  if (magnitude >= 1e6) return fmt::format("${:.3g}M", dollars / 1e6);
  if (magnitude >= 1e3) return fmt::format("${:.3g}k", dollars / 1e3);
  return fmt::format("${:.2f}", dollars);
}

std::string Percent(double fraction, int decimals) {
  return fmt::format("{:.{}f}%", fraction * 100.0, decimals);
}

std::string Join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

}  // namespace flopline::core
