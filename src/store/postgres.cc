// The scale-out backend: PostgreSQL through libpqxx. Writers serialise on a transaction-scoped
// advisory lock, so several processes and hosts append to one log without forking it; a commit
// returns after PostgreSQL's WAL flush (synchronous_commit = on, the server default).
// GCC 12 at -O2 reports a bogus -Wrestrict inside libpqxx's quote() once it is inlined (GCC bug
// 105329: std::string operator+ with a short literal); -Werror would turn it into a build failure.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <pqxx/pqxx>

#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "flopline/store/open.h"
#include "store/schema.h"

namespace flopline::store {
namespace {

using core::Result;
using ledger::Hash;
using ledger::NodeId;

constexpr std::int64_t kLogLockKey = 0x466c6f704c6f67;  // "FlopLog": the log's writer lock

// libpq's messages may span lines (a DETAIL or a hint such as "Is the server running on that
// host ...?" on a line of its own): an error is one line, so the lines are joined.
tl::unexpected<core::Error> DbError(std::string_view what, const std::exception& e) {
  std::string message;
  for (char c : std::string_view(e.what())) {
    bool space = c == '\n' || c == '\t' || c == '\r' || c == ' ';
    if (!space) {
      message += c;
    } else if (!message.empty() && message.back() != ' ') {
      message += ' ';
    }
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  return core::MakeError(core::Code::kUnavailable, fmt::format("postgres: {}: {}", what, message));
}

Result<Hash> ToHash(const pqxx::field& f, std::string_view what) {
  pqxx::binarystring bytes(f);
  if (bytes.size() != 32) {
    return core::MakeError(core::Code::kDataLoss, fmt::format("postgres: {} is not a 32-byte hash", what));
  }
  Hash h{};
  std::memcpy(h.data(), bytes.data(), 32);
  return h;
}

std::string Bytes(const pqxx::field& f) { return pqxx::binarystring(f).str(); }

class PostgresStorage final : public ledger::Storage {
 public:
  explicit PostgresStorage(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  Result<void> Connect() {
    try {
      conn_ = std::make_unique<pqxx::connection>(conninfo_);
    } catch (const std::exception& e) {
      return DbError("cannot connect", e);
    }
    return core::Ok();
  }

  Result<void> Migrate() override {
    return Transact("migrating the schema", [&](pqxx::work& tx) -> Result<void> {
      // One migrator at a time, even across processes.
      tx.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kLogLockKey + 1));
      tx.exec0("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)");
      pqxx::row current = tx.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
      int version = current[0].as<int>();
      for (const Migration& m : Migrations()) {
        if (m.version <= version) continue;
        for (std::string_view sql : m.statements) {
          tx.exec0(ForBackend(sql, /*sqlite=*/false));
        }
        tx.exec0(fmt::format("INSERT INTO schema_migrations (version) VALUES ({})", m.version));
      }
      return core::Ok();
    });
  }

  Result<void> Append(const BuildBatch& build) override {
    return Transact("appending", [&](pqxx::work& tx) -> Result<void> {
      tx.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kLogLockKey));
      auto size = tx.exec1("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")[0].as<std::uint64_t>();
      std::string last_leaf;
      if (size > 0) {
        pqxx::result last = tx.exec(fmt::format("SELECT leaf FROM entries WHERE idx = {}", size - 1));
        if (!last.empty()) last_leaf = Bytes(last[0][0]);
      }
      TxReader reader(*this, tx);
      FL_ASSIGN_OR_RETURN(ledger::Batch batch, build(size, reader, last_leaf));
      // Multi-row inserts: one statement per table per batch, not one per row.
      if (!batch.entries.empty()) {
        std::string sql =
            "INSERT INTO entries (idx, leaf, leaf_hash, kind, model, recorded_at, content_hash, openings) VALUES ";
        for (size_t i = 0; i < batch.entries.size(); ++i) {
          const ledger::Entry& e = batch.entries[i];
          sql += fmt::format("{}({}, {}, {}, {}, {}, {}, {}, {})", i ? "," : "", e.index, Raw(tx, e.leaf),
                             Raw(tx, e.leaf_hash), tx.quote(e.kind), tx.quote(e.model), tx.quote(e.recorded_at),
                             Raw(tx, e.content_hash), tx.quote(e.openings));
        }
        tx.exec0(sql);
      }
      FL_RETURN_IF_ERROR(FitsNodeKeys(batch));
      if (!batch.nodes.empty()) {
        std::string sql = "INSERT INTO nodes (id, hash) VALUES ";
        for (size_t i = 0; i < batch.nodes.size(); ++i) {
          const auto& [id, hash] = batch.nodes[i];
          sql += fmt::format("{}({}, {})", i ? "," : "", NodeKey(id.level, id.index), Raw(tx, hash));
        }
        tx.exec0(sql);
      }
      if (!batch.documents.empty()) {
        std::string sql = "INSERT INTO documents (entry, bytes) VALUES ";
        for (size_t i = 0; i < batch.documents.size(); ++i) {
          sql += fmt::format("{}({}, {})", i ? "," : "", batch.documents[i].first, Raw(tx, batch.documents[i].second));
        }
        // A row already there has no entry (the entry is new): what a rollback by hand left behind.
        tx.exec0(sql + " ON CONFLICT (entry) DO UPDATE SET bytes = excluded.bytes");
      }
      for (const auto& [index, at] : batch.purges) FL_RETURN_IF_ERROR(PurgeIn(tx, index, at));
      for (const ledger::InventoryRows& rows : batch.imports) ImportIn(tx, rows);
      return core::Ok();
    });
  }

