// File: store/schema.h (private)
//
// The schema, as numbered migrations shared by both backends (the SQL below is the common subset of
// SQLite and PostgreSQL; each backend maps BLOB). A store records the last migration it ran and runs
// the rest on open, each in its own transaction.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <vector>

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
  };
  return migrations;
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
