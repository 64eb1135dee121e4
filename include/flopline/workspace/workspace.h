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
//     (one transaction, one fsync, for every change waiting);
//   - an evidence record is appended with a workspace-action record naming who filed it, in one
//     transaction; a user is a workspace-user record; an auditor's read is a workspace-action.
// The state (models, events, users, evidence index) is the log replayed: a workspace reads the new
// entries whenever the log has grown (another process or replica wrote), so two servers on one
// PostgreSQL see each other's writes on their next request.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
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
};

// The roles of issue 13: who may do what is the server's route table (server/routes.cc).
inline const std::vector<std::string> kRoles = {"developer-admin", "compliance-officer", "engineer",
                                                "auditor",         "board",              "regulator-readonly"};

struct User {
  std::string name, role;
  std::string password_hash;  // argon2id (crypto_pwhash_str), empty when none
  std::string token_hash;     // argon2id of the API token, empty when none
};

struct EvidenceEntry {
  std::uint64_t index = 0;
  std::string kind, model, recorded_at, leaf_hash;  // leaf_hash in base64
  bool purged = false;
};

struct Page {
  nlohmann::json items = nlohmann::json::array();
  std::optional<std::string> next_cursor;  // nullopt on the last page
};

struct ModelQuery {
  std::string regime, status, search;  // status: a regime status, or "covered"
  core::Date as_of;
  std::size_t limit = 100;
  std::string cursor;                   // the id after which to start
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
  core::Result<Page> ListModels(const ModelQuery& query);
  core::Result<nlohmann::json> GetModel(const std::string& id);
  core::Result<nlohmann::json> CreateModel(const nlohmann::json& body, const std::string& actor);
  core::Result<nlohmann::json> ChangeModel(const std::string& id, const nlohmann::json& body,
                                           const std::string& actor);

  // Every model of `inventory` (bases first) created or changed, and its events recorded, as the
  // API would: for loading model files (`flopline workspace import`). Stops at the first refusal.
  core::Result<std::size_t> ImportInventory(const rules::Inventory& inventory, const std::string& actor);

  // Events {"model", "kind", "at"}: recorded in the model's inventory (the obligations' clocks).
  core::Result<nlohmann::json> RecordEvent(const nlohmann::json& body, const std::string& actor);
  core::Result<Page> ListEvents(const std::string& model, std::size_t limit, std::size_t cursor);

  // The explained determination of one model (the JSON of `flopline assess --explain --format
  // json` for that model), as text, with the generation it was judged at; cached until the
  // workspace changes.
  struct Judged {
    std::shared_ptr<const std::string> json;
    std::uint64_t generation = 0;
  };
  core::Result<Judged> Determination(const std::string& id, core::Date as_of);
  // Every open, overdue or met obligation of every model as of `as_of`.
  core::Result<nlohmann::json> Obligations(core::Date as_of);

  // Evidence: {"kind", "model"?, "document": object or string, "redactions"?: {field: ground}}.
  core::Result<nlohmann::json> AppendEvidence(const nlohmann::json& body, const std::string& actor);
  core::Result<Page> ListEvidence(const EvidenceQuery& query);
  core::Result<nlohmann::json> Proof(std::uint64_t index, std::optional<std::uint64_t> tree_size);
  core::Result<nlohmann::json> LatestCheckpoint();
  core::Result<nlohmann::json> SignCheckpoint(const std::string& actor);
  // The shutdown orders and drills recorded, newest first.
  core::Result<nlohmann::json> KillswitchOrders();

  // A workspace-action record: who did what to what (an auditor's read, a login).
  core::Result<void> RecordAction(const std::string& actor, const std::string& action, const std::string& target);

  // Users. AddUser writes a workspace-user record (a later record for the same name replaces it).
  core::Result<void> PutUser(const User& user, const std::string& by);
  core::Result<std::optional<User>> FindUser(const std::string& name);
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

}  // namespace flopline::workspace
