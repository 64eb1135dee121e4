// One suite, both backends (SQLite and a real PostgreSQL): appends, proofs, checkpoints, tampering,
// concurrent writers in threads and processes, SIGKILL at random points, import, retention, export.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "backends.h"
#include "flopline/ledger/log.h"
#include "flopline/store/open.h"

namespace flopline::ledger {
namespace {

using testing::Backend;

core::Instant At(const char* text) { return *core::Instant::Parse(text); }

RecordInput Record(int i, const std::string& kind = "test-results") {
  return {kind, "acme-f1", fmt::format(R"({{"test":"bio-uplift-{}","passed":{}}})", i, i % 2 == 0 ? "true" : "false"),
          At("2026-11-23T10:00:00Z"), {}};
}

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    spec_ = GetParam().fresh_store();
    storage_ = Open();
    log_ = std::make_unique<Log>(*storage_);
    signer_ = *Signer::Generate("example.com/test-log");
    ASSERT_TRUE(Log::Init(*storage_, "example.com/test-log", signer_));
  }
  std::unique_ptr<Storage> Open() {
    auto s = store::Open(spec_);
    EXPECT_TRUE(s) << s.error().ToString();
    return std::move(*s);
  }
  std::vector<Appended> AppendN(int n, int from = 0) {
    std::vector<RecordInput> records;
    for (int i = from; i < from + n; ++i) records.push_back(Record(i));
    auto a = log_->Append(records);
    EXPECT_TRUE(a) << a.error().ToString();
    return *a;
  }
  VerifyReport Verify() {
    auto r = log_->Verify();
    EXPECT_TRUE(r) << r.error().ToString();
    return *r;
  }
  // Flips the lowest bit of one byte of a stored value, as an attacker with the database would.
  void Flip(const std::string& table, const std::string& column, const std::string& where, size_t offset) {
    std::string value = GetParam().read(spec_, table, column, where);
    value[offset % value.size()] ^= 1;
    GetParam().write(spec_, table, column, where, value);
  }

  std::string spec_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<Log> log_;
  Signer signer_ = *Signer::Generate("placeholder");
};

TEST_P(StoreTest, AppendsProvesAndReopens) {
  auto first = AppendN(3);
  EXPECT_EQ(first[0].index, 0u);
  EXPECT_EQ(first[2].index, 2u);
  auto more = AppendN(10, 3);
  EXPECT_EQ(more.back().index, 12u);
  MemoryTree reference;
  for (uint64_t i = 0; i < 13; ++i) reference.Append(storage_->GetEntry(i)->leaf_hash);
  for (uint64_t n = 1; n <= 13; ++n) {
    EXPECT_EQ(*RootAt(*storage_, n), *RootAt(reference, n));
    for (uint64_t i = 0; i < n; ++i) {
      auto p = *log_->Prove(i, n);
      ASSERT_EQ(p.hashes, *InclusionProof(reference, i, n));
      ASSERT_TRUE(VerifyInclusion(LeafHash(p.leaf), i, n, p.hashes, p.root));
    }
    auto c = *log_->Consistency(1, n);
    EXPECT_TRUE(VerifyConsistency(1, n, c.old_root, c.new_root, c.hashes));
  }
  auto note = log_->Checkpoint(signer_);
  ASSERT_TRUE(note) << note.error().ToString();
  EXPECT_TRUE(Verify().ok);
  // A second open runs the migrations again (nothing to do) and sees the same log.
  auto again = Open();
  EXPECT_EQ(*again->Size(), 13u);
  Log reopened(*again);
  EXPECT_TRUE(reopened.Verify()->ok);
  EXPECT_EQ(again->Checkpoints()->size(), 1u);
  EXPECT_FALSE(log_->Prove(13, std::nullopt));
  EXPECT_FALSE(log_->Prove(0, 14));
}

TEST_P(StoreTest, ALogIsInitialisedOnce) {
  EXPECT_TRUE(Log::Init(*storage_, "example.com/test-log", signer_));
  auto other = Log::Init(*storage_, "example.com/other", signer_);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, core::Code::kAlreadyExists);
  EXPECT_FALSE(log_->Checkpoint(*Signer::Generate("example.com/test-log")));  // not the log's key
}

