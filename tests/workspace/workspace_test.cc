// The workspace over a real SQLite store: every operation, every mutation in the log, the state
// replayed by a second workspace on the same store (what a replica or a restart sees), and
// refusals that name the field and change nothing.
#include "flopline/workspace/workspace.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "flopline/ledger/inventory.h"
#include "flopline/ledger/log.h"
#include "flopline/store/open.h"

namespace flopline::workspace {
namespace {

using nlohmann::json;

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/flopline-ws-test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    auto signer = ledger::Signer::Generate("test.example/ws");
    ASSERT_TRUE(signer);
    signer_ = *signer;
    ws_ = OpenOne();
    ASSERT_NE(ws_, nullptr);
  }
  void TearDown() override {
    ws_.reset();
    std::filesystem::remove_all(dir_);
  }

  Options Opening() const {
    Options o;
    o.store = "sqlite:" + dir_ + "/ws.db";
    o.regimes_dir = std::string(FLOPLINE_SOURCE_DIR) + "/regimes";
    o.data_dir = std::string(FLOPLINE_SOURCE_DIR) + "/data";
    o.origin = "test.example/ws";
    o.signer = signer_;
    return o;
  }

  std::unique_ptr<Workspace> OpenOne() {
    auto ws = Workspace::Open(Opening());
    EXPECT_TRUE(ws) << (ws ? "" : ws.error().ToString());
    return ws ? std::move(*ws) : nullptr;
  }

  static json Frontier(const std::string& id) {
    return {{"id", id},
            {"developer", "Acme AI"},
            {"developer_revenue_usd", 2e9},
            {"foundation_model", true},
            {"eu_established", false},
            {"training", json::array({{{"kind", "pretrain"}, {"start", "2026-02-01"}, {"flop", 1.2e26},
                                       {"cost_usd", 1.5e8}}})}};
  }

  std::uint64_t Size() { return *ws_->Generation(); }

  std::string dir_;
  ledger::Signer signer_;
  std::unique_ptr<Workspace> ws_;
};

TEST_F(WorkspaceTest, FirstOpenCreatesAnEmptyVerifiableLog) {
  ModelQuery query;
  query.as_of = core::Date::FromYmd(2026, 11, 23);
  auto page = ws_->ListModels(query);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->items.empty());
  EXPECT_TRUE(ws_->LatestCheckpoint());
}

TEST_F(WorkspaceTest, ModelsEventsAndEvidenceAreLoggedAndReplayed) {
  ASSERT_TRUE(ws_->CreateModel(Frontier("acme-f1"), "alice"));
  json chat = {{"id", "acme-f1-chat"}, {"developer", "Acme AI"}, {"base", "acme-f1"}, {"derivation", "fine-tune"},
               {"training", json::array({{{"kind", "fine-tune"}, {"start", "2026-05-01"}, {"flop", 5e24}}})}};
  ASSERT_TRUE(ws_->CreateModel(chat, "alice"));
  auto event = ws_->RecordEvent({{"model", "acme-f1"}, {"kind", "incident-discovered"}, {"at", "2026-11-20T03:00:00Z"}},
                                "bob");
  ASSERT_TRUE(event) << event.error().ToString();
  json changed = Frontier("acme-f1");
  changed["developer_revenue_usd"] = 3e9;
  ASSERT_TRUE(ws_->ChangeModel("acme-f1", changed, "alice"));
  auto filed = ws_->AppendEvidence({{"kind", "ssp"}, {"model", "acme-f1"}, {"document", {{"v", 1}}}}, "carol");
  ASSERT_TRUE(filed) << filed.error().ToString();

  // A second workspace on the same store (a replica, or a restart) replays the same state.
  std::unique_ptr<Workspace> other = OpenOne();
  ASSERT_NE(other, nullptr);
  auto model = other->GetModel("acme-f1");
  ASSERT_TRUE(model);
  EXPECT_EQ((*model)["developer_revenue_usd"], 3e9);
  EXPECT_EQ((*model)["eu_established"], false);
  ASSERT_EQ((*model)["events"].size(), 1u);  // the change kept the event
  EXPECT_EQ((*model)["events"][0]["kind"], "incident-discovered");
  EvidenceQuery ssp;
  ssp.kind = "ssp";
  auto evidence = other->ListEvidence(ssp);
  ASSERT_TRUE(evidence);
  ASSERT_EQ(evidence->items.size(), 1u);
  EXPECT_EQ(evidence->items[0]["index"], (*filed)["index"]);

  // The chat model is judged with its base's compute: the determination names both.
  auto det = other->Determination("acme-f1-chat", core::Date::FromYmd(2026, 11, 23));
  ASSERT_TRUE(det) << det.error().ToString();
  json d = json::parse(*det->json);
  EXPECT_EQ(d["model"]["id"], "acme-f1-chat");
  EXPECT_GT(d["model"]["cumulative_flop"].get<double>(), 1.2e26);
  EXPECT_FALSE(d["model"]["determinations"].empty());

  // The incident starts a clock: it is among the obligations.
  ObligationQuery calendar;
  calendar.as_of = core::Date::FromYmd(2026, 11, 23);
  auto obligations = other->Obligations(calendar);
  ASSERT_TRUE(obligations) << obligations.error().ToString();
  EXPECT_FALSE((*obligations)["items"].empty());

  // Everything verifies, and a checkpoint can be signed over it.
  auto signed_cp = other->SignCheckpoint("alice");
  ASSERT_TRUE(signed_cp) << signed_cp.error().ToString();
  auto storage = store::Open("sqlite:" + dir_ + "/ws.db");
  ASSERT_TRUE(storage);
  ledger::Log log(**storage);
  ASSERT_TRUE(log.PinKey(signer_.VerifierKey()));
  auto report = log.Verify();
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->ok) << report->problem;
}

