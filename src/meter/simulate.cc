// The synthetic run generator (simulate.h).
#include "flopline/meter/simulate.h"

#include <cmath>
#include <random>

#include <fmt/format.h>

namespace flopline::meter {

core::Result<void> CheckSpec(const SimulationSpec& s) {
  if (s.steps <= 0) return core::InvalidArgument("must be positive", "--steps");
  if (!(s.tokens_per_step > 0) || !std::isfinite(s.tokens_per_step)) return core::InvalidArgument("must be positive", "--tokens-per-step");
  if (!(s.step_seconds > 0) || !std::isfinite(s.step_seconds)) return core::InvalidArgument("must be positive", "--step-seconds");
  if (!(s.jitter >= 0 && s.jitter < 1)) return core::InvalidArgument("must be in [0, 1)", "--jitter");
  if (s.every <= 0) return core::InvalidArgument("must be positive", "--every");
  if (s.world_size <= 0) return core::InvalidArgument("must be positive", "--world-size");
  if (s.flop_per_token && !(*s.flop_per_token > 0)) return core::InvalidArgument("must be positive", "--flop-per-token");
  if (s.run.empty()) return core::InvalidArgument("must not be empty", "--run");
  std::int64_t previous = 0;
  for (const SimulatedRestart& r : s.restarts) {
    if (r.at_step <= previous || r.at_step >= s.steps || r.checkpoint_step < 0 || r.checkpoint_step >= r.at_step ||
        r.downtime_seconds < 0) {
      return core::InvalidArgument(
          fmt::format("restart at step {} from checkpoint {}: need 0 <= checkpoint < failure step < {} (the run's "
                      "steps), restarts in order",
                      r.at_step, r.checkpoint_step, s.steps),
          "--restart");
    }
    previous = r.at_step;
  }
  return core::Ok();
}

core::Result<void> Simulate(const SimulationSpec& s, const std::function<void(std::string_view)>& line) {
  FL_RETURN_IF_ERROR(CheckSpec(s));
  std::mt19937_64 rng(s.seed);
  std::uniform_real_distribution<double> jitter(1 - s.jitter, 1 + s.jitter);
  double t = s.start_time;
  std::uint64_t seq = 0;
  std::size_t next_restart = 0;
  std::int64_t step = 1;
  std::string buffer;
  double pending_tokens = 0;
  while (step <= s.steps) {
    t += s.step_seconds * jitter(rng);
    pending_tokens += s.tokens_per_step;
    if (step % s.every == 0 || step == s.steps) {
      buffer.clear();
      fmt::format_to(std::back_inserter(buffer), R"({{"run":"{}","seq":{},"time":{:.3f},"step":{},"tokens":{:.17g})",
                     s.run, ++seq, t, step, pending_tokens);
      if (s.flop_per_token) fmt::format_to(std::back_inserter(buffer), R"(,"flop":{:.17g})", *s.flop_per_token * pending_tokens);
      fmt::format_to(std::back_inserter(buffer), R"(,"world_size":{},"precision":"{}"}})", s.world_size, s.precision);
      line(buffer);
      pending_tokens = 0;
    }
    if (next_restart < s.restarts.size() && step == s.restarts[next_restart].at_step) {
      // The job dies; it restarts from the checkpoint and does those steps again.
      t += s.restarts[next_restart].downtime_seconds;
      step = s.restarts[next_restart].checkpoint_step + 1;
      pending_tokens = 0;
      ++next_restart;
      continue;
    }
    ++step;
  }
  return core::Ok();
}

}  // namespace flopline::meter
