// File: flopline/workspace/meter_view.h
//
// The live compute meter as the workspace sees it: what `flopline meter watch --store` recorded in
// the workspace's log (docs/meter.md "The ledger"), read back per run for the API and the
// dashboard. Nothing is judged again here: the figures are the meter's own, each with the record it
// came from, every record's document checked against its logged leaf first.
//
//   - a run's latest `meter-state` record: its model, counted FLOP and tokens, steps, and (from
//     meters that keep it, the "report" member) the rate with its range, each regime line with its
//     threshold, fraction, clause, projected crossing and the duties before it, and each regime's
//     status as if training stopped now;
//   - every `meter-state` record of the run, in event time: the counted FLOP over time (a chart);
//   - its `threshold-projected` and `threshold-crossed` records: the alerts, and the crossings that
//     happened.
//
//   auto view = MeterView::Open("sqlite:ws.db");
//   nlohmann::json runs = (*view)->Runs().value();        // {"runs": [...]}
//   nlohmann::json run = (*view)->Run("r1").value();      // one run, with its history
//
// Reads only what was appended since the last call (the log only grows).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/core/result.h"
#include "flopline/ledger/storage.h"

namespace flopline::workspace {

class MeterView {
 public:
  // Reads the log of `store` (sqlite:PATH | postgres:CONNINFO) through a connection of its own.
  static core::Result<std::unique_ptr<MeterView>> Open(const std::string& store);
  explicit MeterView(std::unique_ptr<ledger::Storage> storage);

  // Every metered run, by id: {"runs": [{"run", "model", "flop", "tokens", "last_event", "rate",
  // "nearest" (the line not yet met that the run is closest to, or null), "lines_met" (how many
  // lines the run has met), "duties_unmet" (a line's duties before it are not recorded as met),
  // "unmet_duties" [{"regime", "id", "cite", "state"}] (each once), "state": {"index",
  // "recorded_at", "leaf_hash"}}]}.
  core::Result<nlohmann::json> Runs();
  // One run: the meter's report of it as of its latest state (docs/meter.md "Report": rate, lines,
  // status_if_stopped_now, ...), its "alerts" and "crossings" (each with its record), its "history"
  // [{"at", "flop", "tokens", "index"}] in event time, and "state". kInvalidArgument naming "run"
  // for an id no step event could carry; kNotFound naming "run" for a run never metered here;
  // kDataLoss naming "store" when a record does not match its logged leaf.
  core::Result<nlohmann::json> Run(std::string_view run);

  // At most this many points of history per run (older points thinned evenly, the newest kept).
  static constexpr std::size_t kMaxHistory = 1000;

 private:
  struct Source {
    std::uint64_t index = 0;
    std::string recorded_at, leaf_hash;
  };
  struct RunData {
    nlohmann::json state;  // the latest meter-state document
    Source source;
    std::vector<nlohmann::json> history;  // {"at", "time", "flop", "tokens", "index"}
    std::vector<nlohmann::json> alerts;   // the alert documents with their record
  };
  core::Result<void> Refresh();  // caller holds mu_
  core::Result<void> Apply(const ledger::Entry& e);
  nlohmann::json Summary(const RunData& run) const;

  std::mutex mu_;
  std::unique_ptr<ledger::Storage> storage_;
  std::uint64_t read_ = 0;  // entries read so far
  std::map<std::string, RunData> runs_;
};

}  // namespace flopline::workspace