TEST_F(WorkspaceTest, RefusalsNameTheFieldAndChangeNothing) {
  ASSERT_TRUE(ws_->CreateModel(Frontier("acme-f1"), "alice"));
  std::uint64_t size = Size();
  struct Case {
    json body;
    std::string field;
  };
  json bad_stage = Frontier("x");
  bad_stage["training"][0]["flop"] = "a lot";
  json unknown = Frontier("y");
  unknown["weights"] = "open";
  json empty_key = Frontier("e");
  empty_key[""] = 1e9;  // found by workspace_model_fuzz: the refusal named the field ""
  json no_base = Frontier("z");
  no_base["base"] = "ghost";
  no_base["derivation"] = "fine-tune";
  for (const Case& c : std::vector<Case>{{bad_stage, "training[0].flop"},
                                         {unknown, "weights"},
                                         {empty_key, "\"\""},
                                         {no_base, "base"},
                                         {Frontier("acme-f1"), "id"},
                                         {json::array(), "body"}}) {
    auto r = ws_->CreateModel(c.body, "alice");
    ASSERT_FALSE(r) << c.body.dump();
    EXPECT_EQ(r.error().field, c.field) << r.error().ToString();
  }
  auto blank = NormaliseModelText(R"({"":1e9})");
  ASSERT_FALSE(blank);
  EXPECT_EQ(blank.error().field, "\"\"");
  auto evidence = ws_->AppendEvidence({{"", 1}}, "alice");
  ASSERT_FALSE(evidence);
  EXPECT_EQ(evidence.error().field, "\"\"");
  auto e = ws_->RecordEvent({{"model", "acme-f1"}, {"kind", "teleported"}, {"at", "2026-01-01T00:00:00Z"}}, "bob");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().field, "kind");
  auto cycle = Frontier("acme-f1");
  cycle["base"] = "acme-f1";
  cycle["derivation"] = "copy";
  EXPECT_FALSE(ws_->ChangeModel("acme-f1", cycle, "alice"));
  EXPECT_EQ(Size(), size);
}

