// File: flopline/workspace/workspace.h
//
// The compliance workspace: the operations both front ends (the CLI and `flopline serve`) use, over
// one evidence store. A workspace opens a store (store::Open: sqlite:PATH | postgres:CONNINFO),
// initialises its log on first use (an empty workspace), loads the law (regimes/) and the tables
// (data/), and offers:
//   models      list, get, create, change (the fields of a [[model]] table, training stages with
//               their compute given), events (training-started, released, incident-discovered, ...)
//   assess      per model as of a date (the explained JSON of `flopline assess`), and the summary of
//               every model (statuses per regime) for filtering
//   obligations every model's clocks as of a date, overdue flagged
//   evidence    append and list records, inclusion proofs, checkpoints (sign, latest)
//   kill switch the shutdown orders and drills recorded
//   users       users with a role and argon2id hashes of their password and API token
//
// Every mutation is an entry in the log, so the workspace's history is provable:
//   - a model change or an event is a `flopline import` of one model-file record per change (a
//     JSON document {"flopline_workspace": 1, "by", "action", "model": {...}, "event"?}) plus the
//     model-inventory record, written in one transaction; concurrent changes are group-committed
//     (one transaction, one fsync, for every change waiting); a change only records the rows it
//     changes (an event is appended to its model's events, never rewriting them), and the import is
//     conditional on the log's size the batch was checked at, so a change made on another replica
//     in between is read and the batch checked again (never a lost update);
//   - an evidence record is appended with a workspace-action record naming who filed it, in one
//     transaction; a user is a workspace-user record; an auditor's read is a workspace-action.
// The state (models, events, users, evidence index) is the log replayed: a workspace reads the new
// entries whenever the log has grown (another process or replica wrote), so two servers on one
// PostgreSQL see each other's writes on their next request.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/core/date.h"
#include "flopline/core/instant.h"
#include "flopline/core/result.h"
#include "flopline/ledger/note.h"
#include "flopline/rules/inventory.h"

namespace flopline::workspace {

struct Options {
  std::string store;         // sqlite:PATH | postgres:CONNINFO
  std::string regimes_dir;   // regimes/*.toml
  std::string data_dir;      // accelerators.toml, cloud-prices.toml, cpi.toml
  std::string origin;        // the log's origin when this open creates it
  ledger::Signer signer;     // the log's signing key (checkpoints)
  // For tests: called on the thread that judges every model (Warm, or the first reader of a date),
  // outside the workspace's lock, just before it judges: a test pauses it here to check that writes
  // and reads go on meanwhile.
  std::function<void()> judging_hook;
  // At most this many bytes of determinations (one per model and date asked, ~70 KB each) are kept
  // for Determination, the least recently asked dropped first.
  std::size_t determination_cache_bytes = 16 << 20;
};

// The roles of issue 13: who may do what is the server's route table (server/routes.cc).
inline const std::vector<std::string> kRoles = {"developer-admin", "compliance-officer", "engineer",
                                                "auditor",         "board",              "regulator-readonly"};

struct User {
  std::string name, role;
  std::string password_hash;  // argon2id (crypto_pwhash_str), empty when none
  std::string token_hash;     // argon2id of the API token, empty when none
  bool disabled = false;      // may not log in; no token or session of theirs holds
  // Every session of theirs issued at or before this time has ended (`flopline user revoke`).
  std::optional<core::Instant> sessions_revoked_at = std::nullopt;
};

struct EvidenceEntry {
  std::uint64_t index = 0;
  std::string kind, model, recorded_at, leaf_hash;  // leaf_hash in base64
  bool purged = false;
  std::map<std::string, std::string> redactions;  // field ("*": the whole document) -> ground
};

struct Page {
  nlohmann::json items = nlohmann::json::array();
  std::optional<std::string> next_cursor;  // nullopt on the last page
};

struct ModelQuery {
  std::string regime, status, search;  // status: a regime status, or "covered"
  std::string derived_from;             // only the models whose lineage passes through this one
  core::Date as_of;
  std::size_t limit = 100;
  std::string cursor;                   // the id after which to start
};

struct ObligationQuery {
  core::Date as_of;
  std::string regime;         // only this regime's
  std::string model;          // only this model's
  std::string search;         // only models whose id holds this
  bool current_only = false;  // leave out superseded versions of a statute (ids with '@')
  std::size_t limit = 100;    // 1 to 1000
  std::string cursor;         // next_cursor of the previous page
};

struct EvidenceQuery {
  std::string kind, model;
  std::size_t limit = 100;
  std::optional<std::uint64_t> cursor;  // the index after which to start
};

class Workspace {
 public:
  // Opens (and on first use creates) the store and its log, loads the law and replays the log.
  static core::Result<std::unique_ptr<Workspace>> Open(Options options);
  ~Workspace();

