// The SQLite store under a journal that aborts in the middle of a sync (issue 16, the read-only
// finding in docs/reliability.md). On Linux 6.18, ext4 with errors=remount-ro: an fdatasync of the
// WAL that began before the journal aborted returned 0, although the transaction holding the WAL's
// new blocks and size was never written; the append was acknowledged and was gone after e2fsck.
//
// AbortingJournal plays that file system deterministically, through the store's sync check
// (TEST_SetSyncProbe): each file's durable bytes are what it held at its last honest sync; the
// sync during which the journal aborts, and every one after it, writes over the bytes the file
// already had on disk (ext4 writes back blocks that need no mapping without the journal) but
// not past them (growth needs the journal), and the check after it fails. Repair puts each file
// back to its durable bytes, as the journal's replay did. Without the check the sync's success is
// believed, and the tests below lose what was acknowledged.
#include <sqlite3.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "flopline/ledger/log.h"
#include "flopline/store/open.h"
#include "store/sqlite_vfs.h"

namespace flopline::ledger {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

class AbortingJournal {
 public:
  explicit AbortingJournal(std::string db) : db_(std::move(db)) {
    store::TEST_SetSyncProbe([this](const std::string& path) { return AfterSync(path); });
  }
  ~AbortingJournal() { store::TEST_SetSyncProbe({}); }

  // The journal aborts while the next sync waits for its data.
  void AbortDuringNextSync() {
    std::lock_guard lock(mu_);
    abort_next_ = true;
  }
  int syncs_after_abort() {
    std::lock_guard lock(mu_);
    return syncs_after_abort_;
  }
  // How many syncs were checked so far.
  int checks() {
    std::lock_guard lock(mu_);
    return checks_;
  }

  // The store's files as the replay leaves them, and the file system mounted again; call with
  // every connection closed.
  void Repair() {
    std::lock_guard lock(mu_);
    for (const std::string& path : {db_, db_ + "-wal"}) {
      auto it = durable_.find(path);
      if (it == durable_.end() || !it->second) {
        std::filesystem::remove(path);
      } else {
        std::ofstream(path, std::ios::binary | std::ios::trunc) << *it->second;
      }
    }
    std::filesystem::remove(db_ + "-shm");  // SQLite rebuilds its index from the WAL
    aborted_ = false;                         // mounted again, with a new journal
  }

 private:
  int AfterSync(const std::string& path) {
    std::lock_guard lock(mu_);
    ++checks_;
    std::optional<std::string> now = ReadFile(path);
    if (abort_next_ || aborted_) {
      abort_next_ = false;
      aborted_ = true;
      ++syncs_after_abort_;
      std::optional<std::string>& durable = durable_[path];
      if (now && durable) durable = now->substr(0, std::min(now->size(), durable->size()));
      return EROFS;
    }
    durable_[path] = now;
    return 0;
  }

  std::string db_;
  std::mutex mu_;
  std::map<std::string, std::optional<std::string>> durable_;  // guarded by mu_
  bool abort_next_ = false, aborted_ = false;
  int syncs_after_abort_ = 0, checks_ = 0;
};

std::string FreshDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "flopline-durability-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  return pattern;
}

RecordInput Record(int i) {
  return {"test-results", "acme-f1", fmt::format(R"({{"test":"bio-uplift-{}","passed":true}})", i),
          *core::Instant::Parse("2026-11-23T10:00:00Z"), {}};
}

class SqliteDurabilityTest : public ::testing::Test {
 protected:
  void TearDown() override {
    sqlite3_close_v2(conn_);
    std::filesystem::remove_all(dir_);
  }
  // A connection of the test's own through the store's VFS, to a table t of `rows` rows of 2,000
  // random bytes (each insert its own transaction), in WAL mode, synchronous=FULL, no automatic
  // checkpoint.
  void OpenTable(int rows) {
    ASSERT_EQ(sqlite3_open_v2(db_.c_str(), &conn_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, store::DurableVfs()),
              SQLITE_OK);
    ASSERT_EQ(Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;"
                   "CREATE TABLE t (i INTEGER PRIMARY KEY, v BLOB)"),
              SQLITE_OK);
    for (int i = 0; i < rows; ++i) ASSERT_EQ(Exec(fmt::format("INSERT INTO t VALUES ({}, randomblob(2000))", i)), SQLITE_OK);
  }
  int Exec(const std::string& sql) { return sqlite3_exec(conn_, sql.c_str(), nullptr, nullptr, nullptr); }
  int Checkpoint() { return sqlite3_wal_checkpoint_v2(conn_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr); }
  void Close() {
    sqlite3_close_v2(conn_);
    conn_ = nullptr;
  }

  std::string dir_ = FreshDir();
  std::string db_ = dir_ + "/evidence.db";
  sqlite3* conn_ = nullptr;
};