TEST_F(WorkspaceTest, ConcurrentChangesAreGroupCommittedAndNoneIsLost) {
  ASSERT_TRUE(ws_->CreateModel(Frontier("acme-f1"), "alice"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string at = fmt::format("2026-0{}-{:02}T00:00:00Z", 1 + t % 8, 1 + i);
        EXPECT_TRUE(ws_->RecordEvent({{"model", "acme-f1"}, {"kind", "training-started"}, {"at", at}}, "bob"));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  auto model = ws_->GetModel("acme-f1");
  ASSERT_TRUE(model);
  EXPECT_EQ((*model)["events"].size(), 80u);
}

// An event recorded alone is appended to its model's events: its import holds that event and no
// model row (it does not rewrite the model's earlier events, whose number would make each event cost
// more), and the tables, a replay and the log's own check agree.
TEST_F(WorkspaceTest, AnEventIsAppendedWithoutRewritingTheModelsEvents) {
  ASSERT_TRUE(ws_->CreateModel(Frontier("acme-f1"), "alice"));
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(ws_->RecordEvent(
        {{"model", "acme-f1"}, {"kind", "training-started"}, {"at", fmt::format("2026-03-0{}T00:00:00Z", 1 + i)}},
        "bob"));
  }
  auto storage = store::Open("sqlite:" + dir_ + "/ws.db");
  ASSERT_TRUE(storage);
  auto size = (*storage)->Size();
  ASSERT_TRUE(size);
  auto last = (*storage)->GetEntry(*size - 1);
  ASSERT_TRUE(last);
  ASSERT_EQ(last->kind, ledger::kInventoryKind);
  auto text = (*storage)->GetDocument(last->index);
  ASSERT_TRUE(text && *text);
  auto doc = ledger::InventoryFromJson(**text);
  ASSERT_TRUE(doc);
  EXPECT_TRUE(doc->rows.models.empty());
  ASSERT_EQ(doc->rows.events.size(), 1u);
  EXPECT_EQ(doc->rows.events[0].at, "2026-03-05T00:00:00Z");
  // A change of the model afterwards keeps every event, in order.
  json changed = Frontier("acme-f1");
  changed["developer_revenue_usd"] = 3e9;
  ASSERT_TRUE(ws_->ChangeModel("acme-f1", changed, "alice"));
  ASSERT_TRUE(ws_->RecordEvent({{"model", "acme-f1"}, {"kind", "released"}, {"at", "2026-04-01T00:00:00Z"}}, "bob"));
  auto tables = (*storage)->ModelEvents("acme-f1");
  ASSERT_TRUE(tables);
  ASSERT_EQ(tables->size(), 6u);
  EXPECT_EQ((*tables)[0].at, "2026-03-01T00:00:00Z");
  EXPECT_EQ((*tables)[5].kind, "released");
  ledger::Log log(**storage);
  auto verified = log.VerifyInventory();
  EXPECT_TRUE(verified) << verified.error().ToString();
  std::unique_ptr<Workspace> other = OpenOne();
  auto model = other->GetModel("acme-f1");
  ASSERT_TRUE(model);
  ASSERT_EQ((*model)["events"].size(), 6u);
  EXPECT_EQ((*model)["events"][5]["kind"], "released");
  EXPECT_EQ((*model)["developer_revenue_usd"], 3e9);
}

// A change states the version it was made from: written only if the model is still at it.
TEST_F(WorkspaceTest, AChangeFromAStaleVersionIsRefusedAndWritesNothing) {
  auto created = ws_->CreateModel(Frontier("acme-f1"), "alice");
  ASSERT_TRUE(created);
  auto model = ws_->GetModel("acme-f1");
  ASSERT_TRUE(model);
  std::uint64_t version = (*model)["version"];
  EXPECT_EQ((*created)["version"], version);
  json changed = Frontier("acme-f1");
  changed["developer_revenue_usd"] = 3e9;
  auto written = ws_->ChangeModel("acme-f1", changed, "alice", version);
  ASSERT_TRUE(written) << written.error().ToString();
  EXPECT_GT((*written)["version"].get<std::uint64_t>(), version);
  // Another replica read the model before that change, and changes it from there: refused.
  std::unique_ptr<Workspace> other = OpenOne();
  std::uint64_t size = Size();
  changed["developer_revenue_usd"] = 4e9;
  auto stale = other->ChangeModel("acme-f1", changed, "carol", version);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, core::Code::kFailedPrecondition);
  EXPECT_EQ(stale.error().field, "if-match");
  EXPECT_NE(stale.error().message.find("'acme-f1'"), std::string::npos);
  EXPECT_EQ(Size(), size);
  // An event changes the version too (the model's answer depends on it).
  std::uint64_t current = (*written)["version"];
  ASSERT_TRUE(ws_->RecordEvent({{"model", "acme-f1"}, {"kind", "released"}, {"at", "2026-04-01T00:00:00Z"}}, "bob"));
  EXPECT_FALSE(other->ChangeModel("acme-f1", changed, "carol", current));
  auto now = other->GetModel("acme-f1");
  ASSERT_TRUE(now);
  EXPECT_TRUE(other->ChangeModel("acme-f1", changed, "carol", (*now)["version"].get<std::uint64_t>()));
}

// Two workspaces on one store (two replicas) changing one model at once: an unconditional change on
// one never drops an event recorded on the other in between (each change is checked against the log
// as it is when written, not as it was read).
TEST_F(WorkspaceTest, TwoReplicasChangingOneModelAtOnceLoseNothing) {
  ASSERT_TRUE(ws_->CreateModel(Frontier("acme-f1"), "alice"));
  std::unique_ptr<Workspace> other = OpenOne();
  ASSERT_NE(other, nullptr);
  std::thread changer([&] {
    for (int i = 0; i < 20; ++i) {
      json changed = Frontier("acme-f1");
      changed["developer_revenue_usd"] = 2e9 + i;
      auto r = ws_->ChangeModel("acme-f1", changed, "alice");
      EXPECT_TRUE(r) << r.error().ToString();
    }
  });
  std::vector<std::thread> recorders;
  for (int t = 0; t < 3; ++t) {
    recorders.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string at = fmt::format("2026-0{}-{:02}T00:00:00Z", 1 + t, 1 + i);
        auto r = other->RecordEvent({{"model", "acme-f1"}, {"kind", "training-started"}, {"at", at}}, "bob");
        EXPECT_TRUE(r) << r.error().ToString();
      }
    });
  }
  changer.join();
  for (std::thread& t : recorders) t.join();
  for (Workspace* w : {ws_.get(), other.get()}) {
    auto model = w->GetModel("acme-f1");
    ASSERT_TRUE(model);
    EXPECT_EQ((*model)["events"].size(), 30u);
  }
}

