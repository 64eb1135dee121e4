// File: store/schema.h (private)
//
// The schema, as numbered migrations shared by both backends (the SQL below is the common subset of
// SQLite and PostgreSQL; each backend maps BLOB). A store records the last migration it ran and runs
// the rest on open, each in its own transaction.
#pragma once

#include <cstdint>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/ledger/storage.h"

namespace flopline::store {

struct Migration {
  int version;
  // Placeholders each backend fills in: `$BLOB` its byte-string type, `$INT64` a 64-bit integer
  // key (SQLite: INTEGER, so that entries.idx is the rowid itself), `$CLUSTERED` the clause that
  // stores a table in its primary key's order (SQLite: WITHOUT ROWID, one B-tree descent a node).
  std::vector<std::string_view> statements;
};

inline const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = {
      {1,
       {
           "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
           // The log. Only purged_at and openings ever change (a purge); nothing is deleted.
           "CREATE TABLE entries (idx $INT64 PRIMARY KEY, leaf $BLOB NOT NULL, leaf_hash $BLOB NOT NULL,"
           " kind TEXT NOT NULL, model TEXT NOT NULL, recorded_at TEXT NOT NULL,"
           " content_hash $BLOB NOT NULL, openings TEXT NOT NULL, purged_at TEXT)",
           // Perfect subtrees of level >= 1 (level 0 is entries.leaf_hash).
           "CREATE TABLE nodes (level INTEGER NOT NULL, idx $INT64 NOT NULL, hash $BLOB NOT NULL,"
           " PRIMARY KEY (level, idx)) $CLUSTERED",
           "CREATE TABLE documents (hash $BLOB PRIMARY KEY, bytes $BLOB NOT NULL)",
           "CREATE TABLE checkpoints (seq $INT64 PRIMARY KEY, size BIGINT NOT NULL, note TEXT NOT NULL)",
           // The inventory of `flopline import`.
           "CREATE TABLE developers (name TEXT PRIMARY KEY)",
           "CREATE TABLE models (id TEXT PRIMARY KEY, developer TEXT NOT NULL REFERENCES developers(name),"
           " base TEXT, derivation TEXT NOT NULL, foundation_model INTEGER NOT NULL,"
           " developer_revenue_usd DOUBLE PRECISION)",
           "CREATE TABLE lineage (base TEXT NOT NULL, derivative TEXT NOT NULL, derivation TEXT NOT NULL,"
           " PRIMARY KEY (base, derivative))",
           "CREATE TABLE training_runs (model TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
           " start TEXT NOT NULL, flop DOUBLE PRECISION NOT NULL, flop_method TEXT NOT NULL,"
           " cost_usd DOUBLE PRECISION, PRIMARY KEY (model, seq))",
           "CREATE TABLE events (model TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,"
           " at TEXT NOT NULL, PRIMARY KEY (model, seq))",
           "CREATE VIEW deployments AS SELECT model, kind, at FROM events"
           " WHERE kind IN ('released', 'withdrawn')",
       }},
      // Issue 16: fewer pages a proof reads and a commit writes. A store made by version 1 is
      // rewritten in place, in the one transaction of this migration (a crash or an error part-way
      // leaves version 1 as it was).
      {2,
       {
           // A node is one integer key, NodeKey(level, idx) (below): one seek in a rowid B-tree
           // (SQLite: the rowid itself) whose interior pages hold integers only, where the
           // clustered (level, idx) key kept whole rows in them. Level-major, so the upper levels
           // that every proof reads stay on a few pages.
           "CREATE TABLE nodes_v2 (id $INT64 PRIMARY KEY, hash $BLOB NOT NULL)",
           "INSERT INTO nodes_v2 (id, hash) SELECT level * 281474976710656 + idx, hash FROM nodes ORDER BY level, idx",
           "DROP TABLE nodes",
           "ALTER TABLE nodes_v2 RENAME TO nodes",
           // A document is keyed by the entry that logged it, so an append writes the table in
           // order: keyed by its SHA-256 every record dirtied a random page of the key's index
           // (about 60% of a commit's bytes). Every reader holds the entry; an entry whose
           // document another entry also logged keeps a copy of its own, and a purged entry none.
           "CREATE TABLE documents_v2 (entry $INT64 PRIMARY KEY, bytes $BLOB NOT NULL)",
           "INSERT INTO documents_v2 (entry, bytes) SELECT e.idx, d.bytes FROM entries e"
           " JOIN documents d ON d.hash = e.content_hash WHERE e.purged_at IS NULL ORDER BY e.idx",
           "DROP TABLE documents",
           "ALTER TABLE documents_v2 RENAME TO documents",
       }},
      // Issue 13: an import replaces each model's lineage row ("DELETE FROM lineage WHERE
      // derivative = ?"), which the (base, derivative) key cannot find: every model scanned the
      // whole table, so importing n models took n^2 row reads (20,000 models: 62 s, 10 s of CPU).
      {3,
       {
           "CREATE INDEX lineage_by_derivative ON lineage (derivative)",
       }},
  };
  return migrations;
}

// The nodes table's key of a node: the level in the top bits, the index in the low 48 (a log holds
// fewer than 2^48 entries; migration 2 computes the same number in SQL).
constexpr int kNodeIndexBits = 48;
constexpr std::uint64_t kMaxNodeIndex = (std::uint64_t{1} << kNodeIndexBits) - 1;
inline std::int64_t NodeKey(int level, std::uint64_t index) {
  return static_cast<std::int64_t>((static_cast<std::uint64_t>(level) << kNodeIndexBits) | index);
}
inline int NodeKeyLevel(std::int64_t key) { return static_cast<int>(static_cast<std::uint64_t>(key) >> kNodeIndexBits); }
inline std::uint64_t NodeKeyIndex(std::int64_t key) { return static_cast<std::uint64_t>(key) & kMaxNodeIndex; }

// A batch whose nodes all have a key (its last entry's index is the largest index it holds).
inline core::Result<void> FitsNodeKeys(const ledger::Batch& batch) {
  if (!batch.entries.empty() && batch.entries.back().index > kMaxNodeIndex) {
    return core::MakeError(core::Code::kFailedPrecondition, "the log is full: it holds 2^48 entries");
  }
  return core::Ok();
}

// A migration statement with the backend's spellings filled in.
inline std::string ForBackend(std::string_view sql, bool sqlite) {
  std::string out(sql);
  out = std::regex_replace(out, std::regex("\\$BLOB"), sqlite ? "BLOB" : "BYTEA");
  out = std::regex_replace(out, std::regex("\\$INT64"), sqlite ? "INTEGER" : "BIGINT");
  out = std::regex_replace(out, std::regex("\\$CLUSTERED"), sqlite ? "WITHOUT ROWID" : "");
  return out;
}

}  // namespace flopline::store