  Result<std::uint64_t> Size() override {
    std::uint64_t size = 0;
    FL_RETURN_IF_ERROR(Transact("reading the log size", [&](pqxx::work& tx) -> Result<void> {
      size = tx.exec1("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries")[0].as<std::uint64_t>();
      return core::Ok();
    }));
    return size;
  }

  Result<Hash> Node(NodeId id) const override {
    FL_ASSIGN_OR_RETURN(std::vector<Hash> h, Nodes(std::span<const NodeId>(&id, 1)));
    return h[0];
  }

  // One round trip for all the nodes a proof needs.
  Result<std::vector<Hash>> Nodes(std::span<const NodeId> ids) const override {
    std::vector<Hash> out;
    FL_RETURN_IF_ERROR(const_cast<PostgresStorage*>(this)->Transact(
        "reading nodes", [&](pqxx::work& tx) -> Result<void> {
          FL_ASSIGN_OR_RETURN(out, ReadNodes(tx, ids));
          return core::Ok();
        }));
    return out;
  }

  Result<ledger::Entry> GetEntry(std::uint64_t index) override {
    ledger::Entry e;
    bool found = false;
    FL_RETURN_IF_ERROR(Transact("reading an entry", [&](pqxx::work& tx) -> Result<void> {
      pqxx::result r = tx.exec(fmt::format("{} WHERE idx = {}", kSelectEntry, index));
      if (r.empty()) return core::Ok();
      found = true;
      FL_ASSIGN_OR_RETURN(e, ReadEntry(r[0]));
      return core::Ok();
    }));
    if (!found) return core::NotFound(fmt::format("the log has no entry {}", index), "index");
    return e;
  }

  Result<void> ForEachEntry(std::uint64_t from, std::uint64_t to,
                            const std::function<Result<void>(const ledger::Entry&)>& fn) override {
    constexpr std::uint64_t kPage = 10000;
    for (std::uint64_t lo = from; lo < to; lo += kPage) {
      std::vector<ledger::Entry> page;
      FL_RETURN_IF_ERROR(Transact("scanning entries", [&](pqxx::work& tx) -> Result<void> {
        pqxx::result r = tx.exec(fmt::format("{} WHERE idx >= {} AND idx < {} ORDER BY idx", kSelectEntry, lo,
                                             std::min(to, lo + kPage)));
        for (const pqxx::row& row : r) {
          FL_ASSIGN_OR_RETURN(ledger::Entry e, ReadEntry(row));
          page.push_back(std::move(e));
        }
        return core::Ok();
      }));
      for (const ledger::Entry& e : page) FL_RETURN_IF_ERROR(fn(e));
    }
    return core::Ok();
  }

  Result<void> ForEachNode(const std::function<Result<void>(NodeId, const Hash&)>& fn) override {
    std::vector<std::pair<NodeId, Hash>> nodes;
    FL_RETURN_IF_ERROR(Transact("scanning nodes", [&](pqxx::work& tx) -> Result<void> {
      for (const pqxx::row& row : tx.exec("SELECT id, hash FROM nodes")) {
        FL_ASSIGN_OR_RETURN(Hash h, ToHash(row[1], "a node"));
        auto key = row[0].as<std::int64_t>();
        nodes.push_back({{NodeKeyLevel(key), NodeKeyIndex(key)}, h});
      }
      return core::Ok();
    }));
    for (const auto& [id, h] : nodes) FL_RETURN_IF_ERROR(fn(id, h));
    return core::Ok();
  }