// The every-model summary is judged once, then kept up to date by judging only what changed and
// its descendants: after changes, it equals what a fresh workspace judges from scratch.
TEST_F(WorkspaceTest, TheSummaryKeptUpToDateEqualsOneJudgedAfresh) {
  json base = Frontier("base");
  base["training"][0]["flop"] = 2e25;
  ASSERT_TRUE(ws_->CreateModel(base, "alice"));
  for (int i = 0; i < 6; ++i) {
    json d = {{"id", fmt::format("derived-{}", i)}, {"developer", "Other AI"}, {"base", "base"},
              {"derivation", "fine-tune"},
              {"training", json::array({{{"kind", "fine-tune"}, {"start", "2026-05-01"}, {"flop", 1e24}}})}};
    ASSERT_TRUE(ws_->CreateModel(d, "alice"));
  }
  // Enough others that the seven changed models and the one with an event are judged again alone
  // (a quarter or more of the models changed is judged afresh).
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(ws_->CreateModel(Frontier(fmt::format("other-{}", i)), "alice"));
  ModelQuery query;
  query.as_of = core::Date::FromYmd(2026, 11, 23);
  query.limit = 1000;
  auto before = ws_->ListModels(query);  // judged once
  ASSERT_TRUE(before);
  // The base crosses the line: it and its six derivatives change, nothing else.
  base["training"][0]["flop"] = 3e26;
  ASSERT_TRUE(ws_->ChangeModel("base", base, "alice"));
  ASSERT_TRUE(ws_->RecordEvent({{"model", "other-3"}, {"kind", "incident-discovered"}, {"at", "2026-11-20T00:00:00Z"}},
                               "bob"));
  auto after = ws_->ListModels(query);
  ASSERT_TRUE(after);
  EXPECT_NE(after->items, before->items);
  std::unique_ptr<Workspace> fresh = OpenOne();
  auto judged = fresh->ListModels(query);
  ASSERT_TRUE(judged);
  EXPECT_EQ(after->items, judged->items);
  ObligationQuery calendar;
  calendar.as_of = query.as_of;
  calendar.limit = 1000;
  auto obligations = ws_->Obligations(calendar);
  auto fresh_obligations = fresh->Obligations(calendar);
  ASSERT_TRUE(obligations && fresh_obligations);
  EXPECT_EQ(*obligations, *fresh_obligations);
  EXPECT_EQ((*obligations)["next_cursor"], nullptr);
  // Paged two at a time, the calendar is the same list.
  json paged = json::array();
  calendar.limit = 2;
  for (int pages = 0; pages < 1000; ++pages) {
    auto page = ws_->Obligations(calendar);
    ASSERT_TRUE(page) << page.error().ToString();
    for (const json& o : (*page)["items"]) paged.push_back(o);
    if ((*page)["next_cursor"].is_null()) break;
    calendar.cursor = (*page)["next_cursor"];
  }
  EXPECT_EQ(paged, (*obligations)["items"]);
  calendar.cursor = "7b7d";  // the hex of "{}"
  auto bad = ws_->Obligations(calendar);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "cursor");
  // A cursor reads back only as the list wrote it: a rank no group has (an int's overflow once), odd
  // or upper-case hex, a short key, are refused naming the cursor.
  const ObligationCursor key{1, "2026-12-01T00:00:00Z", "m", "ca-sb1047", "protocol"};
  auto back = ParseObligationCursor(ObligationCursorText(key));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, key);
  auto hex = [](const std::string& text) {
    std::string out;
    for (unsigned char c : text) out += fmt::format("{:02x}", c);
    return out;
  };
  for (const std::string& text : {hex(R"([4294967297,"~","m","r","d"])"), hex(R"([-1,"~","m","r","d"])"),
                                  hex(R"([0,"~","m","r"])"), std::string("abc"), std::string("7B7D")}) {
    auto refused = ParseObligationCursor(text);
    ASSERT_FALSE(refused) << text;
    EXPECT_EQ(refused.error().field, "cursor");
  }
  // The header's summary is Obligations' first overdue count and next open deadline.
  auto due = ws_->Due(query.as_of);
  ASSERT_TRUE(due);
  std::size_t overdue = 0;
  json next = nullptr;
  for (const json& o : (*obligations)["items"]) {
    if (o["overdue"].get<bool>()) {
      ++overdue;
    } else if (next.is_null() && o["state"] == "open" && !o["due"].is_null()) {
      next = o;
    }
  }
  EXPECT_EQ(due->overdue, overdue);
  EXPECT_EQ(due->next, next);
}

