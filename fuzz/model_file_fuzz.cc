// The model-file parser (models, training stages, events, lineage checks) on arbitrary bytes, with
// configs served from memory so that no file is read.
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
  auto inventory = flopline::rules::ParseInventory({{"fuzz.toml", text}}, flopline::compute::AcceleratorTable(),
                                                   flopline::compute::PriceTable(), loader);
  if (!inventory) {
    if (inventory.error().message.empty()) std::abort();
    return 0;
  }
  if (inventory->order.size() != inventory->models.size()) std::abort();  // every model placed once
  return 0;
}
