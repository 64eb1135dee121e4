// Megatron-LM's log (docs/meter.md) on arbitrary bytes: every line is skipped, an event within the
// step events' bounds, or a bad line naming its line; the meter's totals stay finite.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "flopline/meter/megatron_log.h"
#include "flopline/meter/session.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace flopline;
  meter::Session session(meter::AlertPolicy{});
  if (!session.AddRun({{"r1", "m", 6e9}, std::nullopt})) std::abort();
  // With GPUs (FLOP from throughput) on even sizes, with a sequence length only on odd ones.
  bool gpus = size % 2 == 0;
  meter::MegatronLogParser parser({"r1", gpus ? std::optional<std::int64_t>(64) : std::nullopt, 4096, 10});
  std::string_view text(reinterpret_cast<const char*>(data), size);
  int line = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    auto event = parser.Parse(text.substr(0, nl), "fuzz.log", ++line);
    if (!event) {
      if (event.error().message.empty() || !event.error().where || event.error().where->line != line) std::abort();
      session.FeedBadLine(event.error());
    } else if (*event) {
      const meter::StepEvent& e = **event;
      if (e.step < 1 || !(e.tokens >= 0 && e.tokens <= meter::kMaxTokensPerEvent)) std::abort();
      if (e.flop && !(*e.flop >= 0 && *e.flop <= meter::kMaxFlopPerEvent)) std::abort();
      if (gpus != e.world_size.has_value()) std::abort();
      session.FeedEvent(e, "fuzz.log", line);
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  const meter::RunState& r = session.meter().run(0);
  if (!std::isfinite(r.flop.value()) || r.flop.value() < 0 || r.tokens.value() < 0) std::abort();
  (void)session.Report();
  return 0;
}
