// The workspace: the log replayed into models, events, users and an evidence index, and every
// change written back to the log (workspace.h).
#include "flopline/workspace/workspace.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "flopline/compute/accelerators.h"
#include "flopline/compute/prices.h"
#include "flopline/ledger/hash.h"
#include "flopline/ledger/inventory.h"
#include "flopline/ledger/log.h"
#include "flopline/ledger/records.h"
#include "flopline/rules/determination_json.h"
#include "flopline/rules/engine.h"
#include "flopline/rules/regime.h"
#include "flopline/store/open.h"
#include "model_json.h"

namespace flopline::workspace {

using nlohmann::json;

namespace {

constexpr std::string_view kUserKind = "workspace-user";
constexpr std::string_view kActionKind = "workspace-action";
constexpr std::size_t kMaxPage = 1000;
constexpr std::size_t kMaxChangeBatch = 512;
// How many times a batch of changes is checked again when another writer appended between its check
// and its append, before the writers are told the log is busy; from the second retry on, each waits a
// random while (up to kMaxConflictBackoff) so that two replicas appending without pause take turns.
constexpr int kMaxConflictRetries = 200;
constexpr std::chrono::milliseconds kMaxConflictBackoff{20};
// No session outlives this (the server's sessions last 8 hours): a logout older is forgotten.
constexpr std::int64_t kMaxSessionSeconds = 7 * 24 * 3600;
// Dates whose every-model summary is kept (today's, and a few a reader asked for).
constexpr std::size_t kMaxSummaries = 4;
// How many times Summaries judges every model for one call before it answers with a summary a few
// writes behind (the writes during each judging are judged again after it).
constexpr int kMaxJudgePasses = 3;

// The workspace whose log this thread reads at most once, while a Workspace::ReadOnce is alive on
// it, and whether it has.
struct ReadOnceHere {
  const void* state = nullptr;
  bool read = false;
};
thread_local ReadOnceHere read_once_here;

core::Instant Now() {
  return core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

// The bytes of lower-case hex (a cursor), or nullopt.
std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// One obligation as Obligations lists it (docs/api.md).
json ObligationJson(const rules::ModelAnswer& a, const rules::Determination& d, const rules::ObligationState& o) {
  return {{"model", a.id},
          {"regime", d.regime},
          {"id", o.id},
          {"cite", o.cite},
          {"text", o.text},
          {"due", o.due ? json(o.due->ToString()) : json(nullptr)},
          {"state", o.state},
          {"overdue", o.state == "overdue"},
          {"detail", o.detail}};
}

// An agent of the kill switch as the recorded orders and drills name it.
struct KillswitchAgent {
  int orders = 0, drills = 0;  // how many recorded orders and drills reached it
  json last;                   // the latest of them, and what became of its workload
};

// A model's change, as a queued write: the model as it will be (create, change) or an event.
struct Change {
  std::string action;                  // create-model | change-model | record-event
  std::optional<rules::Model> model;   // create-model, change-model
  std::optional<rules::Event> event;   // record-event
  std::optional<std::uint64_t> if_version;  // change-model: the model's version the writer read
  std::string actor;
  // Called once with the outcome, on the group committer's thread, after the batch is durable (or
  // refused): it must not block.
  std::function<void(core::Result<json>)> done;
};

// A change's outcome as a future (for callers that wait).
std::future<core::Result<json>> Awaited(Change& c) {
  auto promise = std::make_shared<std::promise<core::Result<json>>>();
  c.done = [promise](core::Result<json> r) { promise->set_value(std::move(r)); };
  return promise->get_future();
}

Change ModelChange(std::string action, rules::Model model, const std::string& actor) {
  Change c;
  c.action = std::move(action);
  c.model = std::move(model);
  c.actor = actor;
  return c;
}

Change EventChange(rules::Event event, const std::string& actor) {
  Change c;
  c.action = "record-event";
  c.event = std::move(event);
  c.actor = actor;
  return c;
}

// One obligation whose clock has started, as the calendar lists it (Workspace::Obligations).
struct ObligationRow {
  int rank = 0;     // the calendar's order: overdue, open with a date, open without, standing, met, other
  std::string due;  // ISO time, empty when none
  const rules::ModelAnswer* answer = nullptr;
  const rules::Determination* determination = nullptr;
  const rules::ObligationState* obligation = nullptr;
};

int RankOf(const rules::ObligationState& o) {
  if (o.state == "overdue") return 0;
  if (o.state == "open") return o.due ? 1 : 2;
  if (o.state == "standing") return 3;
  if (o.state == "met" || o.state == "met-late") return 4;
  return 5;
}

// The place of a row in the calendar's order (a cursor names one): rank, due (none last), model,
// regime, obligation id.
using ObligationKey = ObligationCursor;
ObligationKey KeyOf(const ObligationRow& r) {
  return {r.rank, r.due.empty() ? std::string("~") : r.due, r.answer->id, r.determination->regime, r.obligation->id};
}

// Every model's answers (a summary determination per regime) as of one date. Immutable once
// published, so that readers use it outside the workspace's lock; a change publishes a new one
// sharing the answers of the models it did not judge again.
struct Summary {
  std::vector<std::shared_ptr<const rules::ModelAnswer>> answers;
  std::shared_ptr<const std::unordered_map<std::string, std::size_t>> by_id;  // model id -> its answer

  const rules::ModelAnswer* Find(const std::string& id) const {
    auto it = by_id->find(id);
    return it == by_id->end() ? nullptr : answers[it->second].get();
  }

  // Every obligation whose clock has started, in the calendar's order: sorted once per summary, by
  // the first reader that asks, outside the workspace's lock (the rows point into this summary).
  const std::vector<ObligationRow>& Calendar() const {
    std::call_once(calendar_once, [&] {
      for (const auto& a : answers) {
        for (const rules::Determination& d : a->determinations) {
          for (const rules::ObligationState& o : d.obligations) {
            if (o.state == "not-triggered") continue;
            calendar.push_back({RankOf(o), o.due ? o.due->ToString() : std::string(), a.get(), &d, &o});
          }
        }
      }
      std::sort(calendar.begin(), calendar.end(),
                [](const ObligationRow& x, const ObligationRow& y) { return KeyOf(x) < KeyOf(y); });
    });
    return calendar;
  }

 private:
  mutable std::once_flag calendar_once;
  mutable std::vector<ObligationRow> calendar;
};

// A summary as of one date, and the models changed since it was judged (judged again when next
// asked, with their descendants).
struct DatedSummary {
  std::shared_ptr<const Summary> summary;
  std::set<std::string> dirty;
};

struct ModelState {
  rules::Model model;
  std::vector<rules::Event> events;  // in log order
  std::uint64_t version = 0;         // the log index of the import that last changed it or its events
};

// The models as a batch of changes leaves them: the replayed models under the batch's changes, so
// that checking a batch copies only the models it creates or changes (never the whole inventory,
// nor the events of a model that only gains one).
class Overlay {
 public:
  explicit Overlay(const std::map<std::string, ModelState>& base) : base_(base) {}

  const rules::Model* Find(const std::string& id) const {
    if (auto it = changed_.find(id); it != changed_.end()) return &it->second;
    if (auto it = base_.find(id); it != base_.end()) return &it->second.model;
    return nullptr;
  }
  // Whether an earlier change of this batch touched the model (its version is then not the log's).
  bool Touched(const std::string& id) const { return changed_.contains(id) || added_.contains(id); }
  std::uint64_t Version(const std::string& id) const {
    auto it = base_.find(id);
    return it == base_.end() ? 0 : it->second.version;
  }
  void Put(const rules::Model& m) { changed_[m.id] = m; }
  void AddEvent(const rules::Event& e) { added_[e.model].push_back(e); }

  // The import's rows: a created or changed model with its runs and every event (it replaces the
  // model's rows); the events of a model that only gained events, alone (they are appended).
  ledger::InventoryRows Rows() const {
    ledger::InventoryRows rows;
    for (const auto& [id, m] : changed_) {
      rows.models.push_back({m.id, m.developer, m.base, m.derivation, m.foundation_model, m.developer_revenue_usd});
      for (const rules::TrainingStage& st : m.training) {
        rows.runs.push_back({id, st.kind, st.start.ToString(), st.flop_method, st.flop, st.cost_usd});
      }
      if (auto it = base_.find(id); it != base_.end()) {
        for (const rules::Event& e : it->second.events) rows.events.push_back({id, e.kind, e.at.ToString()});
      }
    }
    for (const auto& [id, events] : added_) {
      for (const rules::Event& e : events) rows.events.push_back({id, e.kind, e.at.ToString()});
    }
    return rows;
  }

 private:
  const std::map<std::string, ModelState>& base_;
  std::map<std::string, rules::Model> changed_;
  std::map<std::string, std::vector<rules::Event>> added_;
};

}  // namespace

struct Workspace::State {
  Options options;
  std::unique_ptr<ledger::Storage> storage;
  std::unique_ptr<ledger::Log> log;
  std::unique_ptr<rules::Engine> engine;

