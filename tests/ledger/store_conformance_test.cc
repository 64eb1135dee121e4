// One suite, both backends (SQLite and a real PostgreSQL): appends, proofs, checkpoints, tampering,
// concurrent writers in threads and processes, SIGKILL at random points, import, retention, export.
#include <signal.h>
#include <sys/stat.h>
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
#include <nlohmann/json.hpp>

#include "backends.h"
#include "writer_process.h"
#include "flopline/ledger/log.h"
#include "flopline/store/open.h"

namespace flopline::ledger {
namespace {

using testing::Backend;

core::Instant At(const char* text) { return *core::Instant::Parse(text); }

// The nodes table's row of a node (its key: the level times 2^48 plus the index).
std::string NodeRow(int level, std::uint64_t index) {
  return fmt::format("id = {}", (static_cast<std::uint64_t>(level) << 48) | index);
}

// An attacker's rollback of the tree: deletes every stored node that covers an entry >= n (a node's
// key is its level times 2^48 plus its index; it covers (index + 1) * 2^level entries).
std::string DeleteNodesPast(int n) {
  return fmt::format("DELETE FROM nodes WHERE (id % 281474976710656 + 1)"
                     " * (CAST(1 AS BIGINT) << CAST(id / 281474976710656 AS INTEGER)) > {}", n);
}

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
    // Initialised in the past so that the tests may file records dated since then.
    auto init = Log::Init(*storage_, "example.com/test-log", signer_, At("2019-01-01T00:00:00Z"));
    ASSERT_TRUE(init) << init.error().ToString();
    // The auditor's key, obtained outside the store (purge refuses without one).
    ASSERT_TRUE(log_->PinKey(signer_.VerifierKey()));
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
  EXPECT_EQ(again->Checkpoints()->size(), 2u);  // init signed the empty log
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
    std::string doc = fmt::format("entry = {}", i);
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
    std::string where = NodeRow(level, index);
    Flip("nodes", "hash", where, 5);
    VerifyReport r = Verify();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.first_bad_index, static_cast<uint64_t>(index) << level) << r.problem;
    Flip("nodes", "hash", where, 5);
  }
  Flip("checkpoints", "note", "seq = 1", 40);  // seq 0 is init's checkpoint of the empty log
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("checkpoint at size 21"), std::string::npos) << r.problem;
}