  // A number that changes whenever the workspace changes (the log's size): for ETags and for
  // pushing changes to dashboards. Reads the store, so another replica's writes are seen.
  core::Result<std::uint64_t> Generation();

  // Models. `Get` and `List` return the model JSON (docs/api.md); Create and Change take it, every
  // field checked (unknown keys, wrong types, bad values: kInvalidArgument naming the field, e.g.
  // "training[0].flop"), and return the model as stored. Change refuses a body whose id differs.
  // A model's "version" (in Get's answer, and Create's and Change's) is the log index of the import
  // that last changed it or its events. Change with `if_version` is conditional: when the model is
  // at another version by the time the change is written (another writer, here or on another
  // replica, changed it or recorded an event for it), nothing is written and the answer is
  // kFailedPrecondition naming "if-match" and the model: read it again.
  core::Result<Page> ListModels(const ModelQuery& query);
  core::Result<nlohmann::json> GetModel(const std::string& id);
  core::Result<nlohmann::json> CreateModel(const nlohmann::json& body, const std::string& actor);
  core::Result<nlohmann::json> ChangeModel(const std::string& id, const nlohmann::json& body,
                                           const std::string& actor,
                                           std::optional<std::uint64_t> if_version = std::nullopt);

  // Every model of `inventory` (bases first) created or changed, and its events recorded, as the
  // API would: for loading model files (`flopline workspace import`). Stops at the first refusal.
  core::Result<std::size_t> ImportInventory(const rules::Inventory& inventory, const std::string& actor);

  // Events {"model", "kind", "at"}: recorded in the model's inventory (the obligations' clocks).
  core::Result<nlohmann::json> RecordEvent(const nlohmann::json& body, const std::string& actor);
  // RecordEvent without waiting: `done` is called once with what RecordEvent would return, when the
  // event is durable or refused (a body refused as it is read: at once, on this thread; else on the
  // group committer's thread, so it must not block). For a server that answers the request from
  // there instead of holding a thread per waiting write.
  void RecordEventThen(const nlohmann::json& body, const std::string& actor,
                       std::function<void(core::Result<nlohmann::json>)> done);
  core::Result<Page> ListEvents(const std::string& model, std::size_t limit, std::size_t cursor);

  // The explained determination of one model (the JSON of `flopline assess --explain --format
  // json` for that model), as text, with the generation of the models it was judged at (the log's
  // size after the last import: a login or an evidence record does not change it); cached until the
  // models change. The text is shared and immutable: a server sends it without copying.
  struct Judged {
    std::shared_ptr<const std::string> json;
    std::uint64_t generation = 0;
  };
  core::Result<Judged> Determination(const std::string& id, core::Date as_of);
  // The bytes of determinations kept now (at most Options::determination_cache_bytes).
  std::size_t DeterminationCacheBytes();
  // One page of the obligations whose clocks have started (every state but not-triggered) as of
  // `query.as_of`, in the calendar's order: overdue first, then open ones soonest due first, open
  // ones with no date, standing duties, met ones, the rest; within each by due time, then model,
  // regime and obligation id. The answer:
  //   {"as_of", "items": [{"model", "regime", "id", "cite", "text", "due", "state", "overdue",
  //    "detail"}], "next_cursor": string or null, "total": how many match the filters,
  //    "groups": {"overdue", "soon" (open, due within 72 h of the server's clock), "month" (within
  //    30 days), "later", "undated", "standing", "met", "other"}: how many of those match in each,
  //    "regimes": every regime with an obligation (the filters' choices)}.
  // Built from the every-model summary (judged once, kept up to date) outside the workspace's lock:
  // a page of 10,000 models' obligations does not hold up other requests. A cursor is the last
  // item's place in that order, so a page after a change goes on from where the reader was.
  // kInvalidArgument naming "cursor" for a cursor this did not give.
  core::Result<nlohmann::json> Obligations(const ObligationQuery& query);
  // What a dashboard's header shows, without listing every obligation: how many are overdue as of
  // `as_of`, and the open one due next (Obligations' first open item with a due time; null when
  // none), at the workspace's generation.
  struct DueSummary {
    std::size_t overdue = 0;
    nlohmann::json next = nullptr;
    std::uint64_t generation = 0;
  };
  core::Result<DueSummary> Due(core::Date as_of);
  // Judges every model as of `as_of` now (on every core), so that the first reader does not wait:
  // `flopline serve` calls it for today as it starts. It judges a snapshot of the models outside
  // the workspace's lock, so writes and other reads are not held up by it; the models changed
  // meanwhile are judged again (only they and their descendants) before it returns.
  core::Result<void> Warm(core::Date as_of);
  // Gives up, for good, the work that loses nothing when given up, for a server that is stopping: a
  // summary of every model being judged (Warm's, or the one a reader waits for) stops after the
  // models being judged now (a chunk of the engine's, or one model and its lineage) and is not kept,
  // and every later call that needs a summary judged (or brought up to date) answers kUnavailable
  // ("the workspace is stopping"); one already judged and up to date is still read.
  // Writes go on: the changes queued are written and acknowledged, and the destructor waits for
  // them. May be called from any thread, more than once; it does not wait.
  void Interrupt();