  std::mutex mu;  // guards everything below
  std::uint64_t replayed = 0;             // entries [0, replayed) are applied
  // The log's size after the last import applied: what the models, and so every answer derived
  // from them, are a function of. A login or an evidence record grows the log, not this.
  std::uint64_t models_at = 0;
  std::map<std::string, ModelState> models;
  std::map<std::string, User> users;
  std::map<std::string, core::Instant> ended_sessions;  // session id -> when it was ended
  std::vector<EvidenceEntry> evidence;     // non-internal records, in log order
  std::map<std::string, KillswitchAgent> agents;  // every agent a recorded order or drill reached
  std::map<std::string, json> pending_files;  // a model id -> its workspace document, until the import
  // Derived from `models`, rebuilt (the summaries brought up to date) when the models change.
  std::set<std::string> changed_ids;  // models the entries being applied change
  std::shared_ptr<const rules::Inventory> inventory;
  // Determination's answers by (model, as_of), the most recently asked first, at most
  // options.determination_cache_bytes of them (a reader iterating dates grew it without bound).
  using DeterminationKey = std::pair<std::string, std::string>;
  std::list<std::pair<DeterminationKey, std::shared_ptr<const std::string>>> determination_order;
  std::map<DeterminationKey, decltype(determination_order)::iterator> determinations;
  std::size_t determination_bytes = 0;
  void KeepDetermination(const DeterminationKey& key, std::shared_ptr<const std::string> text) {
    determination_bytes += text->size();
    determination_order.emplace_front(key, std::move(text));
    determinations[key] = determination_order.begin();
    while (determination_bytes > options.determination_cache_bytes && !determination_order.empty()) {
      determination_bytes -= determination_order.back().second->size();
      determinations.erase(determination_order.back().first);
      determination_order.pop_back();
    }
  }
  std::map<std::string, DatedSummary> summaries;  // by as_of, at most kMaxSummaries
  // The dates whose every model is being judged outside the lock, each with the models changed
  // since its inventory was taken (Summaries); `judged_cv` is told when one ends.
  std::map<std::string, std::set<std::string>> judging;
  std::condition_variable judged_cv;
  // Set by Interrupt: no summary is judged or brought up to date from then on (read without `mu`).
  std::atomic<bool> interrupted{false};

  // The group committer of model changes.
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<Change> queue;
  bool stopping = false;
  std::thread writer;

  // Reads the entries appended since the last replay (once per ReadOnce scope). Caller holds `mu`.
  core::Result<void> Refresh() {
    bool once = read_once_here.state == this;
    if (once && read_once_here.read) return core::Ok();
    FL_ASSIGN_OR_RETURN(std::uint64_t size, storage->Size());
    if (once) read_once_here.read = true;
    if (size == replayed) return core::Ok();
    std::uint64_t before = models_at;
    FL_RETURN_IF_ERROR(storage->ForEachEntry(replayed, size, [&](const ledger::Entry& e) -> core::Result<void> {
      return Apply(e);
    }));
    replayed = size;
    if (models_at != before) ModelsChanged();
    return core::Ok();
  }

  // What is derived from the models is stale: the whole inventory and the determinations are
  // rebuilt when next asked; the summaries judge the changed models again. Caller holds `mu`.
  void ModelsChanged() {
    inventory.reset();
    determinations.clear();
    determination_order.clear();
    determination_bytes = 0;
    for (auto& [as_of, dated] : summaries) dated.dirty.insert(changed_ids.begin(), changed_ids.end());
    for (auto& [as_of, dirty] : judging) dirty.insert(changed_ids.begin(), changed_ids.end());
    changed_ids.clear();
  }

  core::Result<std::optional<json>> Document(const ledger::Entry& e) {
    FL_ASSIGN_OR_RETURN(std::optional<std::string> doc, storage->GetDocument(e.index));
    if (!doc) return std::optional<json>();
    json j = json::parse(*doc, nullptr, false);
    if (j.is_discarded()) return std::optional<json>();
    return std::optional<json>(std::move(j));
  }

  core::Result<void> Apply(const ledger::Entry& e) {
    if (e.kind == ledger::kModelFileKind) {
      FL_ASSIGN_OR_RETURN(std::optional<json> doc, Document(e));
      // A workspace change carries the whole model; a model file of `flopline import` (TOML) does
      // not parse as JSON, and its models come from the rows of the inventory record after it.
      if (doc && doc->is_object() && doc->contains("flopline_workspace") && doc->contains("model")) {
        const json& m = (*doc)["model"];
        if (m.is_object() && m.contains("id") && m["id"].is_string()) pending_files[m["id"].get<std::string>()] = m;
      }
      return core::Ok();
    }
    if (e.kind == ledger::kInventoryKind) {
      FL_ASSIGN_OR_RETURN(std::optional<std::string> text, storage->GetDocument(e.index));
      if (text) {
        auto doc = ledger::InventoryFromJson(*text);
        if (!doc) return tl::unexpected(doc.error());
        ApplyRows(doc->rows, e.index);
      }
      models_at = e.index + 1;
      pending_files.clear();
      return core::Ok();
    }
    if (e.kind == kUserKind) {
      FL_ASSIGN_OR_RETURN(std::optional<json> doc, Document(e));
      if (doc && doc->is_object() && (*doc)["name"].is_string() && (*doc)["role"].is_string()) {
        User u;
        u.name = (*doc)["name"];
        u.role = (*doc)["role"];
        if (doc->contains("password_hash") && (*doc)["password_hash"].is_string()) u.password_hash = (*doc)["password_hash"];
        if (doc->contains("token_hash") && (*doc)["token_hash"].is_string()) u.token_hash = (*doc)["token_hash"];
        if (doc->contains("disabled") && (*doc)["disabled"].is_boolean()) u.disabled = (*doc)["disabled"];
        if (doc->contains("sessions_revoked_at") && (*doc)["sessions_revoked_at"].is_string()) {
          if (auto at = core::Instant::Parse((*doc)["sessions_revoked_at"].get<std::string>())) u.sessions_revoked_at = *at;
        }
        users[u.name] = u;
      }
      return core::Ok();
    }
    if (e.kind == ledger::kPurgeKind) {
      auto info = ledger::ParseLeaf(e.leaf);
      if (info && info->purges) {
        for (EvidenceEntry& ev : evidence) {
          if (ev.index == info->purges->index) ev.purged = true;
        }
      }
      return core::Ok();
    }
    if (e.kind == kActionKind) return ApplyAction(e);
    EvidenceEntry entry{e.index, e.kind, e.model, e.recorded_at, ledger::Base64(e.leaf_hash), e.purged_at.has_value(), {}};
    // What a public copy withholds, and on which ground: in the leaf itself (never purged).
    json leaf = json::parse(e.leaf, nullptr, false);
    if (leaf.is_object() && leaf.contains("redactions") && leaf["redactions"].is_object()) {
      for (const auto& [field, ground] : leaf["redactions"].items()) {
        if (ground.is_string()) entry.redactions[field] = ground.get<std::string>();
      }
    }
    evidence.push_back(std::move(entry));
    if (e.kind == "shutdown-order" || e.kind == "shutdown-drill") return ApplyShutdown(e);
    return core::Ok();
  }

