// File: store/schema.h (private)
//
// The schema, as numbered migrations shared by both backends (the SQL below is the common subset of
// SQLite and PostgreSQL; each backend maps BLOB). A store records the last migration it ran and runs
// the rest on open, each in its own transaction.
#pragma once

#include <string_view>
#include <vector>

namespace flopline::store {

struct Migration {
  int version;
  std::vector<std::string_view> statements;  // `$BLOB` is the backend's byte-string type
};

inline const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> migrations = {
      {1,
       {
           "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
           // The log. Only purged_at and openings ever change (a purge); nothing is deleted.
           "CREATE TABLE entries (idx BIGINT PRIMARY KEY, leaf $BLOB NOT NULL, leaf_hash $BLOB NOT NULL,"
           " kind TEXT NOT NULL, model TEXT NOT NULL, recorded_at TEXT NOT NULL,"
           " content_hash $BLOB NOT NULL, openings TEXT NOT NULL, purged_at TEXT)",
           // Perfect subtrees of level >= 1 (level 0 is entries.leaf_hash).
           "CREATE TABLE nodes (level INTEGER NOT NULL, idx BIGINT NOT NULL, hash $BLOB NOT NULL,"
           " PRIMARY KEY (level, idx))",
           "CREATE TABLE documents (hash $BLOB PRIMARY KEY, bytes $BLOB NOT NULL)",
           "CREATE TABLE checkpoints (seq BIGINT PRIMARY KEY, size BIGINT NOT NULL, note TEXT NOT NULL)",
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

}  // namespace flopline::store
