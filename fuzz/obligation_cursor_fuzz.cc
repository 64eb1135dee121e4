// The obligations calendar's page cursor (GET /api/v1/obligations?cursor=...), which a client sends
// back as it likes, on arbitrary bytes: refused naming "cursor", or read as a key that writes back to
// the very same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/workspace/workspace.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto key = flopline::workspace::ParseObligationCursor(text);
  if (!key) {
    if (key.error().field != "cursor") std::abort();
    return 0;
  }
  // A key read back writes the same key: what is accepted is only what the list could have given.
  auto again = flopline::workspace::ParseObligationCursor(flopline::workspace::ObligationCursorText(*key));
  if (!again || *again != *key) std::abort();
  return 0;
}