// Sessions end before they expire: a logout ends one; revoking a user's sessions ends those issued
// until then; a disabled user's and one under a role the user no longer has never hold.
TEST_F(WorkspaceTest, SessionsEndedBeforeTheyExpireNoLongerHold) {
  ASSERT_TRUE(ws_->PutUser({"alice", "engineer", "$argon2id$hash1", ""}, "cli"));
  core::Instant issued = *core::Instant::Parse("2026-11-20T10:00:00Z");
  auto holds = [&](Workspace& w, const std::string& role, const std::string& session, core::Instant at) {
    auto h = w.SessionHolds("alice", role, session, at);
    EXPECT_TRUE(h) << h.error().ToString();
    return h && *h;
  };
  EXPECT_TRUE(holds(*ws_, "engineer", "s1", issued));
  EXPECT_FALSE(holds(*ws_, "auditor", "s1", issued));  // another role than the user's
  EXPECT_FALSE(*ws_->SessionHolds("nobody", "engineer", "s1", issued));
  ASSERT_TRUE(ws_->EndSession("alice", "s1"));
  std::unique_ptr<Workspace> other = OpenOne();  // a replica sees it too
  EXPECT_FALSE(holds(*other, "engineer", "s1", issued));
  EXPECT_TRUE(holds(*other, "engineer", "s2", issued));
  User alice = **ws_->FindUser("alice");
  alice.sessions_revoked_at = *core::Instant::Parse("2026-11-21T00:00:00Z");
  ASSERT_TRUE(ws_->PutUser(alice, "cli"));
  EXPECT_FALSE(holds(*other, "engineer", "s2", issued));
  EXPECT_TRUE(holds(*other, "engineer", "s3", *core::Instant::Parse("2026-11-21T00:00:01Z")));
  alice.disabled = true;
  ASSERT_TRUE(ws_->PutUser(alice, "cli"));
  EXPECT_FALSE(holds(*other, "engineer", "s3", *core::Instant::Parse("2026-11-21T00:00:01Z")));
  auto found = other->FindUser("alice");
  ASSERT_TRUE(found && *found);
  EXPECT_TRUE((*found)->disabled);
  EXPECT_EQ((*found)->sessions_revoked_at, alice.sessions_revoked_at);
}

TEST_F(WorkspaceTest, UsersAreLoggedAndTheLatestRecordWins) {
  ASSERT_TRUE(ws_->PutUser({"alice", "engineer", "$argon2id$hash1", ""}, "cli"));
  ASSERT_TRUE(ws_->PutUser({"alice", "auditor", "$argon2id$hash2", "$argon2id$tok"}, "cli"));
  EXPECT_FALSE(ws_->PutUser({"bob", "janitor", "", ""}, "cli"));
  EXPECT_FALSE(ws_->PutUser({"bob.smith", "engineer", "", ""}, "cli"));
  std::unique_ptr<Workspace> other = OpenOne();
  auto alice = other->FindUser("alice");
  ASSERT_TRUE(alice && *alice);
  EXPECT_EQ((*alice)->role, "auditor");
  EXPECT_EQ((*alice)->token_hash, "$argon2id$tok");
  auto bob = other->FindUser("bob");
  ASSERT_TRUE(bob);
  EXPECT_FALSE(*bob);
}

TEST_F(WorkspaceTest, AnotherKeyIsRefused) {
  ws_.reset();
  auto other_key = ledger::Signer::Generate("test.example/ws");
  ASSERT_TRUE(other_key);
  signer_ = *other_key;
  auto ws = Workspace::Open(Opening());
  ASSERT_FALSE(ws);
  EXPECT_EQ(ws.error().field, "--key");
}

}  // namespace
}  // namespace flopline::workspace

