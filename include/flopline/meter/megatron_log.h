// File: flopline/meter/megatron_log.h
//
// Megatron-LM's training log as meter input (`flopline meter watch --input-format megatron`): the
// line `training_log` prints every --log-interval iterations, with --log-throughput (docs/meter.md
// "Megatron-LM logs" names the version whose format this follows):
//
//    [2026-01-10 04:05:06] iteration      200/  500000 | consumed samples:       102400 | elapsed time
//    per iteration (ms): 9876.5 | throughput per GPU (TFLOP/s/GPU): 412.3 | learning rate:
//    2.999999E-04 | global batch size:   512 | lm loss: 2.345678E+00 | ... |
//
// (one line in the log). Each such line becomes one step event of the run: step = the iteration
// (the last of the interval), time = the stamp (Megatron writes the node's local time: the meter
// reads it as UTC), tokens = iterations in the interval x global batch size x --seq-len, and flop =
// throughput x 1e12 x --world-size x elapsed seconds per iteration x iterations in the interval
// (Megatron's own model-FLOP count: throughput is that count over time and GPUs), or, without
// --world-size or throughput, absent (the meter computes it from the run's config.json and tokens).
// The iterations in an interval are the difference from the previous line's iteration when it is
// lower, else --log-interval (the first line after a start or a checkpoint reload), at most the
// iteration itself.
//
// Lines that are not iteration lines (arguments, warnings, checkpoint messages) are not events: they
// are skipped. An iteration line with a missing or malformed field is a bad line naming the field.
//
// Thread safety: a MegatronLogParser is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "flopline/core/result.h"
#include "flopline/meter/step_event.h"

namespace flopline::meter {

struct MegatronLogOptions {
  std::string run;                        // the run the log is of (the log names none)
  std::optional<std::int64_t> world_size; // GPUs in the job: needed for flop from throughput
  std::optional<std::int64_t> seq_len;    // tokens per sample: needed for tokens
  std::int64_t log_interval = 100;        // Megatron's --log-interval (its default: 100)
};

class MegatronLogParser {
 public:
  explicit MegatronLogParser(MegatronLogOptions options) : options_(std::move(options)) {}
  // nullopt: not an iteration line. Errors (kInvalidArgument) name `file`:`line_number` and the
  // field ("consumed samples", "elapsed time per iteration (ms)", ...), and change nothing.
  // The event's `run` views the parser's options: valid while the parser is.
  core::Result<std::optional<StepEvent>> Parse(std::string_view line, const std::string& file, int line_number);

 private:
  MegatronLogOptions options_;
  std::int64_t previous_iteration_ = -1;
};

}  // namespace flopline::meter
