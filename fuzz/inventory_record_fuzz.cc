// The model-inventory record parser (InventoryFromJson: verify replays these records to recompute
// the inventory tables) on arbitrary bytes. What parses must write back and parse to the same
// record, and replaying it must leave tables that equal themselves.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/ledger/inventory.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline::ledger;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = InventoryFromJson(text);
  if (!doc) return 0;
  std::string written = InventoryToJson(*doc);
  auto again = InventoryFromJson(written);
  if (!again || InventoryToJson(*again) != written) std::abort();
  InventoryReplay replay;
  replay.Apply(doc->rows);
  replay.Apply(again->rows);
  InventoryRows tables = replay.Tables();
  if (InventoryDifference(tables, tables)) std::abort();
  for (const auto& m : doc->rows.models) (void)replay.Events(m.id);
  return 0;
}
