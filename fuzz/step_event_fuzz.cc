// Step events (docs/meter.md) on arbitrary bytes: every line either counts or is a bad line with a
// message naming its line; the totals never go negative or non-finite. Run r2 has a key (the seed
// 0x07 x 32; the corpus holds a line it signed): only events it verified are metered.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <sodium.h>

#include "flopline/meter/session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline;
  meter::Session session(meter::AlertPolicy{});
  if (!session.AddRun({{"r1", "m", 6e9}, std::nullopt})) std::abort();
  if (!session.AddRun({{"r2", "m", 6e9}, std::nullopt})) std::abort();
  static const meter::PublicKey key = [] {
    if (sodium_init() < 0) std::abort();
    unsigned char seed[crypto_sign_SEEDBYTES];
    std::fill(seed, seed + sizeof seed, 0x07);
    meter::PublicKey pk{};
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    crypto_sign_seed_keypair(pk.data(), sk, seed);
    return pk;
  }();
  session.SetRunKey(1, key);
  session.on_bad_line = [](const core::Error& e) {
    if (e.message.empty() || !e.where || e.where->line <= 0) std::abort();
  };
  std::string_view text(reinterpret_cast<const char*>(data), size);
  int line = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view one = text.substr(0, nl);
    session.Feed(one, "fuzz.jsonl", ++line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  const meter::RunState& r = session.meter().run(0);
  if (!std::isfinite(r.flop.value()) || r.flop.value() < 0 || r.tokens.value() < 0) std::abort();
  if (session.counted() + session.repeated() + session.bad_lines() != session.lines_read()) std::abort();
  nlohmann::json report = session.Report();
  const meter::RunState& keyed = session.meter().run(1);
  if (keyed.steps_counted + keyed.steps_repeated > report["runs"][1]["signatures"]["verified"].get<std::uint64_t>()) {
    std::abort();
  }
  return 0;
}
