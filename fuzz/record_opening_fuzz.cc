// The record-opening parsers (leaf, openings and public disclosures are JSON read back from a store
// or an auditor's export) on arbitrary bytes, split into three inputs at NUL bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/ledger/records.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline::ledger;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t a = text.find('\0');
  size_t b = a == std::string_view::npos ? a : text.find('\0', a + 1);
  std::string_view leaf = text.substr(0, a);
  std::string_view second = a == std::string_view::npos ? std::string_view() : text.substr(a + 1, b - a - 1);
  std::string_view third = b == std::string_view::npos ? std::string_view() : text.substr(b + 1);
  (void)CheckOpening(leaf, second, third);
  (void)CheckDisclosure(leaf, second);
  if (auto d = PublicDisclosure(leaf, second, third)) {
    if (d->empty()) std::abort();
  }
  return 0;
}
