// The signed-note, key and checkpoint parsers on arbitrary bytes: a verifier must never crash or
// accept a note that its key did not sign.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "flopline/ledger/note.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline::ledger;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // A fixed key: deterministic, so a note the fuzzer builds cannot carry its valid signature
  // unless it copied one from the corpus of this exact text.
  static const Signer signer =
      *Signer::Parse("PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");
  static const Verifier verifier = *Verifier::Parse(signer.VerifierKey());
  if (auto opened = verifier.Open(text)) {
    // Whatever opens must re-sign to a note that opens to the same text.
    auto resigned = signer.Sign(*opened);
    if (!resigned || verifier.Open(*resigned).value_or("") != *opened) std::abort();
  }
  if (auto cp = Checkpoint::Parse(text)) {
    auto again = Checkpoint::Parse(cp->Text());
    if (!again || again->size != cp->size || again->root != cp->root || again->origin != cp->origin) std::abort();
  }
  if (auto v = Verifier::Parse(text)) {
    if (v->name().empty()) std::abort();
  }
  (void)Signer::Parse(text);
  return 0;
}