TEST_P(StoreTest, VerifyFindsEveryFlippedByteAtItsIndex) {
  AppendN(21);
  ASSERT_TRUE(log_->Checkpoint(signer_));
  ASSERT_TRUE(Verify().ok);
  std::mt19937 random(7);
  for (int i = 0; i < 21; ++i) {
    std::string where = fmt::format("idx = {}", i);
    std::string doc = fmt::format("hash = (SELECT content_hash FROM entries WHERE idx = {})", i);
    for (auto [table, column, row] : {std::tuple{"entries", "leaf", where}, {"entries", "leaf_hash", where},
                                      {"entries", "openings", where}, {"documents", "bytes", doc}}) {
      size_t offset = random();
      Flip(table, column, row, offset);
      VerifyReport r = Verify();
      EXPECT_FALSE(r.ok) << table << "." << column << " of " << i;
      EXPECT_EQ(r.first_bad_index, static_cast<uint64_t>(i)) << table << "." << column << ": " << r.problem;
      Flip(table, column, row, offset);  // flipping back restores it
      ASSERT_TRUE(Verify().ok) << table << "." << column << " of " << i;
    }
  }
  for (auto [level, index] : {std::pair{1, 3}, {2, 4}, {3, 1}, {4, 0}}) {
    std::string where = fmt::format("level = {} AND idx = {}", level, index);
    Flip("nodes", "hash", where, 5);
    VerifyReport r = Verify();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.first_bad_index, static_cast<uint64_t>(index) << level) << r.problem;
    Flip("nodes", "hash", where, 5);
  }
  Flip("checkpoints", "note", "seq = 0", 40);
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("checkpoint at size 21"), std::string::npos) << r.problem;
}

TEST_P(StoreTest, ARewriteWithConsistentHashesIsCaughtByTheSignedCheckpoint) {
  AppendN(8);
  ASSERT_TRUE(log_->Checkpoint(signer_));
  // The attacker back-dates entry 5 and recomputes its leaf hash and every stored node above it.
  std::string leaf = storage_->GetEntry(5)->leaf;
  leaf.replace(leaf.find("2026-11-23T10"), 13, "2026-01-01T10");
  MemoryTree forged;
  for (uint64_t i = 0; i < 8; ++i) forged.Append(i == 5 ? LeafHash(leaf) : storage_->GetEntry(i)->leaf_hash);
  GetParam().write(spec_, "entries", "leaf", "idx = 5", leaf);
  GetParam().write(spec_, "entries", "leaf_hash", "idx = 5", std::string(AsText(LeafHash(leaf))));
  for (auto [level, index] : {std::pair{1, 2}, {2, 1}, {3, 0}}) {
    GetParam().write(spec_, "nodes", "hash", fmt::format("level = {} AND idx = {}", level, index),
                     std::string(AsText(*forged.Node({level, static_cast<uint64_t>(index)}))));
  }
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("signed root differs"), std::string::npos) << r.problem;
}

TEST_P(StoreTest, ThreadsOnSeparateConnectionsNeverForkTheLog) {
  constexpr int kThreads = 6, kPerThread = 30;
  std::vector<std::vector<Appended>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto storage = store::Open(spec_);
      ASSERT_TRUE(storage);
      Log log(**storage);
      for (int i = 0; i < kPerThread;) {
        int n = 1 + (i + t) % 3;
        std::vector<RecordInput> records;
        for (int k = 0; k < n; ++k) records.push_back(Record(1000 * t + i + k));
        auto a = log.Append(records);
        ASSERT_TRUE(a) << a.error().ToString();
        got[t].insert(got[t].end(), a->begin(), a->end());
        i += n;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<uint64_t> indices;
  size_t total = 0;
  for (const auto& list : got) {
    for (const Appended& a : list) {
      indices.insert(a.index);
      EXPECT_EQ(storage_->GetEntry(a.index)->leaf_hash, a.leaf_hash);
      ++total;
    }
  }
  EXPECT_EQ(indices.size(), total);
  EXPECT_EQ(*storage_->Size(), total);
  EXPECT_EQ(*indices.rbegin(), total - 1);
  EXPECT_TRUE(Verify().ok);
}

TEST_P(StoreTest, GroupCommitServesManyThreads) {
  std::vector<std::future<core::Result<Appended>>> futures;
  {
    GroupCommitter committer(*log_);
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < 16; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 40; ++i) {
          auto f = committer.Submit(Record(100 * t + i));
          std::lock_guard lock(mu);
          futures.push_back(std::move(f));
        }
      });
    }
    for (auto& t : threads) t.join();
    std::set<uint64_t> indices;
    for (auto& f : futures) {
      auto a = f.get();
      ASSERT_TRUE(a) << a.error().ToString();
      indices.insert(a->index);
    }
    EXPECT_EQ(indices.size(), 640u);
  }
  EXPECT_EQ(*storage_->Size(), 640u);
  EXPECT_TRUE(Verify().ok);
}

