// The embedded backend: one SQLite file in WAL mode with synchronous=FULL, so a commit returns only
// after the WAL is fsynced, opened through flopline's VFS, which fails a sync that a journal abort
// made untrustworthy (store/sqlite_vfs.h). Writers in several processes serialise on BEGIN
// IMMEDIATE. The WAL is copied into the database file (checkpointed) by a thread of the store's
// own, off the commit path.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <span>
#include <system_error>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "flopline/store/open.h"
#include "store/schema.h"
#include "store/sqlite_vfs.h"

// The columns ReadEntry reads, in its order.
#define FLOPLINE_SELECT_ENTRY \
  "SELECT idx, leaf, leaf_hash, kind, model, recorded_at, content_hash, openings, purged_at FROM entries"

namespace flopline::store {
namespace {

using core::Result;
using ledger::Hash;
using ledger::NodeId;

// SQLite's message, and for an I/O error the system's reason, which flopline's VFS keeps
// (`disk I/O error (Read-only file system)`).
tl::unexpected<core::Error> DbError(sqlite3* db, std::string_view what) {
  if (db == nullptr) return core::MakeError(core::Code::kUnavailable, fmt::format("sqlite: {}: no connection", what));
  std::string reason;
  int primary = sqlite3_errcode(db) & 0xff;
  // SQLite records the system's error only for some statements (not a failed COMMIT's).
  int sys = TakeLastErrno();
  if (sys == 0) sys = sqlite3_system_errno(db);
  if (sys != 0 && (primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN)) reason = fmt::format(" ({})", std::strerror(sys));
  return core::MakeError(core::Code::kUnavailable, fmt::format("sqlite: {}: {}{}", what, sqlite3_errmsg(db), reason));
}

// A prepared statement; reset on every use.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      error_ = sqlite3_errmsg(db);
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  const std::string& error() const { return error_; }
  Stmt& Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    next_ = 1;
    return *this;
  }
  Stmt& Bind(std::int64_t v) {
    sqlite3_bind_int64(stmt_, next_++, v);
    return *this;
  }
  Stmt& Bind(std::uint64_t v) { return Bind(static_cast<std::int64_t>(v)); }
  Stmt& Bind(int v) { return Bind(static_cast<std::int64_t>(v)); }
  Stmt& Bind(double v) {
    sqlite3_bind_double(stmt_, next_++, v);
    return *this;
  }
  Stmt& Bind(std::optional<double> v) {
    if (v) return Bind(*v);
    sqlite3_bind_null(stmt_, next_++);
    return *this;
  }
  Stmt& Bind(std::string_view text) {
    sqlite3_bind_text(stmt_, next_++, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& BindBlob(std::string_view bytes) {
    sqlite3_bind_blob(stmt_, next_++, bytes.data(), static_cast<int>(bytes.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& Bind(const Hash& h) { return BindBlob(ledger::AsText(h)); }
  Stmt& BindNull() {
    sqlite3_bind_null(stmt_, next_++);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  // Steps once and resets, so that no statement keeps a read snapshot open between calls.
  Result<void> Run(std::string_view what) {
    int rc = Step();
    sqlite3_reset(stmt_);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return DbError(db_, what);
    return core::Ok();
  }

  std::int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  double Double(int col) const { return sqlite3_column_double(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string Text(int col) const {
    const void* p = sqlite3_column_blob(stmt_, col);
    int n = sqlite3_column_bytes(stmt_, col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  Result<Hash> HashAt(int col, std::string_view what) const {
    std::string bytes = Text(col);
    if (bytes.size() != 32) {
      return core::MakeError(core::Code::kDataLoss, fmt::format("sqlite: {} is not a 32-byte hash", what));
    }
    Hash h{};
    std::memcpy(h.data(), bytes.data(), 32);
    return h;
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  std::string error_;
  int next_ = 1;
};

// WAL checkpoints off the commit path (issue 16). SQLite's own auto-checkpoint runs inside the
// commit that takes the WAL past 1,000 pages: that commit also copies the pages into the database
// file and fsyncs it, and the group committer's next batch waits for it. Here the writing connection
// only signals a thread with a connection of its own, which checkpoints PASSIVE (it never waits for,
// nor blocks, a writer or a reader). The WAL restarts from its start when a write transaction begins
// with every frame copied; under a load that never pauses that moment may not come, so a WAL past
// kInlineFrames is checkpointed by the committing writer itself, as SQLite's own would (by then the
// thread has copied all but the last commits' frames, so it is short).
class Checkpointer {
 public:
  static constexpr int kSignalFrames = 1000;   // SQLite's default auto-checkpoint threshold
  static constexpr int kInlineFrames = 4000;   // 16 MiB of 4 KiB pages

  explicit Checkpointer(std::string path) : path_(std::move(path)) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // sqlite3_wal_hook's callback, on the committing thread after each commit; `frames` is the WAL's
  // length in pages. A checkpoint's failure is not the commit's (it is durable in the WAL), so the
  // hook always returns SQLITE_OK, as SQLite's own does.
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames) {
    auto* c = static_cast<Checkpointer*>(self);
    if (frames >= kInlineFrames) {
      sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (frames >= kSignalFrames) {
      c->Signal();
    }
    return SQLITE_OK;
  }

 private:
  void Signal() {
    {
      std::lock_guard lock(mu_);
      pending_ = true;
      if (!thread_.joinable() && !no_thread_) {
        try {
          thread_ = std::thread([this] { Run(); });
        } catch (const std::system_error&) {
          // Out of threads (this runs inside SQLite's callback, where nothing may throw): the
          // writer's inline checkpoint bounds the WAL instead.
          no_thread_ = true;
        }
      }
    }
    cv_.notify_one();
  }

  void Run() {
    sqlite3* db = nullptr;
    // No connection, no checkpoints: the writer's inline checkpoint bounds the WAL instead.
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, DurableVfs()) == SQLITE_OK) {
      // The copy is fsynced before the WAL may restart over it.
      sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
    }
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stopping_ || pending_; });
      if (stopping_) break;
      pending_ = false;
      lock.unlock();
      if (db != nullptr) sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      lock.lock();
    }
    lock.unlock();
    sqlite3_close_v2(db);
  }

  std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false, stopping_ = false, no_thread_ = false;
  std::thread thread_;  // started by the first signal: a short-lived store never starts it
};

class SqliteStorage final : public ledger::Storage {
 public:
  explicit SqliteStorage(std::string path) : path_(std::move(path)), checkpointer_(std::make_unique<Checkpointer>(path_)) {}
  ~SqliteStorage() override {
    // The checkpointer's connection closes first, so the last one to close (this one) checkpoints
    // the WAL and removes it.
    if (db_ != nullptr) sqlite3_wal_hook(db_, nullptr, nullptr);
    checkpointer_.reset();
    statements_.clear();
    sqlite3_close_v2(db_);
  }

  Result<void> Connect() {
    // Through flopline's VFS: a sync is checked against a journal that aborted under it.
    if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        DurableVfs()) != SQLITE_OK) {
      return core::MakeError(core::Code::kUnavailable,
                             fmt::format("sqlite: cannot open {}: {}", path_, db_ ? sqlite3_errmsg(db_) : "out of memory"));
    }
    sqlite3_busy_timeout(db_, 60000);
    // WAL with synchronous=FULL: a commit is durable when it returns (ARCHITECTURE.md "Storage").
    FL_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    FL_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
    FL_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys=ON"));
    // Proofs read a few dozen nodes at random: map the file and keep 64 MiB of pages in memory.
    // As much of the file as SQLite maps (its build's SQLITE_MAX_MMAP_SIZE caps the request:
    // 2 GiB on Debian): with 1 GiB, a 10M-entry store's pages past the first GiB were read
    // through the page cache (a read() each) and a proof took 15% more CPU (issue 16).
    FL_RETURN_IF_ERROR(Exec("PRAGMA mmap_size=68719476736"));
    FL_RETURN_IF_ERROR(Exec("PRAGMA cache_size=-65536"));
    // Replaces SQLite's auto-checkpoint (see Checkpointer).
    sqlite3_wal_hook(db_, &Checkpointer::OnCommit, checkpointer_.get());
    return core::Ok();
  }

  Result<void> Migrate() override {
    std::lock_guard lock(mu_);
    for (const Migration& m : Migrations()) {
      FL_RETURN_IF_ERROR(Begin());
      Stmt& version = Prepare("PRAGMA user_version");
      if (version.Reset().Step() != SQLITE_ROW) return Rollback(DbError(db_, "reading the schema version"));
      std::int64_t current = version.Int(0);
      version.Reset();
      if (current >= m.version) {
        FL_RETURN_IF_ERROR(Commit());
        continue;
      }
      for (std::string_view sql : m.statements) {
        std::string text = ForBackend(sql, /*sqlite=*/true);
        if (Result<void> r = Exec(text.c_str()); !r) return Rollback(r);
      }
      if (Result<void> r = Exec(fmt::format("PRAGMA user_version={}", m.version).c_str()); !r) {
        return Rollback(r);
      }
      FL_RETURN_IF_ERROR(Commit());
    }
    return core::Ok();
  }

  Result<void> Append(const BuildBatch& build) override {
    std::lock_guard lock(mu_);
    FL_RETURN_IF_ERROR(Begin());
    Stmt& size_stmt = Prepare("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries");
    if (size_stmt.Reset().Step() != SQLITE_ROW) return Rollback(DbError(db_, "reading the log size"));
    auto size = static_cast<std::uint64_t>(size_stmt.Int(0));
    size_stmt.Reset();
    std::string last_leaf;
    if (size > 0) {
      Stmt& last = Prepare("SELECT leaf FROM entries WHERE idx = ?");
      if (last.Reset().Bind(size - 1).Step() == SQLITE_ROW) last_leaf = last.Text(0);
      last.Reset();
    }
    Result<ledger::Batch> batch = build(size, *this, last_leaf);
    if (!batch) return Rollback(tl::unexpected(batch.error()));
    Stmt& entry = Prepare(
        "INSERT INTO entries (idx, leaf, leaf_hash, kind, model, recorded_at, content_hash, openings)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (const ledger::Entry& e : batch->entries) {
      entry.Reset().Bind(e.index).BindBlob(e.leaf).Bind(e.leaf_hash).Bind(e.kind).Bind(e.model)
          .Bind(e.recorded_at).Bind(e.content_hash).Bind(e.openings);
      if (Result<void> r = entry.Run("appending an entry"); !r) return Rollback(r);
    }
    if (Result<void> r = FitsNodeKeys(*batch); !r) return Rollback(r);
    Stmt& node = Prepare("INSERT INTO nodes (id, hash) VALUES (?, ?)");
    for (const auto& [id, hash] : batch->nodes) {
      node.Reset().Bind(NodeKey(id.level, id.index)).Bind(hash);
      if (Result<void> r = node.Run("storing a node"); !r) return Rollback(r);
    }
    // A row already there has no entry (the entry is new): what a rollback by hand left behind.
    Stmt& doc = Prepare("INSERT OR REPLACE INTO documents (entry, bytes) VALUES (?, ?)");
    for (const auto& [index, bytes] : batch->documents) {
      doc.Reset().Bind(index).BindBlob(bytes);
      if (Result<void> r = doc.Run("storing a document"); !r) return Rollback(r);
    }
    for (const auto& [index, at] : batch->purges) {
      if (Result<void> r = PurgeLocked(index, at); !r) return Rollback(r);
    }
    for (const ledger::InventoryRows& rows : batch->imports) {
      if (Result<void> r = ImportLocked(rows); !r) return Rollback(r);
    }
    return Commit();
  }

  Result<std::uint64_t> Size() override {
    std::lock_guard lock(mu_);
    Stmt& s = Prepare("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries");
    if (s.Reset().Step() != SQLITE_ROW) return DbError(db_, "reading the log size");
    auto size = static_cast<std::uint64_t>(s.Int(0));
    s.Reset();
    return size;
  }

  Result<Hash> Node(NodeId id) const override {
    FL_ASSIGN_OR_RETURN(std::vector<Hash> h, Nodes(std::span<const NodeId>(&id, 1)));
    return h[0];
  }

  // A proof's nodes in at most two statements, one per table: the stored nodes by their integer
  // key (`id IN (...)`: SQLite seeks each rowid of the list in order, one cursor), level 0 by the
  // entries' rowid; each prepared once per count.
  Result<std::vector<Hash>> Nodes(std::span<const NodeId> ids) const override {
    std::lock_guard lock(mu_);
    std::vector<Hash> out(ids.size());
    std::vector<std::int64_t> stored, leaves;  // keys, in the order of `ids`
    for (NodeId id : ids) (id.level > 0 ? stored : leaves).push_back(NodeKey(id.level, id.index));
    std::vector<bool> found(ids.size(), false);
    // Every position of `ids` whose key is `key` (a proof names a node once, but nothing forbids it).
    auto fill = [&](bool leaf, std::int64_t key, const Hash& h) {
      for (size_t i = 0; i < ids.size(); ++i) {
        if ((ids[i].level == 0) == leaf && NodeKey(ids[i].level, ids[i].index) == key) {
          out[i] = h;
          found[i] = true;
        }
      }
    };
    for (bool leaf : {false, true}) {
      const std::vector<std::int64_t>& keys = leaf ? leaves : stored;
      if (keys.empty()) continue;
      std::string& sql = (leaf ? leaf_sql_ : node_sql_)[keys.size()];
      if (sql.empty()) {
        sql = leaf ? "SELECT idx, leaf_hash FROM entries WHERE idx IN (" : "SELECT id, hash FROM nodes WHERE id IN (";
        for (size_t i = 0; i < keys.size(); ++i) sql += i ? ",?" : "?";
        sql += ")";
      }
      Stmt& s = Prepare(sql.c_str());
      s.Reset();
      for (std::int64_t key : keys) s.Bind(key);
      for (int rc; (rc = s.Step()) == SQLITE_ROW;) {
        Result<Hash> h = s.HashAt(1, "a node");
        if (!h) {
          s.Reset();
          return core::MakeError(core::Code::kDataLoss, "the store holds a malformed node");
        }
        fill(leaf, s.Int(0), *h);
      }
      s.Reset();
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      if (!found[i]) {
        return core::MakeError(core::Code::kDataLoss, fmt::format("the store lacks the node at level {} index {}",
                                                                  ids[i].level, ids[i].index));
      }
    }
    return out;
  }

  Result<ledger::Entry> GetEntry(std::uint64_t index) override {
    std::lock_guard lock(mu_);
    Stmt& s = Prepare(FLOPLINE_SELECT_ENTRY " WHERE idx = ?");
    s.Reset().Bind(index);
    if (s.Step() != SQLITE_ROW) {
      s.Reset();
      return core::NotFound(fmt::format("the log has no entry {}", index), "index");
    }
    Result<ledger::Entry> e = ReadEntry(s);
    s.Reset();
    return e;
  }

  Result<void> ForEachEntry(std::uint64_t from, std::uint64_t to,
                            const std::function<Result<void>(const ledger::Entry&)>& fn) override {
    std::lock_guard lock(mu_);
    // A dedicated statement: `fn` may call back (GetDocument) while this one is stepping.
    Stmt s(db_, FLOPLINE_SELECT_ENTRY " WHERE idx >= ? AND idx < ? ORDER BY idx");
    if (!s.ok()) return DbError(db_, "scanning entries");
    s.Bind(from).Bind(to);
    for (int rc; (rc = s.Step()) != SQLITE_DONE;) {
      if (rc != SQLITE_ROW) return DbError(db_, "scanning entries");
      FL_ASSIGN_OR_RETURN(ledger::Entry e, ReadEntry(s));
      FL_RETURN_IF_ERROR(fn(e));
    }
    return core::Ok();
  }

  Result<void> ForEachNode(const std::function<Result<void>(NodeId, const Hash&)>& fn) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT id, hash FROM nodes");
    if (!s.ok()) return DbError(db_, "scanning nodes");
    for (int rc; (rc = s.Step()) != SQLITE_DONE;) {
      if (rc != SQLITE_ROW) return DbError(db_, "scanning nodes");
      FL_ASSIGN_OR_RETURN(Hash h, s.HashAt(1, "a node"));
      FL_RETURN_IF_ERROR(fn({NodeKeyLevel(s.Int(0)), NodeKeyIndex(s.Int(0))}, h));
    }
    return core::Ok();
  }

  Result<std::optional<std::string>> GetDocument(std::uint64_t index) override {
    std::lock_guard lock(mu_);
    Stmt& s = Prepare("SELECT bytes FROM documents WHERE entry = ?");
    s.Reset().Bind(index);
    std::optional<std::string> out;
    if (s.Step() == SQLITE_ROW) out = s.Text(0);
    s.Reset();
    return out;
  }

  Result<void> AddCheckpoint(const ledger::StoredCheckpoint& cp) override {
    std::lock_guard lock(mu_);
    FL_RETURN_IF_ERROR(Begin());
    Stmt& s = Prepare(
        "INSERT INTO checkpoints (seq, size, note) SELECT COALESCE(MAX(seq) + 1, 0), ?, ? FROM checkpoints");
    s.Reset().Bind(cp.size).Bind(cp.note);
    if (Result<void> r = s.Run("storing a checkpoint"); !r) return Rollback(r);
    return Commit();
  }

  Result<std::vector<ledger::StoredCheckpoint>> Checkpoints() override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT size, note FROM checkpoints ORDER BY seq");
    std::vector<ledger::StoredCheckpoint> out;
    for (int rc; (rc = s.Step()) != SQLITE_DONE;) {
      if (rc != SQLITE_ROW) return DbError(db_, "reading checkpoints");
      out.push_back({static_cast<std::uint64_t>(s.Int(0)), s.Text(1)});
    }
    return out;
  }

  Result<std::optional<std::string>> GetMeta(const std::string& key) override {
    std::lock_guard lock(mu_);
    Stmt& s = Prepare("SELECT value FROM meta WHERE key = ?");
    s.Reset().Bind(key);
    std::optional<std::string> out;
    if (s.Step() == SQLITE_ROW) out = s.Text(0);
    s.Reset();
    return out;
  }

  Result<void> InitMeta(const std::string& key, const std::string& value) override {
    std::lock_guard lock(mu_);
    FL_RETURN_IF_ERROR(Begin());
    Stmt& get = Prepare("SELECT value FROM meta WHERE key = ?");
    get.Reset().Bind(key);
    if (get.Step() == SQLITE_ROW) {
      std::string existing = get.Text(0);
      get.Reset();
      FL_RETURN_IF_ERROR(Commit());
      if (existing == value) return core::Ok();
      return core::MakeError(core::Code::kAlreadyExists,
                             fmt::format("the store is already initialised with another {}", key));
    }
    get.Reset();
    Stmt& put = Prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
    put.Reset().Bind(key).Bind(value);
    if (Result<void> r = put.Run("initialising"); !r) return Rollback(r);
    return Commit();
  }

  Result<std::vector<ledger::InventoryRows::Event>> ModelEvents(const std::string& model) override {
    std::lock_guard lock(mu_);
    Stmt s(db_, "SELECT model, kind, at FROM events WHERE model = ? ORDER BY seq");
    s.Bind(model);
    std::vector<ledger::InventoryRows::Event> out;
    while (s.Step() == SQLITE_ROW) out.push_back({s.Text(0), s.Text(1), s.Text(2)});
    return out;
  }

  Result<ledger::InventoryRows> Inventory() override {
    std::lock_guard lock(mu_);
    ledger::InventoryRows out;
    Stmt m(db_, "SELECT id, developer, COALESCE(base, ''), derivation, foundation_model, developer_revenue_usd"
                " FROM models ORDER BY id");
    while (m.Step() == SQLITE_ROW) {
      out.models.push_back({m.Text(0), m.Text(1), m.Text(2), m.Text(3), m.Int(4) != 0,
                            m.IsNull(5) ? std::nullopt : std::optional<double>(m.Double(5))});
    }
    Stmt r(db_, "SELECT model, kind, start, flop_method, flop, cost_usd FROM training_runs ORDER BY model, seq");
    while (r.Step() == SQLITE_ROW) {
      out.runs.push_back({r.Text(0), r.Text(1), r.Text(2), r.Text(3), r.Double(4),
                          r.IsNull(5) ? std::nullopt : std::optional<double>(r.Double(5))});
    }
    Stmt e(db_, "SELECT model, kind, at FROM events ORDER BY model, seq");
    while (e.Step() == SQLITE_ROW) out.events.push_back({e.Text(0), e.Text(1), e.Text(2)});
    Stmt l(db_, "SELECT base, derivative, derivation FROM lineage ORDER BY base, derivative");
    while (l.Step() == SQLITE_ROW) out.lineage.push_back({l.Text(0), l.Text(1), l.Text(2)});
    Stmt d(db_, "SELECT name FROM developers ORDER BY name");
    while (d.Step() == SQLITE_ROW) out.developers.push_back(d.Text(0));
    return out;
  }

 private:
  static Result<ledger::Entry> ReadEntry(const Stmt& s) {
    ledger::Entry e;
    e.index = static_cast<std::uint64_t>(s.Int(0));
    e.leaf = s.Text(1);
    FL_ASSIGN_OR_RETURN(e.leaf_hash, s.HashAt(2, "a leaf hash"));
    e.kind = s.Text(3);
    e.model = s.Text(4);
    e.recorded_at = s.Text(5);
    FL_ASSIGN_OR_RETURN(e.content_hash, s.HashAt(6, "a content hash"));
    e.openings = s.Text(7);
    if (!s.IsNull(8)) e.purged_at = s.Text(8);
    return e;
  }

  // Deletes an entry's salts and its document, inside the append that logs the purge. An entry
  // already purged fails the whole append (two purges raced).
  Result<void> PurgeLocked(std::uint64_t index, const std::string& at) {
    Stmt& mark = Prepare("UPDATE entries SET openings = '', purged_at = ? WHERE idx = ? AND purged_at IS NULL");
    FL_RETURN_IF_ERROR(mark.Reset().Bind(at).Bind(index).Run("purging"));
    if (sqlite3_changes(db_) != 1) {
      return core::MakeError(core::Code::kFailedPrecondition, fmt::format("entry {} is already purged", index));
    }
    return Prepare("DELETE FROM documents WHERE entry = ?").Reset().Bind(index).Run("purging a document");
  }

  Result<void> ImportLocked(const ledger::InventoryRows& rows) {
    for (const auto& m : rows.models) {
      Stmt& dev = Prepare("INSERT OR IGNORE INTO developers (name) VALUES (?)");
      FL_RETURN_IF_ERROR(dev.Reset().Bind(m.developer).Run("importing a developer"));
      for (const char* sql : {"DELETE FROM training_runs WHERE model = ?", "DELETE FROM events WHERE model = ?",
                              "DELETE FROM lineage WHERE derivative = ?"}) {
        FL_RETURN_IF_ERROR(Prepare(sql).Reset().Bind(m.id).Run("replacing a model"));
      }
      Stmt& model = Prepare(
          "INSERT INTO models (id, developer, base, derivation, foundation_model, developer_revenue_usd)"
          " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET developer = excluded.developer,"
          " base = excluded.base, derivation = excluded.derivation,"
          " foundation_model = excluded.foundation_model, developer_revenue_usd = excluded.developer_revenue_usd");
      model.Reset().Bind(m.id).Bind(m.developer);
      if (m.base.empty()) {
        model.BindNull();
      } else {
        model.Bind(m.base);
      }
      FL_RETURN_IF_ERROR(model.Bind(m.derivation).Bind(m.foundation_model ? 1 : 0)
                             .Bind(m.developer_revenue_usd).Run("importing a model"));
      if (!m.base.empty()) {
        FL_RETURN_IF_ERROR(Prepare("INSERT INTO lineage (base, derivative, derivation) VALUES (?, ?, ?)")
                               .Reset().Bind(m.base).Bind(m.id).Bind(m.derivation).Run("importing lineage"));
      }
    }
    // Each row goes after its model's rows (the primary key's index finds the last one): a model
    // this import replaced starts again at 0; the events of a model it did not name are appended,
    // as the replay says (ledger::InventoryReplay), without rewriting the model's earlier ones.
    for (const auto& run : rows.runs) {
      FL_RETURN_IF_ERROR(Prepare("INSERT INTO training_runs (model, seq, kind, start, flop, flop_method, cost_usd)"
                                 " VALUES (?, (SELECT COALESCE(MAX(seq) + 1, 0) FROM training_runs WHERE model = ?),"
                                 " ?, ?, ?, ?, ?)")
                             .Reset().Bind(run.model).Bind(run.model).Bind(run.kind).Bind(run.start).Bind(run.flop)
                             .Bind(run.flop_method).Bind(run.cost_usd).Run("importing a training run"));
    }
    for (const auto& ev : rows.events) {
      FL_RETURN_IF_ERROR(Prepare("INSERT INTO events (model, seq, kind, at)"
                                 " VALUES (?, (SELECT COALESCE(MAX(seq) + 1, 0) FROM events WHERE model = ?), ?, ?)")
                             .Reset().Bind(ev.model).Bind(ev.model).Bind(ev.kind).Bind(ev.at).Run("importing an event"));
    }
    return core::Ok();
  }

  Result<void> Exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return DbError(db_, sql);
    return core::Ok();
  }

  // BEGIN IMMEDIATE takes the write lock now (not at the first write), so the size read inside the
  // transaction is the size the commit extends. busy_timeout waits for another writer; a writer that
  // still finds it busy (a long checkpoint) tries again.
  Result<void> Begin() {
    for (int attempt = 0;; ++attempt) {
      int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return core::Ok();
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || attempt == 100) return DbError(db_, "BEGIN IMMEDIATE");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  Result<void> Commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      auto err = DbError(db_, "COMMIT");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return err;
    }
    return core::Ok();
  }
  Result<void> Rollback(Result<void> why) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return why;
  }

  // Statements are prepared once per connection and cached by their SQL text.
  Stmt& Prepare(const char* sql) const {
    auto it = statements_.find(sql);
    if (it == statements_.end()) it = statements_.emplace(sql, std::make_unique<Stmt>(db_, sql)).first;
    return *it->second;
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<Checkpointer> checkpointer_;
  mutable std::recursive_mutex mu_;
  mutable std::map<std::string, std::unique_ptr<Stmt>> statements_;
  mutable std::map<size_t, std::string> node_sql_, leaf_sql_;  // Nodes()'s statements per key count
};

}  // namespace

Result<std::unique_ptr<ledger::Storage>> OpenSqlite(const std::string& path) {
  auto storage = std::make_unique<SqliteStorage>(path);
  FL_RETURN_IF_ERROR(storage->Connect());
  FL_RETURN_IF_ERROR(storage->Migrate());
  return std::unique_ptr<ledger::Storage>(std::move(storage));
}

}  // namespace flopline::store
