// The agent's order checks on arbitrary bytes: never a crash, and never an order acted on that the
// controller's key did not sign.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/killswitch/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const ledger::Signer signer =
      *ledger::Signer::Parse("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");
  static const ledger::Verifier verifier = *ledger::Verifier::Parse(signer.VerifierKey());
  killswitch::CheckedOrder c = killswitch::CheckOrder(text, verifier, 10, 1000, "a", "m", {"base"});
  if (!c.refusal) {
    // Acted on: it must open under the key and re-sign to the same note.
    auto opened = verifier.Open(text);
    if (!opened || !c.order || c.order->fence <= 10 || c.order->expires_ms <= 1000) std::abort();
  }
  if (auto o = killswitch::Order::ParseText(text)) {
    auto again = killswitch::Order::ParseText(o->Text());
    if (!again || again->Text() != o->Text()) std::abort();
  }
  if (auto s = killswitch::Scope::Parse(text)) {
    if (killswitch::Scope::Parse(s->ToString())->ToString() != s->ToString()) std::abort();
  }
  return 0;
}
