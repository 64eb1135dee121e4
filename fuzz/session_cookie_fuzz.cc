// The HTTP server's credential parsers on arbitrary bytes: a session cookie (forged, truncated,
// expired) must never open unless it is one the keys issued, and a bearer token's user name is
// taken only from the "flt_NAME.SECRET" form.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "flopline/http/auth.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline::http;
  static const SessionKeys keys("fuzz secret");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (keys.Open(text, 0)) std::abort();  // nobody can forge a MAC under a key they do not hold
  (void)keys.CheckCsrf(text, text);
  if (auto user = TokenUser(text)) {
    if (!text.starts_with("flt_") || user->size() + 5 >= text.size()) std::abort();
  }
  // An issued cookie for any name opens to exactly that principal.
  std::string name(text.substr(0, std::min<std::size_t>(text.size(), 16)));
  if (name.find('.') == std::string::npos) {
    std::string cookie = keys.Issue({name, "auditor"}, 100);
    auto who = keys.Open(cookie, 50);
    if (!who || who->name != name || who->role != "auditor" || keys.Open(cookie, 100)) std::abort();
  }
  return 0;
}
