// File: flopline/meter/step_event.h
//
// Step events: what a training run says about its progress, one JSON object per line (JSON Lines),
// one per optimizer step or every N steps (docs/meter.md is the format):
//
//   {"run":"r1","seq":12,"time":1767225600.5,"step":12,"tokens":4194304,"flop":1.6e17,
//    "world_size":1024,"precision":"bf16"}
//
// `run`, `time`, `step` and `tokens` are required; `time` is seconds since the Unix epoch (a number)
// or an ISO 8601 instant ("2026-01-01T00:00:00Z"); `flop` is the model FLOP of the step's tokens
// (absent: the meter computes it from the run's config.json with compute's estimator); `seq` is the
// emitter's own counter, which only grows, across restarts too. `v` (1) may name the version; `sig`
// is a signature by the run's key (signing.h), checked by the session for runs that have one. Any
// other key is an error: an event the meter cannot read fully is never half counted.
//
// Parsed with simdjson (DOM: trailing content is caught), no allocation for a well-formed line: the
// event's strings are views that stay valid until the parser reads the next line.
//
//   meter::StepParser parser;
//   auto event = parser.Parse(line, "steps.jsonl", 17);   // errors name steps.jsonl:17 and the field
//
// Thread safety: a StepParser is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "flopline/core/result.h"

namespace flopline::meter {

// Bounds an event must satisfy; each is a bad line otherwise (the message says which).
inline constexpr double kMaxTokensPerEvent = 1e15;  // a step of more tokens is an error, not data
inline constexpr double kMaxFlopPerEvent = 1e32;
inline constexpr std::int64_t kMaxStep = std::int64_t{1} << 53;  // exact in a double, as JSON tools keep it
inline constexpr std::size_t kMaxLineBytes = 64 * 1024;

struct StepEvent {
  std::string_view run;  // valid until the parser's next Parse
  std::optional<std::uint64_t> seq;
  double time = 0;  // seconds since the Unix epoch, UTC
  std::int64_t step = 0;
  double tokens = 0;
  std::optional<double> flop;
  std::optional<std::int64_t> world_size;
  std::string_view precision;  // empty when absent
  std::string_view sig;        // the Ed25519 signature's base64 (signing.h); empty when absent
};

class StepParser {
 public:
  StepParser() = default;
  // Parses one line (without its newline). The bytes after `line.size()` up to `capacity` must be
  // readable: simdjson reads up to SIMDJSON_PADDING bytes past the end. Use the two-argument form
  // for a line that is not inside a padded buffer (it copies). Errors (kInvalidArgument) name
  // `file`:`line_number` and the field: not JSON, not an object, a missing or repeated field, a
  // field of the wrong type, a negative or non-finite number, an unknown key, trailing content.
  core::Result<StepEvent> Parse(const char* line, std::size_t size, std::size_t capacity,
                                const std::string& file, int line_number);
  core::Result<StepEvent> Parse(std::string_view line, const std::string& file, int line_number);

 private:
  simdjson::dom::parser parser_;
  simdjson::padded_string copy_;
  std::string time_text_;
};

}  // namespace flopline::meter
