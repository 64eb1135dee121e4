// File: flopline/meter/lines.h
//
// The law's lines as they bear on one metered run, found by the rules engine, never re-implemented:
// the run's compute is added to its model as one more training stage, the model and its lineage are
// assessed, and every comparison of a compute fact with a regime's line parameter (Regime::lines)
// is read from the determinations' margins under each reading. So a line is counted the way each
// regime and reading counts it (own stages, or summed along the lineage; a fine-tune's own line)
// with the parameters in force on the date, CPI-indexed or regulator-set as the engine says.
//
// Each line's value is affine in the run's FLOP (the run adds to own and cumulative compute alike):
// the engine is asked at two amounts to find its offset (what the lineage and earlier stages bring)
// and slope, so a new step needs no engine call. A line the run does not move (slope 0) is listed
// without a projection.
//
// For every line the run can cross, the engine is also asked what would hold just past it: the
// status there and the duties that would then be owed, with whether the store records them as met.
//
// Thread safety: a LineWatch is used by one thread at a time; the Engine it points to must outlive it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "flopline/core/instant.h"
#include "flopline/core/result.h"
#include "flopline/rules/engine.h"
#include "flopline/rules/inventory.h"

namespace flopline::meter {

struct LineContext {
  const rules::Engine* engine = nullptr;
  rules::Inventory inventory;            // the model files (lineage, events recorded as met)
  std::string model;                     // the model the run trains
  std::string run;                       // for messages
  std::string stage_kind = "pretrain";   // the kind of training stage the run is
  std::optional<double> usd_per_flop;    // market price per FLOP for the cost facts (compute's pricing)
  std::vector<std::string> regimes;      // ids; empty = all
  std::vector<rules::Override> overrides;
};

// A duty the regime owes once the line is crossed whose trigger has happened, so it has a due time
// (a "before training" duty once training started; the EU's notification once the line is met or
// known to be). A duty due before a later event (release) is not listed.
struct Duty {
  std::string id, cite, text;
  std::string met_by;                    // the event kind that records it as done ("" when none does)
  // met | met-late | open | overdue | standing (no event discharges it: a continuing duty)
  std::string state;
  std::optional<core::Instant> due;
  bool before = false;                   // the duty's clock is "before" its trigger
  bool met() const { return state == "met" || state == "met-late"; }
  // Owed before the line and not recorded as done: a "before" duty open or overdue, or any duty
  // overdue (the EU's two weeks run from when the line is met or known to be met).
  bool Unmet() const { return state == "overdue" || (before && state == "open"); }
};

struct WatchedLine {
  std::string regime, name;              // "ca-sb1047", "covered model"
  std::string param, cite;               // the line's parameter and its clause
  std::string fact, op;                  // what the engine compares: "compute" ">" param
  std::vector<std::string> readings;     // the readings that count it this way
  double threshold = 0;
  double offset = 0, slope = 0;          // value = offset + slope x the run's FLOP
  std::string status_at_line;            // the regime's status just past the line ("" when not moved)
  std::vector<Duty> duties;              // owed just past the line (empty when none or not moved)
  double Value(double run_flop) const { return offset + slope * run_flop; }
  // The run FLOP at which the line is met; nullopt when the run does not move it.
  std::optional<double> RunFlopAtLine() const {
    if (slope <= 0) return std::nullopt;
    return (threshold - offset) / slope;
  }
  bool DutiesUnmet() const;
};

struct RegimeStatus {
  std::string regime, status;
  std::optional<bool> covered;
  std::vector<std::string> basis;
};

class LineWatch {
 public:
  // Assesses the run's model (kNotFound when the inventory has no such model; the engine's errors
  // otherwise). `run_flop` is what the run has counted so far; `now` is the meter's time (the
  // assessment's date and the time duty states are judged at); `start` is when the run began
  // (a training-started event is assumed then when the model has none).
  static core::Result<LineWatch> Build(LineContext context, double run_flop, core::Instant start,
                                       core::Instant now);

  const std::vector<WatchedLine>& lines() const { return lines_; }
  // Each regime's status as if training stopped with `run_flop` counted, as of `now`.
  core::Result<std::vector<RegimeStatus>> StatusNow(double run_flop, core::Instant now) const;

 private:
  core::Result<rules::ModelAnswer> AssessAt(double run_flop, core::Instant now) const;
  LineContext context_;
  core::Instant start_;
  std::vector<WatchedLine> lines_;
};

}  // namespace flopline::meter