namespace flopline::workspace {
namespace {

// Within a ReadOnce scope a thread reads the log once: another replica's write is seen from the
// next scope (the next request), not in the middle of one.
TEST_F(WorkspaceTest, AReadOnceScopeReadsTheLogOnce) {
  std::unique_ptr<Workspace> other = OpenOne();
  ASSERT_TRUE(ws_->CreateModel(Frontier("first"), "alice"));
  {
    Workspace::ReadOnce once(*other);
    ASSERT_TRUE(other->GetModel("first"));  // the scope's one read
    ASSERT_TRUE(ws_->CreateModel(Frontier("second"), "alice"));
    auto unseen = other->GetModel("second");
    ASSERT_FALSE(unseen);
    EXPECT_EQ(unseen.error().code, core::Code::kNotFound);
  }
  EXPECT_TRUE(other->GetModel("second"));  // out of the scope: read again
  Workspace::ReadOnce once(*other);         // and a new scope's first call reads too
  ASSERT_TRUE(ws_->CreateModel(Frontier("third"), "alice"));
  EXPECT_TRUE(other->GetModel("third"));
}

// RecordEventThen answers through its callback once the event is durable, without a waiting
// thread; a body refused as it is read is answered at once.
TEST_F(WorkspaceTest, RecordEventThenAnswersWhenTheEventIsDurable) {
  ASSERT_TRUE(ws_->CreateModel(Frontier("acme-f1"), "alice"));
  std::promise<core::Result<json>> answered;
  ws_->RecordEventThen({{"model", "acme-f1"}, {"kind", "released"}, {"at", "2026-06-01T00:00:00Z"}}, "bob",
                       [&](core::Result<json> r) { answered.set_value(std::move(r)); });
  auto event = answered.get_future().get();
  ASSERT_TRUE(event) << event.error().ToString();
  EXPECT_EQ((*event)["kind"], "released");
  EXPECT_EQ((*OpenOne()->GetModel("acme-f1"))["events"].size(), 1u);  // in the log: another reader sees it
  std::optional<core::Result<json>> refused;
  ws_->RecordEventThen({{"model", "acme-f1"}, {"kind", "exploded"}, {"at", "2026-06-01T00:00:00Z"}}, "bob",
                       [&](core::Result<json> r) { refused = std::move(r); });
  ASSERT_TRUE(refused);  // at once, on this thread
  ASSERT_FALSE(*refused);
  EXPECT_EQ(refused->error().field, "kind");
  std::promise<core::Result<json>> missing;
  ws_->RecordEventThen({{"model", "nobody"}, {"kind", "released"}, {"at", "2026-06-01T00:00:00Z"}}, "bob",
                       [&](core::Result<json> r) { missing.set_value(std::move(r)); });
  auto none = missing.get_future().get();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().field, "model");
}

// A server that is stopping interrupts the workspace: no summary of every model is judged or brought
// up to date from then on (kUnavailable, so that a stop does not wait for one), the one judged and
// up to date is still read, and writes go on, durable, as before: nothing stored is lost.
TEST_F(WorkspaceTest, AnInterruptedWorkspaceJudgesNoSummaryButKeepsWriting) {
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(ws_->CreateModel(Frontier(fmt::format("m{}", i)), "alice"));
  const core::Date as_of = core::Date::FromYmd(2026, 11, 23);
  ASSERT_TRUE(ws_->Warm(as_of));
  ModelQuery query;
  query.as_of = as_of;
  auto judged = ws_->ListModels(query);
  ASSERT_TRUE(judged);
  ws_->Interrupt();
  ws_->Interrupt();  // more than once: the same
  auto still = ws_->ListModels(query);  // judged and up to date: read as it was
  ASSERT_TRUE(still) << still.error().ToString();
  EXPECT_EQ(still->items, judged->items);
  // Another date's summary is not judged, nor is Warm's.
  query.as_of = core::Date::FromYmd(2026, 12, 1);
  auto other = ws_->ListModels(query);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, core::Code::kUnavailable);
  auto warm = ws_->Warm(query.as_of);
  ASSERT_FALSE(warm);
  EXPECT_EQ(warm.error().code, core::Code::kUnavailable);
  // Writes go on, and are durable.
  auto event = ws_->RecordEvent({{"model", "m3"}, {"kind", "released"}, {"at", "2026-06-01T00:00:00Z"}}, "bob");
  ASSERT_TRUE(event) << event.error().ToString();
  ASSERT_TRUE(ws_->CreateModel(Frontier("m8"), "alice"));
  // The summary the change made stale is not brought up to date, nor the obligations built from it.
  query.as_of = as_of;
  auto stale = ws_->ListModels(query);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, core::Code::kUnavailable);
  ObligationQuery calendar;
  calendar.as_of = as_of;
  auto obligations = ws_->Obligations(calendar);
  ASSERT_FALSE(obligations);
  EXPECT_EQ(obligations.error().code, core::Code::kUnavailable);
  // One model's determination is not a summary: it is still answered.
  EXPECT_TRUE(ws_->Determination("m8", as_of));
  // Nothing is lost: the next start reads every write and judges every model.
  ws_.reset();
  ws_ = OpenOne();
  ASSERT_NE(ws_, nullptr);
  EXPECT_EQ((*ws_->GetModel("m3"))["events"].size(), 1u);
  query.limit = 1000;
  auto after = ws_->ListModels(query);
  ASSERT_TRUE(after) << after.error().ToString();
  EXPECT_EQ(after->items.size(), 9u);
}

// An import replaces each model's lineage row ("DELETE FROM lineage WHERE derivative = ?"): the store
// finds it by an index (migration 3). Without one, each model scanned the whole lineage table, so
// importing n models read n^2 rows (20,000 models: 9.5 s of CPU, now 3 s).
TEST_F(WorkspaceTest, AnImportFindsEachModelsLineageRowByIndex) {
  ASSERT_TRUE(ws_->CreateModel(Frontier("base"), "alice"));
  json d = {{"id", "derived"}, {"developer", "Other AI"}, {"base", "base"}, {"derivation", "fine-tune"},
            {"training", json::array({{{"kind", "fine-tune"}, {"start", "2026-05-01"}, {"flop", 1e24}}})}};
  ASSERT_TRUE(ws_->CreateModel(d, "alice"));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir_ + "/ws.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* plan = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "EXPLAIN QUERY PLAN DELETE FROM lineage WHERE derivative = 'derived'", -1, &plan,
                               nullptr),
            SQLITE_OK);
  std::string details;
  while (sqlite3_step(plan) == SQLITE_ROW) details += reinterpret_cast<const char*>(sqlite3_column_text(plan, 3));
  sqlite3_finalize(plan);
  sqlite3_close(db);
  EXPECT_NE(details.find("INDEX lineage_by_derivative"), std::string::npos) << details;
  EXPECT_EQ(details.find("SCAN"), std::string::npos) << details;
  EXPECT_EQ((*ws_->GetModel("derived"))["base"], "base");
}

