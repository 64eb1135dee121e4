// The meter's records in the evidence ledger (state.h).
#include "flopline/meter/state.h"

#include <cmath>

#include <fmt/format.h>

#include "flopline/ledger/records.h"

namespace flopline::meter {

using nlohmann::json;

namespace {

// The meter's kinds are internal (records.cc): only the meter writes them, so `ledger append`
// cannot forge a crossing or a state.
core::Result<ledger::Appended> AppendInternal(ledger::Log& log, const ledger::RecordInput& input) {
  FL_ASSIGN_OR_RETURN(ledger::SealedRecord sealed, ledger::SealInternal(input));
  FL_ASSIGN_OR_RETURN(auto appended, log.AppendSealed({input}, {sealed}));
  return appended.front();
}

}  // namespace

json StateToJson(const RunState& r, const std::vector<std::string>& fired, const json& report) {
  json ranges = json::array();
  for (auto [a, b] : r.steps.Ranges()) ranges.push_back({a, b});
  const Telemetry& t = r.telemetry;
  json gpus = json::object();
  for (const auto& [gpu, last] : t.gpus) gpus[gpu] = {last.time, last.active};
  json telemetry = {{"bound", t.bound.value()},
                    {"peak", t.peak.value()},
                    {"gpu_seconds", t.gpu_seconds.value()},
                    {"samples", t.samples},
                    {"samples_repeated", t.samples_repeated},
                    {"first_time", t.first_time},
                    {"last_time", t.last_time},
                    {"gpus", gpus}};
  json out = {{"run", r.spec.id},
              {"model", r.spec.model},
              {"flop", r.flop.value()},
              {"tokens", r.tokens.value()},
              {"steps_counted", r.steps_counted},
              {"steps_repeated", r.steps_repeated},
              {"repeated_flop", r.repeated_flop.value()},
              {"flop_from_config", r.flop_from_config},
              {"first_time", r.first_time},
              {"last_time", r.last_time},
              {"max_step", r.max_step},
              {"time_at_max_step", r.time_at_max_step},
              {"max_seq", r.max_seq ? json(*r.max_seq) : json(nullptr)},
              {"time_at_max_seq", r.time_at_max_seq},
              {"steps", ranges},
              {"telemetry", telemetry},
              {"fired", fired}};
  if (!report.is_null()) out["report"] = report;
  return out;
}

core::Result<std::vector<std::string>> RestoreState(const json& d, RunState& r) {
  auto bad = [](const std::string& field) {
    return core::MakeError(core::Code::kDataLoss, "the meter-state record is malformed", field);
  };
  if (!d.is_object()) return bad("document");
  for (const char* key : {"flop", "tokens", "repeated_flop", "first_time", "last_time", "time_at_max_step",
                          "time_at_max_seq"}) {
    if (!d.contains(key) || !d[key].is_number()) return bad(key);
  }
  for (const char* key : {"steps_counted", "steps_repeated", "flop_from_config"}) {
    if (!d.contains(key) || !d[key].is_number_unsigned()) return bad(key);
  }
  if (!d.contains("max_step") || !d["max_step"].is_number_integer()) return bad("max_step");
  if (!d.contains("steps") || !d["steps"].is_array()) return bad("steps");
  if (!d.contains("fired") || !d["fired"].is_array()) return bad("fired");
  std::vector<std::string> fired;
  for (const json& k : d["fired"]) {
    if (!k.is_string()) return bad("fired");
    fired.push_back(k.get<std::string>());
  }
  StepSet steps;
  std::size_t total = 0;
  for (const json& range : d["steps"]) {
    if (!range.is_array() || range.size() != 2 || !range[0].is_number_integer() || !range[1].is_number_integer())
      return bad("steps");
    auto a = range[0].get<std::int64_t>(), b = range[1].get<std::int64_t>();
    if (a < 0 || b < a || b > kMaxStep) return bad("steps");
    total += static_cast<std::size_t>(b - a + 1);
    if (total > d["steps_counted"].get<std::uint64_t>()) return bad("steps");
    steps.InsertRange(a, b);
  }
  if (total != d["steps_counted"].get<std::uint64_t>()) return bad("steps");
  // The telemetry's sums and each GPU's latest sample (absent from states written before it).
  Telemetry telemetry;
  telemetry.precision = r.telemetry.precision;  // given on the command line, not saved
  if (auto t = d.find("telemetry"); t != d.end()) {
    if (!t->is_object()) return bad("telemetry");
    for (const char* key : {"bound", "peak", "gpu_seconds", "first_time", "last_time"}) {
      if (!t->contains(key) || !(*t)[key].is_number() || !std::isfinite((*t)[key].get<double>()) ||
          (*t)[key].get<double>() < 0)
        return bad(std::string("telemetry.") + key);
    }
    for (const char* key : {"samples", "samples_repeated"}) {
      if (!t->contains(key) || !(*t)[key].is_number_unsigned()) return bad(std::string("telemetry.") + key);
    }
    if (!t->contains("gpus") || !(*t)["gpus"].is_object()) return bad("telemetry.gpus");
    for (const auto& [gpu, last] : (*t)["gpus"].items()) {
      if (!last.is_array() || last.size() != 2 || !last[0].is_number() || !last[1].is_number())
        return bad("telemetry.gpus");
      telemetry.gpus[gpu] = {last[0].get<double>(), last[1].get<double>()};
    }
    telemetry.bound.Set((*t)["bound"].get<double>());
    telemetry.peak.Set((*t)["peak"].get<double>());
    telemetry.gpu_seconds.Set((*t)["gpu_seconds"].get<double>());
    telemetry.samples = (*t)["samples"].get<std::uint64_t>();
    telemetry.samples_repeated = (*t)["samples_repeated"].get<std::uint64_t>();
    telemetry.first_time = (*t)["first_time"].get<double>();
    telemetry.last_time = (*t)["last_time"].get<double>();
  }
  r.flop.Set(d["flop"].get<double>());
  r.tokens.Set(d["tokens"].get<double>());
  r.repeated_flop.Set(d["repeated_flop"].get<double>());
  r.steps_counted = d["steps_counted"].get<std::uint64_t>();
  r.steps_repeated = d["steps_repeated"].get<std::uint64_t>();
  r.flop_from_config = d["flop_from_config"].get<std::uint64_t>();
  r.first_time = d["first_time"].get<double>();
  r.last_time = d["last_time"].get<double>();
  r.max_step = d["max_step"].get<std::int64_t>();
  r.time_at_max_step = d["time_at_max_step"].get<double>();
  if (d.contains("max_seq") && d["max_seq"].is_number_unsigned()) r.max_seq = d["max_seq"].get<std::uint64_t>();
  r.time_at_max_seq = d["time_at_max_seq"].get<double>();
  r.steps = std::move(steps);
  r.samples.clear();
  r.telemetry = std::move(telemetry);
  return fired;
}

core::Result<ledger::Appended> SaveState(ledger::Log& log, const RunState& run, const std::vector<std::string>& fired,
                                         core::Instant recorded_at, const json& report) {
  return AppendInternal(log, {kStateKind, run.spec.model, StateToJson(run, fired, report).dump(), recorded_at, {}});
}

core::Result<ledger::Appended> RecordAlert(ledger::Log& log, const Alert& alert, core::Instant recorded_at) {
  return AppendInternal(log, {alert.RecordKind(), alert.model, AlertToJson(alert).dump(), recorded_at, {}});
}

core::Result<std::optional<SavedState>> LoadState(ledger::Storage& storage, const std::string& run_id) {
  FL_ASSIGN_OR_RETURN(std::uint64_t size, storage.Size());
  std::optional<SavedState> latest;
  FL_RETURN_IF_ERROR(storage.ForEachEntry(0, size, [&](const ledger::Entry& e) -> core::Result<void> {
    if (e.kind != kStateKind || e.purged_at) return core::Ok();
    FL_ASSIGN_OR_RETURN(std::optional<std::string> doc, storage.GetDocument(e.index));
    if (!doc) return core::Ok();
    if (auto opened = ledger::CheckOpening(e.leaf, *doc, e.openings); !opened) {
      return core::MakeError(core::Code::kDataLoss,
                             fmt::format("meter-state entry {} does not match its logged leaf: {}", e.index,
                                         opened.error().message),
                             "store");
    }
    json d = json::parse(*doc, nullptr, false);
    if (d.is_object() && d.contains("run") && d["run"] == run_id) latest = SavedState{e.index, std::move(d)};
    return core::Ok();
  }));
  return latest;
}

}  // namespace flopline::meter
