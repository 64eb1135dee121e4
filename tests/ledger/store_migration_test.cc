// A store made by schema version 1 (nodes keyed by (level, idx), documents by their SHA-256) opens
// under version 2 (issue 16): migrated in place in one transaction, `verify` passing, every entry,
// document, checkpoint and proof as before; an error part-way, or a SIGKILL at any moment of the
// migration, leaves version 1 as it was. Both backends.
//
// The old store is made here with version 1's DDL, written out below as it was committed (92fc7bc),
// and filled with the rows a version-1 store held for the same log: the log is written by the
// current code to a reference store, then copied row by row, the nodes and documents re-keyed.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <pqxx/pqxx>

#include "backends.h"
#include "flopline/ledger/log.h"
#include "flopline/store/open.h"

namespace flopline::ledger {
namespace {

using testing::Backend;

core::Instant At(const char* text) { return *core::Instant::Parse(text); }

// The perfect subtrees of level >= 1 a log of n entries stores.
std::uint64_t StoredNodes(std::uint64_t n) { return n - static_cast<std::uint64_t>(std::popcount(n)); }

// Version 1's tables, as migration 1 created them ($BLOB, $INT64 and $CLUSTERED as it filled them in).
constexpr const char* kVersion1[] = {
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE entries (idx $INT64 PRIMARY KEY, leaf $BLOB NOT NULL, leaf_hash $BLOB NOT NULL,"
    " kind TEXT NOT NULL, model TEXT NOT NULL, recorded_at TEXT NOT NULL,"
    " content_hash $BLOB NOT NULL, openings TEXT NOT NULL, purged_at TEXT)",
    "CREATE TABLE nodes (level INTEGER NOT NULL, idx $INT64 NOT NULL, hash $BLOB NOT NULL,"
    " PRIMARY KEY (level, idx)) $CLUSTERED",
    "CREATE TABLE documents (hash $BLOB PRIMARY KEY, bytes $BLOB NOT NULL)",
    "CREATE TABLE checkpoints (seq $INT64 PRIMARY KEY, size BIGINT NOT NULL, note TEXT NOT NULL)",
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
    "CREATE VIEW deployments AS SELECT model, kind, at FROM events WHERE kind IN ('released', 'withdrawn')",
};

// Raw SQL on a store's database, as its owner (or an older flopline) would run it.
class Db {
 public:
  explicit Db(const std::string& spec) : sqlite_(spec.starts_with("sqlite:")) {
    if (sqlite_) {
      if (sqlite3_open(spec.substr(7).c_str(), &db_) != SQLITE_OK) throw std::runtime_error("cannot open " + spec);
      sqlite3_busy_timeout(db_, 10000);
    } else {
      pg_ = std::make_unique<pqxx::connection>(spec.substr(9));
    }
  }
  ~Db() { sqlite3_close(db_); }
  bool sqlite() const { return sqlite_; }

  void Exec(const std::string& sql) {
    if (!sqlite_) {
      pqxx::work tx(*pg_);
      tx.exec(sql);
      tx.commit();
      return;
    }
    char* error = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      std::string message = error ? error : "sqlite error";
      sqlite3_free(error);
      throw std::runtime_error(message + ": " + sql);
    }
  }
  // Each row's columns as text (one column per select item).
  std::vector<std::vector<std::string>> Query(const std::string& sql) {
    std::vector<std::vector<std::string>> out;
    if (!sqlite_) {
      pqxx::work tx(*pg_);
      for (const pqxx::row& row : tx.exec(sql)) {
        std::vector<std::string> r;
        for (const pqxx::field& f : row) r.push_back(f.is_null() ? "" : f.as<std::string>());
        out.push_back(std::move(r));
      }
      return out;
    }
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string(sqlite3_errmsg(db_)) + ": " + sql);
    }
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::vector<std::string> r;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const unsigned char* t = sqlite3_column_text(s, i);
        r.push_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      out.push_back(std::move(r));
    }
    sqlite3_finalize(s);
    return out;
  }
  std::string One(const std::string& sql) {
    auto rows = Query(sql);
    return rows.empty() ? "" : rows[0][0];
  }
  // The schema version the store recorded.
  int Version() {
    return std::stoi(sqlite_ ? One("PRAGMA user_version") : One("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  }
  bool HasTable(const std::string& name) {
    return !(sqlite_ ? One(fmt::format("SELECT name FROM sqlite_master WHERE name = '{}'", name))
                     : One(fmt::format("SELECT to_regclass('{}')::text", name)))
                .empty();
  }
  // `expr` as an SQL literal of the same value (bytes as bytes), so a row can be copied as text.
  std::string Literal(const std::string& expr) const {
    return sqlite_ ? fmt::format("quote({})", expr) : fmt::format("quote_nullable({})", expr);
  }

 private:
  bool sqlite_;
  sqlite3* db_ = nullptr;
  std::unique_ptr<pqxx::connection> pg_;
};

// Creates version 1's empty schema in a fresh store.
void CreateVersion1(Db& db) {
  std::string all;
  for (std::string sql : kVersion1) {
    for (auto [from, sqlite, pg] : {std::tuple{"$BLOB", "BLOB", "BYTEA"}, {"$INT64", "INTEGER", "BIGINT"},
                                    {"$CLUSTERED", "WITHOUT ROWID", ""}}) {
      for (size_t at; (at = sql.find(from)) != std::string::npos;) sql.replace(at, std::strlen(from), db.sqlite() ? sqlite : pg);
    }
    all += sql + ";\n";
  }
  if (db.sqlite()) {
    db.Exec("BEGIN;\n" + all + "PRAGMA user_version=1; COMMIT");
  } else {
    db.Exec(all + "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY); INSERT INTO schema_migrations VALUES (1)");
  }
}

// Copies `select`'s rows (read from `from`) into `table` of `to`.
void CopyRows(Db& from, Db& to, const std::string& table, const std::vector<std::string>& columns,
              const std::string& select_from) {
  std::string items;
  for (size_t i = 0; i < columns.size(); ++i) items += (i ? " || ',' || " : "") + from.Literal(columns[i]);
  // One statement: PostgreSQL's quote of a bytea is a text literal, which its column takes as bytes.
  std::string sql;
  for (const auto& row : from.Query(fmt::format("SELECT {} FROM {}", items, select_from))) {
    sql += fmt::format("{}({})", sql.empty() ? "" : ",", row[0]);
  }
  if (!sql.empty()) to.Exec(fmt::format("INSERT INTO {} VALUES {}", table, sql));
}

// The rows a version-1 store held for the log in `current` (written by this code), copied into `old`.
void CopyAsVersion1(Db& current, Db& old) {
  CopyRows(current, old, "meta", {"key", "value"}, "meta");
  CopyRows(current, old, "entries",
           {"idx", "leaf", "leaf_hash", "kind", "model", "recorded_at", "content_hash", "openings", "purged_at"},
           "entries ORDER BY idx");
  CopyRows(current, old, "checkpoints", {"seq", "size", "note"}, "checkpoints ORDER BY seq");
  CopyRows(current, old, "developers", {"name"}, "developers");
  CopyRows(current, old, "models",
           {"id", "developer", "base", "derivation", "foundation_model", "developer_revenue_usd"}, "models");
  CopyRows(current, old, "lineage", {"base", "derivative", "derivation"}, "lineage");
  CopyRows(current, old, "training_runs", {"model", "seq", "kind", "start", "flop", "flop_method", "cost_usd"},
           "training_runs");
  CopyRows(current, old, "events", {"model", "seq", "kind", "at"}, "events");
  // Version 1 keyed a node by (level, idx) and a document by its SHA-256, once for every entry that
  // logged it, and deleted it when the last live entry holding it was purged.
  CopyRows(current, old, "nodes", {"id >> 48", "id & 281474976710655", "hash"}, "nodes");
  CopyRows(current, old, "documents", {"h", "b"},
           "(SELECT DISTINCT e.content_hash AS h, d.bytes AS b FROM documents d JOIN entries e ON e.idx = d.entry) AS x");
}

class StoreMigrationTest : public ::testing::TestWithParam<Backend> {
 protected:
  // The reference log: several batches, a checkpoint, an import, two entries logging the same
  // document (one of them purged: the other keeps it), and a purged entry whose document no other
  // entry holds.
  void SetUp() override {
    if (!GetParam().name.starts_with("sqlite") &&
        std::string_view(::testing::UnitTest::GetInstance()->current_test_info()->name()).starts_with("ASigkill")) {
      GTEST_SKIP() << "PostgreSQL's migration is one server transaction";
    }
    reference_spec_ = GetParam().fresh_store();
    reference_ = *store::Open(reference_spec_);
    Log log(*reference_);
    ASSERT_TRUE(Log::Init(*reference_, "example.com/migrated", signer_, At("2019-01-01T00:00:00Z")));
    ASSERT_TRUE(log.PinKey(signer_.VerifierKey()));
    for (int batch = 0; batch < 5; ++batch) {
      std::vector<RecordInput> records;
      for (int i = 0; i < 7; ++i) {
        records.push_back({"test-results", "acme-f1", fmt::format(R"({{"case":{},"batch":{}}})", i, batch),
                           At("2020-01-01T00:00:00Z"), {}});
      }
      ASSERT_TRUE(log.Append(records));
    }
    drill_ = *reference_->Size();
    for (int i = 0; i < 3; ++i) {  // the first two log the same document
      ASSERT_TRUE(log.Append({{"shutdown-drill", "", i < 2 ? R"({"scope":"all"})" : R"({"scope":"model:m"})",
                               At("2020-01-01T00:00:00Z"), {}}}));
    }
    ASSERT_TRUE(log.Checkpoint(signer_));
    InventoryRows rows;
    rows.models.push_back({"acme-f1", "Acme AI", "", "pretrain", true, 2e9});
    rows.models.push_back({"acme-f1-chat", "Acme AI", "acme-f1", "fine-tune", true, std::nullopt});
    rows.runs.push_back({"acme-f1", "pretrain", "2019-06-01", "given", 1.25e26, 1.5e8});
    rows.events.push_back({"acme-f1", "released", "2020-02-01T00:00:00Z"});
    ASSERT_TRUE(log.Import({{"[[model]]\nid = \"acme-f1\"\n"}, rows, At("2020-03-01T00:00:00Z")}));
    ASSERT_TRUE(log.Purge(drill_, At("2020-06-01T00:00:00Z")));  // shares its document with the next
    ASSERT_TRUE(log.Purge(drill_ + 2, At("2020-06-01T00:00:00Z")));
    ASSERT_TRUE(log.Checkpoint(signer_));
    size_ = *reference_->Size();
    ASSERT_GE(size_, drill_ + 6);  // the drills, the import, the purges
  }

  // A version-1 store holding the reference log.
  std::string OldStore() {
    std::string spec = GetParam().fresh_store();
    Db current(reference_spec_), old(spec);
    CreateVersion1(old);
    CopyAsVersion1(current, old);
    EXPECT_EQ(old.Version(), 1);
    return spec;
  }

  // Everything a reader sees is what the reference store shows: entries, documents, checkpoints,
  // the inventory, every inclusion and consistency proof; and verify passes.
  void ExpectSameLog(Storage& migrated) {
    ASSERT_EQ(*migrated.Size(), size_);
    for (std::uint64_t i = 0; i < size_; ++i) {
      Entry a = *reference_->GetEntry(i), b = *migrated.GetEntry(i);
      EXPECT_EQ(a.leaf, b.leaf);
      EXPECT_EQ(a.openings, b.openings);
      EXPECT_EQ(a.purged_at, b.purged_at);
      EXPECT_EQ(*reference_->GetDocument(i), *migrated.GetDocument(i)) << "entry " << i;
    }
    EXPECT_FALSE(*migrated.GetDocument(drill_));  // purged; the next drill keeps the same document
    EXPECT_EQ(**migrated.GetDocument(drill_ + 1), R"({"scope":"all"})");
    EXPECT_FALSE(*migrated.GetDocument(drill_ + 2));
    auto checkpoints = *migrated.Checkpoints();
    ASSERT_EQ(checkpoints.size(), reference_->Checkpoints()->size());
    for (size_t i = 0; i < checkpoints.size(); ++i) EXPECT_EQ(checkpoints[i].note, (*reference_->Checkpoints())[i].note);
    EXPECT_EQ(migrated.Inventory()->runs.size(), 1u);
    EXPECT_EQ(migrated.Inventory()->runs[0].flop, 1.25e26);
    for (std::uint64_t n : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{8}, std::uint64_t{13},
                            size_ - 1, size_}) {
      for (std::uint64_t i = 0; i < n; ++i) {
        ASSERT_EQ(*InclusionProof(migrated, i, n), *InclusionProof(*reference_, i, n)) << i << " in " << n;
      }
      for (std::uint64_t m = 1; m < n; ++m) {
        ASSERT_EQ(*ConsistencyProof(migrated, m, n), *ConsistencyProof(*reference_, m, n)) << m << " to " << n;
      }
    }
    Log log(migrated);
    auto report = log.Verify();
    ASSERT_TRUE(report) << report.error().ToString();
    EXPECT_TRUE(report->ok) << report->problem;
    EXPECT_EQ(report->documents, size_ - 2);
    auto inventory = log.VerifyInventory();
    EXPECT_TRUE(inventory) << inventory.error().ToString();
  }

  std::string reference_spec_;
  std::unique_ptr<Storage> reference_;
  Signer signer_ = *Signer::Generate("example.com/migrated");
  std::uint64_t size_ = 0;
  std::uint64_t drill_ = 0;  // the first of the three drills
};

TEST_P(StoreMigrationTest, AVersion1StoreIsMigratedInPlaceAndProvesTheSame) {
  std::string spec = OldStore();
  auto migrated = store::Open(spec);
  ASSERT_TRUE(migrated) << migrated.error().ToString();
  Db db(spec);
  EXPECT_GE(db.Version(), 2);
  EXPECT_FALSE(db.HasTable("nodes_v2"));
  EXPECT_FALSE(db.HasTable("documents_v2"));
  ExpectSameLog(**migrated);
  // The migrated log takes appends (a purge included) and still verifies; opening it again
  // migrates nothing.
  Log log(**migrated);
  ASSERT_TRUE(log.PinKey(signer_.VerifierKey()));
  ASSERT_TRUE(log.Append({{"shutdown-drill", "", R"({"scope":"all"})", At("2020-07-01T00:00:00Z"), {}}}));
  ASSERT_TRUE(log.Purge(drill_ + 1, At("2020-07-01T00:00:00Z")));
  EXPECT_FALSE(*(*migrated)->GetDocument(drill_ + 1));
  EXPECT_EQ(**(*migrated)->GetDocument(size_), R"({"scope":"all"})");
  ASSERT_TRUE(log.Checkpoint(signer_));
  auto again = store::Open(spec);
  ASSERT_TRUE(again) << again.error().ToString();
  Log reopened(**again);
  auto report = reopened.Verify();
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->size, size_ + 2);
}