TEST_P(StoreTest, ARewriteWithConsistentHashesIsCaughtByTheSignedCheckpoint) {
  AppendN(8);
  ASSERT_TRUE(log_->Checkpoint(signer_));
  // The attacker replaces entry 5 with another record, sealed afresh so that its leaf, salts and
  // document agree (and its time and columns are plausible), and recomputes its leaf hash and
  // every stored node above it.
  SealedRecord other = *Seal(Record(99));
  std::string leaf = other.leaf;
  GetParam().write(spec_, "documents", "bytes", "entry = 5", Record(99).document);
  GetParam().write(spec_, "entries", "content_hash", "idx = 5", std::string(AsText(other.content_hash)));
  GetParam().write(spec_, "entries", "openings", "idx = 5", other.openings);
  MemoryTree forged;
  for (uint64_t i = 0; i < 8; ++i) forged.Append(i == 5 ? LeafHash(leaf) : storage_->GetEntry(i)->leaf_hash);
  GetParam().write(spec_, "entries", "leaf", "idx = 5", leaf);
  GetParam().write(spec_, "entries", "leaf_hash", "idx = 5", std::string(AsText(LeafHash(leaf))));
  for (auto [level, index] : {std::pair{1, 2}, {2, 1}, {3, 0}}) {
    GetParam().write(spec_, "nodes", "hash", NodeRow(level, index),
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

// Imports go through the log (model files + a model-inventory record, tables in the same
// transaction); retention is judged from the logged inventory.
ImportInput Import(InventoryRows rows, const char* at = "2020-03-01T00:00:00Z") {
  return {{"[[model]]\nid = \"acme-f1\"\n"}, std::move(rows), At(at)};
}

InventoryRows AcmeRows() {
  InventoryRows rows;
  rows.models.push_back({"acme-f1", "Acme AI", "", "pretrain", true, 2e9});
  rows.models.push_back({"acme-f1-chat", "Acme AI", "acme-f1", "fine-tune", true, std::nullopt});
  rows.runs.push_back({"acme-f1", "pretrain", "2019-06-01", "given", 1.2e26, 1.5e8});
  rows.events.push_back({"acme-f1", "released", "2020-02-01T00:00:00Z"});
  return rows;
}

TEST_P(StoreTest, ImportedEventsDecideRetention) {
  auto ssp = log_->Append({{"ssp", "acme-f1", "protocol v1", At("2020-01-01T00:00:00Z"), {}}});
  ASSERT_TRUE(ssp);
  auto drill = log_->Append({{"shutdown-drill", "", R"({"scope":"model:acme-f1"})", At("2020-01-01T00:00:00Z"), {}}});
  ASSERT_TRUE(drill);
  InventoryRows rows = AcmeRows();
  ASSERT_TRUE(log_->Import(Import(rows)));
  auto refused = log_->Purge(0, At("2026-11-01T00:00:00Z"));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("§22603(a)(5)"), std::string::npos) << refused.error().message;
  // Re-importing replaces the model's events: now it was withdrawn in 2021.
  rows.events.push_back({"acme-f1", "withdrawn", "2021-03-01T00:00:00Z"});
  ASSERT_TRUE(log_->Import(Import(rows, "2021-03-02T00:00:00Z")));
  auto early = log_->Purge(0, At("2026-02-28T00:00:00Z"));
  ASSERT_FALSE(early);
  // The withdrawal counts from when the log learned of it (the import, a day later).
  EXPECT_NE(early.error().message.find("until 2026-03-02"), std::string::npos) << early.error().message;
  ASSERT_TRUE(log_->Purge(0, At("2026-03-02T00:00:00Z")));
  EXPECT_TRUE(storage_->GetEntry(0)->purged_at);
  EXPECT_FALSE(*storage_->GetDocument(0));
  EXPECT_TRUE(log_->Purge(0, At("2026-03-02T00:00:00Z")));  // already purged: nothing to do
  EXPECT_TRUE(log_->Purge(1, At("2026-03-03T00:00:00Z")));  // no statute keeps drills
  // The purges are logged records: the last two entries name what they purged.
  uint64_t size = *storage_->Size();
  EXPECT_EQ(ParseLeaf(storage_->GetEntry(size - 2)->leaf)->purges->index, 0u);
  EXPECT_EQ(ParseLeaf(storage_->GetEntry(size - 1)->leaf)->purges->index, 1u);
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;  // the leaves stay: the log still verifies
  // The log's own records are kept as long as the log.
  auto inventory = log_->Purge(size - 3, At("2026-03-04T00:00:00Z"));
  ASSERT_FALSE(inventory);
  EXPECT_NE(inventory.error().message.find("model-inventory"), std::string::npos) << inventory.error().message;
  InventoryRows back = *storage_->Inventory();
  ASSERT_EQ(back.models.size(), 2u);
  EXPECT_EQ(back.models[1].base, "acme-f1");
  EXPECT_EQ(back.models[0].developer_revenue_usd, 2e9);
  EXPECT_EQ(back.events.size(), 2u);
  EXPECT_EQ(back.runs.size(), 1u);
  ASSERT_EQ(back.lineage.size(), 1u);
  EXPECT_EQ(back.lineage[0].derivative, "acme-f1-chat");
}

// Issue 10 item 9: `purge` trusted the kind column, which verify did not check against the leaf.
TEST_P(StoreTest, AnEditedColumnFailsVerifyAndNeverDecidesAPurge) {
  ASSERT_TRUE(log_->Append({{"ssp", "acme-f1", "protocol v1", At("2020-01-01T00:00:00Z"), {}}}));
  ASSERT_TRUE(log_->Append({{"test-results", "acme-f1", "{}", At("2020-01-01T00:00:00Z"), {}}}));
  ASSERT_TRUE(log_->Checkpoint(signer_));
  for (auto [column, value] : {std::pair{"kind", "shutdown-drill"}, {"model", "other-model"},
                               {"recorded_at", "2000-01-01T00:00:00Z"}}) {
    std::string before = GetParam().read(spec_, "entries", column, "idx = 0");
    GetParam().write(spec_, "entries", column, "idx = 0", value);
    VerifyReport r = Verify();
    EXPECT_FALSE(r.ok) << column;
    EXPECT_EQ(r.first_bad_index, 0u) << r.problem;
    EXPECT_NE(r.problem.find(fmt::format("stored {} column", column)), std::string::npos) << r.problem;
    auto purge = log_->Purge(0, At("2026-11-01T00:00:00Z"));
    ASSERT_FALSE(purge) << column << ": an SSP kept by §22603(a)(5) was purged";
    EXPECT_NE(purge.error().message.find("does not verify"), std::string::npos) << purge.error().message;
    auto shown = log_->Produce(0);
    ASSERT_FALSE(shown) << column << ": show printed an edited column";
    EXPECT_EQ(shown.error().code, core::Code::kDataLoss);
    GetParam().write(spec_, "entries", column, "idx = 0", before);
  }
  EXPECT_TRUE(Verify().ok);
  auto shown = log_->Produce(0);
  ASSERT_TRUE(shown) << shown.error().ToString();
  EXPECT_EQ(shown->leaf.kind, "ssp");
  EXPECT_EQ(shown->checkpoint, 2u);
  EXPECT_EQ(shown->document, "protocol v1");
  EXPECT_TRUE(storage_->GetDocument(0)->has_value());
}

// Issue 10 item 10: a purge done by editing rows passed verify --store and verify --dir.
TEST_P(StoreTest, APurgeByEditingRowsFailsBothVerifies) {
  ASSERT_TRUE(log_->Append({{"shutdown-drill", "", R"({"scope":"all"})", At("2026-11-01T00:00:00Z"), {}}}));
  ASSERT_TRUE(log_->Append({{"shutdown-drill", "", R"({"scope":"model:m"})", At("2026-11-01T00:00:00Z"), {}}}));
  ASSERT_TRUE(log_->Checkpoint(signer_));
  // The attacker purges entry 0 by hand: purged_at set, salts cleared, document deleted.
  GetParam().exec(spec_, "UPDATE entries SET purged_at = '2026-11-02T00:00:00Z', openings = '' WHERE idx = 0");
  GetParam().exec(spec_, "DELETE FROM documents WHERE entry = 0");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 0u) << r.problem;
  EXPECT_NE(r.problem.find("no purge of it is logged"), std::string::npos) << r.problem;
  std::string dir = std::filesystem::temp_directory_path() / fmt::format("flopline-purge-{}-{}", getpid(), GetParam().name);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(log_->Export(dir, false));
  auto exported = *VerifyExport(dir, signer_.VerifierKey(), {});
  EXPECT_FALSE(exported.ok);
  EXPECT_EQ(exported.first_bad_index, 0u) << exported.problem;
  std::filesystem::remove_all(dir);
  // Unmarking it again leaves a missing document, still at its index.
  GetParam().exec(spec_, "UPDATE entries SET purged_at = NULL WHERE idx = 0");
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 0u) << r.problem;
}