  // The agents a recorded shutdown order or drill reached (the controller's report: docs/killswitch.md,
  // "Evidence"): each agent's latest, with what became of its workload.
  core::Result<void> ApplyShutdown(const ledger::Entry& e) {
    FL_ASSIGN_OR_RETURN(std::optional<json> doc, Document(e));
    if (!doc || !doc->is_object()) return core::Ok();  // purged, or not the controller's report
    json acks = doc->value("acks", json::object());
    json why = doc->value("not_stopped_why", json::object());
    auto agents_in = [&](const char* key, const char* result) {
      json list = doc->value(key, json::array());
      if (!list.is_array()) return;
      for (const json& id : list) {
        if (!id.is_string()) continue;
        json seen = {{"index", e.index}, {"kind", e.kind}, {"recorded_at", e.recorded_at},
                     {"fence", doc->value("fence", json(nullptr))}, {"scope", doc->value("scope", json(nullptr))},
                     {"result", result}, {"why", nullptr}, {"stopped_at", nullptr}};
        const std::string name = id.get<std::string>();
        if (why.is_object() && why.contains(name) && why[name].is_string()) seen["why"] = why[name];
        if (acks.is_object() && acks.contains(name) && acks[name].is_object()) {
          const json& ack = acks[name];
          if (ack.contains("stopped_at_ms") && ack["stopped_at_ms"].is_number_integer()) {
            auto ms = ack["stopped_at_ms"].get<std::int64_t>();
            seen["stopped_at"] = core::Instant(std::chrono::sys_seconds(std::chrono::seconds(ms / 1000))).ToString();
          }
        }
        KillswitchAgent& agent = agents[name];
        ++(e.kind == "shutdown-drill" ? agent.drills : agent.orders);
        agent.last = std::move(seen);
      }
    };
    agents_in("stopped_agents", "stopped");
    agents_in("drained_agents", "drained");
    agents_in("not_stopped", "not-stopped");
    return core::Ok();
  }

  // A logout ends its session: remembered for as long as a session can last after it.
  core::Result<void> ApplyAction(const ledger::Entry& e) {
    FL_ASSIGN_OR_RETURN(std::optional<json> doc, Document(e));
    if (!doc || !doc->is_object() || doc->value("action", "") != "logout") return core::Ok();
    std::string target = doc->value("target", "");
    auto at = core::Instant::Parse(e.recorded_at);
    if (!target.starts_with("session ") || !at) return core::Ok();
    ended_sessions[target.substr(8)] = *at;
    if (ended_sessions.size() > 4096) {
      core::Instant horizon = Now() + std::chrono::seconds(-kMaxSessionSeconds);
      std::erase_if(ended_sessions, [&](const auto& s) { return s.second < horizon; });
    }
    return core::Ok();
  }

  // The rows of one import (at log index `index`): models upserted by id (the whole model from its
  // workspace document when the import carried one), their runs and events replaced, and the events
  // of models it does not name appended (the backends' upsert rules). The runs and events are
  // grouped by model first: an import of every model of a large inventory is read in linear time
  // (each model scanned every row once: 20,000 models took 48 s to open under ASan).
  void ApplyRows(const ledger::InventoryRows& rows, std::uint64_t index) {
    std::unordered_map<std::string_view, std::vector<const ledger::InventoryRows::Run*>> runs_of;
    for (const ledger::InventoryRows::Run& run : rows.runs) runs_of[run.model].push_back(&run);
    std::unordered_map<std::string_view, std::vector<const ledger::InventoryRows::Event*>> events_of;
    for (const ledger::InventoryRows::Event& ev : rows.events) events_of[ev.model].push_back(&ev);
    static const std::vector<const ledger::InventoryRows::Run*> kNoRuns;
    static const std::vector<const ledger::InventoryRows::Event*> kNoEvents;
    auto of = [](const auto& grouped, const std::string& id, const auto& none) -> const auto& {
      auto it = grouped.find(id);
      return it == grouped.end() ? none : it->second;
    };
    std::set<std::string> named;
    for (const ledger::InventoryRows::Model& r : rows.models) {
      named.insert(r.id);
      changed_ids.insert(r.id);
      ModelState& state = models[r.id];
      state.version = index;
      rules::Model m;
      bool full = false;
      if (auto it = pending_files.find(r.id); it != pending_files.end()) {
        if (auto parsed = ModelFromJson(it->second)) {
          m = std::move(*parsed);
          full = true;
        }
      }
      if (!full) {
        m.id = r.id;
        m.developer = r.developer;
        m.base = r.base;
        m.derivation = r.derivation.empty() ? "pretrain" : r.derivation;
        m.foundation_model = r.foundation_model;
        m.developer_revenue_usd = r.developer_revenue_usd;
        for (const ledger::InventoryRows::Run* run : of(runs_of, r.id, kNoRuns)) {
          rules::TrainingStage s;
          s.kind = run->kind;
          if (auto d = core::Date::Parse(run->start)) s.start = *d;
          s.flop = s.flop_low = s.flop_high = run->flop;
          s.flop_method = run->flop_method;
          s.cost_usd = run->cost_usd;
          s.cost_source = run->cost_usd ? "recorded" : "not recorded";
          m.training.push_back(std::move(s));
        }
      }
      state.model = std::move(m);
      state.events.clear();
      for (const ledger::InventoryRows::Event* ev : of(events_of, r.id, kNoEvents)) {
        if (auto at = core::Instant::Parse(ev->at)) state.events.push_back({ev->model, ev->kind, *at, {}});
      }
    }
    for (const ledger::InventoryRows::Event& ev : rows.events) {
      if (named.contains(ev.model)) continue;
      auto it = models.find(ev.model);
      auto at = core::Instant::Parse(ev.at);
      if (it == models.end() || !at) continue;
      it->second.events.push_back({ev.model, ev.kind, *at, {}});
      it->second.version = index;
      changed_ids.insert(ev.model);
    }
  }

  // The whole inventory, lineage linked. Caller holds `mu`.
  core::Result<std::shared_ptr<const rules::Inventory>> Inventory() {
    if (inventory) return inventory;
    auto inv = std::make_shared<rules::Inventory>();
    for (const auto& [id, state] : models) {
      inv->models.push_back(state.model);
      for (const rules::Event& e : state.events) inv->events.push_back(e);
    }
    std::sort(inv->events.begin(), inv->events.end(), [](const rules::Event& a, const rules::Event& b) { return a.at < b.at; });
    FL_RETURN_IF_ERROR(rules::LinkLineage(*inv));
    inventory = inv;
    return inventory;
  }

  // One model and its ancestors (what its determination depends on), lineage linked.
  core::Result<rules::Inventory> Lineage(const std::string& id) {
    rules::Inventory inv;
    std::string at = id;
    std::vector<std::string> chain;
    while (!at.empty() && chain.size() <= models.size()) {
      auto it = models.find(at);
      if (it == models.end()) break;
      chain.push_back(at);
      inv.models.push_back(it->second.model);
      for (const rules::Event& e : it->second.events) inv.events.push_back(e);
      at = it->second.model.base;
    }
    std::reverse(inv.models.begin(), inv.models.end());
    std::sort(inv.events.begin(), inv.events.end(), [](const rules::Event& a, const rules::Event& b) { return a.at < b.at; });
    FL_RETURN_IF_ERROR(rules::LinkLineage(inv));
    return inv;
  }

