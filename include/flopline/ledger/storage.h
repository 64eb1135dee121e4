// File: flopline/ledger/storage.h
//
// What the ledger needs from a database, and nothing more: one interface, two backends
// (store/sqlite, store/postgres) that pass the same conformance suite (tests/ledger/).
//
// The one write path is Append: the backend opens a write transaction that holds the log's lock
// (SQLite BEGIN IMMEDIATE; a PostgreSQL advisory transaction lock), hands the committed size and a
// node reader inside that transaction to `build`, writes the rows it returns and commits durably
// (fsync) before returning. Several threads or processes may call it at once: each sees the size
// the previous one committed, so the log can never fork.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/ledger/merkle.h"

namespace flopline::ledger {

// One log entry as stored. `leaf` is the exact bytes hashed into the tree; the rest is the private
// side: the document's content hash and the salts that open the leaf's commitments.
struct Entry {
  std::uint64_t index = 0;
  std::string leaf;
  Hash leaf_hash{};
  std::string kind, model, recorded_at;  // copies of leaf fields, for queries
  Hash content_hash{};                   // SHA-256 of the document (stored under the entry's index)
  std::string openings;                  // JSON: the salts (private; emptied by a purge)
  std::optional<std::string> purged_at;  // set when the document and salts were purged
};

// The inventory of `flopline import`: developers, models, training runs, lineage edges and
// deployments, so that what was assessed and what is recorded are the same thing.
struct InventoryRows {
  struct Model {
    std::string id, developer, base, derivation;
    bool foundation_model = false;
    std::optional<double> developer_revenue_usd;
  };
  struct Run {
    std::string model, kind, start, flop_method;
    double flop = 0;
    std::optional<double> cost_usd;
  };
  struct Event {
    std::string model, kind, at;  // at: YYYY-MM-DDTHH:MM:SSZ
  };
  struct Lineage {
    std::string base, derivative, derivation;
  };
  std::vector<Model> models;
  std::vector<Run> runs;
  std::vector<Event> events;
  // Filled by Storage::Inventory() (the tables as stored); an import derives them from `models`.
  std::vector<Lineage> lineage;
  std::vector<std::string> developers;
};

struct Batch {
  std::vector<Entry> entries;                  // indices size, size + 1, ...
  std::vector<std::pair<NodeId, Hash>> nodes;  // completed subtrees, level >= 1
  std::vector<std::pair<std::uint64_t, std::string>> documents;  // entry index -> the document's bytes
  // Carried out in the same transaction, after the entries: each purge deletes an entry's salts
  // and its document (another entry that logged the same document keeps its own copy; the entry's
  // purge record is among `entries`); each import upserts models by id, their runs and events
  // replaced, and appends the runs and events of models it does not name after theirs (its
  // model-inventory record is among `entries`). So nothing is purged or imported unlogged.
  std::vector<std::pair<std::uint64_t, std::string>> purges;  // index, purged_at
  std::vector<InventoryRows> imports;
};

struct StoredCheckpoint {
  std::uint64_t size = 0;
  std::string note;  // the signed note, exactly as issued
};

class Storage : public NodeReader {
 public:
  // `last_leaf` is the leaf of entry size - 1 (empty when the log is empty), read under the lock, so
  // that a batch can keep recorded times from going backwards.
  using BuildBatch = std::function<core::Result<Batch>(std::uint64_t size, const NodeReader& nodes,
                                                       std::string_view last_leaf)>;

  // Creates the schema or migrates it to the current version; run on every open.
  virtual core::Result<void> Migrate() = 0;

  virtual core::Result<void> Append(const BuildBatch& build) = 0;
  virtual core::Result<std::uint64_t> Size() = 0;
  virtual core::Result<Entry> GetEntry(std::uint64_t index) = 0;
  // Entries [from, to) in order; stops at the first error `fn` returns.
  virtual core::Result<void> ForEachEntry(std::uint64_t from, std::uint64_t to,
                                          const std::function<core::Result<void>(const Entry&)>& fn) = 0;
  // Every stored node of level >= 1, in no particular order.
  virtual core::Result<void> ForEachNode(
      const std::function<core::Result<void>(NodeId, const Hash&)>& fn) = 0;

  // The document entry `index` logged; nullopt once purged (or if the store lost it: the caller
  // checks it against the entry's content hash).
  virtual core::Result<std::optional<std::string>> GetDocument(std::uint64_t index) = 0;

  virtual core::Result<void> AddCheckpoint(const StoredCheckpoint& checkpoint) = 0;
  virtual core::Result<std::vector<StoredCheckpoint>> Checkpoints() = 0;

  virtual core::Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  // Sets a key once; kAlreadyExists when it holds another value (a log is initialised once).
  virtual core::Result<void> InitMeta(const std::string& key, const std::string& value) = 0;

  // The inventory tables as stored (models, runs, events, lineage, developers). They are derived
  // from the log's model-inventory records; `Log::VerifyInventory` checks that they still are.
  virtual core::Result<std::vector<InventoryRows::Event>> ModelEvents(const std::string& model) = 0;
  virtual core::Result<InventoryRows> Inventory() = 0;
};

}  // namespace flopline::ledger