TEST_P(StoreTest, ALoggedPurgeVerifiesInTheStoreAndTheExport) {
  ASSERT_TRUE(log_->Append({{"shutdown-drill", "", R"({"scope":"all"})", At("2026-11-01T00:00:00Z"), {}}}));
  ASSERT_TRUE(log_->Purge(0, At("2026-11-02T00:00:00Z")));
  ASSERT_TRUE(log_->Checkpoint(signer_));
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;
  std::string dir = std::filesystem::temp_directory_path() / fmt::format("flopline-lpurge-{}-{}", getpid(), GetParam().name);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(log_->Export(dir, false));
  auto exported = *VerifyExport(dir, signer_.VerifierKey(), {});
  EXPECT_TRUE(exported.ok) << exported.problem;
  std::filesystem::remove_all(dir);
  GetParam().write(spec_, "entries", "purged_at", "idx = 0", "2026-11-05T00:00:00Z");
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("purged_at column"), std::string::npos) << r.problem;
}

// A purge record forged for a record its clause still keeps (appended already sealed, past
// `purge`'s checks, and carried out by hand) fails verify at the purge.
TEST_P(StoreTest, AForgedPurgeOfAKeptRecordFailsVerify) {
  ASSERT_TRUE(log_->Append({{"ssp", "acme-f1", "protocol v1", At("2020-01-01T00:00:00Z"), {}}}));
  std::string hash = Hex(storage_->GetEntry(0)->leaf_hash);
  RecordInput forged{"purge", "acme-f1", R"({"index":0,"leaf_hash":")" + hash + R"(","reason":"forged"})",
                     At("2026-11-01T00:00:00Z"), {}};
  ASSERT_TRUE(log_->AppendSealed({forged}, {*SealInternal(forged)}));
  GetParam().exec(spec_, "UPDATE entries SET purged_at = '2026-11-01T00:00:00Z', openings = '' WHERE idx = 0");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("before its retention ended"), std::string::npos) << r.problem;
  EXPECT_EQ(r.first_bad_index, 1u) << r.problem;
}

// Issue 10 item 11: the inventory tables were outside verify, and the kill switch's lineage scopes
// read them.
// An import's events for a model it does not name are appended after that model's own (an event
// recorded alone does not rewrite the model's earlier events); the tables stay what a replay says.
TEST_P(StoreTest, AnImportsEventsForAModelItDoesNotNameAreAppended) {
  ASSERT_TRUE(log_->Import(Import(AcmeRows())));
  InventoryRows event;
  event.events.push_back({"acme-f1", "incident-discovered", "2020-02-10T00:00:00Z"});
  ASSERT_TRUE(log_->Import(Import(event, "2020-03-02T00:00:00Z")));
  event.events[0] = {"acme-f1", "withdrawn", "2020-02-20T00:00:00Z"};
  ASSERT_TRUE(log_->Import(Import(event, "2020-03-03T00:00:00Z")));
  auto events = storage_->ModelEvents("acme-f1");
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].kind, "released");
  EXPECT_EQ((*events)[1].kind, "incident-discovered");
  EXPECT_EQ((*events)[2].kind, "withdrawn");
  EXPECT_TRUE(log_->VerifyInventory());
  // A later import naming the model replaces its events with its own.
  ASSERT_TRUE(log_->Import(Import(AcmeRows(), "2020-03-04T00:00:00Z")));
  events = storage_->ModelEvents("acme-f1");
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 1u);
  EXPECT_TRUE(log_->VerifyInventory());
}

// A conditional import (expected_size) is written only onto the log it was checked against.
TEST_P(StoreTest, AConditionalImportOntoAGrownLogIsAbortedAndWritesNothing) {
  auto size = storage_->Size();
  ASSERT_TRUE(size);
  ImportInput stale = Import(AcmeRows(), "2026-11-24T00:00:00Z");
  stale.expected_size = *size;
  ASSERT_TRUE(log_->Append({Record(1)}));  // another writer, in between
  auto refused = log_->Import(stale);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::Code::kAborted);
  EXPECT_EQ(*storage_->Size(), *size + 1);
  auto events = storage_->ModelEvents("acme-f1");
  ASSERT_TRUE(events);
  EXPECT_TRUE(events->empty());
  stale.expected_size = *size + 1;
  EXPECT_TRUE(log_->Import(stale));
}