TEST_P(StoreTest, ImportedEventsDecideRetention) {
  auto ssp = log_->Append({{"ssp", "acme-f1", "protocol v1", At("2020-01-01T00:00:00Z"), {}}});
  ASSERT_TRUE(ssp);
  auto drill = log_->Append({{"shutdown-drill", "", R"({"scope":"model:acme-f1"})", At("2020-01-01T00:00:00Z"), {}}});
  InventoryRows rows;
  rows.models.push_back({"acme-f1", "Acme AI", "", "pretrain", true, 2e9});
  rows.models.push_back({"acme-f1-chat", "Acme AI", "acme-f1", "fine-tune", true, std::nullopt});
  rows.runs.push_back({"acme-f1", "pretrain", "2019-06-01", "given", 1.2e26, 1.5e8});
  rows.events.push_back({"acme-f1", "released", "2020-02-01T00:00:00Z"});
  ASSERT_TRUE(storage_->ImportInventory(rows));
  auto refused = log_->Purge(0, At("2040-01-01T00:00:00Z"));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("§22603(a)(5)"), std::string::npos) << refused.error().message;
  // Re-importing replaces the model's events: now it was withdrawn in 2021.
  rows.events.push_back({"acme-f1", "withdrawn", "2021-03-01T00:00:00Z"});
  ASSERT_TRUE(storage_->ImportInventory(rows));
  auto early = log_->Purge(0, At("2026-02-28T00:00:00Z"));
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message.find("until 2026-03-01"), std::string::npos) << early.error().message;
  ASSERT_TRUE(log_->Purge(0, At("2026-03-02T00:00:00Z")));
  EXPECT_TRUE(storage_->GetEntry(0)->purged_at);
  EXPECT_FALSE(*storage_->GetDocument(storage_->GetEntry(0)->content_hash));
  EXPECT_TRUE(log_->Purge(1, At("2020-01-02T00:00:00Z")));  // no statute keeps drills
  EXPECT_TRUE(Verify().ok);  // the leaves stay: the log still verifies
  InventoryRows back = *storage_->Inventory();
  ASSERT_EQ(back.models.size(), 2u);
  EXPECT_EQ(back.models[1].base, "acme-f1");
  EXPECT_EQ(back.models[0].developer_revenue_usd, 2e9);
  EXPECT_EQ(back.events.size(), 2u);
  EXPECT_EQ(back.runs.size(), 1u);
}