  // Every model's answer as of `as_of`: judged once (on every core), then brought up to date as the
  // models change by judging only the changed models and their descendants again, each along its
  // lineage (what its determination depends on), into a new summary that shares the other models'
  // answers (readers may hold the old one outside the lock). Caller holds `mu` through `lock`; the
  // summary stays valid as long as it is held.
  //
  // Judging every model (the first time, or when most changed) is done OUTSIDE the lock, from the
  // inventory as it was (immutable once built): `lock` is released meanwhile, so writes (the group
  // committer) and reads go on; the models changed in between are marked dirty in the summary it
  // publishes and judged again from the next call (here, before returning). One judging per date at
  // a time: another caller wanting the same date waits for it (on `judged_cv`), never judges twice.
  core::Result<std::shared_ptr<const Summary>> Summaries(core::Date as_of, std::unique_lock<std::mutex>& lock) {
    std::string key = as_of.ToString();
    for (int pass = 0;; ++pass) {
      if (auto it = summaries.find(key); it != summaries.end()) {
        // Under heavy writes a summary may never be clean when judged: after a few passes, the one
        // judged last is answered with (a few writes behind, as a reader just before them saw it).
        if (it->second.dirty.empty() || pass >= kMaxJudgePasses) return it->second.summary;
        FL_ASSIGN_OR_RETURN(std::shared_ptr<const Summary> updated, UpdateSummary(it->second, as_of));
        if (updated) return updated;
      }
      if (interrupted) return Stopping();
      if (judging.contains(key)) {
        judged_cv.wait(lock);
        continue;
      }
      FL_ASSIGN_OR_RETURN(std::shared_ptr<const rules::Inventory> inv, Inventory());
      judging[key];  // ModelsChanged adds what changes while it is judged
      std::set<std::string> changed;
      core::Result<std::shared_ptr<const Summary>> judged = std::shared_ptr<const Summary>();
      {
        // On every exit (JudgeAll or the hook throwing too: bad_alloc on a large inventory), the
        // lock is taken back, the date is no longer being judged and the waiters are woken: else
        // every later reader of this date would wait for it forever.
        lock.unlock();
        struct Done {
          State& self;
          std::unique_lock<std::mutex>& lock;
          const std::string& key;
          std::set<std::string>& changed;
          ~Done() {
            lock.lock();
            if (auto it = self.judging.find(key); it != self.judging.end()) {
              changed = std::move(it->second);
              self.judging.erase(it);
            }
            self.judged_cv.notify_all();
          }
        } done{*this, lock, key, changed};
        try {
          judged = JudgeAll(*inv, as_of);
        } catch (const std::exception& e) {
          judged = core::MakeError(core::Code::kUnavailable,
                                   fmt::format("judging every model as of {} failed: {}", key, e.what()));
        }
      }
      if (interrupted) return Stopping();
      if (!judged) return tl::unexpected(judged.error());
      if (summaries.size() >= kMaxSummaries && !summaries.contains(key)) summaries.erase(summaries.begin());
      summaries[key] = {std::move(*judged), std::move(changed)};
    }
  }

  // Every model of `inv` judged as of `as_of` on every core. Called without `mu`: reads only `inv`
  // and the engine (immutable).
  core::Result<std::shared_ptr<const Summary>> JudgeAll(const rules::Inventory& inv, core::Date as_of) {
    if (options.judging_hook) options.judging_hook();
    rules::AssessOptions assess;
    assess.as_of = as_of;
    auto summary = std::make_shared<Summary>();
    auto by_id = std::make_shared<std::unordered_map<std::string, std::size_t>>();
    summary->answers.reserve(inv.models.size());
    // Interrupt stops the engine's threads after the model each is on.
    assess.stop = &interrupted;
    auto judged = engine->AssessEach(
        inv, assess, {},
        [&](std::size_t, const rules::ModelAnswer& a) {
          (*by_id)[a.id] = summary->answers.size();
          summary->answers.push_back(std::make_shared<const rules::ModelAnswer>(a));
          return true;
        },
        std::max(1u, std::thread::hardware_concurrency()));
    if (interrupted) return Stopping();
    FL_RETURN_IF_ERROR(judged);
    summary->by_id = std::move(by_id);
    return std::shared_ptr<const Summary>(summary);
  }

  // `dated` brought up to date by judging its dirty models and their descendants again, when they
  // are few (under a quarter of the models); else null (judge them all). Caller holds `mu`.
  core::Result<std::shared_ptr<const Summary>> UpdateSummary(DatedSummary& dated, core::Date as_of) {
    rules::AssessOptions assess;
    assess.as_of = as_of;
    {
      std::set<std::string> affected = WithDescendants(dated.dirty);
      if (affected.size() * 4 < models.size()) {
        auto next = std::make_shared<Summary>();
        next->answers = dated.summary->answers;
        next->by_id = dated.summary->by_id;
        std::shared_ptr<std::unordered_map<std::string, std::size_t>> grown;  // a copy, once a model is new
        for (const std::string& id : affected) {
          if (interrupted) return Stopping();
          FL_ASSIGN_OR_RETURN(rules::Inventory inv, Lineage(id));
          FL_RETURN_IF_ERROR(engine->AssessEach(inv, assess, {}, [&](std::size_t, const rules::ModelAnswer& a) {
            if (a.id != id) return true;
            auto answer = std::make_shared<const rules::ModelAnswer>(a);
            if (auto at = next->by_id->find(id); at != next->by_id->end()) {
              next->answers[at->second] = std::move(answer);
            } else {
              if (!grown) grown = std::make_shared<std::unordered_map<std::string, std::size_t>>(*next->by_id);
              grown->emplace(id, next->answers.size());
              next->by_id = grown;
              next->answers.push_back(std::move(answer));
            }
            return false;
          }));
        }
        dated = {next, {}};
        return dated.summary;
      }
    }
    return std::shared_ptr<const Summary>();
  }

  // What a summary asked for after Interrupt answers.
  static tl::unexpected<core::Error> Stopping() {
    return core::MakeError(core::Code::kUnavailable,
                           "the workspace is stopping: the models were not all judged (the next start judges them)");
  }

  // `ids` and every model whose lineage passes through one of them.
  std::set<std::string> WithDescendants(const std::set<std::string>& ids) {
    std::map<std::string, std::vector<std::string>> derivatives;
    for (const auto& [id, state] : models) {
      if (!state.model.base.empty()) derivatives[state.model.base].push_back(id);
    }
    std::set<std::string> out;
    std::vector<std::string> todo(ids.begin(), ids.end());
    while (!todo.empty()) {
      std::string id = std::move(todo.back());
      todo.pop_back();
      if (!models.contains(id) || !out.insert(id).second) continue;
      if (auto it = derivatives.find(id); it != derivatives.end()) todo.insert(todo.end(), it->second.begin(), it->second.end());
    }
    return out;
  }