TEST_P(StoreTest, TheInventoryTablesAreWhatTheLoggedImportsWrote) {
  ASSERT_TRUE(log_->Import(Import(AcmeRows())));
  ASSERT_TRUE(log_->Checkpoint(signer_));
  ASSERT_TRUE(Verify().ok);
  ASSERT_TRUE(log_->VerifyInventory());
  struct Edit {
    const char* sql;
    const char* undo;
    const char* table;
  };
  for (const Edit& edit :
       {Edit{"DELETE FROM lineage WHERE derivative = 'acme-f1-chat'",
             "INSERT INTO lineage (base, derivative, derivation) VALUES ('acme-f1', 'acme-f1-chat', 'fine-tune')",
             "lineage"},
        Edit{"UPDATE models SET base = 'other' WHERE id = 'acme-f1-chat'",
             "UPDATE models SET base = 'acme-f1' WHERE id = 'acme-f1-chat'", "models"},
        Edit{"DELETE FROM events WHERE model = 'acme-f1'",
             "INSERT INTO events (model, seq, kind, at) VALUES ('acme-f1', 1, 'released', '2020-02-01T00:00:00Z')",
             "events"},
        Edit{"UPDATE training_runs SET flop = 9e25", "UPDATE training_runs SET flop = 1.2e26", "training_runs"}}) {
    GetParam().exec(spec_, edit.sql);
    VerifyReport r = Verify();
    EXPECT_FALSE(r.ok) << edit.sql;
    EXPECT_NE(r.problem.find(fmt::format("the {} table", edit.table)), std::string::npos) << r.problem;
    auto inventory = log_->VerifyInventory();
    ASSERT_FALSE(inventory) << edit.sql;
    EXPECT_EQ(inventory.error().code, core::Code::kDataLoss);
    GetParam().exec(spec_, edit.undo);
    r = Verify();
    EXPECT_TRUE(r.ok) << edit.undo << ": " << r.problem;
  }
  // A model-inventory record cannot be appended by hand: only an import writes one.
  auto forged = log_->Append({{"model-inventory", "", R"({"models":[],"runs":[],"events":[],"files":[]})",
                               At("2026-11-01T00:00:00Z"), {}}});
  ASSERT_FALSE(forged);
  EXPECT_EQ(forged.error().field, "kind");
}

// Issue 10 item 12: a rollback (entries and later checkpoints removed) passed verify.
TEST_P(StoreTest, ARollbackIsCaughtAgainstAPinnedCheckpoint) {
  AppendN(5);
  auto pinned_small = log_->Checkpoint(signer_);
  ASSERT_TRUE(pinned_small);
  AppendN(6, 5);
  auto pinned = log_->Checkpoint(signer_);
  ASSERT_TRUE(pinned);
  EXPECT_TRUE(log_->Verify({pinned_small.value(), std::nullopt})->ok);
  EXPECT_TRUE(log_->Verify({*pinned, std::nullopt})->ok);
  // Truncate to 5 entries and drop the checkpoint of 11: the store alone cannot tell.
  GetParam().exec(spec_, "DELETE FROM entries WHERE idx >= 5");
  GetParam().exec(spec_, DeleteNodesPast(5));
  GetParam().exec(spec_, "DELETE FROM checkpoints WHERE size > 5");
  EXPECT_TRUE(Verify().ok) << "without a pinned checkpoint a clean truncation is invisible";
  VerifyReport r = *log_->Verify({*pinned, std::nullopt});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("rolled back"), std::string::npos) << r.problem;
  // Rolled back and regrown with other entries: the consistency proof fails.
  AppendN(6, 100);
  r = *log_->Verify({*pinned, std::nullopt});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("not an extension"), std::string::npos) << r.problem;
  std::string dir = std::filesystem::temp_directory_path() / fmt::format("flopline-since-{}-{}", getpid(), GetParam().name);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(log_->Checkpoint(signer_));
  ASSERT_TRUE(log_->Export(dir, false));
  EXPECT_TRUE(VerifyExport(dir, signer_.VerifierKey(), {})->ok);
  EXPECT_TRUE(VerifyExport(dir, signer_.VerifierKey(), {pinned_small.value(), std::nullopt})->ok);
  auto exported = *VerifyExport(dir, signer_.VerifierKey(), {*pinned, std::nullopt});
  EXPECT_FALSE(exported.ok);
  EXPECT_NE(exported.problem.find("not an extension"), std::string::npos) << exported.problem;
  std::filesystem::remove_all(dir);
  // A pinned checkpoint of another log (another key) is refused.
  Signer other = *Signer::Generate("example.com/test-log");
  r = *log_->Verify({*other.Sign(Checkpoint{"example.com/test-log", 1, {}}.Text()), std::nullopt});
  EXPECT_FALSE(r.ok);
}

TEST_P(StoreTest, NoCheckpointIsSignedOverATruncatedLog) {
  AppendN(8);
  ASSERT_TRUE(log_->Checkpoint(signer_));
  GetParam().exec(spec_, "DELETE FROM entries WHERE idx >= 5");
  GetParam().exec(spec_, DeleteNodesPast(5));
  auto refused = log_->Checkpoint(signer_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, core::Code::kDataLoss);
  AppendN(3, 100);  // regrown past the signed size, with other entries
  refused = log_->Checkpoint(signer_);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("no longer extends"), std::string::npos) << refused.error().message;
  EXPECT_EQ(storage_->Checkpoints()->size(), 2u);
}

