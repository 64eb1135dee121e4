// File: flopline/meter/hf_log.h
//
// Hugging Face Trainer logs as meter input (`flopline meter watch --input-format hf`), one run per
// input (docs/meter.md "Hugging Face Trainer logs" names the version whose format this follows):
//
//  - the console lines the Trainer prints every `logging_steps` (ProgressCallback.on_log writes the
//    logs dict with Python's str(), after whatever tqdm left on the line):
//      {'loss': 2.3456, 'grad_norm': 1.25, 'learning_rate': 4.9e-05, 'epoch': 0.01}
//    and, at the end of training, its metrics:
//      {'train_runtime': 1234.5, 'train_samples_per_second': 12.3, ..., 'total_flos': 1.2e+18,
//       'train_loss': 2.1, 'epoch': 3.0}
//  - trainer_state.json (one JSON document, written with each checkpoint): `global_step`,
//    `total_flos` (the Trainer's own count, cumulative) and `log_history`, whose training entries
//    carry `step` (and `num_input_tokens_seen` with include_num_input_tokens_seen=True).
//
// Neither carries a clock: the caller gives each line's time (when read, for live input; the file's
// modification time otherwise). The console lines carry no step either: the k-th training entry is
// step k x logging_steps.
//
// Counting: with the run's config (`flop_from_config`), each training entry is a step event whose
// FLOP the meter computes from its tokens: the growth of num_input_tokens_seen, else
// `tokens_per_step` x the steps since the previous entry; the Trainer's total_flos is then not
// counted (the config's count is the finer one). Without a config, the Trainer's own count is used:
// each total_flos (trainer_state.json's at global_step; the final metrics line's at the last step)
// is one step event of the FLOP it adds to what the run has counted already (`counted`).
//
// Thread safety: an HfLogParser is used by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/meter/step_event.h"

namespace flopline::meter {

struct HfLogOptions {
  std::string run;                          // the run the log is of (the log names none)
  std::int64_t logging_steps = 500;         // the Trainer's logging_steps (its default: 500)
  std::optional<double> tokens_per_step;    // tokens in one optimizer step (global batch x sequence)
  bool flop_from_config = false;            // the run has a config.json: FLOP from tokens
};

// What the run has counted so far (the meter's totals), for the Trainer's cumulative figures.
struct HfCounted {
  double flop = 0, tokens = 0;
};

// A trainer_state.json is read whole: at most this many bytes.
inline constexpr std::size_t kMaxTrainerStateBytes = 64 << 20;

class HfLogParser {
 public:
  explicit HfLogParser(HfLogOptions options) : options_(std::move(options)) {}

  // One console line (without its newline). nullopt: no count on it (not a logs dict, an
  // evaluation's, or a training entry whose FLOP is left to the final total_flos). Errors
  // (kInvalidArgument) name `file`:`line_number` and the key ("loss", "num_input_tokens_seen",
  // "total_flos", ...) or "logs" for a dict that cannot be read. The event's `run` views the
  // parser's options.
  core::Result<std::optional<StepEvent>> ParseLine(std::string_view line, const std::string& file, int line_number,
                                                   double time, const HfCounted& counted);

  // A whole trainer_state.json: its step events, each with the line its log_history entry starts
  // on. Errors name the file, the line (of the entry, or where the JSON breaks) and the field.
  core::Result<std::vector<std::pair<int, StepEvent>>> ParseTrainerState(std::string_view text, const std::string& file,
                                                                         double time, const HfCounted& counted);

 private:
  HfLogOptions options_;
  std::int64_t entries_ = 0;                  // console training entries seen
  std::optional<double> tokens_seen_;         // the latest num_input_tokens_seen
};

}  // namespace flopline::meter
