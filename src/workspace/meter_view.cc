// The meter's records read back per run (meter_view.h).
#include "flopline/workspace/meter_view.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "flopline/core/instant.h"
#include "flopline/ledger/hash.h"
#include "flopline/ledger/records.h"
#include "flopline/store/open.h"

namespace flopline::workspace {

using nlohmann::json;

namespace {

// The kinds the meter writes (meter/state.h; docs/meter.md "The ledger").
constexpr std::string_view kStateKind = "meter-state";
constexpr std::string_view kProjectedKind = "threshold-projected";
constexpr std::string_view kCrossedKind = "threshold-crossed";
constexpr std::size_t kMaxRunId = 256;

std::string InstantOf(double seconds) {
  auto s = std::chrono::sys_seconds(std::chrono::seconds(static_cast<std::int64_t>(std::floor(seconds))));
  return core::Instant(s).ToString();
}

double NumberOr(const json& d, const char* key, double fallback) {
  auto it = d.find(key);
  return it != d.end() && it->is_number() ? it->get<double>() : fallback;
}

// The line a run is nearest to meeting: of the lines it moves and has not met, the one at the
// highest fraction.
json Nearest(const json& lines) {
  const json* best = nullptr;
  for (const json& l : lines) {
    if (!l.value("moved_by_run", false)) continue;
    double f = NumberOr(l, "fraction", 0);
    if (f >= 1) continue;
    if (!best || f > NumberOr(*best, "fraction", 0)) best = &l;
  }
  if (!best) return nullptr;
  json out;
  for (const char* key : {"regime", "line", "param", "cite", "readings", "threshold_flop", "flop", "fraction",
                          "projected_crossing", "status_at_line", "duties_unmet"}) {
    if (best->contains(key)) out[key] = (*best)[key];
  }
  return out;
}

}  // namespace

core::Result<std::unique_ptr<MeterView>> MeterView::Open(const std::string& store) {
  FL_ASSIGN_OR_RETURN(auto storage, store::Open(store));
  return std::make_unique<MeterView>(std::move(storage));
}

MeterView::MeterView(std::unique_ptr<ledger::Storage> storage) : storage_(std::move(storage)) {}

core::Result<void> MeterView::Refresh() {
  FL_ASSIGN_OR_RETURN(std::uint64_t size, storage_->Size());
  if (size <= read_) return core::Ok();
  FL_RETURN_IF_ERROR(storage_->ForEachEntry(read_, size, [&](const ledger::Entry& e) { return Apply(e); }));
  read_ = size;
  return core::Ok();
}

core::Result<void> MeterView::Apply(const ledger::Entry& e) {
  if (e.kind != kStateKind && e.kind != kProjectedKind && e.kind != kCrossedKind) return core::Ok();
  if (e.purged_at) return core::Ok();  // its document is gone: nothing to show
  FL_ASSIGN_OR_RETURN(std::optional<std::string> text, storage_->GetDocument(e.index));
  if (!text) return core::Ok();
  if (auto opened = ledger::CheckOpening(e.leaf, *text, e.openings); !opened) {
    return core::MakeError(core::Code::kDataLoss,
                           fmt::format("{} record {} does not match its logged leaf: {}", e.kind, e.index,
                                       opened.error().message),
                           "store");
  }
  json d = json::parse(*text, nullptr, false);
  // Only the meter writes these kinds (`ledger append` refuses them), so a document of another
  // shape is one a future meter wrote: skipped, not guessed at.
  if (!d.is_object() || !d.contains("run") || !d["run"].is_string() || d["run"].get<std::string>().empty()) {
    return core::Ok();
  }
  RunData& run = runs_[d["run"].get<std::string>()];
  Source source{e.index, e.recorded_at, ledger::Base64(e.leaf_hash)};
  json record = {{"index", source.index}, {"recorded_at", source.recorded_at}, {"leaf_hash", source.leaf_hash}};
  if (e.kind != kStateKind) {
    d["record"] = record;
    d["record"]["kind"] = e.kind;
    run.alerts.push_back(std::move(d));
    return core::Ok();
  }
  if (!d.contains("flop") || !d["flop"].is_number()) return core::Ok();
  if (d.value("steps_counted", std::uint64_t{0}) > 0 && d.contains("last_time") && d["last_time"].is_number()) {
    double t = d["last_time"].get<double>();
    json point = {{"at", InstantOf(t)}, {"time", t}, {"flop", d["flop"]}, {"tokens", NumberOr(d, "tokens", 0)},
                  {"index", e.index}};
    // In event time; a state saved again at the same event time (a restart, the end of a read)
    // replaces the earlier one.
    auto& h = run.history;
    auto at = std::lower_bound(h.begin(), h.end(), t, [](const json& p, double v) { return p["time"].get<double>() < v; });
    if (at != h.end() && at->at("time").get<double>() == t) {
      *at = std::move(point);
    } else {
      h.insert(at, std::move(point));
    }
  }
  run.state = std::move(d);
  run.source = std::move(source);
  return core::Ok();
}

json MeterView::Summary(const RunData& r) const {
  const json& d = r.state;
  const json* report = d.contains("report") && d["report"].is_object() ? &d["report"] : nullptr;
  json lines = report && report->contains("lines") ? (*report)["lines"] : json::array();
  std::size_t met = 0;
  bool unmet = false;
  json unmet_duties = json::array();  // each (regime, duty) once
  std::set<std::pair<std::string, std::string>> seen;
  for (const json& l : lines) {
    if (l.value("moved_by_run", false) && NumberOr(l, "fraction", 0) >= 1) ++met;
    if (!l.value("duties_unmet", false)) continue;
    unmet = true;
    if (!l.contains("duties") || !l["duties"].is_array()) continue;
    for (const json& duty : l["duties"]) {
      if (!duty.value("unmet", false) || !seen.insert({l.value("regime", ""), duty.value("id", "")}).second) continue;
      unmet_duties.push_back({{"regime", l.value("regime", "")}, {"id", duty.value("id", "")},
                              {"cite", duty.value("cite", "")}, {"state", duty.value("state", "")}});
    }
  }
  return {{"run", d["run"]},
          {"model", d.value("model", "")},
          {"flop", d["flop"]},
          {"tokens", NumberOr(d, "tokens", 0)},
          {"steps_counted", d.value("steps_counted", std::uint64_t{0})},
          {"last_event", d.value("steps_counted", std::uint64_t{0}) > 0 ? json(InstantOf(NumberOr(d, "last_time", 0)))
                                                                        : json(nullptr)},
          {"rate", report && report->contains("rate") ? (*report)["rate"] : json(nullptr)},
          {"nearest", Nearest(lines)},
          {"lines_met", met},
          {"duties_unmet", unmet},
          {"unmet_duties", unmet_duties},
          {"state", {{"index", r.source.index}, {"recorded_at", r.source.recorded_at}, {"leaf_hash", r.source.leaf_hash}}}};
}

core::Result<json> MeterView::Runs() {
  std::lock_guard lock(mu_);
  FL_RETURN_IF_ERROR(Refresh());
  json out = json::array();
  for (const auto& [id, run] : runs_) {
    if (!run.state.is_null()) out.push_back(Summary(run));
  }
  return json{{"runs", out}};
}

core::Result<json> MeterView::Run(std::string_view id) {
  if (id.empty() || id.size() > kMaxRunId ||
      std::any_of(id.begin(), id.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return core::InvalidArgument(fmt::format("a run id is 1 to {} characters, none of them a control character", kMaxRunId),
                                 "run");
  }
  std::lock_guard lock(mu_);
  FL_RETURN_IF_ERROR(Refresh());
  auto it = runs_.find(std::string(id));
  if (it == runs_.end() || it->second.state.is_null()) {
    return core::NotFound(fmt::format("no run '{}' has been metered into this workspace (`flopline meter watch "
                                      "--store` records one)",
                                      id),
                          "run");
  }
  const RunData& r = it->second;
  const json& d = r.state;
  json out;
  if (d.contains("report") && d["report"].is_object()) {
    out = d["report"];
  } else {  // a meter that kept no report: its sums only
    out = {{"run", d["run"]}, {"model", d.value("model", "")}, {"flop", d["flop"]}, {"tokens", NumberOr(d, "tokens", 0)},
           {"steps_counted", d.value("steps_counted", std::uint64_t{0})},
           {"steps_repeated", d.value("steps_repeated", std::uint64_t{0})},
           {"repeated_flop", NumberOr(d, "repeated_flop", 0)}, {"rate", nullptr}, {"lines", json::array()},
           {"status_if_stopped_now", json::array()}};
  }
  json summary = Summary(r);
  out["nearest"] = summary["nearest"];
  out["lines_met"] = summary["lines_met"];
  out["duties_unmet"] = summary["duties_unmet"];
  out["unmet_duties"] = summary["unmet_duties"];
  out["state"] = summary["state"];
  json alerts = json::array(), crossings = json::array();
  for (const json& a : r.alerts) {
    alerts.push_back(a);
    if (a.value("kind", "") == "crossed") crossings.push_back(a);
  }
  out["alerts"] = alerts;
  out["crossings"] = crossings;
  // The history, thinned evenly to at most kMaxHistory points (the newest always kept).
  json history = json::array();
  const auto& h = r.history;
  std::size_t n = h.size();
  std::size_t keep = std::min(n, kMaxHistory);
  for (std::size_t k = 0; k < keep; ++k) {
    std::size_t i = keep == n ? k : (k + 1) * n / keep - 1;
    json p = h[i];
    p.erase("time");
    history.push_back(std::move(p));
  }
  out["history"] = history;
  return out;
}

}  // namespace flopline::workspace