TEST_P(StoreTest, EveryCheckpointDeletedFailsVerify) {
  EXPECT_EQ(storage_->Checkpoints()->size(), 1u);  // init signed the empty log
  VerifyReport empty = Verify();
  EXPECT_TRUE(empty.ok) << empty.problem;
  AppendN(3);
  EXPECT_TRUE(Verify().ok);
  GetParam().exec(spec_, "DELETE FROM checkpoints");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("no signed checkpoint"), std::string::npos) << r.problem;
}

// Issue 10 item 12: `--recorded-at 1970-...` and `9999-...` were accepted into a 2026 log.
TEST_P(StoreTest, RecordedTimesNeverGoBackwardsNorLieInTheFuture) {
  ASSERT_TRUE(log_->Append({Record(1)}));  // 2026-11-23T10:00:00Z
  core::Instant now(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  for (core::Instant at : {At("1970-01-01T00:00:00Z"), At("2026-11-23T09:00:00Z"), At("9999-12-31T00:00:00Z"),
                           now + std::chrono::hours(1)}) {
    RecordInput r = Record(2);
    r.recorded_at = at;
    auto appended = log_->Append({r});
    ASSERT_FALSE(appended) << at.ToString() << " was accepted";
    EXPECT_EQ(appended.error().field, "recorded-at") << appended.error().ToString();
  }
  // A clock a minute behind the last entry is stamped with the last entry's time, with a notice.
  RecordInput late = Record(3);
  late.recorded_at = At("2026-11-23T09:59:00Z");
  auto appended = log_->Append({late});
  ASSERT_TRUE(appended) << appended.error().ToString();
  EXPECT_FALSE(appended->front().notices.empty());
  EXPECT_EQ(ParseLeaf(storage_->GetEntry(1)->leaf)->recorded_at, At("2026-11-23T10:00:00Z"));
  EXPECT_EQ(storage_->GetEntry(1)->recorded_at, "2026-11-23T10:00:00Z");
  EXPECT_EQ(*storage_->Size(), 2u);
  EXPECT_TRUE(Verify().ok);
  // A verifier whose clock is earlier than the log's times reports them as in the future.
  VerifyReport r = *log_->Verify({std::nullopt, At("2026-01-01T00:00:00Z")});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("in the future"), std::string::npos) << r.problem;
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
  auto full = *VerifyExport(dir + "/full", key, {});
  EXPECT_TRUE(full.ok) << full.problem;
  EXPECT_EQ(full.checkpoints, 3u);  // with init's checkpoint of the empty log
  EXPECT_EQ(full.documents, 8u);
  auto pub = *VerifyExport(dir + "/public", key, {});
  EXPECT_TRUE(pub.ok) << pub.problem;
  std::string openings = *core::ReadFile(dir + "/public/openings.jsonl");
  EXPECT_EQ(openings.find("legal only"), std::string::npos);
  EXPECT_NE(openings.find("Jane Roe"), std::string::npos);
  EXPECT_FALSE(VerifyExport(dir + "/full", Signer::Generate("example.com/test-log")->VerifierKey(), {})->ok);
  EXPECT_FALSE(VerifyExport(dir + "/full", std::nullopt, {})->warnings.empty());
  // An edited leaf in the export fails at its index.
  std::string leaves = *core::ReadFile(dir + "/full/leaves.jsonl");
  size_t third = 0;
  for (int i = 0; i < 3; ++i) third = leaves.find('\n', third) + 1;
  leaves[third + 10] ^= 1;
  std::ofstream(dir + "/full/leaves.jsonl", std::ios::trunc) << leaves;
  auto bad = *VerifyExport(dir + "/full", key, {});
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.first_bad_index, 3u) << bad.problem;
  std::filesystem::remove_all(dir);
}

// --- processes -------------------------------------------------------------------------------

// Issue 10 item 16: the kill point is counted in acknowledgements, not in wall time, so the test
// checks durability however loaded the machine is, and a slow writer only makes it slower.
TEST_P(StoreTest, SigkillAtRandomPointsLosesNothingAcknowledged) {
  std::mt19937 random(20261123);
  for (int round = 0; round < 12; ++round) {
    size_t kill_after = 1 + random() % 120;
    std::vector<testing::WriterProcess> w{testing::SpawnWriter(spec_, 0, 4)};
    testing::Acks acks;
    ASSERT_TRUE(testing::ReadAcks(w, kill_after, acks, std::chrono::steady_clock::now() + std::chrono::minutes(5)));
    kill(w[0].pid, SIGKILL);
    // Whatever the writer printed before it died was acknowledged too: Reap reads it to the end.
    int status = testing::Reap(w[0], acks);
    ASSERT_GE(acks.by_index.size(), kill_after) << "round " << round << ": the writer ended before acknowledging "
                                                << kill_after << " appends: " << w[0].errors;
    ASSERT_TRUE(WIFSIGNALED(status)) << "round " << round << ": the writer ended by itself";
    ASSERT_TRUE(acks.conflicts.empty()) << acks.conflicts.front();
    auto storage = Open();
    for (const auto& [index, ack] : acks.by_index) {
      auto e = storage->GetEntry(index);
      ASSERT_TRUE(e) << "round " << round << ": acknowledged entry " << index << " is gone";
      ASSERT_EQ(Hex(e->leaf_hash), ack.leaf_hash) << "round " << round << ", entry " << index;
      ASSERT_EQ(Hex(e->content_hash), ack.document_sha256) << "round " << round << ", entry " << index;
    }
    Log log(*storage);
    auto report = log.Verify();
    ASSERT_TRUE(report && report->ok) << "round " << round << ": " << (report ? report->problem : "");
  }
}