  // Checks a change against the models as they will be, and applies it to `next`.
  core::Result<json> Check(Change& c, Overlay& next) {
    if (c.event) {
      if (!next.Find(c.event->model)) return core::NotFound(fmt::format("no model '{}'", c.event->model), "model");
      if (c.event->at > Now() + ledger::kClockSkew) {
        return core::InvalidArgument("lies in the future: an event records what has happened", "at");
      }
      next.AddEvent(*c.event);
      return EventToJson(*c.event);
    }
    const rules::Model& m = *c.model;
    bool exists = next.Find(m.id) != nullptr;
    if (c.action == "create-model" && exists) {
      return core::MakeError(core::Code::kAlreadyExists, fmt::format("a model '{}' exists already", m.id), "id");
    }
    if (c.action == "change-model" && !exists) return core::NotFound(fmt::format("no model '{}'", m.id), "id");
    if (c.if_version && (next.Touched(m.id) || next.Version(m.id) != *c.if_version)) {
      return core::MakeError(
          core::Code::kFailedPrecondition,
          fmt::format("the model '{}' has changed since version {}, which this change was made from{}: read it "
                      "again (GET /api/v1/models/{}) and send the change with its new version in If-Match",
                      m.id, *c.if_version,
                      next.Touched(m.id) ? std::string(" (a change to it is being written)")
                                         : fmt::format(" (it is at version {})", next.Version(m.id)),
                      m.id),
          "if-match");
    }
    if (!m.base.empty() && !next.Find(m.base)) {
      return core::InvalidArgument(fmt::format("names no model in the workspace: '{}'", m.base), "base");
    }
    // A cycle in the lineage (a base that descends from this model) is refused.
    for (std::string at = m.base; !at.empty();) {
      if (at == m.id) return core::InvalidArgument("makes the lineage a cycle", "base");
      const rules::Model* base = next.Find(at);
      if (!base) break;
      at = base->base;
    }
    next.Put(m);
    return ModelToJson(m);
  }

  // The group committer: every change waiting is checked against the models as the log now has
  // them and written as one import (one transaction, one fsync).
  void Run() {
    for (;;) {
      std::vector<Change> batch;
      {
        std::unique_lock lock(queue_mu);
        queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        while (!queue.empty() && batch.size() < kMaxChangeBatch) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      Commit(batch);
    }
  }

  // Checks every change of the batch against the models as the log has them and writes those that
  // pass as one import, conditional on the log's size it checked at (Log::Import's expected_size):
  // when another writer (a thread, process or replica) appended in between, the batch is read and
  // checked again, so a change is never made against a state it did not see (a lost update).
  void Commit(std::vector<Change>& batch) {
    std::vector<std::optional<core::Result<json>>> outcome(batch.size());
    auto finish = [&](const std::optional<core::Error>& error) {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!outcome[i]) continue;
        if (error && *outcome[i]) {
          batch[i].done(tl::unexpected(*error));
        } else {
          batch[i].done(std::move(*outcome[i]));
        }
      }
    };
    for (int attempt = 0;; ++attempt) {
      std::fill(outcome.begin(), outcome.end(), std::nullopt);
      std::vector<std::string> files;
      std::map<std::string, json> documents;  // what Apply reads back from the files: each model as written
      ledger::InventoryRows rows;
      std::uint64_t checked_at = 0;
      core::Instant now = Now();
      {
        std::lock_guard lock(mu);
        if (auto r = Refresh(); !r) {
          for (auto& o : outcome) o = core::Result<json>(json());
          return finish(r.error());
        }
        Overlay next(models);
        for (std::size_t i = 0; i < batch.size(); ++i) {
          Change& c = batch[i];
          outcome[i] = Check(c, next);
          if (!*outcome[i]) continue;
          const std::string& id = c.event ? c.event->model : c.model->id;
          json doc = {{"flopline_workspace", 1}, {"by", c.actor}, {"action", c.action}, {"at", now.ToString()},
                      {"model", ModelToJson(*next.Find(id))}};
          if (c.event) doc["event"] = EventToJson(*c.event);
          files.push_back(doc.dump());
          documents[id] = std::move(doc["model"]);
        }
        if (files.empty()) return finish(std::nullopt);
        rows = next.Rows();
        checked_at = replayed;
      }
      auto appended = log->Import({files, rows, now, checked_at});
      if (!appended && appended.error().code == core::Code::kAborted) {
        if (attempt < kMaxConflictRetries) {
          if (attempt >= 1) {
            thread_local std::minstd_rand random(std::random_device{}());
            auto cap = std::min<std::int64_t>(kMaxConflictBackoff.count(), std::int64_t{1} << std::min(attempt, 10));
            std::this_thread::sleep_for(std::chrono::milliseconds(random() % static_cast<unsigned>(cap + 1)));
          }
          continue;
        }
        return finish(core::Error{core::Code::kUnavailable,
                                  "the log kept growing under this change (other writers): retry", {}, "log"});
      }
      if (!appended) return finish(appended.error());
      std::lock_guard lock(mu);
      if (replayed == checked_at) {
        // The import's entries follow the state it was checked against (expected_size): apply what
        // was written, as a replay would, without reading it back.
        pending_files = std::move(documents);
        ApplyRows(rows, appended->back().index);
        pending_files.clear();
        replayed = models_at = appended->back().index + 1;
        ModelsChanged();
      } else if (auto r = Refresh(); !r) {
        return finish(r.error());
      }
      // A created or changed model's version is the import's entry (the last one appended).
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (outcome[i] && *outcome[i] && batch[i].model) (**outcome[i])["version"] = appended->back().index;
      }
      return finish(std::nullopt);
    }
  }

  // Queues a change for the group committer; its `done` is called once it is written or refused.
  void Enqueue(Change change) {
    {
      std::lock_guard lock(queue_mu);
      queue.push_back(std::move(change));
    }
    queue_cv.notify_one();
  }

  core::Result<json> Submit(Change change) {
    std::future<core::Result<json>> result = Awaited(change);
    Enqueue(std::move(change));
    return result.get();
  }

  // Appends records written by the workspace itself (user, action) with any others, in one
  // transaction. Caller does not hold `mu`.
  core::Result<std::vector<ledger::Appended>> AppendRecords(const std::vector<ledger::RecordInput>& records) {
    std::vector<ledger::SealedRecord> sealed;
    for (const ledger::RecordInput& r : records) {
      bool internal = r.kind == kUserKind || r.kind == kActionKind;
      FL_ASSIGN_OR_RETURN(ledger::SealedRecord s, internal ? ledger::SealInternal(r) : ledger::Seal(r));
      sealed.push_back(std::move(s));
    }
    return log->AppendSealed(records, sealed);
  }
};

Workspace::Workspace(std::unique_ptr<State> state) : s_(std::move(state)) {
  s_->writer = std::thread([this] { s_->Run(); });
}

Workspace::~Workspace() {
  {
    std::lock_guard lock(s_->queue_mu);
    s_->stopping = true;
  }
  s_->queue_cv.notify_all();
  s_->writer.join();
}

core::Result<std::unique_ptr<Workspace>> Workspace::Open(Options options) {
  auto s = std::make_unique<State>();
  FL_ASSIGN_OR_RETURN(std::vector<rules::Regime> regimes, rules::LoadRegimeDir(options.regimes_dir));
  FL_ASSIGN_OR_RETURN(std::vector<rules::CpiSeries> cpi, rules::LoadCpi(options.data_dir + "/cpi.toml"));
  s->engine = std::make_unique<rules::Engine>(std::move(regimes), std::move(cpi));
  FL_ASSIGN_OR_RETURN(s->storage, store::Open(options.store));
  s->log = std::make_unique<ledger::Log>(*s->storage);
  FL_ASSIGN_OR_RETURN(std::optional<std::string> origin, s->storage->GetMeta(ledger::kMetaOrigin));
  if (!origin) {
    // First use: an empty workspace, its log initialised under this key. A concurrent first start
    // of another replica writes the same values (InitMeta refuses only a different one).
    FL_RETURN_IF_ERROR(ledger::Log::Init(*s->storage, options.origin, options.signer));
  } else {
    FL_ASSIGN_OR_RETURN(std::optional<std::string> key, s->storage->GetMeta(ledger::kMetaVerifierKey));
    if (!key || *key != options.signer.VerifierKey()) {
      return core::MakeError(core::Code::kFailedPrecondition,
                             "the signing key is not this store's log key (compare `flopline ledger key`)", "--key");
    }
  }
  FL_RETURN_IF_ERROR(s->log->PinKey(options.signer.VerifierKey()));
  s->options = std::move(options);
  {
    std::lock_guard lock(s->mu);
    FL_RETURN_IF_ERROR(s->Refresh());
  }
  return std::unique_ptr<Workspace>(new Workspace(std::move(s)));
}