// The append whose WAL sync the abort straddled is refused, with the system's reason, and so is
// every append after it; after the repair every acknowledged append is there and the log verifies.
TEST_F(SqliteDurabilityTest, AnAppendWhoseSyncStraddlesAJournalAbortIsNotAcknowledged) {
  AbortingJournal journal(db_);
  Signer signer = *Signer::Generate("durability.example/ledger");
  std::map<std::uint64_t, Hash> acknowledged;
  {
    auto storage = store::OpenSqlite(db_);
    ASSERT_TRUE(storage) << storage.error().ToString();
    ASSERT_TRUE(Log::Init(**storage, "durability.example/ledger", signer, *core::Instant::Parse("2019-01-01T00:00:00Z")));
    Log log(**storage);
    for (int i = 0; i < 3; ++i) {
      auto a = log.Append({Record(i)});
      ASSERT_TRUE(a) << a.error().ToString();
      acknowledged[(*a)[0].index] = (*a)[0].leaf_hash;
    }
    journal.AbortDuringNextSync();
    auto straddled = log.Append({Record(3)});
    EXPECT_FALSE(straddled) << "entry " << (*straddled)[0].index << " acknowledged after a sync the abort straddled";
    if (straddled) {
      acknowledged[(*straddled)[0].index] = (*straddled)[0].leaf_hash;
    } else {
      EXPECT_EQ(straddled.error().message, "sqlite: COMMIT: disk I/O error (Read-only file system)");
    }
    auto after = log.Append({Record(4)});
    EXPECT_FALSE(after) << "an append acknowledged on a journal that had aborted";
    if (after) acknowledged[(*after)[0].index] = (*after)[0].leaf_hash;
  }
  ASSERT_GE(journal.syncs_after_abort(), 1);
  journal.Repair();
  auto storage = store::OpenSqlite(db_);
  ASSERT_TRUE(storage) << storage.error().ToString();
  for (const auto& [index, leaf_hash] : acknowledged) {
    auto e = (*storage)->GetEntry(index);
    ASSERT_TRUE(e) << "acknowledged entry " << index << " is gone after the repair: " << e.error().ToString();
    EXPECT_EQ(e->leaf_hash, leaf_hash) << "entry " << index;
  }
  Log log(**storage);
  ASSERT_TRUE(log.PinKey(signer.VerifierKey()));
  auto report = log.Verify();
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
  // And appends go on once the file system is repaired.
  EXPECT_TRUE(log.Append({Record(5)}));
}

// A checkpoint whose syncs the abort straddled fails, so SQLite does not restart the WAL over the
// frames it copied: with the copy's growth of the database lost, those frames are the only copy.
TEST_F(SqliteDurabilityTest, ACheckpointDuringAJournalAbortKeepsTheWalFrames) {
  AbortingJournal journal(db_);
  OpenTable(100);  // each row acknowledged
  journal.AbortDuringNextSync();
  EXPECT_NE(Checkpoint(), SQLITE_OK) << "the checkpoint succeeded on a journal that had aborted";
  // The next transaction restarts the WAL if the checkpoint claimed every frame; it fails either way.
  EXPECT_NE(Exec("INSERT INTO t VALUES (100, randomblob(2000))"), SQLITE_OK);
  Close();
  journal.Repair();
  ASSERT_EQ(sqlite3_open_v2(db_.c_str(), &conn_, SQLITE_OPEN_READWRITE, store::DurableVfs()), SQLITE_OK);
  sqlite3_stmt* count = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(conn_, "SELECT count(*) FROM t WHERE i < 100", -1, &count, nullptr), SQLITE_OK)
      << sqlite3_errmsg(conn_);
  ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(count, 0), 100) << "acknowledged rows lost after the repair";
  sqlite3_finalize(count);
}

// A sync that wrote only over the file's checked bytes (the WAL restarted over its old frames) is
// not checked: it commits no metadata, and the check would make it wait for a journal commit.
// One that wrote past them is.
TEST_F(SqliteDurabilityTest, OnlySyncsThatGrewAFileAreChecked) {
  AbortingJournal journal(db_);
  OpenTable(20);
  ASSERT_EQ(Checkpoint(), SQLITE_OK);
  int before = journal.checks();
  ASSERT_EQ(Exec("INSERT INTO t VALUES (20, randomblob(100))"), SQLITE_OK);  // the WAL restarts over old frames
  EXPECT_EQ(journal.checks(), before) << "an overwrite-only sync was checked";
  ASSERT_EQ(Exec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300)"
                 " INSERT INTO t SELECT x + 1000, randomblob(2000) FROM c"),
            SQLITE_OK);  // 600 KB: past the old WAL
  EXPECT_GT(journal.checks(), before) << "a sync that grew the WAL was not checked";
}

// The check itself on this machine's file system: a file that is there and writable passes, and
// one that cannot be probed (no such file) is taken at its word. (The ext4 journal abort itself is
// in ledger_soak_test: LedgerSoak.AFileSystemTurnedReadOnlyMidRunIsAClearErrorAndLosesNothing.)
TEST_F(SqliteDurabilityTest, TheCheckPassesOnAHealthyFileSystem) {
  std::ofstream(db_ + "-wal") << "header";
  EXPECT_EQ(store::ProbeJournal(db_ + "-wal"), 0);
  EXPECT_EQ(store::ProbeJournal(dir_ + "/absent-wal"), 0);
  EXPECT_EQ(ReadFile(db_ + "-wal"), "header");  // no byte and no size changed
}

}  // namespace
}  // namespace flopline::ledger
