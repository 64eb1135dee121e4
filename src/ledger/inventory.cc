#include "flopline/ledger/inventory.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace flopline::ledger {
namespace {

using core::Result;
using nlohmann::json;

tl::unexpected<core::Error> Bad(std::string message) {
  return core::MakeError(core::Code::kDataLoss, "model-inventory record: " + std::move(message));
}

json Number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

Result<std::string> Text(const json& object, const char* key, std::string_view where) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return Bad(fmt::format("{}.{} is not a string", where, key));
  return it->get<std::string>();
}

Result<double> Finite(const json& value, std::string_view what) {
  if (!value.is_number()) return Bad(fmt::format("{} is not a number", what));
  double v = value.get<double>();
  if (!std::isfinite(v)) return Bad(fmt::format("{} is not finite", what));
  return v;
}

Result<std::optional<double>> OptionalNumber(const json& object, const char* key, std::string_view where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<double>();
  FL_ASSIGN_OR_RETURN(double v, Finite(*it, fmt::format("{}.{}", where, key)));
  return std::optional<double>(v);
}

Result<const json*> Array(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_array()) return Bad(fmt::format("'{}' is not an array", key));
  return &*it;
}

Result<const json*> Object(const json& item, std::string_view where) {
  if (!item.is_object()) return Bad(fmt::format("{} is not an object", where));
  return &item;
}

}  // namespace

std::string InventoryToJson(const InventoryDocument& doc) {
  json models = json::array(), runs = json::array(), events = json::array();
  for (const auto& m : doc.rows.models) {
    models.push_back({{"id", m.id},
                      {"developer", m.developer},
                      {"base", m.base},
                      {"derivation", m.derivation},
                      {"foundation_model", m.foundation_model},
                      {"developer_revenue_usd", Number(m.developer_revenue_usd)}});
  }
  for (const auto& r : doc.rows.runs) {
    runs.push_back({{"model", r.model},
                    {"kind", r.kind},
                    {"start", r.start},
                    {"flop_method", r.flop_method},
                    {"flop", r.flop},
                    {"cost_usd", Number(r.cost_usd)}});
  }
  for (const auto& e : doc.rows.events) events.push_back({{"model", e.model}, {"kind", e.kind}, {"at", e.at}});
  return json{{"models", models}, {"runs", runs}, {"events", events}, {"files", doc.file_sha256}}.dump();
}

