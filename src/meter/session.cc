// One metering session (session.h).
#include "flopline/meter/session.h"

#include <cmath>

#include <fmt/format.h>

namespace flopline::meter {

using nlohmann::json;

namespace {

core::Instant AtSecond(double seconds) {
  return core::Instant(std::chrono::sys_seconds(std::chrono::seconds(static_cast<long long>(std::floor(seconds)))));
}

long long Day(double seconds) { return static_cast<long long>(std::floor(seconds / 86400)); }

}  // namespace

Session::Session(AlertPolicy policy, double rate_window_seconds)
    : meter_(rate_window_seconds), alerter_(std::move(policy)) {}

core::Result<int> Session::AddRun(SessionRun run) {
  FL_ASSIGN_OR_RETURN(int i, meter_.AddRun(std::move(run.spec)));
  law_.push_back(std::move(run.law));
  watch_.emplace_back();
  watch_day_.push_back(0);
  law_failed_.push_back(false);
  keys_.emplace_back();
  verified_.push_back(0);
  rejected_.push_back(0);
  return i;
}

void Session::SetRunKey(int run, const PublicKey& key) { keys_[static_cast<std::size_t>(run)] = key; }

void Session::Refuse(int run, const core::Error& error) {
  ++bad_lines_;
  ++rejected_[static_cast<std::size_t>(run)];
  if (on_bad_line) on_bad_line(error);
}

const LineWatch* Session::lines(int run) const { return watch_[static_cast<std::size_t>(run)].get(); }

void Session::Rebuild(int run, double now) {
  auto r = static_cast<std::size_t>(run);
  if (!law_[r] || law_failed_[r]) return;
  const RunState& state = meter_.run(run);
  auto built = LineWatch::Build(*law_[r], state.flop.value(), AtSecond(state.first_time), AtSecond(now));
  if (!built) {
    law_failed_[r] = true;
    if (on_law_error) on_law_error(built.error());
    return;
  }
  watch_[r] = std::make_unique<LineWatch>(std::move(*built));
  watch_day_[r] = Day(now);
  alerter_.LinesChanged();
}

void Session::Feed(std::string_view line, const std::string& file, int line_number) {
  copy_ = simdjson::padded_string(line);
  Feed(copy_.data(), copy_.size(), copy_.size() + simdjson::SIMDJSON_PADDING, file, line_number);
}

void Session::Feed(const char* line, std::size_t size, std::size_t capacity, const std::string& file,
                   int line_number) {
  auto event = parser_.Parse(line, size, capacity, file, line_number);
  if (!event) {
    FeedBadLine(event.error());
    return;
  }
  ++lines_read_;
  // A run with a key meters only what its key signed, over the very bytes parsed.
  if (int run = meter_.FindRun(event->run); run >= 0 && keys_[static_cast<std::size_t>(run)]) {
    core::Location where{file, line_number, 0};
    if (event->sig.empty()) {
      Refuse(run, core::InvalidArgument(
                      fmt::format("run '{}' has a key (--run-key): its events must be signed; this one is not", event->run),
                      "sig", where)
                      .value());
      return;
    }
    auto verified = VerifyLine(std::string_view(line, size), event->sig, *keys_[static_cast<std::size_t>(run)], where,
                               std::string(event->run));
    if (!verified) {
      Refuse(run, verified.error());
      return;
    }
    ++verified_[static_cast<std::size_t>(run)];
  }
  Count(*event, file, line_number);
}

void Session::FeedEvent(const StepEvent& event, const std::string& file, int line_number) {
  ++lines_read_;
  if (int run = meter_.FindRun(event.run); run >= 0 && keys_[static_cast<std::size_t>(run)]) {
    Refuse(run, core::InvalidArgument(fmt::format("run '{}' has a key (--run-key): only signed step events count, and "
                                                  "this input's format carries no signature",
                                                  event.run),
                                      "sig", core::Location{file, line_number, 0})
                    .value());
    return;
  }
  Count(event, file, line_number);
}

void Session::FeedBadLine(const core::Error& error) {
  ++lines_read_;
  ++bad_lines_;
  if (on_bad_line) on_bad_line(error);
}

core::Result<Telemetry::Accelerator> Session::Accelerator(int run, const std::string& model_name,
                                                         const core::Location& where) {
  RunState& r = meter_.mutable_run(run);
  const std::string& precision = !r.telemetry.precision.empty() ? r.telemetry.precision : r.precision;
  auto known = r.telemetry.accelerators.find(model_name);
  if (known != r.telemetry.accelerators.end() && (precision.empty() || known->second.precision == precision)) {
    return known->second;
  }
  if (!accelerators_) {
    return core::InvalidArgument("the meter was given no accelerator table to read telemetry with", "modelName", where);
  }
  // dcgm-exporter's modelName is NVML's name ("NVIDIA H100 80GB HBM3", "Tesla V100-SXM2-32GB"): the
  // table's ids and aliases are without the vendor's word.
  auto found = accelerators_->Find(model_name);
  for (std::string_view vendor : {"NVIDIA ", "Tesla ", "AMD "}) {
    std::string_view rest = model_name;
    while (!found && rest.starts_with(vendor)) {
      rest.remove_prefix(vendor.size());
      found = accelerators_->Find(rest);
      if (!found && rest.starts_with("Tesla ")) found = accelerators_->Find(rest.substr(6));
    }
  }
  if (!found) {
    auto plain = accelerators_->Find(model_name);
    return core::InvalidArgument(
        fmt::format("unknown accelerator '{}' (add it or an alias to data/accelerators.toml): {}", model_name,
                    plain.error().message),
        "modelName", where);
  }
  auto peak = accelerators_->Peak(**found, precision);
  if (!peak) {
    return core::InvalidArgument(fmt::format("accelerator '{}' of run '{}': {}", model_name, r.spec.id, peak.error().message),
                                 "modelName", where);
  }
  Telemetry::Accelerator a{(*found)->id, precision.empty() ? (*found)->default_precision : precision, peak->value()};
  r.telemetry.accelerators[model_name] = a;
  return a;
}

void Session::FeedTelemetry(int run, const std::vector<TensorSample>& samples, const std::string& file,
                            int line_number) {
  ++lines_read_;
  core::Location where{file, line_number, 0};
  // Every sample's accelerator first: a line is counted whole or not at all.
  std::vector<double> peaks;
  peaks.reserve(samples.size());
  for (const TensorSample& s : samples) {
    auto a = Accelerator(run, s.model_name, where);
    if (!a) {
      ++bad_lines_;
      if (on_bad_line) on_bad_line(a.error());
      return;
    }
    peaks.push_back(a->peak);
  }
  for (std::size_t i = 0; i < samples.size(); ++i) {
    meter_.IngestTensor(run, samples[i].gpu, samples[i].time, samples[i].active, peaks[i]);
  }
}

void Session::Count(const StepEvent& e, const std::string& file, int line_number) {
  const StepEvent* event = &e;
  int run = -1;
  auto outcome = meter_.Ingest(*event, core::Location{file, line_number, 0}, &run);
  if (!outcome) {
    ++bad_lines_;
    if (on_bad_line) on_bad_line(outcome.error());
    return;
  }
  if (*outcome == IngestOutcome::kRepeated) {
    ++repeated_;
    return;
  }
  ++counted_;
  auto r = static_cast<std::size_t>(run);
  if (law_[r] && !law_failed_[r] && (!watch_[r] || watch_day_[r] != Day(event->time))) Rebuild(run, event->time);
  if (!watch_[r]) return;
  std::vector<Alert> alerts = alerter_.Check(meter_.run(run), meter_.RateOf(run), watch_[r]->lines(), event->time);
  if (on_alert) {
    for (const Alert& a : alerts) on_alert(a);
  }
}

void Session::Refresh() {
  for (int i = 0; i < meter_.runs(); ++i) {
    if (meter_.run(i).steps_counted > 0) Rebuild(i, meter_.run(i).last_time);
  }
}

json Session::Report() {
  json runs = json::array();
  for (int i = 0; i < meter_.runs(); ++i) runs.push_back(RunReport(i));
  return {{"runs", runs},
          {"lines_read", lines_read_},
          {"bad_lines", bad_lines_},
          {"steps_counted", counted_},
          {"steps_repeated", repeated_}};
}

json Session::RunReport(int i) {
  const RunState& r = meter_.run(i);
  Rate rate = meter_.RateOf(i);
  json run = {{"run", r.spec.id},
              {"model", r.spec.model},
              {"flop", r.flop.value()},
              {"tokens", r.tokens.value()},
              {"steps_counted", r.steps_counted},
              {"steps_repeated", r.steps_repeated},
              {"repeated_flop", r.repeated_flop.value()},
              {"flop_from_config", r.flop_from_config},
              {"first_event", r.steps_counted ? json(InstantText(r.first_time)) : json(nullptr)},
              {"last_event", r.steps_counted ? json(InstantText(r.last_time)) : json(nullptr)},
              {"world_size", r.world_size ? json(*r.world_size) : json(nullptr)},
              {"precision", r.precision},
              {"rate",
               {{"flop_per_second", rate.point},
                {"low", rate.low},
                {"high", rate.high},
                {"window_seconds", rate.seconds}}}};
  json line_list = json::array();
  json status = json::array();
  if (const LineWatch* w = lines(i)) {
    for (const WatchedLine& l : w->lines()) line_list.push_back(LineToJson(l, Project(l, r.flop.value(), rate), r.last_time));
    auto now = w->StatusNow(r.flop.value(), AtSecond(r.last_time));
    if (now) {
      for (const RegimeStatus& s : *now) {
        status.push_back({{"regime", s.regime},
                          {"status", s.status},
                          {"covered", s.covered ? json(*s.covered) : json(nullptr)},
                          {"basis", s.basis}});
      }
    }
  }
  const Telemetry& t = r.telemetry;
  if (t.samples > 0) {
    json accelerators = json::array();
    for (const auto& [name, a] : t.accelerators) {
      accelerators.push_back(
          {{"model_name", name}, {"accelerator", a.id}, {"precision", a.precision}, {"peak_flop_per_second", a.peak}});
    }
    run["hardware"] = {{"flop_bound", t.bound.value()},
                       {"peak_flop", t.peak.value()},
                       {"gpu_seconds", t.gpu_seconds.value()},
                       {"gpus", t.gpus.size()},
                       {"samples", t.samples},
                       {"samples_repeated", t.samples_repeated},
                       {"first_sample", InstantText(t.first_time)},
                       {"last_sample", InstantText(t.last_time)},
                       {"accelerators", accelerators}};
  } else {
    run["hardware"] = nullptr;
  }
  if (const auto& key = keys_[static_cast<std::size_t>(i)]) {
    run["signatures"] = {{"public_key", KeyText(key->data(), key->size())},
                         {"verified", verified_[static_cast<std::size_t>(i)]},
                         {"refused", rejected_[static_cast<std::size_t>(i)]}};
  } else {
    run["signatures"] = nullptr;
  }
  bool both = r.steps_counted > 0 && t.peak.value() > 0;
  run["mfu"] = both ? json(r.flop.value() / t.peak.value()) : json(nullptr);
  run["model_over_bound"] = both && t.bound.value() > 0 ? json(r.flop.value() / t.bound.value()) : json(nullptr);
  run["lines"] = line_list;
  run["status_if_stopped_now"] = status;
  return run;
}

}  // namespace flopline::meter
