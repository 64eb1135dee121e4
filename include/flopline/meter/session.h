// File: flopline/meter/session.h
//
// One metering session: step-event lines in, counted compute, lines, alerts and a report out. It
// joins the parser (step_event.h), the accounting (meter.h), the law (lines.h) and the alerts
// (alerts.h); where alerts go (stdout, a webhook, the ledger) is the caller's `on_alert`.
//
//   Session s(std::move(runs), policy);
//   s.on_alert = [](const Alert& a) { ... };
//   s.on_bad_line = [](const core::Error& e) { ... };
//   s.Feed(line, "steps.jsonl", 17);
//   nlohmann::json report = s.Report();
//
// The lines of a run are found by the engine when its first step is counted (the run's start), and
// found again when the event date changes (parameters and duty states are dated). Bad lines are
// counted, handed to `on_bad_line` with their file, line and field, and change nothing.
//
// Thread safety: a Session is used by one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/compute/accelerators.h"
#include "flopline/meter/alerts.h"
#include "flopline/meter/dcgm.h"
#include "flopline/meter/lines.h"
#include "flopline/meter/signing.h"
#include "flopline/meter/meter.h"
#include "flopline/meter/step_event.h"

namespace flopline::meter {

struct SessionRun {
  RunSpec spec;
  std::optional<LineContext> law;  // none: accounting only (no model files given)
};

class Session {
 public:
  Session(AlertPolicy policy, double rate_window_seconds = 3600);

  core::Result<int> AddRun(SessionRun run);

  // One line (without its newline). See StepParser::Parse for the padding the first form needs.
  void Feed(const char* line, std::size_t size, std::size_t capacity, const std::string& file, int line_number);
  void Feed(std::string_view line, const std::string& file, int line_number);
  // A line another parser read (a framework's log, megatron_log.h): its event, or why it is bad.
  void FeedEvent(const StepEvent& event, const std::string& file, int line_number);
  void FeedBadLine(const core::Error& error);
  // A line of accelerator telemetry (dcgm.h) of run `run`: each sample's accelerator is found in
  // the table by its modelName and the run's precision (Telemetry::precision, else its step events',
  // else the accelerator's default). An unknown accelerator or precision makes the line bad (the
  // error names the file, the line and the name) and nothing of it is counted.
  void FeedTelemetry(int run, const std::vector<TensorSample>& samples, const std::string& file, int line_number);
  // Gives run `run` a key: from then on its step events count only when signed by it (signing.h);
  // an unsigned or badly signed event of the run, or one of a format that carries no signature
  // (FeedEvent), is a bad line naming the field 'sig', and is never metered.
  void SetRunKey(int run, const PublicKey& key);
  // The accelerator table telemetry is read against; must outlive the session.
  void set_accelerators(const compute::AcceleratorTable* table) { accelerators_ = table; }

  std::function<void(const Alert&)> on_alert;
  std::function<void(const core::Error&)> on_bad_line;
  // An error from the engine (a run's model not in the model files): reported once per run.
  std::function<void(const core::Error&)> on_law_error;

  Meter& meter() { return meter_; }
  Alerter& alerter() { return alerter_; }
  const LineWatch* lines(int run) const;
  std::uint64_t lines_read() const { return lines_read_; }
  std::uint64_t bad_lines() const { return bad_lines_; }
  std::uint64_t counted() const { return counted_; }
  std::uint64_t repeated() const { return repeated_; }

  // Finds the lines of every run with counted steps again, as of its latest event (the report's
  // figures are then current).
  void Refresh();
  // Per run: compute, tokens, steps, rate, the hardware bound and MFU (with telemetry), each line
  // with its projection, status per regime as if
  // training stopped now (docs/meter.md "Report").
  nlohmann::json Report();
  // One run's entry of the report's "runs" (what a meter-state record carries, state.h).
  nlohmann::json RunReport(int run);

 private:
  void Rebuild(int run, double now);
  void Count(const StepEvent& event, const std::string& file, int line_number);
  core::Result<Telemetry::Accelerator> Accelerator(int run, const std::string& model_name, const core::Location& where);

  Meter meter_;
  Alerter alerter_;
  StepParser parser_;
  simdjson::padded_string copy_;
  std::vector<std::optional<LineContext>> law_;
  std::vector<std::unique_ptr<LineWatch>> watch_;
  std::vector<long long> watch_day_;  // the event day each watch was built for
  std::vector<bool> law_failed_;
  const compute::AcceleratorTable* accelerators_ = nullptr;
  // Per run: its key, and how many of its events verified and were refused.
  std::vector<std::optional<PublicKey>> keys_;
  std::vector<std::uint64_t> verified_, rejected_;
  void Refuse(int run, const core::Error& error);
  std::uint64_t lines_read_ = 0, bad_lines_ = 0, counted_ = 0, repeated_ = 0;
};

}  // namespace flopline::meter