TEST_P(StoreTest, WriterProcessesAppendToOneLog) {
  std::vector<testing::WriterProcess> writers;
  for (int p = 0; p < 4; ++p) writers.push_back(testing::SpawnWriter(spec_, 60, 2));
  std::set<uint64_t> indices;
  for (testing::WriterProcess& w : writers) {
    testing::Acks acks;
    int status = testing::Reap(w, acks);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << w.errors;
    ASSERT_EQ(acks.by_index.size(), 120u);
    for (const auto& [index, ack] : acks.by_index) EXPECT_TRUE(indices.insert(index).second) << "index " << index << " twice";
  }
  EXPECT_EQ(*storage_->Size(), 480u);
  EXPECT_EQ(*indices.rbegin(), 479u);
  EXPECT_TRUE(Verify().ok);
}

// Security review of issue 10, finding 1: verify trusted the verifier key stored in the store, so
// whoever could rewrite the store replaced it, re-signed the checkpoints, and verify passed.
TEST_P(StoreTest, AKeySwappedInTheStoreFailsVerifyUnderThePinnedKey) {
  AppendN(6);
  ASSERT_TRUE(log_->Checkpoint(signer_));
  // The attacker: truncates the log, installs their own key, deletes the checkpoints and signs the
  // truncated log (an empty-log checkpoint too) with their key.
  Signer attacker = *Signer::Generate("example.com/test-log");
  GetParam().exec(spec_, "DELETE FROM entries WHERE idx >= 3");
  GetParam().exec(spec_, DeleteNodesPast(3));
  GetParam().exec(spec_, "DELETE FROM checkpoints");
  GetParam().write(spec_, "meta", "value", "key = 'verifier_key'", attacker.VerifierKey());
  Log unpinned(*storage_);
  ASSERT_TRUE(unpinned.Checkpoint(attacker));
  // Without a pinned key verify cannot tell, and says where its key came from.
  VerifyReport fooled = *unpinned.Verify();
  EXPECT_TRUE(fooled.ok) << fooled.problem;
  ASSERT_FALSE(fooled.warnings.empty());
  EXPECT_NE(fooled.warnings.back().find("came from the store itself"), std::string::npos);
  // With the auditor's key it fails.
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("not the pinned key"), std::string::npos) << r.problem;
  // Purge refuses without a pinned key, and with it the log does not verify.
  auto refused = unpinned.Purge(0, At("2026-11-24T00:00:00Z"));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("needs the log's verifier key"), std::string::npos)
      << refused.error().message;
  refused = log_->Purge(0, At("2026-11-24T00:00:00Z"));
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("does not verify"), std::string::npos) << refused.error().message;
  auto shown = log_->Produce(0);
  ASSERT_FALSE(shown) << "show printed a record under a substituted key";
  EXPECT_EQ(shown.error().code, core::Code::kDataLoss);
  // Keeping the store's key but adding checkpoints signed by another: show refuses them too.
  GetParam().write(spec_, "meta", "value", "key = 'verifier_key'", signer_.VerifierKey());
  shown = log_->Produce(0);
  ASSERT_FALSE(shown);
  EXPECT_NE(shown.error().message.find("not one this log's key signed"), std::string::npos) << shown.error().message;
}

// Finding 2: a raw purge leaf in the version-1 format (no time rules, and the retention check used
// its own date) appended at the end passed verify, and the next checkpoint signed it.
TEST_P(StoreTest, AForgedVersion1PurgeAtTheEndFailsVerifyAndIsNeverSigned) {
  ASSERT_TRUE(log_->Append({{"whistleblower-record", "", "disclosure", At("2026-11-20T00:00:00Z"), {}}}));
  ASSERT_TRUE(log_->Checkpoint(signer_));
  std::string hash = Hex(storage_->GetEntry(0)->leaf_hash);
  // A well-formed purge, sealed, then put in the old format and dated at the end of time.
  RecordInput input{"purge", "", R"({"index":0,"leaf_hash":")" + hash + R"(","reason":"x"})",
                    At("2026-11-21T00:00:00Z"), {}};
  SealedRecord sealed = *SealInternal(input);
  nlohmann::json leaf = nlohmann::json::parse(sealed.leaf);
  leaf["v"] = 1;
  leaf["recorded_at"] = "9999-12-31T00:00:00Z";
  sealed.leaf = leaf.dump();
  EXPECT_FALSE(ParseLeaf(sealed.leaf)) << "a version-1 leaf named a purge";
  ASSERT_TRUE(log_->AppendSealed({input}, {sealed}));
  GetParam().write(spec_, "entries", "recorded_at", "idx = 1", "9999-12-31T00:00:00Z");
  GetParam().exec(spec_, "UPDATE entries SET purged_at = '9999-12-31T00:00:00Z', openings = '' WHERE idx = 0");
  GetParam().exec(spec_, "DELETE FROM documents WHERE entry = 0");
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok) << "a forged purge of a whistleblower record passed verify";
  // Entry 0 is the first casualty: its purge is not a valid logged one.
  EXPECT_EQ(r.first_bad_index, 0u) << r.problem;
  auto signed_over = log_->Checkpoint(signer_);
  ASSERT_FALSE(signed_over) << "the routine checkpoint signed the forgery";
  EXPECT_EQ(signed_over.error().code, core::Code::kDataLoss);
  EXPECT_NE(signed_over.error().message.find("does not verify at index 0"), std::string::npos)
      << signed_over.error().message;
  EXPECT_EQ(storage_->Checkpoints()->size(), 2u);
}

