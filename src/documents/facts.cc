#include "flopline/documents/facts.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "flopline/core/format.h"
#include "flopline/core/toml_fields.h"
#include "flopline/ledger/hash.h"
#include "flopline/ledger/inventory.h"
#include "flopline/ledger/records.h"

namespace flopline::documents {
namespace {

using core::Result;
using nlohmann::json;

std::string FileName(std::uint64_t index) { return fmt::format("ledger entry {}", index); }

// `raw`, when given, receives the document's bytes (empty when purged).
Result<LoggedRecord> ProduceRecord(ledger::Log& log, std::uint64_t index, std::vector<std::string>& warnings,
                                   std::string* raw = nullptr) {
  FL_ASSIGN_OR_RETURN(ledger::ProducedRecord produced, log.Produce(index));
  LoggedRecord r;
  r.index = index;
  r.leaf_hash = ledger::Base64(produced.entry.leaf_hash);
  r.kind = produced.leaf.kind;
  r.recorded_at = produced.leaf.recorded_at;
  r.in_checkpoint = produced.checkpoint.has_value();
  r.content_sha256 = ledger::Hex(produced.entry.content_hash);
  if (!r.in_checkpoint) {
    warnings.push_back(fmt::format("entry {} ({}) is not yet in a signed checkpoint: run `flopline ledger checkpoint`",
                                   index, r.kind));
  }
  if (produced.document) {
    r.size = produced.document->size();
    json doc = json::parse(*produced.document, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_discarded() && doc.is_object()) r.fields = std::move(doc);
    if (raw != nullptr) *raw = std::move(*produced.document);
  }
  return r;
}

// Whether a drill's scope (docs/killswitch.md "Scopes") reaches the model: `all`, the model itself,
// or the lineage of the model or of one of its ancestors.
bool ScopeReaches(const std::string& scope, const std::string& model, const rules::Inventory& inventory) {
  if (scope == "all" || scope == "model:" + model) return true;
  if (!scope.starts_with("lineage:")) return false;
  std::string root = scope.substr(8);
  for (int i = inventory.Find(model), hops = 0; i >= 0 && hops <= static_cast<int>(inventory.models.size()); ++hops) {
    if (inventory.models[i].id == root) return true;
    i = inventory.base_index.empty() ? -1 : inventory.base_index[i];
  }
  return false;
}

std::string FieldValue(const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

// Two significant figures, as GPAI Guidelines para 32 asks: "2.3 x 10^25 FLOP".
std::string TwoSignificant(double flop) {
  if (!(flop > 0) || !std::isfinite(flop)) return fmt::format("{} FLOP", flop);
  int exponent = static_cast<int>(std::floor(std::log10(flop)));
  double mantissa = flop / std::pow(10.0, exponent);
  mantissa = std::round(mantissa * 10.0) / 10.0;
  if (mantissa >= 10.0) {
    mantissa /= 10.0;
    ++exponent;
  }
  return fmt::format("{:.1f} x 10^{} FLOP", mantissa, exponent);
}

// The models a model file defines (with their bases) and the models its events name; nullopt when
// it cannot be read here (ParseInventory reports why).
struct FileModels {
  std::set<std::string> defines, needs;
};
std::optional<FileModels> ModelsOf(const rules::ModelFile& file) {
  FileModels out;
  auto note = [&](const json& m, bool is_event) {
    if (!m.is_object()) return;
    if (is_event) {
      if (m.contains("model") && m["model"].is_string()) out.needs.insert(m["model"].get<std::string>());
      return;
    }
    if (m.contains("id") && m["id"].is_string()) out.defines.insert(m["id"].get<std::string>());
    if (m.contains("base") && m["base"].is_string() && !m["base"].get<std::string>().empty()) {
      out.needs.insert(m["base"].get<std::string>());
    }
  };
  if (file.path.ends_with(".jsonl")) {
    std::size_t pos = 0;
    while (pos < file.text.size()) {
      std::size_t nl = file.text.find('\n', pos);
      json line = json::parse(file.text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos), nullptr, false);
      if (line.is_object()) {
        if (line.contains("model")) note(line["model"], false);
        if (line.contains("event")) note(line["event"], true);
      }
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
    return out;
  }
  Result<toml::table> table = core::ParseToml(file.text, file.path);
  if (!table) return std::nullopt;
  auto each = [&](const char* key, bool is_event) {
    if (const toml::array* list = (*table)[key].as_array()) {
      for (const toml::node& n : *list) {
        const toml::table* t = n.as_table();
        if (t == nullptr) continue;
        json m = json::object();
        for (const char* field : {"id", "base", "model"}) {
          if (const auto* v = t->get_as<std::string>(field)) m[field] = v->get();
        }
        note(m, is_event);
      }
    }
  };
  each("model", false);
  each("event", true);
  return out;
}

// The files of one import that the model needs: those defining it, its ancestors, and whatever
// they in turn need (bases, models their events name). A file of the import the model does not
// need (another lab's, or one whose stages read a config file the log does not hold) is left out.
std::vector<rules::ModelFile> FilesFor(const std::string& model, std::vector<rules::ModelFile> files) {
  std::vector<std::optional<FileModels>> models;
  for (const rules::ModelFile& f : files) models.push_back(ModelsOf(f));
  if (std::any_of(models.begin(), models.end(), [](const auto& m) { return !m.has_value(); })) return files;
  std::set<std::string> needed = {model};
  std::vector<bool> chosen(files.size(), false);
  for (bool grew = true; grew;) {
    grew = false;
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (chosen[i]) continue;
      bool wanted = std::any_of(models[i]->defines.begin(), models[i]->defines.end(),
                                [&](const std::string& id) { return needed.contains(id); });
      if (!wanted) continue;
      chosen[i] = grew = true;
      needed.insert(models[i]->defines.begin(), models[i]->defines.end());
      needed.insert(models[i]->needs.begin(), models[i]->needs.end());
    }
  }
  std::vector<rules::ModelFile> out;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (chosen[i]) out.push_back(std::move(files[i]));
  }
  return out.empty() ? files : out;
}

// ---- models changed through the workspace (flopline serve) ------------------------------------
//
// A workspace change is an import of one model-file record per change, a JSON document
// {"flopline_workspace": 1, "model": {...}, "event"?: {...}}, and the inventory rows of the models it
// created or changed (each with all its events) or only the events it recorded (appended to the
// model's): the latest import holding a model then holds neither its base nor its earlier events.
// Such a model is read as the workspace reads it (workspace.cc ApplyRows): every import before the
// date replayed in log order, each model upserted from the import's workspace document when it
// carries one, else from the import's rows, its events replaced by the rows', and the events of a
// model the import does not name appended. Each model's line cites the record it came from (the
// workspace document, or the inventory record whose rows gave it), each event the import that
// recorded it, every record Produce-checked.

bool IsWorkspaceDocument(const std::string& text) {
  if (!text.starts_with("{\"")) return false;
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return doc.is_object() && doc.contains("flopline_workspace") && doc["model"].is_object();
}

// The workspace's model JSON (workspace/model_json.h) as a model line of the JSON Lines model file
// format (docs/assess.md): the keys of a [[model]] table, each stage by its compute in FLOP.
json ModelLineFromWorkspace(const json& m) {
  json out = json::object();
  for (const char* key : {"id", "developer", "derivation"}) {
    if (m.contains(key) && m[key].is_string()) out[key] = m[key];
  }
  if (m.contains("base") && m["base"].is_string() && !m["base"].get<std::string>().empty()) out["base"] = m["base"];
  for (const char* key : {"developer_revenue_usd", "developer_turnover_eur"}) {
    if (m.contains(key) && m[key].is_number()) out[key] = m[key];
  }
  for (const char* key : {"foundation_model", "open_source", "eu_established"}) {
    if (m.contains(key) && m[key].is_boolean()) out[key] = m[key];
  }
  if (m.contains("costs") && m["costs"].is_object() && !m["costs"].empty()) {
    json costs = json::object();
    for (const auto& [component, usd] : m["costs"].items()) {
      std::string key = component;
      std::replace(key.begin(), key.end(), '-', '_');
      if (usd.is_number()) costs[key + "_usd"] = usd;
    }
    out["costs"] = costs;
  }
  json stages = json::array();
  if (m.contains("training") && m["training"].is_array()) {
    for (const json& s : m["training"]) {
      if (!s.is_object()) continue;
      json stage = json::object();
      for (const char* key : {"kind", "start", "flop", "cost_usd"}) {
        if (s.contains(key) && !s[key].is_null()) stage[key] = s[key];
      }
      stages.push_back(std::move(stage));
    }
  }
  out["training"] = std::move(stages);
  return out;
}

// A model line from an import's rows (a model `flopline import` recorded: its file is not JSON).
json ModelLineFromRows(const ledger::InventoryRows& rows, const ledger::InventoryRows::Model& r) {
  json out = {{"id", r.id}, {"developer", r.developer}, {"foundation_model", r.foundation_model}};
  if (!r.base.empty()) out["base"] = r.base;
  if (!r.derivation.empty()) out["derivation"] = r.derivation;
  if (r.developer_revenue_usd) out["developer_revenue_usd"] = *r.developer_revenue_usd;
  json stages = json::array();
  for (const ledger::InventoryRows::Run& run : rows.runs) {
    if (run.model != r.id) continue;
    json stage = {{"kind", run.kind}, {"start", run.start}, {"flop", run.flop}};
    if (run.cost_usd) stage["cost_usd"] = *run.cost_usd;
    stages.push_back(std::move(stage));
  }
  out["training"] = std::move(stages);
  return out;
}

struct ReplayedModel {
  json line;                  // the model line
  std::uint64_t source = 0;   // the record it came from
  // Event lines, each with the import it came from (the rows' events of the latest import naming
  // the model, then those recorded alone after it).
  std::vector<std::pair<std::uint64_t, json>> events;
};

// The model and its ancestors, replayed from every import in `imports` (log order), as model files
// "ledger entry N.jsonl" of the records they came from; fills ev.files.
Result<std::vector<rules::ModelFile>> ReplayWorkspace(ledger::Log& log, const std::vector<std::uint64_t>& imports,
                                                      const std::string& model, Evidence& ev) {
  std::map<std::string, ReplayedModel> state;
  std::map<std::uint64_t, LoggedRecord> sources;
  for (std::uint64_t index : imports) {
    FL_ASSIGN_OR_RETURN(LoggedRecord inv, ProduceRecord(log, index, ev.warnings));
    if (!inv.fields) continue;
    FL_ASSIGN_OR_RETURN(ledger::InventoryDocument doc, ledger::InventoryFromJson(inv.fields->dump()));
    const std::size_t file_count = doc.file_sha256.size();
    if (file_count > index) {
      return core::MakeError(core::Code::kDataLoss,
                             fmt::format("entry {}: the import lists more model files than entries before it", index));
    }
    std::map<std::string, std::pair<json, LoggedRecord>> documents;  // model id -> workspace model, its record
    for (std::size_t i = 0; i < file_count; ++i) {
      std::string text;
      FL_ASSIGN_OR_RETURN(LoggedRecord r, ProduceRecord(log, index - file_count + i, ev.warnings, &text));
      if (r.kind != ledger::kModelFileKind || r.content_sha256 != doc.file_sha256[i]) {
        return core::MakeError(core::Code::kDataLoss,
                               fmt::format("entry {} is not the model file the import at entry {} lists", r.index, index));
      }
      if (!IsWorkspaceDocument(text)) continue;
      json d = json::parse(text);
      const json& m = d["model"];
      if (m.contains("id") && m["id"].is_string()) documents[m["id"].get<std::string>()] = {m, r};
    }
    for (const ledger::InventoryRows::Model& row : doc.rows.models) {
      ReplayedModel& s = state[row.id];
      if (auto it = documents.find(row.id); it != documents.end()) {
        s.line = ModelLineFromWorkspace(it->second.first);
        s.source = it->second.second.index;
        sources[s.source] = it->second.second;
      } else {
        s.line = ModelLineFromRows(doc.rows, row);
        s.source = index;
        sources[index] = inv;
      }
      s.events.clear();
    }
    for (const ledger::InventoryRows::Event& e : doc.rows.events) {
      auto it = state.find(e.model);
      if (it == state.end()) continue;
      it->second.events.push_back({index, {{"model", e.model}, {"kind", e.kind}, {"at", e.at}}});
      sources[index] = inv;
    }
  }
  // The lineage, bases first, each line in the file of its record.
  std::vector<std::string> chain;
  for (std::string at = model; !at.empty() && chain.size() <= state.size();) {
    auto it = state.find(at);
    if (it == state.end()) break;
    chain.push_back(at);
    at = it->second.line.value("base", "");
  }
  std::map<std::uint64_t, std::string> texts;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const ReplayedModel& s = state[*it];
    texts[s.source] += json{{"model", s.line}}.dump() + "\n";
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    const ReplayedModel& s = state[*it];
    for (const auto& [source, e] : s.events) texts[source] += json{{"event", e}}.dump() + "\n";
  }
  std::vector<rules::ModelFile> files;
  for (auto& [index, text] : texts) {
    std::string name = FileName(index) + ".jsonl";
    files.push_back({name, std::move(text)});
    ev.files[name] = sources[index];
  }
  return files;
}

}  // namespace