const ledger::Signer& Workspace::signer() const { return s_->options.signer; }

Workspace::ReadOnce::ReadOnce(Workspace& ws) : previous_(read_once_here.state), previous_read_(read_once_here.read) {
  read_once_here = {ws.s_.get(), false};
}

Workspace::ReadOnce::~ReadOnce() { read_once_here = {previous_, previous_read_}; }

core::Result<std::uint64_t> Workspace::Generation() {
  std::lock_guard lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  return s_->replayed;
}

core::Result<Page> Workspace::ListModels(const ModelQuery& q) {
  std::unique_lock lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  // First: judging every model releases the lock meanwhile; what follows reads the models after it.
  FL_ASSIGN_OR_RETURN(std::shared_ptr<const Summary> summary, s_->Summaries(q.as_of, lock));
  std::size_t limit = std::clamp<std::size_t>(q.limit, 1, kMaxPage);
  if (!q.regime.empty()) {
    bool known = std::any_of(s_->engine->regimes().begin(), s_->engine->regimes().end(),
                             [&](const rules::Regime& r) { return r.id == q.regime; });
    if (!known) return core::InvalidArgument(fmt::format("no regime '{}'", q.regime), "regime");
  }
  std::optional<std::set<std::string>> derived;
  if (!q.derived_from.empty()) {
    if (!s_->models.contains(q.derived_from)) {
      return core::NotFound(fmt::format("no model '{}'", q.derived_from), "derived_from");
    }
    derived = s_->WithDescendants({q.derived_from});
    derived->erase(q.derived_from);
  }
  Page page;
  for (auto it = s_->models.upper_bound(q.cursor); it != s_->models.end(); ++it) {
    const rules::Model& m = it->second.model;
    if (derived && !derived->contains(m.id)) continue;
    if (!q.search.empty() && m.id.find(q.search) == std::string::npos &&
        m.developer.find(q.search) == std::string::npos) {
      continue;
    }
    bool keep = q.regime.empty() && q.status.empty();
    const rules::ModelAnswer* a = summary->Find(m.id);
    if (a && !keep) {
      keep = std::any_of(a->determinations.begin(), a->determinations.end(), [&](const rules::Determination& d) {
        bool regime_ok = q.regime.empty() || d.regime == q.regime;
        bool status_ok = q.status.empty() || d.status == q.status || (q.status == "covered" && d.covered == true);
        return regime_ok && status_ok;
      });
    }
    if (!keep) continue;
    if (page.items.size() == limit) {
      page.next_cursor = page.items.back()["id"].get<std::string>();
      break;
    }
    // Per regime: the status, the margin to the line that decided it, the most pressing deadline.
    json statuses = json::object();
    static const std::vector<rules::Determination> kNone;
    for (const rules::Determination& d : a ? a->determinations : kNone) {
      json status = {{"status", d.status}, {"covered", d.covered ? json(*d.covered) : json(nullptr)},
                     {"margin", nullptr}, {"next_deadline", nullptr}};
      if (std::string margin = rules::KeyMargin(d); !margin.empty()) status["margin"] = margin;
      if (const rules::ObligationState* next = rules::NextDeadline(d)) {
        status["next_deadline"] = {{"id", next->id}, {"cite", next->cite}, {"text", next->text},
                                   {"due", next->due->ToString()}, {"state", next->state}};
      }
      statuses[d.regime] = std::move(status);
    }
    json item = ModelToJson(m);
    item["cumulative_flop"] = a ? json(a->cumulative_flop) : json(nullptr);
    item["determinations"] = std::move(statuses);
    page.items.push_back(std::move(item));
  }
  return page;
}

core::Result<json> Workspace::GetModel(const std::string& id) {
  std::lock_guard lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  auto it = s_->models.find(id);
  if (it == s_->models.end()) return core::NotFound(fmt::format("no model '{}'", id), "id");
  json out = ModelToJson(it->second.model);
  json events = json::array();
  for (const rules::Event& e : it->second.events) events.push_back(EventToJson(e));
  out["events"] = events;
  out["version"] = it->second.version;
  return out;
}

core::Result<json> Workspace::CreateModel(const json& body, const std::string& actor) {
  FL_ASSIGN_OR_RETURN(rules::Model m, ModelFromJson(body));
  return s_->Submit(ModelChange("create-model", std::move(m), actor));
}

core::Result<json> Workspace::ChangeModel(const std::string& id, const json& body, const std::string& actor,
                                          std::optional<std::uint64_t> if_version) {
  FL_ASSIGN_OR_RETURN(rules::Model m, ModelFromJson(body));
  if (m.id != id) return core::InvalidArgument(fmt::format("'{}' is not the model of this path ('{}')", m.id, id), "id");
  Change change = ModelChange("change-model", std::move(m), actor);
  change.if_version = if_version;
  return s_->Submit(std::move(change));
}

core::Result<std::size_t> Workspace::ImportInventory(const rules::Inventory& inventory, const std::string& actor) {
  std::vector<std::future<core::Result<json>>> results;
  {
    std::lock_guard lock(s_->mu);
    FL_RETURN_IF_ERROR(s_->Refresh());
    std::lock_guard queue_lock(s_->queue_mu);
    for (int i : inventory.order) {
      const rules::Model& m = inventory.models[static_cast<std::size_t>(i)];
      Change c = ModelChange(s_->models.contains(m.id) ? "change-model" : "create-model", m, actor);
      results.push_back(Awaited(c));
      s_->queue.push_back(std::move(c));
    }
    for (const rules::Event& e : inventory.events) {
      Change c = EventChange(e, actor);
      results.push_back(Awaited(c));
      s_->queue.push_back(std::move(c));
    }
  }
  s_->queue_cv.notify_one();
  std::optional<core::Error> first;
  for (auto& r : results) {
    core::Result<json> done = r.get();
    if (!done && !first) first = done.error();
  }
  if (first) return tl::unexpected(*first);
  return inventory.models.size();
}

core::Result<json> Workspace::RecordEvent(const json& body, const std::string& actor) {
  FL_ASSIGN_OR_RETURN(rules::Event e, EventFromJson(body));
  return s_->Submit(EventChange(std::move(e), actor));
}

void Workspace::RecordEventThen(const json& body, const std::string& actor,
                                std::function<void(core::Result<json>)> done) {
  auto e = EventFromJson(body);
  if (!e) return done(tl::unexpected(e.error()));
  Change c = EventChange(std::move(*e), actor);
  c.done = std::move(done);
  s_->Enqueue(std::move(c));
}

core::Result<Page> Workspace::ListEvents(const std::string& model, std::size_t limit, std::size_t cursor) {
  std::lock_guard lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  limit = std::clamp<std::size_t>(limit, 1, kMaxPage);
  std::vector<rules::Event> all;
  for (const auto& [id, state] : s_->models) {
    if (!model.empty() && id != model) continue;
    all.insert(all.end(), state.events.begin(), state.events.end());
  }
  if (!model.empty() && !s_->models.contains(model)) return core::NotFound(fmt::format("no model '{}'", model), "model");
  std::stable_sort(all.begin(), all.end(), [](const rules::Event& a, const rules::Event& b) { return a.at < b.at; });
  Page page;
  for (std::size_t i = cursor; i < all.size(); ++i) {
    if (page.items.size() == limit) {
      page.next_cursor = std::to_string(i);
      break;
    }
    page.items.push_back(EventToJson(all[i]));
  }
  return page;
}