TEST_P(StoreTest, AnAuditorVerifiesAnExportOffline) {
  AppendN(5);
  ASSERT_TRUE(log_->Append({{"statement-of-compliance", "acme-f1",
                             R"({"signer":"Jane Roe","role":"CTO","margin_note":"legal only"})",
                             At("2026-11-23T10:00:00Z"), {{"margin_note", "confidential-information"}}}}));
  ASSERT_TRUE(log_->Checkpoint(signer_));
  AppendN(2, 10);
  ASSERT_TRUE(log_->Checkpoint(signer_));
  std::string dir = std::filesystem::temp_directory_path() / fmt::format("flopline-export-{}-{}", getpid(), GetParam().name);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(log_->Export(dir + "/full", false));
  ASSERT_TRUE(log_->Export(dir + "/public", true));
  EXPECT_FALSE(log_->Export(dir + "/full", false));  // never over an existing export
  std::string key = signer_.VerifierKey();
  auto full = *VerifyExport(dir + "/full", key);
  EXPECT_TRUE(full.ok) << full.problem;
  EXPECT_EQ(full.checkpoints, 2u);
  EXPECT_EQ(full.documents, 8u);
  auto pub = *VerifyExport(dir + "/public", key);
  EXPECT_TRUE(pub.ok) << pub.problem;
  std::string openings = *core::ReadFile(dir + "/public/openings.jsonl");
  EXPECT_EQ(openings.find("legal only"), std::string::npos);
  EXPECT_NE(openings.find("Jane Roe"), std::string::npos);
  EXPECT_FALSE(VerifyExport(dir + "/full", Signer::Generate("example.com/test-log")->VerifierKey())->ok);
  EXPECT_FALSE(VerifyExport(dir + "/full", std::nullopt)->warnings.empty());
  // An edited leaf in the export fails at its index.
  std::string leaves = *core::ReadFile(dir + "/full/leaves.jsonl");
  size_t third = 0;
  for (int i = 0; i < 3; ++i) third = leaves.find('\n', third) + 1;
  leaves[third + 10] ^= 1;
  std::ofstream(dir + "/full/leaves.jsonl", std::ios::trunc) << leaves;
  auto bad = *VerifyExport(dir + "/full", key);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.first_bad_index, 3u) << bad.problem;
  std::filesystem::remove_all(dir);
}

// --- processes -------------------------------------------------------------------------------

struct Writer {
  pid_t pid;
  int out;
};

Writer Spawn(const std::string& store, int count, int threads) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::string path = testing::LedgerWriterPath();
    std::string c = std::to_string(count), t = std::to_string(threads);
    execl(path.c_str(), path.c_str(), store.c_str(), c.c_str(), t.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

// Reads every acknowledged "INDEX HASH" line the writer printed before it ended.
std::map<uint64_t, std::string> Acks(const Writer& w, int* status) {
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = read(w.out, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  close(w.out);
  waitpid(w.pid, status, 0);
  std::map<uint64_t, std::string> acks;
  std::istringstream in(text);
  uint64_t index;
  std::string hash;
  while (in >> index >> hash) {
    if (hash.size() == 64) acks[index] = hash;  // a line cut by the kill was never acknowledged
  }
  return acks;
}

TEST_P(StoreTest, SigkillAtRandomPointsLosesNothingAcknowledged) {
  std::mt19937 random(20261123);
  size_t acknowledged = 0;
  for (int round = 0; round < 12; ++round) {
    Writer w = Spawn(spec_, 0, 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + random() % 220));
    kill(w.pid, SIGKILL);
    int status = 0;
    auto acks = Acks(w, &status);
    ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": the writer ended by itself";
    auto storage = Open();
    for (const auto& [index, hash] : acks) {
      auto e = storage->GetEntry(index);
      ASSERT_TRUE(e) << "round " << round << ": acknowledged entry " << index << " is gone";
      ASSERT_EQ(Hex(e->leaf_hash), hash) << "round " << round << ", entry " << index;
    }
    Log log(*storage);
    auto report = log.Verify();
    ASSERT_TRUE(report && report->ok) << "round " << round << ": " << (report ? report->problem : "");
    acknowledged += acks.size();
  }
  EXPECT_GT(acknowledged, 0u);
}

TEST_P(StoreTest, WriterProcessesAppendToOneLog) {
  std::vector<Writer> writers;
  for (int p = 0; p < 4; ++p) writers.push_back(Spawn(spec_, 60, 2));
  std::set<uint64_t> indices;
  for (const Writer& w : writers) {
    int status = 0;
    auto acks = Acks(w, &status);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(acks.size(), 120u);
    for (const auto& [index, hash] : acks) EXPECT_TRUE(indices.insert(index).second) << "index " << index << " twice";
  }
  EXPECT_EQ(*storage_->Size(), 480u);
  EXPECT_EQ(*indices.rbegin(), 479u);
  EXPECT_TRUE(Verify().ok);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
}  // namespace flopline::ledger