Result<Evidence> LoadEvidence(ledger::Log& log, ledger::Storage& storage, const std::string& model, core::Date as_of,
                              const compute::AcceleratorTable& accelerators, const compute::PriceTable& prices) {
  Evidence ev;
  ev.model = model;
  FL_ASSIGN_OR_RETURN(ev.log_size, storage.Size());
  const core::Instant end = core::Instant::StartOf(as_of) + std::chrono::hours(24);
  std::vector<std::uint64_t> imports, own, drills;
  FL_RETURN_IF_ERROR(storage.ForEachEntry(0, ev.log_size, [&](const ledger::Entry& e) -> Result<void> {
    Result<ledger::LeafInfo> leaf = ledger::ParseLeaf(e.leaf);
    if (!leaf) return core::MakeError(core::Code::kDataLoss, fmt::format("entry {}: {}", e.index, leaf.error().message));
    if (leaf->recorded_at >= end) return core::Ok();
    if (leaf->kind == ledger::kInventoryKind) {
      imports.push_back(e.index);
    } else if (leaf->kind == "shutdown-drill") {
      drills.push_back(e.index);
    } else if (leaf->model == model && leaf->kind != ledger::kModelFileKind && leaf->kind != ledger::kPurgeKind) {
      own.push_back(e.index);
    }
    return core::Ok();
  }));

  // The latest import that holds the model: its files were parsed together, lineage and all.
  std::optional<std::uint64_t> import_index;
  ledger::InventoryDocument inventory_doc;
  for (auto it = imports.rbegin(); it != imports.rend() && !import_index; ++it) {
    FL_ASSIGN_OR_RETURN(LoggedRecord r, ProduceRecord(log, *it, ev.warnings));
    if (!r.fields) continue;  // purged (an inventory record never is) or not JSON
    FL_ASSIGN_OR_RETURN(ledger::InventoryDocument doc, ledger::InventoryFromJson(r.fields->dump()));
    bool holds = std::any_of(doc.rows.models.begin(), doc.rows.models.end(),
                             [&](const ledger::InventoryRows::Model& m) { return m.id == model; });
    if (holds) {
      import_index = *it;
      inventory_doc = std::move(doc);
    }
  }
  if (!import_index) {
    return core::NotFound(fmt::format("no model '{}' in the store's inventory (imported on or before {}): "
                                      "record its model file with `flopline import`",
                                      model, as_of.ToString()),
                          "--model");
  }
  const std::size_t file_count = inventory_doc.file_sha256.size();
  if (file_count > *import_index) {
    return core::MakeError(core::Code::kDataLoss,
                           fmt::format("entry {}: the import lists more model files than entries before it", *import_index));
  }
  std::vector<rules::ModelFile> files;
  bool workspace = false;
  for (std::size_t i = 0; i < file_count; ++i) {
    std::uint64_t index = *import_index - file_count + i;
    std::string text;
    FL_ASSIGN_OR_RETURN(LoggedRecord r, ProduceRecord(log, index, ev.warnings, &text));
    if (r.kind != ledger::kModelFileKind || r.content_sha256 != inventory_doc.file_sha256[i]) {
      return core::MakeError(core::Code::kDataLoss,
                             fmt::format("entry {} is not the model file the import at entry {} lists", index, *import_index));
    }
    if (text.empty()) {
      return core::MakeError(core::Code::kFailedPrecondition, fmt::format("the model file at entry {} was purged", index));
    }
    if (IsWorkspaceDocument(text)) workspace = true;
    // The import read JSON Lines by the file's name, which the log does not keep: its first byte tells.
    std::string name = FileName(index) + (text.starts_with("{") ? ".jsonl" : "");
    files.push_back({name, std::move(text)});
    ev.files[name] = r;
  }
  // A later import that records an event of the model (the workspace records an event without
  // naming its model's row) changes what the files of this one say.
  for (std::uint64_t later : imports) {
    if (workspace || later <= *import_index) continue;
    FL_ASSIGN_OR_RETURN(LoggedRecord r, ProduceRecord(log, later, ev.warnings));
    if (!r.fields) continue;
    FL_ASSIGN_OR_RETURN(ledger::InventoryDocument doc, ledger::InventoryFromJson(r.fields->dump()));
    workspace = std::any_of(doc.rows.events.begin(), doc.rows.events.end(),
                            [&](const ledger::InventoryRows::Event& e) { return e.model == model; });
  }
  if (workspace) {
    ev.files.clear();
    FL_ASSIGN_OR_RETURN(files, ReplayWorkspace(log, imports, model, ev));
  } else {
    files = FilesFor(model, std::move(files));
  }
  compute::ConfigLoader no_configs = [](const std::string& path) -> Result<compute::Architecture> {
    return core::MakeError(core::Code::kFailedPrecondition,
                           fmt::format("config '{}' is not held by the evidence log", path));
  };
  Result<rules::Inventory> inventory = rules::ParseInventory(files, accelerators, prices, no_configs);
  if (!inventory) {
    core::Error e = inventory.error();
    e.code = core::Code::kFailedPrecondition;
    e.message = "the logged model files cannot be read again: " + e.message;
    return tl::unexpected(std::move(e));
  }
  ev.inventory = std::move(*inventory);

  for (std::uint64_t index : own) {
    FL_ASSIGN_OR_RETURN(LoggedRecord r, ProduceRecord(log, index, ev.warnings));
    if (r.size > 0 || r.fields) ev.records.push_back(std::move(r));
  }
  for (std::uint64_t index : drills) {
    FL_ASSIGN_OR_RETURN(LoggedRecord r, ProduceRecord(log, index, ev.warnings));
    if (!r.fields) continue;
    std::string scope = r.fields->value("scope", json()).is_string() ? r.fields->value("scope", "") : "";
    if (!scope.empty() && ScopeReaches(scope, model, ev.inventory)) {
      ev.drills.push_back(std::move(r));
    } else {
      // A drill of another scope says nothing about this model, and neither does its checkpoint.
      std::erase_if(ev.warnings, [&](const std::string& w) { return w.starts_with(fmt::format("entry {} ", index)); });
    }
  }
  return ev;
}

