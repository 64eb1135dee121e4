// File: flopline/meter/simulate.h
//
// A synthetic run for tests and demos, no GPU needed (`flopline meter simulate`): step events as a
// training job writes them, for a given batch, token rate and cluster size, with jitter in step
// times, restarts after a failure, and the checkpoint reload that follows each one, which repeats
// the steps since the checkpoint (the meter must count each once). Deterministic for a seed.
//
//   SimulationSpec spec;
//   spec.steps = 1000;
//   spec.restarts = {{.at_step = 600, .checkpoint_step = 500, .downtime_seconds = 900}};
//   Simulate(spec, [](std::string_view line) { std::cout << line << '\n'; });
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"

namespace flopline::meter {

struct SimulatedRestart {
  std::int64_t at_step = 0;          // the job fails after this step
  std::int64_t checkpoint_step = 0;  // and resumes after the checkpoint taken at this step
  double downtime_seconds = 600;
};

struct SimulationSpec {
  std::string run = "sim";
  std::int64_t steps = 1000;               // optimizer steps to the end of the run
  double tokens_per_step = 4'194'304;      // global batch in tokens (e.g. 512 x 8192)
  double step_seconds = 10;                // mean wall time of a step
  double jitter = 0.05;                    // relative spread of step times (uniform +-)
  double start_time = 1767225600;          // 2026-01-01T00:00:00Z
  std::int64_t every = 1;                  // one event per `every` steps (tokens summed)
  std::optional<double> flop_per_token;    // emit `flop` (else left to the meter's estimator)
  std::int64_t world_size = 1024;
  std::string precision = "bf16";
  std::vector<SimulatedRestart> restarts;  // in step order
  std::uint64_t seed = 1;
};

// Errors (kInvalidArgument naming the flag): non-positive steps, tokens, step time or `every`;
// jitter outside [0, 1); a restart whose checkpoint is not before its failure step or beyond the run.
core::Result<void> CheckSpec(const SimulationSpec& spec);
// Calls `line` with each event's JSON (no newline), in the order the job would write them.
core::Result<void> Simulate(const SimulationSpec& spec, const std::function<void(std::string_view)>& line);

}  // namespace flopline::meter
