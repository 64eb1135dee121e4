// Hugging Face Trainer logs (docs/meter.md "Hugging Face Trainer logs") on arbitrary bytes: read as
// console lines (each no event, an event within the step events' bounds, or a bad line naming its
// line) and, whole, as a trainer_state.json; the meter's totals stay finite.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/meter/hf_log.h"
#include "flopline/meter/session.h"

namespace {

void CheckEvent(const flopline::meter::StepEvent& e) {
  using namespace flopline::meter;
  if (e.step < 1 || e.step > kMaxStep || !(e.tokens >= 0 && e.tokens <= kMaxTokensPerEvent)) std::abort();
  if (e.flop && !(*e.flop > 0 && *e.flop <= kMaxFlopPerEvent)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline;
  // With a config (FLOP from tokens) on even sizes, the Trainer's total_flos on odd ones.
  bool config = size % 2 == 0;
  meter::Session session(meter::AlertPolicy{});
  if (!session.AddRun({{"r1", "m", config ? std::optional<double>(6e9) : std::nullopt}, std::nullopt})) std::abort();
  meter::HfLogParser parser({"r1", 10, size % 3 == 0 ? std::optional<double>(4096) : std::nullopt, config});
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string_view rest = text;
  int line = 0;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    const meter::RunState& r = session.meter().run(0);
    auto event = parser.ParseLine(rest.substr(0, nl), "fuzz.log", ++line, 1767225600, {r.flop.value(), r.tokens.value()});
    if (!event) {
      if (!event.error().where || event.error().where->line != line) std::abort();
      session.FeedBadLine(event.error());
    } else if (*event) {
      CheckEvent(**event);
      session.FeedEvent(**event, "fuzz.log", line);
    }
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  meter::HfLogParser whole({"r1", 10, 4096.0, config});
  auto events = whole.ParseTrainerState(text, "trainer_state.json", 1767225600, {});
  if (!events) {
    if (!events.error().where || events.error().where->line < 1) std::abort();
  } else {
    for (const auto& [at, e] : *events) {
      if (at < 1) std::abort();
      CheckEvent(e);
      session.FeedEvent(e, "trainer_state.json", at);
    }
  }
  const meter::RunState& r = session.meter().run(0);
  if (!std::isfinite(r.flop.value()) || r.flop.value() < 0 || r.tokens.value() < 0) std::abort();
  (void)session.Report();
  return 0;
}