Result<InventoryDocument> InventoryFromJson(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Bad("not a JSON object");
  InventoryDocument out;
  FL_ASSIGN_OR_RETURN(const json* models, Array(doc, "models"));
  for (size_t i = 0; i < models->size(); ++i) {
    std::string where = fmt::format("models[{}]", i);
    FL_ASSIGN_OR_RETURN(const json* m, Object((*models)[i], where));
    InventoryRows::Model row;
    FL_ASSIGN_OR_RETURN(row.id, Text(*m, "id", where));
    FL_ASSIGN_OR_RETURN(row.developer, Text(*m, "developer", where));
    FL_ASSIGN_OR_RETURN(row.base, Text(*m, "base", where));
    FL_ASSIGN_OR_RETURN(row.derivation, Text(*m, "derivation", where));
    auto fm = m->find("foundation_model");
    if (fm == m->end() || !fm->is_boolean()) return Bad(where + ".foundation_model is not a boolean");
    row.foundation_model = fm->get<bool>();
    FL_ASSIGN_OR_RETURN(row.developer_revenue_usd, OptionalNumber(*m, "developer_revenue_usd", where));
    if (row.id.empty()) return Bad(where + ".id is empty");
    out.rows.models.push_back(std::move(row));
  }
  FL_ASSIGN_OR_RETURN(const json* runs, Array(doc, "runs"));
  for (size_t i = 0; i < runs->size(); ++i) {
    std::string where = fmt::format("runs[{}]", i);
    FL_ASSIGN_OR_RETURN(const json* r, Object((*runs)[i], where));
    InventoryRows::Run row;
    FL_ASSIGN_OR_RETURN(row.model, Text(*r, "model", where));
    FL_ASSIGN_OR_RETURN(row.kind, Text(*r, "kind", where));
    FL_ASSIGN_OR_RETURN(row.start, Text(*r, "start", where));
    FL_ASSIGN_OR_RETURN(row.flop_method, Text(*r, "flop_method", where));
    auto flop = r->find("flop");
    if (flop == r->end()) return Bad(where + ".flop is missing");
    FL_ASSIGN_OR_RETURN(row.flop, Finite(*flop, where + ".flop"));
    FL_ASSIGN_OR_RETURN(row.cost_usd, OptionalNumber(*r, "cost_usd", where));
    out.rows.runs.push_back(std::move(row));
  }
  FL_ASSIGN_OR_RETURN(const json* events, Array(doc, "events"));
  for (size_t i = 0; i < events->size(); ++i) {
    std::string where = fmt::format("events[{}]", i);
    FL_ASSIGN_OR_RETURN(const json* e, Object((*events)[i], where));
    InventoryRows::Event row;
    FL_ASSIGN_OR_RETURN(row.model, Text(*e, "model", where));
    FL_ASSIGN_OR_RETURN(row.kind, Text(*e, "kind", where));
    FL_ASSIGN_OR_RETURN(row.at, Text(*e, "at", where));
    out.rows.events.push_back(std::move(row));
  }
  FL_ASSIGN_OR_RETURN(const json* files, Array(doc, "files"));
  for (const json& f : *files) {
    if (!f.is_string() || f.get<std::string>().size() != 64) return Bad("files holds a value that is not a SHA-256");
    out.file_sha256.push_back(f.get<std::string>());
  }
  return out;
}

void InventoryReplay::Apply(const InventoryRows& rows) {
  // The backends' rules (store/sqlite.cc ImportLocked): each imported model replaces its row, its
  // runs, its events and the lineage edge that names it as the derivative; then the runs and
  // events of the import are added, after those a model already has when the import did not name
  // it (an event recorded alone does not rewrite its model's earlier events).
  for (const auto& m : rows.models) {
    developers_.insert(m.developer);
    runs_.erase(m.id);
    events_.erase(m.id);
    std::erase_if(lineage_, [&](const auto& edge) { return edge.first.second == m.id; });
    models_[m.id] = m;
    if (!m.base.empty()) lineage_[{m.base, m.id}] = m.derivation;
  }
  for (const auto& r : rows.runs) runs_[r.model].push_back(r);
  for (const auto& e : rows.events) events_[e.model].push_back(e);
}

InventoryRows InventoryReplay::Tables() const {
  InventoryRows out;
  for (const auto& [id, m] : models_) out.models.push_back(m);
  for (const auto& [model, runs] : runs_) out.runs.insert(out.runs.end(), runs.begin(), runs.end());
  for (const auto& [model, events] : events_) out.events.insert(out.events.end(), events.begin(), events.end());
  for (const auto& [edge, derivation] : lineage_) out.lineage.push_back({edge.first, edge.second, derivation});
  out.developers.assign(developers_.begin(), developers_.end());
  return out;
}