core::Result<Workspace::Judged> Workspace::Determination(const std::string& id, core::Date as_of) {
  std::lock_guard lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  auto key = std::make_pair(id, as_of.ToString());
  if (auto it = s_->determinations.find(key); it != s_->determinations.end()) {
    s_->determination_order.splice(s_->determination_order.begin(), s_->determination_order, it->second);
    return Judged{it->second->second, s_->models_at};
  }
  if (!s_->models.contains(id)) return core::NotFound(fmt::format("no model '{}'", id), "id");
  FL_ASSIGN_OR_RETURN(rules::Inventory inv, s_->Lineage(id));
  rules::AssessOptions options;
  options.as_of = as_of;
  FL_ASSIGN_OR_RETURN(std::vector<rules::ModelAnswer> answers, s_->engine->Assess(inv, options));
  FL_ASSIGN_OR_RETURN(std::vector<rules::RegimeContext> contexts, s_->engine->Context(options));
  for (const rules::ModelAnswer& a : answers) {
    if (a.id != id) continue;
    json out = {{"as_of", as_of.ToString()}, {"model", rules::ModelToJson(a)}, {"regimes", rules::RegimesToJson(contexts)}};
    auto text = std::make_shared<const std::string>(out.dump());
    s_->KeepDetermination(key, text);
    return Judged{text, s_->models_at};
  }
  return core::MakeError(core::Code::kInternal, "the engine returned no answer for the model");
}

std::size_t Workspace::DeterminationCacheBytes() {
  std::lock_guard lock(s_->mu);
  return s_->determination_bytes;
}

core::Result<void> Workspace::Warm(core::Date as_of) {
  std::unique_lock lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  FL_RETURN_IF_ERROR(s_->Summaries(as_of, lock));
  return core::Ok();
}

void Workspace::Interrupt() { s_->interrupted = true; }

core::Result<json> Workspace::Obligations(const ObligationQuery& q) {
  std::optional<ObligationKey> after;
  if (!q.cursor.empty()) {
    FL_ASSIGN_OR_RETURN(ObligationKey key, ParseObligationCursor(q.cursor));
    after = std::move(key);
  }
  std::shared_ptr<const Summary> summary;
  {
    std::unique_lock lock(s_->mu);
    FL_RETURN_IF_ERROR(s_->Refresh());
    if (!q.model.empty() && !s_->models.contains(q.model)) {
      return core::NotFound(fmt::format("no model '{}'", q.model), "model");
    }
    if (!q.regime.empty()) {
      bool known = std::any_of(s_->engine->regimes().begin(), s_->engine->regimes().end(),
                               [&](const rules::Regime& r) { return r.id == q.regime; });
      if (!known) return core::InvalidArgument(fmt::format("no regime '{}'", q.regime), "regime");
    }
    FL_ASSIGN_OR_RETURN(summary, s_->Summaries(q.as_of, lock));
  }
  // The rest reads the summary alone, which no writer changes: outside the lock.
  const std::vector<ObligationRow>& rows = summary->Calendar();
  std::size_t limit = std::clamp<std::size_t>(q.limit, 1, kMaxPage);
  auto now = std::chrono::system_clock::now();
  std::string soon = core::Instant(std::chrono::floor<std::chrono::seconds>(now + std::chrono::hours(72))).ToString();
  std::string month = core::Instant(std::chrono::floor<std::chrono::seconds>(now + std::chrono::hours(30 * 24))).ToString();
  std::set<std::string> regimes;
  std::map<std::string, std::size_t> groups = {{"overdue", 0}, {"soon", 0},     {"month", 0}, {"later", 0},
                                               {"undated", 0}, {"standing", 0}, {"met", 0},   {"other", 0}};
  std::size_t total = 0;
  json items = json::array();
  std::optional<ObligationKey> last;  // the last item's, while more follow
  bool more = false;
  for (const ObligationRow& r : rows) {
    const std::string& regime = r.determination->regime;
    regimes.insert(regime);
    if (!q.regime.empty() && regime != q.regime) continue;
    if (q.current_only && regime.find('@') != std::string::npos && regime != q.regime) continue;
    if (!q.model.empty() && r.answer->id != q.model) continue;
    if (!q.search.empty() && r.answer->id.find(q.search) == std::string::npos) continue;
    ++total;
    static constexpr const char* kGroups[] = {"overdue", "soon", "undated", "standing", "met", "other"};
    std::string group = kGroups[r.rank];
    if (r.rank == 1) group = r.due <= soon ? "soon" : r.due <= month ? "month" : "later";
    ++groups[group];
    if (after && KeyOf(r) <= *after) continue;
    if (items.size() < limit) {
      items.push_back(ObligationJson(*r.answer, *r.determination, *r.obligation));
      if (items.size() == limit) last = KeyOf(r);
    } else {
      more = true;
    }
  }
  std::optional<std::string> next_cursor;
  if (more) next_cursor = ObligationCursorText(*last);
  return json{{"as_of", q.as_of.ToString()}, {"items", std::move(items)},
              {"next_cursor", next_cursor ? json(*next_cursor) : json(nullptr)}, {"total", total},
              {"groups", groups}, {"regimes", regimes}};
}

core::Result<Workspace::DueSummary> Workspace::Due(core::Date as_of) {
  std::shared_ptr<const Summary> summary;
  DueSummary out;
  {
    std::unique_lock lock(s_->mu);
    FL_RETURN_IF_ERROR(s_->Refresh());
    FL_ASSIGN_OR_RETURN(summary, s_->Summaries(as_of, lock));
    out.generation = s_->replayed;
  }
  // Obligations' order: the overdue ones first, then the open ones with a due time, soonest first.
  for (const ObligationRow& r : summary->Calendar()) {
    if (r.rank == 0) {
      ++out.overdue;
    } else {
      if (r.rank == 1) out.next = ObligationJson(*r.answer, *r.determination, *r.obligation);
      break;
    }
  }
  return out;
}

core::Result<json> Workspace::AppendEvidence(const json& body, const std::string& actor) {
  if (!body.is_object()) return core::InvalidArgument("expected a JSON object", "body");
  for (const auto& [key, value] : body.items()) {
    if (key != "kind" && key != "model" && key != "document" && key != "redactions") {
      return core::InvalidArgument("is not a known field", FieldName(key));
    }
  }
  ledger::RecordInput record;
  if (!body.contains("kind") || !body["kind"].is_string()) return core::InvalidArgument("is required: a string", "kind");
  record.kind = body["kind"];
  if (record.kind == kUserKind || record.kind == kActionKind) {
    return core::InvalidArgument("is written by the workspace itself", "kind");
  }
  if (body.contains("model")) {
    if (!body["model"].is_string()) return core::InvalidArgument("expected a string", "model");
    record.model = body["model"];
  }
  if (!body.contains("document")) return core::InvalidArgument("is required: a JSON object or a string", "document");
  const json& doc = body["document"];
  if (doc.is_object()) {
    record.document = doc.dump();
  } else if (doc.is_string()) {
    record.document = doc.get<std::string>();
  } else {
    return core::InvalidArgument("expected a JSON object or a string", "document");
  }
  if (body.contains("redactions")) {
    if (!body["redactions"].is_object()) return core::InvalidArgument("expected an object {field: ground}", "redactions");
    for (const auto& [field, ground] : body["redactions"].items()) {
      if (!ground.is_string()) return core::InvalidArgument("expected a string (a ground)", "redactions." + field);
      record.redactions[field] = ground.get<std::string>();
    }
  }
  if (!record.model.empty()) {
    std::lock_guard lock(s_->mu);
    FL_RETURN_IF_ERROR(s_->Refresh());
    if (!s_->models.contains(record.model)) {
      return core::NotFound(fmt::format("no model '{}' in the workspace", record.model), "model");
    }
  }
  record.recorded_at = Now();
  ledger::RecordInput action{std::string(kActionKind), record.model,
                             json{{"actor", actor}, {"action", "append-evidence"}, {"target", record.kind}}.dump(),
                             record.recorded_at, {}};
  auto appended = s_->AppendRecords({record, action});
  if (!appended) {
    core::Error e = appended.error();
    if (e.field == "recorded-at") e.field = "recorded_at";
    if (e.field.empty()) e.field = "document";
    return tl::unexpected(e);
  }
  const ledger::Appended& a = appended->front();
  return json{{"index", a.index}, {"kind", record.kind}, {"model", record.model},
              {"recorded_at", record.recorded_at.ToString()}, {"leaf_hash", ledger::Base64(a.leaf_hash)},
              {"notices", a.notices}};
}

