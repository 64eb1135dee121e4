// Megatron-LM's iteration lines as step events (megatron_log.h).
#include "flopline/meter/megatron_log.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "flopline/core/instant.h"

namespace flopline::meter {
namespace {

constexpr std::string_view kElapsed = "elapsed time per iteration (ms)";
constexpr std::string_view kThroughput = "throughput per GPU (TFLOP/s/GPU)";
constexpr std::string_view kBatch = "global batch size";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

tl::unexpected<core::Error> Bad(const std::string& file, int line, std::string_view field, std::string message) {
  return core::InvalidArgument(std::move(message), std::string(field), core::Location{file, line, 0});
}

// A finite number >= 0 (Megatron prints %.1f, %d and %E forms).
std::optional<double> Number(std::string_view text) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v < 0) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

core::Result<std::optional<StepEvent>> MegatronLogParser::Parse(std::string_view line, const std::string& file,
                                                                int line_number) {
  if (line.size() > kMaxLineBytes) {
    return Bad(file, line_number, "", fmt::format("the line is {} bytes; at most {}", line.size(), kMaxLineBytes));
  }
  std::string_view rest = Trim(line);
  // " [YYYY-MM-DD HH:MM:SS] iteration N/ M | key: value | ..."; anything else is not an iteration line.
  if (rest.empty() || rest.front() != '[') return std::nullopt;
  std::size_t close = rest.find(']');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view stamp = rest.substr(1, close - 1);
  std::string_view body = Trim(rest.substr(close + 1));
  if (!body.starts_with("iteration ")) return std::nullopt;
  auto at = [&](std::string_view field, std::string message) { return Bad(file, line_number, field, std::move(message)); };

  StepEvent e;
  e.run = options_.run;
  std::string iso(stamp);
  if (iso.size() == 19 && iso[10] == ' ') iso[10] = 'T';
  auto instant = core::Instant::Parse(iso + "Z");
  if (iso.size() != 19 || !instant) {
    return at("time", fmt::format("expected [YYYY-MM-DD HH:MM:SS], got [{}]", stamp));
  }
  e.time = static_cast<double>(instant->time().time_since_epoch().count());

  std::size_t bar = body.find('|');
  std::string_view head = Trim(body.substr(std::string_view("iteration ").size(), bar == std::string_view::npos ? std::string_view::npos : bar - 10));
  std::string_view count = Trim(head.substr(0, head.find('/')));
  auto iteration = Number(count);
  if (!iteration || *iteration != std::floor(*iteration) || *iteration < 1 || *iteration > static_cast<double>(kMaxStep)) {
    return at("iteration", fmt::format("expected the iteration as N/TOTAL, got '{}'", head));
  }
  e.step = static_cast<std::int64_t>(*iteration);

  std::optional<double> elapsed_ms, throughput, batch;
  while (bar != std::string_view::npos) {
    body.remove_prefix(bar + 1);
    bar = body.find('|');
    std::string_view item = Trim(body.substr(0, bar));
    if (item.empty()) continue;
    std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) continue;  // Megatron's own free text: not a field we read
    std::string_view key = Trim(item.substr(0, colon));
    std::string_view value = Trim(item.substr(colon + 1));
    std::optional<double>* slot = key == kElapsed ? &elapsed_ms : key == kThroughput ? &throughput : key == kBatch ? &batch : nullptr;
    if (!slot) continue;  // losses, learning rate, loss scale, grad norm, ...: not compute
    if (*slot) return at(key, "is given twice");
    *slot = Number(value);
    if (!*slot) return at(key, fmt::format("expected a number >= 0, got '{}'", value));
  }

  // Iterations in this line's interval.
  std::int64_t n = options_.log_interval;
  if (previous_iteration_ >= 0 && previous_iteration_ < e.step) n = e.step - previous_iteration_;
  n = std::min(n, e.step);
  auto iterations = static_cast<double>(n);

  bool counted = false;
  if (options_.seq_len) {
    if (!batch) return at(kBatch, "is required (tokens = iterations x global batch size x --seq-len)");
    e.tokens = iterations * *batch * static_cast<double>(*options_.seq_len);
    if (e.tokens > kMaxTokensPerEvent) {
      return at(kBatch, fmt::format("{:g} tokens in one line is more than {:g}", e.tokens, kMaxTokensPerEvent));
    }
  }
  if (options_.world_size && throughput) {
    if (!elapsed_ms) return at(kElapsed, "is required (flop = throughput x GPUs x time)");
    double flop = *throughput * 1e12 * static_cast<double>(*options_.world_size) * (*elapsed_ms / 1000) * iterations;
    if (!(flop <= kMaxFlopPerEvent)) return at(kThroughput, fmt::format("{:g} FLOP in one line is more than {:g}", flop, kMaxFlopPerEvent));
    e.flop = flop;
    counted = true;
  }
  if (!counted && !options_.seq_len) {
    return at(kThroughput,
              options_.world_size ? "is required: run Megatron with --log-throughput, or give the meter --seq-len and --config"
                                  : "cannot be used without the job's GPUs: give --world-size (or --seq-len and --config)");
  }
  if (options_.world_size) e.world_size = *options_.world_size;
  previous_iteration_ = e.step;
  return std::optional<StepEvent>(e);
}

}  // namespace flopline::meter