std::vector<std::pair<std::string, core::Instant>> InventoryReplay::Events(const std::string& model) const {
  std::vector<std::pair<std::string, core::Instant>> out;
  auto it = events_.find(model);
  if (it == events_.end()) return out;
  for (const auto& e : it->second) {
    if (Result<core::Instant> at = core::Instant::Parse(e.at)) out.emplace_back(e.kind, *at);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return out;
}

InventoryRows Canonical(InventoryRows rows) {
  std::sort(rows.models.begin(), rows.models.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::stable_sort(rows.runs.begin(), rows.runs.end(), [](const auto& a, const auto& b) { return a.model < b.model; });
  std::stable_sort(rows.events.begin(), rows.events.end(),
                   [](const auto& a, const auto& b) { return a.model < b.model; });
  std::sort(rows.lineage.begin(), rows.lineage.end(), [](const auto& a, const auto& b) {
    return std::tie(a.base, a.derivative) < std::tie(b.base, b.derivative);
  });
  std::sort(rows.developers.begin(), rows.developers.end());
  return rows;
}

namespace {

std::string Describe(const InventoryRows::Model& m) {
  return fmt::format("model '{}' (developer '{}', base '{}', derivation '{}', foundation {}, revenue {})", m.id,
                     m.developer, m.base, m.derivation, m.foundation_model,
                     m.developer_revenue_usd ? fmt::format("{}", *m.developer_revenue_usd) : "none");
}
std::string Describe(const InventoryRows::Run& r) {
  return fmt::format("training run of '{}' ({} from {}, {} FLOP by {}, cost {})", r.model, r.kind, r.start, r.flop,
                     r.flop_method, r.cost_usd ? fmt::format("{}", *r.cost_usd) : "none");
}
std::string Describe(const InventoryRows::Event& e) {
  return fmt::format("event '{}' of '{}' at {}", e.kind, e.model, e.at);
}
std::string Describe(const InventoryRows::Lineage& l) {
  return fmt::format("lineage edge '{}' -> '{}' ({})", l.base, l.derivative, l.derivation);
}
std::string Describe(const std::string& developer) { return fmt::format("developer '{}'", developer); }

bool Same(const InventoryRows::Model& a, const InventoryRows::Model& b) {
  return std::tie(a.id, a.developer, a.base, a.derivation, a.foundation_model, a.developer_revenue_usd) ==
         std::tie(b.id, b.developer, b.base, b.derivation, b.foundation_model, b.developer_revenue_usd);
}
bool Same(const InventoryRows::Run& a, const InventoryRows::Run& b) {
  return std::tie(a.model, a.kind, a.start, a.flop_method, a.flop, a.cost_usd) ==
         std::tie(b.model, b.kind, b.start, b.flop_method, b.flop, b.cost_usd);
}
bool Same(const InventoryRows::Event& a, const InventoryRows::Event& b) {
  return std::tie(a.model, a.kind, a.at) == std::tie(b.model, b.kind, b.at);
}
bool Same(const InventoryRows::Lineage& a, const InventoryRows::Lineage& b) {
  return std::tie(a.base, a.derivative, a.derivation) == std::tie(b.base, b.derivative, b.derivation);
}
bool Same(const std::string& a, const std::string& b) { return a == b; }

template <typename Row>
std::optional<std::string> FirstDifference(std::string_view table, const std::vector<Row>& expected,
                                           const std::vector<Row>& stored) {
  for (size_t i = 0; i < std::max(expected.size(), stored.size()); ++i) {
    if (i >= stored.size()) {
      return fmt::format("the {} table lacks the logged {}", table, Describe(expected[i]));
    }
    if (i >= expected.size()) {
      return fmt::format("the {} table holds {}, which no logged import wrote", table, Describe(stored[i]));
    }
    if (!Same(expected[i], stored[i])) {
      return fmt::format("the {} table holds {} where the log has {}", table, Describe(stored[i]),
                         Describe(expected[i]));
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> InventoryDifference(const InventoryRows& expected_rows, const InventoryRows& stored_rows) {
  InventoryRows expected = Canonical(expected_rows), stored = Canonical(stored_rows);
  if (auto d = FirstDifference("models", expected.models, stored.models)) return d;
  if (auto d = FirstDifference("lineage", expected.lineage, stored.lineage)) return d;
  if (auto d = FirstDifference("developers", expected.developers, stored.developers)) return d;
  if (auto d = FirstDifference("training_runs", expected.runs, stored.runs)) return d;
  if (auto d = FirstDifference("events", expected.events, stored.events)) return d;
  return std::nullopt;
}

}  // namespace flopline::ledger