// Leaf versions never decrease: a version-1 leaf after a version-2 one (outside the time rules)
// fails, whatever it records.
TEST_P(StoreTest, AVersion1LeafAfterAVersion2OneFailsVerify) {
  AppendN(2);
  RecordInput input = Record(9);
  SealedRecord sealed = *Seal(input);
  nlohmann::json leaf = nlohmann::json::parse(sealed.leaf);
  leaf["v"] = 1;
  sealed.leaf = leaf.dump();
  ASSERT_TRUE(log_->AppendSealed({input}, {sealed}));
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 2u) << r.problem;
  EXPECT_NE(r.problem.find("versions never decrease"), std::string::npos) << r.problem;
  auto signed_over = log_->Checkpoint(signer_);
  ASSERT_FALSE(signed_over);
  EXPECT_NE(signed_over.error().message.find("at index 2"), std::string::npos) << signed_over.error().message;
  EXPECT_FALSE(ParseLeaf(R"({"v":1,"kind":"purge","recorded_at":"2026-01-01T00:00:00Z","document":{},)"
                         R"("purges":{"index":0,"leaf_hash":")" + std::string(64, '0') + R"("}})"));
}

// Finding 2: an import dating a withdrawal long before the record started the five-year clock in
// the past, so an SSP kept by §22603(a)(5) was purged at once; and events after the record.
TEST_P(StoreTest, AnImportCannotStartARetentionClockInThePast) {
  ASSERT_TRUE(log_->Append({{"ssp", "acme-f1", "protocol v1", At("2026-11-01T00:00:00Z"), {}}}));
  InventoryRows rows = AcmeRows();
  rows.events = {{"acme-f1", "withdrawn", "2000-01-01T00:00:00Z"}};
  ASSERT_TRUE(log_->Import(Import(rows, "2026-11-02T00:00:00Z")));
  ASSERT_TRUE(Verify().ok);
  auto refused = log_->Purge(0, At("2026-11-25T00:00:00Z"));
  ASSERT_FALSE(refused) << "an SSP was purged on a withdrawal back-dated to 2000";
  EXPECT_NE(refused.error().message.find("until 2031-11-02"), std::string::npos) << refused.error().message;
  // An event dated after the record that reports it is refused.
  InventoryRows future = AcmeRows();
  future.events.push_back({"acme-f1", "withdrawn", "2030-01-01T00:00:00Z"});
  auto later = log_->Import(Import(future, "2026-11-03T00:00:00Z"));
  ASSERT_FALSE(later);
  EXPECT_NE(later.error().message.find("after the import"), std::string::npos) << later.error().message;
}

// Finding 3: on an empty log nothing bounded the first record's time: a whistleblower record
// dated 1970 was purgeable at once.
TEST_P(StoreTest, TheFirstRecordCannotBeBackdated) {
  std::string spec = GetParam().fresh_store();
  auto storage = store::Open(spec);
  ASSERT_TRUE(storage) << storage.error().ToString();
  ASSERT_TRUE(Log::Init(**storage, "example.com/fresh", *Signer::Generate("example.com/fresh")));
  Log log(**storage);
  auto appended = log.Append({{"whistleblower-record", "", "disclosure", At("1970-01-01T00:00:00Z"), {}}});
  ASSERT_FALSE(appended) << "the first record was back-dated to 1970";
  EXPECT_EQ(appended.error().field, "recorded-at");
  EXPECT_NE(appended.error().message.find("before the log was initialised"), std::string::npos)
      << appended.error().message;
  EXPECT_EQ(*(*storage)->Size(), 0u);
  core::Instant now(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  EXPECT_TRUE(log.Append({{"whistleblower-record", "", "disclosure", now, {}}}));
  // A first entry whose leaf claims an earlier time fails verify (a raw append).
  std::string spec2 = GetParam().fresh_store();
  auto storage2 = store::Open(spec2);
  ASSERT_TRUE(Log::Init(**storage2, "example.com/fresh", *Signer::Generate("example.com/fresh")));
  Log log2(**storage2);
  RecordInput old{"whistleblower-record", "", "disclosure", At("1970-01-01T00:00:00Z"), {}};
  RecordInput stamped = old;
  stamped.recorded_at = now;
  ASSERT_TRUE(log2.AppendSealed({stamped}, {*Seal(old)}));
  GetParam().write(spec2, "entries", "recorded_at", "idx = 0", "1970-01-01T00:00:00Z");
  VerifyReport r = *log2.Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 0u) << r.problem;
  EXPECT_NE(r.problem.find("before the log was initialised"), std::string::npos) << r.problem;
}