Result<FactSet> GatherFacts(const Evidence& ev, const rules::Engine& engine, const DocumentKind& kind,
                            core::Date as_of) {
  FactSet out;
  int mi = ev.inventory.Find(ev.model);
  if (mi < 0) return core::NotFound(fmt::format("no model '{}' in the logged model files", ev.model), "--model");
  const rules::Model& m = ev.inventory.models[mi];
  rules::AssessOptions options;
  options.as_of = as_of;
  options.regimes = {kind.regime};
  FL_ASSIGN_OR_RETURN(std::vector<rules::ModelAnswer> answers, engine.Assess(ev.inventory, options));
  auto answer = std::find_if(answers.begin(), answers.end(), [&](const rules::ModelAnswer& a) { return a.id == ev.model; });
  if (answer == answers.end() || answer->determinations.empty()) {
    return core::MakeError(core::Code::kInternal, fmt::format("the engine gave no answer for '{}'", ev.model));
  }
  const rules::Determination& d = answer->determinations.front();
  for (const rules::Regime& r : engine.regimes()) {
    if (r.id == kind.regime) out.regime_version = r.version.ToString();
  }
  out.status = d.status;
  out.regime_title = d.title;
  const core::Instant end = core::Instant::StartOf(as_of) + std::chrono::hours(24);

  auto from_file = [&](const std::string& file, std::string field) {
    Source s;
    s.type = "record";
    auto it = ev.files.find(file);
    if (it != ev.files.end()) {
      s.index = it->second.index;
      s.leaf_hash = it->second.leaf_hash;
      s.record_kind = it->second.kind;
      s.recorded_at = it->second.recorded_at.ToString();
    }
    s.field = std::move(field);
    return s;
  };
  auto determination = [&](const std::string& detail) {
    Source s;
    s.type = "determination";
    s.text = fmt::format("{} ({} version {}), as of {}{}{}", d.title, d.regime, out.regime_version, as_of.ToString(),
                         detail.empty() ? "" : ": ", detail);
    return s;
  };
  auto add = [&](const std::string& fact, std::string label, std::string value, Source source, std::string stale = {}) {
    out.facts[fact].push_back({fact, std::move(label), std::move(value), std::move(source), std::move(stale)});
  };

  // The model's identity and training, as its logged model file gives them.
  const std::string mfile = m.where.file;
  add("model.identity", "model", m.id, from_file(mfile, "model.id"));
  add("model.identity", "developer", m.developer, from_file(mfile, "model.developer"));
  add("model.identity", "foundation model", m.foundation_model ? "yes" : "no", from_file(mfile, "model.foundation_model"));
  if (!m.base.empty()) {
    add("model.identity", "base model", m.base, from_file(mfile, "model.base"));
    add("model.identity", "derivation", m.derivation, from_file(mfile, "model.derivation"));
  }
  if (m.developer_revenue_usd) {
    add("model.identity", "developer revenue (preceding calendar year)", core::Dollars(*m.developer_revenue_usd),
        from_file(mfile, "model.developer_revenue_usd"));
  }
  std::optional<core::Date> latest_start;
  for (std::size_t i = 0; i < m.training.size(); ++i) {
    const rules::TrainingStage& s = m.training[i];
    if (s.start <= as_of && (!latest_start || *latest_start < s.start)) latest_start = s.start;
    std::string cost = s.cost_usd ? fmt::format("{} ({})", core::Dollars(*s.cost_usd), s.cost_source)
                                  : fmt::format("unknown ({})", s.cost_source);
    add("model.training", fmt::format("training stage {}: {}", i + 1, s.kind),
        fmt::format("from {}: {} FLOP ({}); cost {}", s.start.ToString(), core::Sci3(s.flop), s.flop_method, cost),
        from_file(s.where.file.empty() ? mfile : s.where.file, fmt::format("model.training[{}]", i)));
  }

  // What the engine computed along the lineage, and its determination.
  add("compute.totals", "own training compute", core::Sci3(answer->own_flop) + " FLOP",
      determination("the model's own training stages"));
  add("compute.totals", "cumulative training compute (with its lineage)", core::Sci3(answer->cumulative_flop) + " FLOP",
      determination("summed along the lineage"));
  if (answer->own_cost_usd) {
    add("compute.totals", "own training cost", core::Dollars(*answer->own_cost_usd),
        determination("the model's own training stages"));
  }
  add("compute.cumulative_2sf", "cumulative training compute", TwoSignificant(answer->cumulative_flop),
      determination("summed along the lineage, two significant figures"));
  for (const rules::Outcome& o : d.outcomes) {
    std::string label = d.outcomes.size() > 1 ? fmt::format("status under the reading {}", o.reading) : "status";
    std::string value = o.rule.empty() ? fmt::format("{} (no rule applies: the default status)", o.status)
                                       : fmt::format("{} ({}, rule {})", o.status, o.cite, o.rule);
    add("determination.status", label, value, determination(o.rule.empty() ? "default status" : "rule " + o.rule));
  }
  for (const rules::ObligationState& o : d.obligations) {
    std::string value = o.state;
    if (o.due) value += ", due " + o.due->ToString();
    if (!o.detail.empty()) value += "; " + o.detail;
    std::string label = fmt::format("{} ({})", o.id, o.cite);
    add("determination.obligations", label, value, determination("obligation " + o.id));
    if (std::find(kind.discharges.begin(), kind.discharges.end(), o.id) != kind.discharges.end()) {
      add("determination.discharged", label, value, determination("obligation " + o.id));
    }
  }

  // Events, as the model files record them: the latest of each kind up to the date.
  for (const rules::Event& e : ev.inventory.events) {
    if (e.model != ev.model || e.at >= end) continue;
    std::string fact = "event." + e.kind;
    out.facts.erase(fact);
    add(fact, e.kind, e.at.ToString(), from_file(e.where.file, "event.at"));
  }

  // Records: the latest of each kind, field by field, with staleness.
  auto stale_of = [&](const LoggedRecord& r) -> std::string {
    if (kind.fresh_for_days) {
      auto age = std::chrono::duration_cast<std::chrono::hours>(end.time() - r.recorded_at.time()).count() / 24;
      if (age > *kind.fresh_for_days) {
        return fmt::format("recorded {}, more than {} days before {}", r.recorded_at.date().ToString(),
                           *kind.fresh_for_days, as_of.ToString());
      }
    }
    if (latest_start && r.recorded_at < core::Instant::StartOf(*latest_start)) {
      return fmt::format("recorded {}, before the training stage that began {}: evidence about an earlier model",
                         r.recorded_at.date().ToString(), latest_start->ToString());
    }
    return {};
  };
  auto add_record = [&](const std::string& fact, const LoggedRecord& r) {
    out.facts.erase(fact);
    Source s;
    s.type = "record";
    s.index = r.index;
    s.leaf_hash = r.leaf_hash;
    s.record_kind = r.kind;
    s.recorded_at = r.recorded_at.ToString();
    std::string stale = stale_of(r);
    if (r.fields) {
      for (const auto& [name, value] : r.fields->items()) {
        Source field_source = s;
        field_source.field = name;
        add(fact, name, FieldValue(value), field_source, stale);
      }
    } else {
      add(fact, "document", fmt::format("{} bytes, SHA-256 {}", r.size, r.content_sha256), s, stale);
    }
  };
  for (const LoggedRecord& r : ev.records) add_record("record." + r.kind, r);
  if (!ev.drills.empty()) add_record("drill.latest", ev.drills.back());
  return out;
}

}  // namespace flopline::documents