  // Evidence: {"kind", "model"?, "document": object or string, "redactions"?: {field: ground}}.
  core::Result<nlohmann::json> AppendEvidence(const nlohmann::json& body, const std::string& actor);
  core::Result<Page> ListEvidence(const EvidenceQuery& query);
  core::Result<nlohmann::json> Proof(std::uint64_t index, std::optional<std::uint64_t> tree_size);
  core::Result<nlohmann::json> LatestCheckpoint();
  core::Result<nlohmann::json> SignCheckpoint(const std::string& actor);
  // The shutdown orders and drills recorded, newest first.
  core::Result<nlohmann::json> KillswitchOrders();
  // The kill switch's agents, as the recorded orders and drills name them (the controller's reports
  // appended with `killswitch controller --store`; docs/killswitch.md): {"agents": [{"id", "orders",
  // "drills", "last": {"index", "kind", "recorded_at", "fence", "scope", "result": "stopped" |
  // "drained" | "not-stopped", "why", "stopped_at"}}]}, by id. Only agents an order or drill reached:
  // the controller itself is the source for the agents connected now.
  core::Result<nlohmann::json> KillswitchAgents();

  // A workspace-action record: who did what to what (an auditor's read, a login).
  core::Result<void> RecordAction(const std::string& actor, const std::string& action, const std::string& target);

  // Users. AddUser writes a workspace-user record (a later record for the same name replaces it).
  core::Result<void> PutUser(const User& user, const std::string& by);
  core::Result<std::optional<User>> FindUser(const std::string& name);
  // Ends one web session before it expires (a logout): a workspace-action record {"actor", "action":
  // "logout", "target": "session SESSION_ID"} (the id names the session; it is not a credential), so
  // every replica refuses it from its next request.
  core::Result<void> EndSession(const std::string& actor, const std::string& session_id);
  // Whether a session of `name` as `role`, named `session_id` and issued at `issued`, still holds: the
  // user exists, is not disabled, still has that role, the session was not ended, and it was issued
  // after the user's sessions were last revoked.
  core::Result<bool> SessionHolds(const std::string& name, const std::string& role, const std::string& session_id,
                                  core::Instant issued);
  // While one is alive on a thread, that thread's calls read the store's size (and replay what is
  // new) at most once: for one request's token check and its answer, one round trip to the store
  // and one view of the log (a replica's write is seen from the next request). Writes are not
  // affected: a change is checked against the log as it is when written. Lives on one thread.
  class ReadOnce {
   public:
    explicit ReadOnce(Workspace& ws);
    ~ReadOnce();
    ReadOnce(const ReadOnce&) = delete;
    ReadOnce& operator=(const ReadOnce&) = delete;

   private:
    const void* previous_;
    bool previous_read_;
  };

  // The log's signing key: the server derives its session-cookie key from it (every replica holds
  // the same key, so a session opened on one is honoured by the other).
  const ledger::Signer& signer() const;

 private:
  struct State;
  explicit Workspace(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
};

// The model JSON codec, every field checked (the API's body and the stored document's shape): the
// model as the workspace stores it, or kInvalidArgument naming the field. Parses `text` as JSON
// first (the fuzz target's entry point).
core::Result<nlohmann::json> NormaliseModel(const nlohmann::json& body);
core::Result<nlohmann::json> NormaliseModelText(std::string_view text);

// The place of a row in the obligations calendar's order, which a page's next_cursor names: rank,
// due (an instant, "~" for none), model, regime, obligation id.
using ObligationCursor = std::tuple<int, std::string, std::string, std::string, std::string>;
// A cursor's text (lower-case hex of the JSON array of the key) and back: kInvalidArgument naming
// "cursor" for any text ObligationCursorText did not write (the fuzz target's entry point).
std::string ObligationCursorText(const ObligationCursor& key);
core::Result<ObligationCursor> ParseObligationCursor(std::string_view text);

}  // namespace flopline::workspace