core::Result<Page> Workspace::ListEvidence(const EvidenceQuery& q) {
  std::lock_guard lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  std::size_t limit = std::clamp<std::size_t>(q.limit, 1, kMaxPage);
  Page page;
  for (const EvidenceEntry& e : s_->evidence) {
    if (q.cursor && e.index <= *q.cursor) continue;
    if (!q.kind.empty() && e.kind != q.kind) continue;
    if (!q.model.empty() && e.model != q.model) continue;
    if (page.items.size() == limit) {
      page.next_cursor = std::to_string(page.items.back()["index"].get<std::uint64_t>());
      break;
    }
    page.items.push_back({{"index", e.index}, {"kind", e.kind}, {"model", e.model}, {"recorded_at", e.recorded_at},
                          {"leaf_hash", e.leaf_hash}, {"purged", e.purged}, {"redactions", e.redactions}});
  }
  return page;
}

core::Result<json> Workspace::Proof(std::uint64_t index, std::optional<std::uint64_t> tree_size) {
  FL_ASSIGN_OR_RETURN(ledger::InclusionResult p, s_->log->Prove(index, tree_size));
  json hashes = json::array();
  for (const ledger::Hash& h : p.hashes) hashes.push_back(ledger::Base64(h));
  return json{{"index", p.index}, {"tree_size", p.tree_size}, {"leaf", ledger::Base64(p.leaf)},
              {"leaf_hash", ledger::Base64(ledger::LeafHash(p.leaf))}, {"hashes", hashes},
              {"root", ledger::Base64(p.root)}};
}

core::Result<json> Workspace::LatestCheckpoint() {
  FL_ASSIGN_OR_RETURN(std::vector<ledger::StoredCheckpoint> all, s_->storage->Checkpoints());
  FL_ASSIGN_OR_RETURN(std::optional<std::string> key, s_->storage->GetMeta(ledger::kMetaVerifierKey));
  if (all.empty()) return core::NotFound("no checkpoint has been signed", "checkpoint");
  return json{{"size", all.back().size}, {"note", all.back().note}, {"verifier_key", key.value_or("")}};
}

core::Result<json> Workspace::SignCheckpoint(const std::string& actor) {
  FL_RETURN_IF_ERROR(RecordAction(actor, "sign-checkpoint", "log"));
  FL_ASSIGN_OR_RETURN(std::string note, s_->log->Checkpoint(s_->options.signer));
  FL_ASSIGN_OR_RETURN(std::vector<ledger::StoredCheckpoint> all, s_->storage->Checkpoints());
  return json{{"size", all.empty() ? 0 : all.back().size}, {"note", note}, {"verifier_key", s_->options.signer.VerifierKey()}};
}

core::Result<json> Workspace::KillswitchOrders() {
  std::lock_guard lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  json out = json::array();
  for (auto it = s_->evidence.rbegin(); it != s_->evidence.rend(); ++it) {
    if (it->kind != "shutdown-order" && it->kind != "shutdown-drill") continue;
    out.push_back({{"index", it->index}, {"kind", it->kind}, {"model", it->model}, {"recorded_at", it->recorded_at},
                   {"leaf_hash", it->leaf_hash}});
  }
  return json{{"orders", out}};
}

core::Result<json> Workspace::KillswitchAgents() {
  std::lock_guard lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  json out = json::array();
  for (const auto& [id, agent] : s_->agents) {
    out.push_back({{"id", id}, {"orders", agent.orders}, {"drills", agent.drills}, {"last", agent.last}});
  }
  return json{{"agents", out}};
}

core::Result<void> Workspace::RecordAction(const std::string& actor, const std::string& action,
                                           const std::string& target) {
  ledger::RecordInput r{std::string(kActionKind), "",
                        json{{"actor", actor}, {"action", action}, {"target", target}}.dump(), Now(), {}};
  FL_RETURN_IF_ERROR(s_->AppendRecords({r}));
  return core::Ok();
}

core::Result<void> Workspace::PutUser(const User& user, const std::string& by) {
  if (user.name.empty() || user.name.size() > 64 ||
      user.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_@") !=
          std::string::npos) {
    return core::InvalidArgument("a user name is 1-64 letters, digits, '-', '_' or '@'", "name");
  }
  if (std::find(kRoles.begin(), kRoles.end(), user.role) == kRoles.end()) {
    std::string list;
    for (const std::string& r : kRoles) list += (list.empty() ? "" : ", ") + r;
    return core::InvalidArgument(fmt::format("'{}' is not one of: {}", user.role, list), "role");
  }
  json doc = {{"name", user.name}, {"role", user.role}, {"by", by}};
  if (!user.password_hash.empty()) doc["password_hash"] = user.password_hash;
  if (!user.token_hash.empty()) doc["token_hash"] = user.token_hash;
  if (user.disabled) doc["disabled"] = true;
  if (user.sessions_revoked_at) doc["sessions_revoked_at"] = user.sessions_revoked_at->ToString();
  // The hashes are withheld from every public copy (the whole document).
  ledger::RecordInput r{std::string(kUserKind), "", doc.dump(), Now(), {{"*", "cybersecurity"}}};
  FL_RETURN_IF_ERROR(s_->AppendRecords({r}));
  return core::Ok();
}

core::Result<void> Workspace::EndSession(const std::string& actor, const std::string& session_id) {
  if (session_id.empty() || session_id.find(' ') != std::string::npos) {
    return core::InvalidArgument("a session id is one word", "session");
  }
  return RecordAction(actor, "logout", "session " + session_id);
}

core::Result<bool> Workspace::SessionHolds(const std::string& name, const std::string& role,
                                           const std::string& session_id, core::Instant issued) {
  std::lock_guard lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  auto it = s_->users.find(name);
  if (it == s_->users.end()) return false;
  const User& u = it->second;
  if (u.disabled || u.role != role || s_->ended_sessions.contains(session_id)) return false;
  return !u.sessions_revoked_at || issued > *u.sessions_revoked_at;
}

core::Result<std::optional<User>> Workspace::FindUser(const std::string& name) {
  std::lock_guard lock(s_->mu);
  FL_RETURN_IF_ERROR(s_->Refresh());
  auto it = s_->users.find(name);
  if (it == s_->users.end()) return std::optional<User>();
  return std::optional<User>(it->second);
}

std::string ObligationCursorText(const ObligationCursor& key) {
  const auto& [rank, due, model, regime, id] = key;
  return ledger::Hex(std::string_view(json::array({rank, due, model, regime, id}).dump()));
}

core::Result<ObligationCursor> ParseObligationCursor(std::string_view text) {
  auto refused = [] { return core::InvalidArgument("is not a next_cursor this list gave", "cursor"); };
  std::optional<std::string> bytes = HexDecode(text);
  if (!bytes) return refused();
  json key = json::parse(*bytes, nullptr, false);
  // The rank is a small integer (an index of the calendar's groups): anything else was not written here.
  if (!key.is_array() || key.size() != 5 || !key[0].is_number_integer() || key[0].get<std::int64_t>() < 0 ||
      key[0].get<std::int64_t>() > 64 ||
      !std::all_of(key.begin() + 1, key.end(), [](const json& k) { return k.is_string(); })) {
    return refused();
  }
  return ObligationCursor{key[0].get<int>(), key[1].get<std::string>(), key[2].get<std::string>(),
                          key[3].get<std::string>(), key[4].get<std::string>()};
}

}  // namespace flopline::workspace
