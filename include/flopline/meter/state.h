// File: flopline/meter/state.h
//
// What the meter writes to the evidence ledger and reads back after a restart:
//   - each alert as a "threshold-projected" or "threshold-crossed" record (alerts.h's JSON), the
//     events the assessment then uses;
//   - its state per run as a "meter-state" record: the counted steps (as ranges), the sums, the
//     highest step and seq with their times, and the alerts already fired. A restarted meter reads
//     the run's latest meter-state record, checks its document against its logged leaf, and goes
//     on from there: no step is counted twice, no alert fires twice.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/core/instant.h"
#include "flopline/core/result.h"
#include "flopline/ledger/log.h"
#include "flopline/ledger/storage.h"
#include "flopline/meter/alerts.h"
#include "flopline/meter/meter.h"

namespace flopline::meter {

inline constexpr char kStateKind[] = "meter-state";

struct SavedState {
  std::uint64_t index = 0;  // the ledger entry it was read from
  nlohmann::json document;
};

// `report`, when not null, is the run's entry of the meter's report (Session::RunReport: rate,
// lines with their projections and duties, status as if stopped now), kept in the record as
// "report" for those who read the ledger (the workspace's meter view); a restart does not use it.
nlohmann::json StateToJson(const RunState& run, const std::vector<std::string>& fired,
                           const nlohmann::json& report = nullptr);
// Restores `run` (its spec kept) and returns the fired alert keys. kDataLoss naming the field when
// the document is not a meter state.
core::Result<std::vector<std::string>> RestoreState(const nlohmann::json& document, RunState& run);

// Appends a meter-state record for `run` (model: the run's model).
core::Result<ledger::Appended> SaveState(ledger::Log& log, const RunState& run, const std::vector<std::string>& fired,
                                         core::Instant recorded_at, const nlohmann::json& report = nullptr);
// Appends the alert's record.
core::Result<ledger::Appended> RecordAlert(ledger::Log& log, const Alert& alert, core::Instant recorded_at);
// The latest meter-state record for run `run_id`, its document checked against its leaf
// (kDataLoss when it does not open); nullopt when there is none.
core::Result<std::optional<SavedState>> LoadState(ledger::Storage& storage, const std::string& run_id);

}  // namespace flopline::meter