// An error part-way (here a table in the way of the migration's second step, after the nodes were
// rewritten) rolls the whole migration back: the store is version 1, as it was, and migrates once
// the obstacle is gone.
TEST_P(StoreMigrationTest, AFailedMigrationLeavesVersion1AsItWas) {
  std::string spec = OldStore();
  {
    Db db(spec);
    db.Exec("CREATE TABLE documents_v2 (x INTEGER)");
  }
  auto failed = store::Open(spec);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("documents_v2"), std::string::npos) << failed.error().message;
  {
    Db db(spec);
    EXPECT_EQ(db.Version(), 1);
    EXPECT_FALSE(db.HasTable("nodes_v2"));
    EXPECT_EQ(db.One("SELECT COUNT(*) FROM nodes WHERE level >= 1"), std::to_string(StoredNodes(size_)));
    // One a document: the first drill (purged) and the second logged the same one, which the
    // second kept; the third's was deleted.
    EXPECT_EQ(db.One("SELECT COUNT(*) FROM documents"), std::to_string(size_ - 2));
    db.Exec("DROP TABLE documents_v2");
  }
  auto migrated = store::Open(spec);
  ASSERT_TRUE(migrated) << migrated.error().ToString();
  ExpectSameLog(**migrated);
}

// A SIGKILL at a random moment of the migration (a child process opening a larger version-1
// store): the store is either version 1, intact, or migrated, complete; the next open migrates it
// and every proof is as before.
TEST_P(StoreMigrationTest, ASigkillDuringTheMigrationLosesNothing) {
  // More nodes than the reference log, so the migration takes long enough to be killed inside.
  Log log(*reference_);
  for (int batch = 0; batch < 6; ++batch) {
    std::vector<RecordInput> records;
    for (int i = 0; i < 1000; ++i) {
      records.push_back({"test-results", "acme-f1", fmt::format(R"({{"case":{}}})", i), At("2020-07-01T00:00:00Z"), {}});
    }
    ASSERT_TRUE(log.Append(records));
  }
  size_ = *reference_->Size();
  std::string original = OldStore().substr(7);
  // The proofs to compare with, and no store open (no checkpointer thread) while children fork.
  std::vector<std::vector<Hash>> expected;
  for (std::uint64_t i = 0; i < size_; i += 97) expected.push_back(*InclusionProof(*reference_, i, size_));
  reference_.reset();
  // How long one migration takes here.
  std::string timed = original + ".timed";
  std::filesystem::copy_file(original, timed);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(store::Open("sqlite:" + timed));
  auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  std::mt19937 random(static_cast<unsigned>(took));
  int killed_as_version1 = 0, killed_as_later = 0;
  for (int round = 0; round < 8; ++round) {
    std::string path = fmt::format("{}.{}", original, round);
    std::filesystem::copy_file(original, path);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto s = store::Open("sqlite:" + path);
      _exit(s ? 0 : 1);
    }
    // Up to twice the migration's time: the child also starts and opens the store first.
    std::this_thread::sleep_for(std::chrono::microseconds(random() % (2 * took + 1)));
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    {
      Db db("sqlite:" + path);
      int version = db.Version();
      ASSERT_GE(version, 1);
      (version == 1 ? killed_as_version1 : killed_as_later)++;
      EXPECT_EQ(db.One(version == 1 ? "SELECT COUNT(*) FROM nodes WHERE level >= 1" : "SELECT COUNT(*) FROM nodes"),
                std::to_string(StoredNodes(size_)));
      EXPECT_FALSE(db.HasTable("nodes_v2"));
      EXPECT_EQ(db.One("PRAGMA integrity_check"), "ok");
    }
    auto migrated = store::Open("sqlite:" + path);
    ASSERT_TRUE(migrated) << migrated.error().ToString();
    for (std::uint64_t i = 0; i < size_; i += 97) ASSERT_EQ(*InclusionProof(**migrated, i, size_), expected[i / 97]);
    if (round == 0) {  // a full verify once (seconds under ASan)
      Log opened(**migrated);
      auto report = opened.Verify();
      ASSERT_TRUE(report) << report.error().ToString();
      EXPECT_TRUE(report->ok) << report->problem;
    }
  }
  std::printf("migration of %llu entries: %lld us; killed: %d left version 1, %d migrated\n",
              static_cast<unsigned long long>(size_), static_cast<long long>(took), killed_as_version1,
              killed_as_later);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreMigrationTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace flopline::ledger