// Judging every model (Warm, as `flopline serve` starts) is done outside the workspace's lock, from
// the models as they were: paused there (the test's hook), writes, reads and one model's
// determination go on; the summary it then publishes is brought up to date with the writes made
// meanwhile (judging only those models again), and equals one judged afresh.
TEST_F(WorkspaceTest, AWriteDuringWarmIsNotHeldUpByIt) {
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(ws_->CreateModel(Frontier(fmt::format("m{}", i)), "alice"));
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> judgings{0};
  Options paused = Opening();
  paused.judging_hook = [&] {
    if (judgings++ == 0) {
      entered.set_value();
      released.wait();
    }
  };
  ws_.reset();
  auto opened = Workspace::Open(paused);
  ASSERT_TRUE(opened) << opened.error().ToString();
  ws_ = std::move(*opened);
  const core::Date as_of = core::Date::FromYmd(2026, 11, 23);
  auto warm = std::async(std::launch::async, [&] { return ws_->Warm(as_of); });
  entered.get_future().wait();  // Warm has its snapshot and is judging it, outside the lock
  auto writes = std::async(std::launch::async, [&]() -> std::string {
    if (auto r = ws_->CreateModel(Frontier("late"), "alice"); !r) return r.error().ToString();
    auto e = ws_->RecordEvent({{"model", "m1"}, {"kind", "incident-discovered"}, {"at", "2026-11-20T00:00:00Z"}}, "bob");
    if (!e) return e.error().ToString();
    if (auto m = ws_->GetModel("late"); !m) return m.error().ToString();
    if (auto d = ws_->Determination("late", as_of); !d) return d.error().ToString();
    return "";
  });
  // Not a timing check: a deadlock guard. Held behind Warm, they would wait until it is released.
  bool done = writes.wait_for(std::chrono::seconds(120)) == std::future_status::ready;
  // Warm cannot have finished: it is still paused in the hook.
  EXPECT_EQ(warm.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  release.set_value();
  auto warmed = warm.get();
  ASSERT_TRUE(done) << "a write waited for Warm";
  EXPECT_EQ(writes.get(), "");
  ASSERT_TRUE(warmed) << warmed.error().ToString();
  // The summary covers the writes made while it judged: the new model, the event's obligations.
  ModelQuery query;
  query.as_of = as_of;
  query.limit = 1000;
  auto listed = ws_->ListModels(query);
  ASSERT_TRUE(listed) << listed.error().ToString();
  EXPECT_EQ(listed->items.size(), 13u);
  EXPECT_EQ(judgings.load(), 1);  // the two changed models were judged again alone, not all of them
  std::unique_ptr<Workspace> fresh = OpenOne();
  auto judged = fresh->ListModels(query);
  ASSERT_TRUE(judged);
  EXPECT_EQ(listed->items, judged->items);
  ObligationQuery calendar;
  calendar.as_of = as_of;
  calendar.limit = 1000;
  auto obligations = ws_->Obligations(calendar);
  auto fresh_obligations = fresh->Obligations(calendar);
  ASSERT_TRUE(obligations && fresh_obligations);
  EXPECT_EQ(*obligations, *fresh_obligations);
}

// Judging every model failing by an exception (bad_alloc on a large inventory) leaves no date
// marked as being judged: a later reader of that date is answered (it waited forever before).
TEST_F(WorkspaceTest, AJudgingThatThrowsDoesNotHoldUpLaterReadersOfItsDate) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ws_->CreateModel(Frontier(fmt::format("m{}", i)), "alice"));
  std::atomic<int> judgings{0};
  Options failing = Opening();
  failing.judging_hook = [&] {
    if (judgings++ == 0) throw std::bad_alloc();
  };
  ws_.reset();
  auto opened = Workspace::Open(failing);
  ASSERT_TRUE(opened) << opened.error().ToString();
  ws_ = std::move(*opened);
  const core::Date as_of = core::Date::FromYmd(2026, 11, 23);
  auto warmed = ws_->Warm(as_of);
  ASSERT_FALSE(warmed);
  EXPECT_NE(warmed.error().message.find("as of 2026-11-23"), std::string::npos) << warmed.error().ToString();
  // Not a timing check: a hang guard (the read runs on a thread of its own, left behind if it hangs).
  auto answered = std::make_shared<std::promise<std::size_t>>();
  std::future<std::size_t> answer = answered->get_future();
  std::thread([ws = ws_.get(), as_of, answered] {
    ModelQuery query;
    query.as_of = as_of;
    query.limit = 1000;
    auto listed = ws->ListModels(query);
    answered->set_value(listed ? listed->items.size() : 0);
  }).detach();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(120)), std::future_status::ready) << "a reader of the date hung";
  EXPECT_EQ(answer.get(), 3u);
  EXPECT_EQ(judgings.load(), 2);
  EXPECT_TRUE(ws_->Warm(as_of));
}