// Finding 5: a full export (salts, redacted fields) was written 0644.
TEST_P(StoreTest, AFullExportIsOwnerOnly) {
  ASSERT_TRUE(log_->Append({{"statement-of-compliance", "acme-f1",
                             R"({"signer":"Jane Roe","role":"CTO","margin_note":"legal only"})",
                             At("2026-11-23T10:00:00Z"), {{"margin_note", "confidential-information"}}}}));
  ASSERT_TRUE(log_->Checkpoint(signer_));
  namespace fs = std::filesystem;
  std::string dir = fs::temp_directory_path() / fmt::format("flopline-mode-{}-{}", getpid(), GetParam().name);
  fs::remove_all(dir);
  ::umask(022);
  ASSERT_TRUE(log_->Export(dir, false));
  for (const auto& f : fs::recursive_directory_iterator(dir)) {
    fs::perms p = f.status().permissions();
    EXPECT_EQ(p & (fs::perms::group_all | fs::perms::others_all), fs::perms::none) << f.path();
  }
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_TRUE(VerifyExport(dir, signer_.VerifierKey(), {})->ok);
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::ValuesIn(testing::Backends()),
                         [](const auto& param_info) { return param_info.param.name; });

// The group committer's destructor fulfils every future it accepted: the writer drains the queue,
// then the completer (which wakes the callers of committed batches) drains what the writer left it.
TEST_P(StoreTest, AGroupCommitterStoppedAtOnceFulfilsEverythingItAccepted) {
  std::vector<std::future<core::Result<Appended>>> futures;
  {
    GroupCommitter committer(*log_, /*max_batch=*/7);
    for (int i = 0; i < 100; ++i) futures.push_back(committer.Submit(Record(i)));
  }
  std::set<uint64_t> indices;
  for (auto& f : futures) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
    auto a = f.get();
    ASSERT_TRUE(a) << a.error().ToString();
    indices.insert(a->index);
  }
  EXPECT_EQ(indices.size(), 100u);
  EXPECT_EQ(*indices.rbegin(), 99u);
  EXPECT_TRUE(Verify().ok);
}

// SQLite's WAL is checkpointed by the store's own thread, off the commit path (issue 16): the
// database file grows while the WAL is still below the size at which a writer checkpoints inline
// (4,000 pages; SQLite's own auto-checkpoint is off), and under appends that never pause the WAL
// stays bounded (without a checkpoint it would hold every page written).
TEST(SqliteStore, TheWalIsCheckpointedByTheStoresThreadAndStaysBounded) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / fmt::format("flopline-wal-{}", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path db = dir / "ledger.db", wal = dir / "ledger.db-wal";
  {
    auto storage = store::Open("sqlite:" + db.string());
    ASSERT_TRUE(storage) << storage.error().ToString();
    Signer signer = *Signer::Generate("example.com/wal");
    ASSERT_TRUE(Log::Init(**storage, "example.com/wal", signer, At("2019-01-01T00:00:00Z")));
    Log log(**storage);
    // 40 records of 4 KiB documents a commit: about 50 WAL pages each.
    auto batch = [&](int b) {
      std::vector<RecordInput> records;
      for (int i = 0; i < 40; ++i) {
        // Plain text (no JSON fields to commit to), so the test spends its time writing.
        records.push_back({"ssp", "acme-f1",
                           fmt::format("protocol {}\n{}", b * 40 + i, std::string(4000, static_cast<char>('a' + i % 26))),
                           At("2026-11-23T10:00:00Z"), {}});
      }
      auto a = log.Append(records);
      ASSERT_TRUE(a) << a.error().ToString();
    };
    const auto db_size_before = fs::file_size(db);
    int b = 0;
    // Past the thread's threshold (1,000 pages), well below the inline one. No checkpoint can have
    // restarted the WAL before the thread's first, so its file grows until then.
    constexpr std::uintmax_t kFrame = 4096 + 24;
    for (; fs::file_size(wal) < 32 + 1000 * kFrame && b < 100; ++b) batch(b);
    ASSERT_LT(fs::file_size(wal), 32 + 3000 * kFrame);
    // The thread copies the WAL into the database file while nothing else writes.
    for (int waited = 0; fs::file_size(db) < db_size_before + 500 * 4096u && waited < 600; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_GE(fs::file_size(db), db_size_before + 500 * 4096u) << "no checkpoint off the commit path";
    // About 8,000 pages more: the WAL never holds much more than the inline threshold and a commit.
    for (int more = 0; more < 160; ++more, ++b) batch(b);
    EXPECT_LT(fs::file_size(wal), 32 + (4000 + 200) * kFrame);
    auto report = log.Verify();
    ASSERT_TRUE(report);
    EXPECT_TRUE(report->ok) << report->problem;
    EXPECT_EQ(*(*storage)->Size(), static_cast<std::uint64_t>(b * 40));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flopline::ledger
