// The JSON Lines model-file parser (the bulk inventory format of `flopline assess`) on arbitrary
// bytes: it must refuse with a message at a line, never crash, and place every model it accepts
// once in the lineage order. Configs are served from memory so that no file is read.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "flopline/rules/inventory.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto loader = [](const std::string&) -> flopline::core::Result<flopline::compute::Architecture> {
    return flopline::core::InvalidArgument("configs are not read while fuzzing");
  };
  auto inventory = flopline::rules::ParseInventory({{"fuzz.jsonl", text}}, flopline::compute::AcceleratorTable(),
                                                   flopline::compute::PriceTable(), loader);
  if (!inventory) {
    if (inventory.error().message.empty()) std::abort();
    if (!inventory.error().where || inventory.error().where->file != "fuzz.jsonl") std::abort();  // always placed
    return 0;
  }
  if (inventory->order.size() != inventory->models.size()) std::abort();  // every model placed once
  for (const auto& model : inventory->models) {
    for (const auto& stage : model.training) {
      if (stage.cost_usd && !(*stage.cost_usd >= 0 && *stage.cost_usd <= flopline::rules::kMaxUsd)) std::abort();
    }
  }
  return 0;
}