  Result<std::optional<std::string>> GetDocument(std::uint64_t index) override {
    std::optional<std::string> out;
    FL_RETURN_IF_ERROR(Transact("reading a document", [&](pqxx::work& tx) -> Result<void> {
      pqxx::result r = tx.exec(fmt::format("SELECT bytes FROM documents WHERE entry = {}", index));
      if (!r.empty()) out = Bytes(r[0][0]);
      return core::Ok();
    }));
    return out;
  }

  Result<void> AddCheckpoint(const ledger::StoredCheckpoint& cp) override {
    return Transact("storing a checkpoint", [&](pqxx::work& tx) -> Result<void> {
      tx.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kLogLockKey));
      tx.exec0(fmt::format("INSERT INTO checkpoints (seq, size, note) SELECT COALESCE(MAX(seq) + 1, 0), {}, {}"
                           " FROM checkpoints",
                           cp.size, tx.quote(cp.note)));
      return core::Ok();
    });
  }

  Result<std::vector<ledger::StoredCheckpoint>> Checkpoints() override {
    std::vector<ledger::StoredCheckpoint> out;
    FL_RETURN_IF_ERROR(Transact("reading checkpoints", [&](pqxx::work& tx) -> Result<void> {
      for (const pqxx::row& row : tx.exec("SELECT size, note FROM checkpoints ORDER BY seq")) {
        out.push_back({row[0].as<std::uint64_t>(), row[1].as<std::string>()});
      }
      return core::Ok();
    }));
    return out;
  }

  Result<std::optional<std::string>> GetMeta(const std::string& key) override {
    std::optional<std::string> out;
    FL_RETURN_IF_ERROR(Transact("reading meta", [&](pqxx::work& tx) -> Result<void> {
      pqxx::result r = tx.exec(fmt::format("SELECT value FROM meta WHERE key = {}", tx.quote(key)));
      if (!r.empty()) out = r[0][0].as<std::string>();
      return core::Ok();
    }));
    return out;
  }

  Result<void> InitMeta(const std::string& key, const std::string& value) override {
    std::optional<std::string> existing;
    FL_RETURN_IF_ERROR(Transact("initialising", [&](pqxx::work& tx) -> Result<void> {
      tx.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kLogLockKey));
      pqxx::result r = tx.exec(fmt::format("SELECT value FROM meta WHERE key = {}", tx.quote(key)));
      if (!r.empty()) {
        existing = r[0][0].as<std::string>();
        return core::Ok();
      }
      tx.exec0(fmt::format("INSERT INTO meta (key, value) VALUES ({}, {})", tx.quote(key), tx.quote(value)));
      return core::Ok();
    }));
    if (existing && *existing != value) {
      return core::MakeError(core::Code::kAlreadyExists,
                             fmt::format("the store is already initialised with another {}", key));
    }
    return core::Ok();
  }

  Result<std::vector<ledger::InventoryRows::Event>> ModelEvents(const std::string& model) override {
    std::vector<ledger::InventoryRows::Event> out;
    FL_RETURN_IF_ERROR(Transact("reading events", [&](pqxx::work& tx) -> Result<void> {
      for (const pqxx::row& row :
           tx.exec(fmt::format("SELECT model, kind, at FROM events WHERE model = {} ORDER BY seq", tx.quote(model)))) {
        out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()});
      }
      return core::Ok();
    }));
    return out;
  }

  Result<ledger::InventoryRows> Inventory() override {
    ledger::InventoryRows out;
    FL_RETURN_IF_ERROR(Transact("reading the inventory", [&](pqxx::work& tx) -> Result<void> {
      for (const pqxx::row& r : tx.exec("SELECT id, developer, COALESCE(base, ''), derivation, foundation_model,"
                                        " developer_revenue_usd FROM models ORDER BY id")) {
        out.models.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                              r[3].as<std::string>(), r[4].as<int>() != 0,
                              r[5].is_null() ? std::nullopt : std::optional<double>(r[5].as<double>())});
      }
      for (const pqxx::row& r : tx.exec("SELECT model, kind, start, flop_method, flop, cost_usd FROM training_runs"
                                        " ORDER BY model, seq")) {
        out.runs.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                            r[3].as<std::string>(), r[4].as<double>(),
                            r[5].is_null() ? std::nullopt : std::optional<double>(r[5].as<double>())});
      }
      for (const pqxx::row& r : tx.exec("SELECT model, kind, at FROM events ORDER BY model, seq")) {
        out.events.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()});
      }
      for (const pqxx::row& r : tx.exec("SELECT base, derivative, derivation FROM lineage ORDER BY base, derivative")) {
        out.lineage.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()});
      }
      for (const pqxx::row& r : tx.exec("SELECT name FROM developers ORDER BY name")) {
        out.developers.push_back(r[0].as<std::string>());
      }
      return core::Ok();
    }));
    return out;
  }

 private:
  static constexpr const char* kSelectEntry =
      "SELECT idx, leaf, leaf_hash, kind, model, recorded_at, content_hash, openings, purged_at FROM entries";

  // Node reads inside the append transaction, so they see exactly what the lock protects.
  class TxReader : public ledger::NodeReader {
   public:
    TxReader(const PostgresStorage& owner, pqxx::work& tx) : owner_(owner), tx_(tx) {}
    Result<Hash> Node(NodeId id) const override {
      FL_ASSIGN_OR_RETURN(std::vector<Hash> h, owner_.ReadNodes(tx_, std::span<const NodeId>(&id, 1)));
      return h[0];
    }
    Result<std::vector<Hash>> Nodes(std::span<const NodeId> ids) const override { return owner_.ReadNodes(tx_, ids); }

   private:
    const PostgresStorage& owner_;
    pqxx::work& tx_;
  };

  // Deletes an entry's salts and its document, inside the append that logs the purge. An entry
  // already purged fails the whole append (two purges raced).
  static Result<void> PurgeIn(pqxx::work& tx, std::uint64_t index, const std::string& at) {
    pqxx::result marked = tx.exec0(fmt::format(
        "UPDATE entries SET openings = '', purged_at = {} WHERE idx = {} AND purged_at IS NULL", tx.quote(at), index));
    if (marked.affected_rows() != 1) {
      return core::MakeError(core::Code::kFailedPrecondition, fmt::format("entry {} is already purged", index));
    }
    tx.exec0(fmt::format("DELETE FROM documents WHERE entry = {}", index));
    return core::Ok();
  }

  // Upserts models by id, their runs, events and lineage edge replaced, inside the append that logs
  // the import.
  static void ImportIn(pqxx::work& tx, const ledger::InventoryRows& rows) {
    for (const auto& m : rows.models) {
      tx.exec0(fmt::format("INSERT INTO developers (name) VALUES ({}) ON CONFLICT DO NOTHING", tx.quote(m.developer)));
      for (const char* table : {"training_runs", "events"}) {
        tx.exec0(fmt::format("DELETE FROM {} WHERE model = {}", table, tx.quote(m.id)));
      }
      tx.exec0(fmt::format("DELETE FROM lineage WHERE derivative = {}", tx.quote(m.id)));
      tx.exec0(fmt::format(
          "INSERT INTO models (id, developer, base, derivation, foundation_model, developer_revenue_usd)"
          " VALUES ({}, {}, {}, {}, {}, {}) ON CONFLICT (id) DO UPDATE SET developer = excluded.developer,"
          " base = excluded.base, derivation = excluded.derivation,"
          " foundation_model = excluded.foundation_model, developer_revenue_usd = excluded.developer_revenue_usd",
          tx.quote(m.id), tx.quote(m.developer), m.base.empty() ? "NULL" : tx.quote(m.base), tx.quote(m.derivation),
          m.foundation_model ? 1 : 0,
          m.developer_revenue_usd ? fmt::format("{:.17g}", *m.developer_revenue_usd) : "NULL"));
      if (!m.base.empty()) {
        tx.exec0(fmt::format("INSERT INTO lineage (base, derivative, derivation) VALUES ({}, {}, {})",
                             tx.quote(m.base), tx.quote(m.id), tx.quote(m.derivation)));
      }
    }
    // Each row goes after its model's rows (as in store/sqlite.cc): the events of a model this
    // import did not name are appended, without rewriting its earlier ones.
    for (const auto& r : rows.runs) {
      tx.exec0(fmt::format(
          "INSERT INTO training_runs (model, seq, kind, start, flop, flop_method, cost_usd)"
          " VALUES ({0}, (SELECT COALESCE(MAX(seq) + 1, 0) FROM training_runs WHERE model = {0}), {1}, {2}, {3:.17g},"
          " {4}, {5})",
          tx.quote(r.model), tx.quote(r.kind), tx.quote(r.start), r.flop, tx.quote(r.flop_method),
          r.cost_usd ? fmt::format("{:.17g}", *r.cost_usd) : "NULL"));
    }
    for (const auto& e : rows.events) {
      tx.exec0(fmt::format("INSERT INTO events (model, seq, kind, at)"
                           " VALUES ({0}, (SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE model = {0}), {1}, {2})",
                           tx.quote(e.model), tx.quote(e.kind), tx.quote(e.at)));
    }
  }

  static std::string Raw(pqxx::work& tx, std::string_view bytes) {
    return tx.quote_raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
  static std::string Raw(pqxx::work& tx, const Hash& h) { return Raw(tx, ledger::AsText(h)); }

  Result<std::vector<Hash>> ReadNodes(pqxx::work& tx, std::span<const NodeId> ids) const {
    if (ids.empty()) return std::vector<Hash>{};
    std::string values;
    for (size_t i = 0; i < ids.size(); ++i) {
      values += fmt::format("{}({}, {}, {})", i ? "," : "", i, ids[i].level, NodeKey(ids[i].level, ids[i].index));
    }
    // Level 0 lives in entries.leaf_hash (its key is the entry's index), the rest in nodes.
    pqxx::result r = tx.exec(fmt::format(
        "SELECT w.pos, COALESCE(n.hash, e.leaf_hash) FROM (VALUES {}) AS w(pos, level, id)"
        " LEFT JOIN nodes n ON w.level > 0 AND n.id = w.id"
        " LEFT JOIN entries e ON w.level = 0 AND e.idx = w.id ORDER BY w.pos",
        values));
    std::vector<Hash> out;
    for (size_t i = 0; i < r.size(); ++i) {
      if (r[static_cast<int>(i)][1].is_null()) {
        return core::MakeError(core::Code::kDataLoss, fmt::format("the store lacks the node at level {} index {}",
                                                                  ids[i].level, ids[i].index));
      }
      FL_ASSIGN_OR_RETURN(Hash h, ToHash(r[static_cast<int>(i)][1], "a node"));
      out.push_back(h);
    }
    return out;
  }

  static Result<ledger::Entry> ReadEntry(const pqxx::row& row) {
    ledger::Entry e;
    e.index = row[0].as<std::uint64_t>();
    e.leaf = Bytes(row[1]);
    FL_ASSIGN_OR_RETURN(e.leaf_hash, ToHash(row[2], "a leaf hash"));
    e.kind = row[3].as<std::string>();
    e.model = row[4].as<std::string>();
    e.recorded_at = row[5].as<std::string>();
    FL_ASSIGN_OR_RETURN(e.content_hash, ToHash(row[6], "a content hash"));
    e.openings = row[7].as<std::string>();
    if (!row[8].is_null()) e.purged_at = row[8].as<std::string>();
    return e;
  }

  // Runs `fn` in one transaction on this connection and commits; any error or exception rolls back.
  Result<void> Transact(std::string_view what, const std::function<Result<void>(pqxx::work&)>& fn) {
    std::lock_guard lock(mu_);
    try {
      pqxx::work tx(*conn_);
      Result<void> r = fn(tx);
      if (!r) return r;  // the work's destructor rolls back
      tx.commit();
      return core::Ok();
    } catch (const std::exception& e) {
      return DbError(what, e);
    }
  }

  std::string conninfo_;
  std::unique_ptr<pqxx::connection> conn_;
  std::recursive_mutex mu_;
};

}  // namespace

Result<std::unique_ptr<ledger::Storage>> OpenPostgres(const std::string& conninfo) {
  auto storage = std::make_unique<PostgresStorage>(conninfo);
  FL_RETURN_IF_ERROR(storage->Connect());
  FL_RETURN_IF_ERROR(storage->Migrate());
  return std::unique_ptr<ledger::Storage>(std::move(storage));
}

}  // namespace flopline::store
