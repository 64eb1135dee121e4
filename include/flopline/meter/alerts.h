// File: flopline/meter/alerts.h
//
// Alerts at fractions of each line (default 50%, 80%, 95%; 100% is always watched: the line is
// crossed) and "will be met within T at the current rate". Each alert names the regime, the line,
// its clause, the readings that count it so, the run's value against the threshold, the projected
// crossing time with its range, and the duties owed before the line with whether the store records
// them as met. An alert fires once per (run, regime, line, readings, level), across restarts too
// when the fired keys are saved and restored (state.h).
//
//   Alerter alerter({.fractions = {0.5, 0.8, 0.95}, .within = std::chrono::hours(24 * 14)});
//   for (const Alert& a : alerter.Check(meter.run(i), meter.RateOf(i), watch.lines(), now)) ...
//
// Thread safety: an Alerter is used by one thread at a time.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/core/result.h"
#include "flopline/meter/lines.h"
#include "flopline/meter/meter.h"

namespace flopline::meter {

struct AlertPolicy {
  std::vector<double> fractions = {0.5, 0.8, 0.95};  // each in (0, 1); 1.0 (crossed) is added
  std::optional<std::chrono::seconds> within;         // "will be met within T"; none: not watched
};

// Parses "0.5,0.8,0.95" or "50%,80%" (each strictly between 0 and 1). Errors name `field`.
core::Result<std::vector<double>> ParseFractions(const std::string& text, const std::string& field);
// Parses "14d", "36h", "2w", "90m", "3600s". Errors name `field`.
core::Result<std::chrono::seconds> ParseDuration(const std::string& text, const std::string& field);

struct Projection {
  double value = 0;                      // the line's fact now (run and lineage as the regime counts)
  double fraction = 0;                   // value / threshold
  // Seconds from now until the line is met at the current rate (point) and at the range's fast
  // and slow ends; nullopt when the run does not move the line, the rate is unknown, or it is met.
  std::optional<double> eta, eta_low, eta_high;
};
Projection Project(const WatchedLine& line, double run_flop, const Rate& rate);

struct Alert {
  std::string kind;                      // "fraction", "within" or "crossed"
  double level = 0;                      // the fraction for "fraction" and "crossed" (1)
  std::string run, model;
  const WatchedLine* line = nullptr;     // valid while the LineWatch it came from is
  Projection projection;
  double time = 0;                       // the event time it fired at (seconds since the epoch)
  std::string key;                       // what makes it fire once
  bool duties_unmet = false;
  // The ledger record kind: threshold-crossed for "crossed", else threshold-projected.
  std::string RecordKind() const { return kind == "crossed" ? "threshold-crossed" : "threshold-projected"; }
};

// A line with its projection at event time `time` (docs/meter.md): the report's and the alert's keys.
nlohmann::json LineToJson(const WatchedLine& line, const Projection& projection, double time);
// The alert as JSON (stable keys, docs/meter.md): what goes to stdout, the webhook and the ledger.
nlohmann::json AlertToJson(const Alert& alert);
// One line for people.
std::string AlertToText(const Alert& alert);

class Alerter {
 public:
  explicit Alerter(AlertPolicy policy);
  // The alerts the run's state newly warrants, at event time `now`. Each fires once.
  std::vector<Alert> Check(const RunState& run, const Rate& rate, const std::vector<WatchedLine>& lines, double now);
  const std::set<std::string>& fired() const { return fired_; }
  void Restore(const std::vector<std::string>& keys) { fired_.insert(keys.begin(), keys.end()); }
  // Call when the lines passed to Check were rebuilt (a new LineWatch).
  void LinesChanged() { memo_lines_ = nullptr; }

 private:
  AlertPolicy policy_;
  std::set<std::string> fired_;
  // Per line of the last `lines` seen: the highest level and whether "within" were settled, so an
  // event that changes nothing builds no key.
  struct Memo {
    int highest = -1;
    bool within = false;
  };
  const WatchedLine* memo_lines_ = nullptr;
  std::vector<Memo> memo_;
};

std::string InstantText(double seconds_since_epoch);  // YYYY-MM-DDTHH:MM:SSZ

}  // namespace flopline::meter
