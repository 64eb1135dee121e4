// The workspace's model JSON (the body of POST/PUT /api/v1/models, and the document each model
// change logs) on arbitrary bytes. What is accepted must normalise to a fixed point: reading the
// normalised model again gives the same JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/workspace/workspace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto model = flopline::workspace::NormaliseModelText(text);
  if (!model) {
    if (model.error().field.empty()) std::abort();  // a refusal always names the field
    return 0;
  }
  auto again = flopline::workspace::NormaliseModel(*model);
  if (!again || *again != *model) std::abort();
  return 0;
}