// The determinations kept for Determination are bounded in bytes (a reader iterating dates grew
// them without bound), the least recently asked dropped first.
TEST_F(WorkspaceTest, TheDeterminationsKeptAreBoundedInBytes) {
  ASSERT_TRUE(ws_->CreateModel(Frontier("m0"), "alice"));
  Options small = Opening();
  auto one = ws_->Determination("m0", core::Date::FromYmd(2026, 1, 1));
  ASSERT_TRUE(one) << one.error().ToString();
  small.determination_cache_bytes = one->json->size() * 5 + one->json->size() / 2;  // room for 5
  ws_.reset();
  auto opened = Workspace::Open(small);
  ASSERT_TRUE(opened) << opened.error().ToString();
  ws_ = std::move(*opened);
  const core::Date first = core::Date::FromYmd(2026, 1, 1);
  auto kept = ws_->Determination("m0", first);
  ASSERT_TRUE(kept);
  std::shared_ptr<const std::string> second;  // 2026-01-02's, held here
  for (int day = 1; day < 40; ++day) {
    auto d = ws_->Determination("m0", core::Date::FromYmd(2026, 1 + day / 28, 1 + day % 28));
    ASSERT_TRUE(d) << d.error().ToString();
    if (day == 1) second = d->json;
    EXPECT_LE(ws_->DeterminationCacheBytes(), small.determination_cache_bytes);
    if (day % 3 == 0) {  // asked again often: kept, the same answer
      auto again = ws_->Determination("m0", first);
      ASSERT_TRUE(again);
      EXPECT_EQ(again->json, kept->json);
    }
  }
  EXPECT_GT(ws_->DeterminationCacheBytes(), 0u);
  // One not asked for a while was dropped: judged again, equal.
  auto dropped = ws_->Determination("m0", core::Date::FromYmd(2026, 1, 2));
  ASSERT_TRUE(dropped);
  EXPECT_NE(dropped->json, second);
  EXPECT_EQ(*dropped->json, *second);
  auto fresh = OpenOne()->Determination("m0", core::Date::FromYmd(2026, 1, 2));
  ASSERT_TRUE(fresh);
  EXPECT_EQ(*dropped->json, *fresh->json);
}

// The evidence list says what each record withholds from public copies; the kill switch's agents
// are those the recorded drills and orders reached, each with its latest.
TEST_F(WorkspaceTest, EvidenceRedactionsAndTheKillSwitchAgentsAreListed) {
  ASSERT_TRUE(ws_->CreateModel(Frontier("acme-f1"), "alice"));
  ASSERT_TRUE(ws_->AppendEvidence({{"kind", "test-results"}, {"model", "acme-f1"},
                                   {"document", {{"suite", "cyber"}, {"harness", "internal"}}},
                                   {"redactions", {{"harness", "trade-secret"}}}},
                                  "alice"));
  json drill = {{"fence", 7}, {"scope", "lineage:acme-f1"}, {"reason", "drill"}, {"drill", true}, {"targeted", 2},
                {"stopped", 1}, {"stopped_agents", {"train-a"}}, {"drained_agents", json::array()},
                {"not_stopped", {"serve-b"}}, {"not_stopped_why", {{"serve-b", "no confirmation before the timeout"}}},
                {"acks", {{"train-a", {{"id", "train-a"}, {"fence", 7}, {"result", "stopped"}, {"stopped_at_ms", 1764000000000}}}}},
                {"elapsed_ms", 1840}, {"complete", false}};
  ASSERT_TRUE(ws_->AppendEvidence({{"kind", "shutdown-drill"}, {"document", drill}}, "alice"));
  drill["fence"] = 9;
  drill["drill"] = false;
  drill["stopped_agents"] = {"train-a", "serve-b"};
  drill["not_stopped"] = json::array();
  auto order = ws_->AppendEvidence({{"kind", "shutdown-order"}, {"document", drill}}, "alice");
  ASSERT_TRUE(order) << order.error().ToString();

  std::unique_ptr<Workspace> replayed = OpenOne();
  for (Workspace* w : {ws_.get(), replayed.get()}) {  // as written, and as replayed
    EvidenceQuery q;
    q.kind = "test-results";
    auto listed = w->ListEvidence(q);
    ASSERT_TRUE(listed);
    ASSERT_EQ(listed->items.size(), 1u);
    EXPECT_EQ(listed->items[0]["redactions"], json({{"harness", "trade-secret"}}));
    auto agents = w->KillswitchAgents();
    ASSERT_TRUE(agents) << agents.error().ToString();
    const json& list = (*agents)["agents"];
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0]["id"], "serve-b");
    EXPECT_EQ(list[0]["drills"], 1);
    EXPECT_EQ(list[0]["orders"], 1);
    EXPECT_EQ(list[0]["last"]["kind"], "shutdown-order");
    EXPECT_EQ(list[0]["last"]["result"], "stopped");
    EXPECT_EQ(list[1]["id"], "train-a");
    EXPECT_EQ(list[1]["last"]["index"], (*order)["index"]);
    EXPECT_EQ(list[1]["last"]["stopped_at"], "2025-11-24T16:00:00Z");
  }
}

}  // namespace
}  // namespace flopline::workspace
