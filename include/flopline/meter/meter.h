// File: flopline/meter/meter.h
//
// The meter's accounting: cumulative model FLOP and tokens per run from step events, each step
// counted once, and the current rate with its range. It knows nothing of the law: lines.h judges
// the totals against the regimes.
//
//   Meter meter;
//   int r = *meter.AddRun({"r1", "acme-f2", flop_per_token});
//   auto outcome = meter.Ingest(event, where);   // kCounted, kRepeated, or an error (a bad line)
//   meter.run(r).flop.value()                    // cumulative FLOP, each step once
//
// A step is identified by (run, step). A repeated step (a checkpoint reload replays steps, an
// emitter retries) is counted once: the first report of it counts, later ones are tallied in
// `repeated_steps` and `repeated_flop` and change nothing else. A step that arrives late (out of
// order) counts when it first arrives.
//
// Bad events (errors, nothing counted): an unknown run; no `flop` and no FLOP per token known for
// the run; time going backwards: a step beyond the highest seen (or a `seq` beyond the highest
// seen) stamped earlier than it.
//
// Thread safety: a Meter is used by one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/core/units.h"
#include "flopline/meter/step_event.h"

namespace flopline::meter {

// A sum of doubles with Neumaier's compensation: a billion small steps add up to what one
// multiplication of their total gives, to the last digit or so.
class Sum {
 public:
  void Add(double x);
  double value() const { return sum_ + compensation_; }
  void Set(double x) {
    sum_ = x;
    compensation_ = 0;
  }

 private:
  double sum_ = 0, compensation_ = 0;
};

// The steps a run has counted: a bitmap for the first 2^26 steps (8 MiB at most, grown as needed),
// a hash set beyond. Written and read as ranges [first, last] for the meter's saved state.
class StepSet {
 public:
  // True when `step` was not there before.
  bool Insert(std::int64_t step);
  bool Contains(std::int64_t step) const;
  std::size_t size() const { return size_; }
  std::vector<std::pair<std::int64_t, std::int64_t>> Ranges() const;
  void InsertRange(std::int64_t first, std::int64_t last);

 private:
  static constexpr std::int64_t kDenseSteps = std::int64_t{1} << 26;
  std::vector<std::uint64_t> bits_;
  std::unordered_set<std::int64_t> sparse_;
  std::size_t size_ = 0;
};

struct RunSpec {
  std::string id;
  std::string model;  // the model it trains, as the inventory names it
  // Training FLOP per token (compute::ArchitectureEstimate::flop_per_token_training), for events
  // without `flop`; nullopt when the run has no config.
  std::optional<double> flop_per_token;
};

// The hardware bound from accelerator telemetry (dcgm.h): each GPU's tensor-active ratio over
// time at its accelerator's peak, summed over GPUs. Between two samples of a GPU the ratio is
// taken as their mean (the trapezoid rule); a GPU's first sample only starts its clock.
struct Telemetry {
  // The precision the run trains at, for the peak (--precision; "": the step events' precision,
  // else the accelerator's default).
  std::string precision;
  Sum bound;                  // FLOP: tensor-active x peak x seconds, the hardware bound
  Sum peak;                   // FLOP: peak x seconds, what the GPUs could have done (MFU's denominator)
  Sum gpu_seconds;            // seconds between samples, summed over GPUs
  std::uint64_t samples = 0, samples_repeated = 0;
  double first_time = 0, last_time = 0;
  struct Gpu {
    double time = 0, active = 0;
  };
  std::map<std::string, Gpu> gpus;  // each GPU's latest sample
  struct Accelerator {
    std::string id, precision;
    double peak = 0;  // FLOP per second
  };
  std::map<std::string, Accelerator> accelerators;  // by the telemetry's modelName: what it was read as
};

// The rate over the last `window` seconds of event time, from the counted steps in it, with a
// range: the lowest and highest rates over up to 8 equal slices of the window's samples.
struct Rate {
  double point = 0, low = 0, high = 0;  // FLOP per second; 0 when not yet known
  double seconds = 0;                   // the span it was measured over
};

struct RunState {
  RunSpec spec;
  Sum flop, tokens;
  std::uint64_t steps_counted = 0, steps_repeated = 0;
  Sum repeated_flop;                       // compute spent again on repeated steps: not counted
  std::uint64_t flop_from_config = 0;      // counted steps whose FLOP the meter computed
  double first_time = 0, last_time = 0;    // event times of counted steps (0: none yet)
  std::int64_t max_step = -1;
  double time_at_max_step = 0;
  std::optional<std::uint64_t> max_seq;
  double time_at_max_seq = 0;
  std::optional<std::int64_t> world_size;
  std::string precision;
  StepSet steps;
  std::deque<std::pair<double, double>> samples;  // (time, cumulative FLOP) of counted steps in the window
  Telemetry telemetry;
};

enum class IngestOutcome { kCounted, kRepeated };

class Meter {
 public:
  explicit Meter(double rate_window_seconds = 3600) : window_(rate_window_seconds) {}

  // kAlreadyExists for a run id given twice. Returns the run's index.
  core::Result<int> AddRun(RunSpec spec);
  int FindRun(std::string_view id) const;  // -1 when unknown

  // Counts the event, or says why it cannot: an error (kInvalidArgument) at `where` naming the
  // field, and nothing changed. `run_index`, when given, receives the run's index.
  core::Result<IngestOutcome> Ingest(const StepEvent& event, const core::Location& where,
                                     int* run_index = nullptr);

  // Integrates one telemetry sample of run `index` whose accelerator peaks at `peak` FLOP per
  // second. A sample no later than its GPU's latest (a scrape read twice, a file read again after
  // a restart) is kRepeated and changes nothing else.
  IngestOutcome IngestTensor(int index, std::string_view gpu, double time, double active, double peak);

  const RunState& run(int index) const { return runs_[static_cast<std::size_t>(index)]; }
  RunState& mutable_run(int index) { return runs_[static_cast<std::size_t>(index)]; }
  int runs() const { return static_cast<int>(runs_.size()); }
  Rate RateOf(int index) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  double window_;
  std::vector<RunState> runs_;
  std::unordered_map<std::string, int, Hash, std::equal_to<>> index_;
};

}  // namespace flopline::meter
