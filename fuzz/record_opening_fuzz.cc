// The record-opening parsers (leaf, openings and public disclosures are JSON read back from a store
// or an auditor's export) on arbitrary bytes, split into three inputs at NUL bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
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
  // Random openings almost never hold a well-formed salt, which CheckOpening checks first: with
  // canned ones the hostile leaf and document reach the commitment and field checks (a mistyped
  // commitment, a non-object fields) that once threw out of verify.
  static constexpr std::string_view kSalt = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  static const std::string kOpenings[] = {
      std::string(R"({"document":")") + std::string(kSalt) + R"(","fields":{}})",
      std::string(R"({"document":")") + std::string(kSalt) + R"(","fields":[1]})",
      std::string(R"({"document":")") + std::string(kSalt) + R"(","fields":{"a":")" + std::string(kSalt) +
          R"(","b":7}})",
  };
  for (const std::string& openings : kOpenings) (void)CheckOpening(leaf, second, openings);
  (void)CheckDisclosure(leaf, second);
  if (auto d = PublicDisclosure(leaf, second, third)) {
    if (d->empty()) std::abort();
  }
  return 0;
}
