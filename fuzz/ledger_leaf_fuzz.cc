// The leaf parser (ParseLeaf: every command now trusts what a leaf states, read back from a store or
// an auditor's export) and Restamp on arbitrary bytes. A leaf that parses must restamp (to its own
// time: any later one may fall outside the years an instant is written in) to a leaf that parses to
// the same record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/ledger/records.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline::ledger;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto info = ParseLeaf(text);
  if (!info) return 0;
  if (info->version < 1 || info->version > 2) std::abort();
  if (info->kind == kPurgeKind && !info->purges) std::abort();
  auto later = info->recorded_at;
  auto restamped = Restamp(text, later);
  if (!restamped) std::abort();
  auto again = ParseLeaf(*restamped);
  if (!again || again->recorded_at != later || again->kind != info->kind || again->model != info->model ||
      again->version != info->version || again->purges.has_value() != info->purges.has_value()) {
    std::abort();
  }
  if (info->purges && (again->purges->index != info->purges->index ||
                       again->purges->leaf_hash != info->purges->leaf_hash)) {
    std::abort();
  }
  return 0;
}
