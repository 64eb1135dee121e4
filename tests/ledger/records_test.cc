// Evidence records: kinds and clauses, sealing, redaction that keeps the log verifiable, retention.
#include "flopline/ledger/inventory.h"
#include "flopline/ledger/records.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace flopline::ledger {
namespace {

using nlohmann::json;

core::Instant At(const char* text) { return *core::Instant::Parse(text); }

RecordInput Statement() {
  return {"statement-of-compliance", "acme-f1",
          R"({"signer":"Jane Roe","role":"Chief Technology Officer","year":2026,"internal_note":"ask legal"})",
          At("2026-03-01T00:00:00Z"), {{"internal_note", "confidential-information"}}};
}

// A clause: a section of a US statute ("§22603(f)") or an article of the EU AI Act ("Art. 52(1)").
bool CitesAClause(std::string_view text) {
  return text.find("§") != std::string_view::npos || text.find("Art. ") != std::string_view::npos;
}

TEST(Records, EveryKindCitesItsClause) {
  for (const RecordKind& k : RecordKinds()) {
    EXPECT_TRUE(CitesAClause(k.serves)) << k.name;
    if (k.retention != Retention::kNone) {
      EXPECT_TRUE(CitesAClause(k.retention_clause)) << k.name;
    }
  }
  EXPECT_EQ(FindRecordKind("ssp")->retention_clause, "SB 1047 §22603(a)(5)");
  EXPECT_EQ(FindRecordKind("whistleblower-record")->years, 7);
  EXPECT_EQ(FindRecordKind("nonsense"), nullptr);
}

TEST(Records, TheLeafHoldsCommitmentsNeverValues) {
  SealedRecord s = *Seal(Statement());
  EXPECT_EQ(s.leaf.find("Jane Roe"), std::string::npos);
  EXPECT_EQ(s.leaf.find("ask legal"), std::string::npos);
  json leaf = json::parse(s.leaf);
  EXPECT_EQ(leaf["kind"], "statement-of-compliance");
  EXPECT_EQ(leaf["serves"], "SB 1047 §22603(f)(1)");
  EXPECT_EQ(leaf["fields"].size(), 4u);
  EXPECT_EQ(leaf["redactions"]["internal_note"], "confidential-information");
  EXPECT_EQ(s.content_hash, Sha256(Statement().document));
  // Fresh salts: the same record sealed twice commits differently, so a guess cannot be confirmed.
  EXPECT_NE(Seal(Statement())->leaf, s.leaf);
}

TEST(Records, TheOriginalOpensTheLeafAndNothingElseDoes) {
  SealedRecord s = *Seal(Statement());
  EXPECT_TRUE(CheckOpening(s.leaf, Statement().document, s.openings));
  std::string changed = Statement().document;
  changed.replace(changed.find("Jane"), 4, "John");
  EXPECT_FALSE(CheckOpening(s.leaf, changed, s.openings));
  SealedRecord other = *Seal(Statement());
  EXPECT_FALSE(CheckOpening(s.leaf, Statement().document, other.openings));  // wrong salts
}

TEST(Records, APublicCopyDisclosesWhatIsNotRedactedAndVerifies) {
  SealedRecord s = *Seal(Statement());
  json d = json::parse(*PublicDisclosure(s.leaf, Statement().document, s.openings));
  EXPECT_TRUE(d["fields"].contains("signer"));
  EXPECT_FALSE(d["fields"].contains("internal_note"));
  EXPECT_FALSE(d.contains("document_salt"));  // the whole document would reveal the redacted field
  EXPECT_EQ(d["redacted"]["internal_note"], "confidential-information");
  EXPECT_TRUE(CheckDisclosure(s.leaf, d.dump()));
  d["fields"]["role"]["value"] = "Intern";  // a published copy that was edited
  EXPECT_FALSE(CheckDisclosure(s.leaf, d.dump()));
}

TEST(Records, AWithheldDocumentDisclosesNothingButStillVerifies) {
  RecordInput r{"ssp", "acme-f1", "%PDF-1.7 the unredacted protocol", At("2026-03-01T00:00:00Z"),
                {{"*", "public-safety"}}};
  SealedRecord s = *Seal(r);
  EXPECT_TRUE(CheckOpening(s.leaf, r.document, s.openings));
  json d = json::parse(*PublicDisclosure(s.leaf, r.document, s.openings));
  EXPECT_TRUE(d["fields"].empty());
  EXPECT_FALSE(d.contains("document_salt"));
  EXPECT_EQ(d["redacted"]["*"], "public-safety");
  EXPECT_TRUE(CheckDisclosure(s.leaf, d.dump()));
  EXPECT_EQ(json::parse(s.leaf)["document"]["type"], "bytes");
}

TEST(Records, KindsCheckTheirFields) {
  RecordInput r = Statement();
  r.document = R"({"signer":"Jane Roe"})";
  r.redactions.clear();
  auto missing = Seal(r);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().field, "role");
  r = Statement();
  r.model.clear();
  EXPECT_EQ(Seal(r).error().field, "model");
  r = Statement();
  r.redactions = {{"signer", "because"}};
  EXPECT_EQ(Seal(r).error().field, "redact");
  r = Statement();
  r.redactions = {{"absent", "trade-secret"}};
  EXPECT_EQ(Seal(r).error().field, "redact");
  r.kind = "diary";
  EXPECT_EQ(Seal(r).error().field, "kind");
}

TEST(Records, ALateIncidentReportIsRecordedWithANotice) {
  RecordInput r{"incident-report", "acme-f1",
                R"({"discovered_at":"2026-05-01T00:00:00Z","reported_at":"2026-05-04T08:00:00Z","summary":"x"})",
                At("2026-05-04T09:00:00Z"), {}};
  SealedRecord s = *Seal(r);
  ASSERT_EQ(s.notices.size(), 1u);
  EXPECT_NE(s.notices[0].find("80 hours"), std::string::npos);
  EXPECT_NE(s.notices[0].find("§22603(g)"), std::string::npos);
  r.document = R"({"discovered_at":"2026-05-01T00:00:00Z","reported_at":"2026-05-03T23:00:00Z"})";
  EXPECT_TRUE(Seal(r)->notices.empty());
}

TEST(Records, RetentionFollowsTheClauses) {
  const RecordKind& ssp = *FindRecordKind("ssp");
  core::Instant recorded = At("2026-01-10T00:00:00Z");
  RetentionEnd available = RetentionOf(ssp, recorded, {{"released", At("2026-06-01T00:00:00Z")}});
  EXPECT_FALSE(available.until);
  EXPECT_NE(available.reason.find("§22603(a)(5)"), std::string::npos);
  RetentionEnd withdrawn = RetentionOf(ssp, recorded, {{"released", At("2026-06-01T00:00:00Z")},
                                                       {"withdrawn", At("2028-02-29T12:00:00Z")}});
  EXPECT_EQ(withdrawn.until->ToString(), "2033-02-28T12:00:00Z");
  // Released again after a withdrawal: available again, kept again.
  EXPECT_FALSE(RetentionOf(ssp, recorded, {{"withdrawn", At("2027-01-01T00:00:00Z")},
                                           {"released", At("2027-06-01T00:00:00Z")}}).until);
  RetentionEnd whistle = RetentionOf(*FindRecordKind("whistleblower-record"), recorded, {});
  EXPECT_EQ(whistle.until->ToString(), "2033-01-10T00:00:00Z");
  EXPECT_NE(whistle.reason.find("§22607(e)"), std::string::npos);
  EXPECT_EQ(RetentionOf(*FindRecordKind("shutdown-drill"), recorded, {}).until, core::Instant());
}

TEST(Records, TheLeafStatesKindModelTimeAndWhatAPurgePurged) {
  SealedRecord s = *Seal(Statement());
  LeafInfo info = *ParseLeaf(s.leaf);
  EXPECT_EQ(info.version, 2);
  EXPECT_EQ(info.kind, "statement-of-compliance");
  EXPECT_FALSE(info.purges);
  std::string restamped = *Restamp(s.leaf, At("2027-01-01T00:00:00Z"));
  EXPECT_EQ(ParseLeaf(restamped)->recorded_at, At("2027-01-01T00:00:00Z"));
  EXPECT_EQ(ParseLeaf(restamped)->kind, info.kind);
  // Purges and inventories are the log's own records: `append` refuses them.
  std::string hash(64, 'a');
  RecordInput purge{"purge", "", R"({"index":3,"leaf_hash":")" + hash + R"(","reason":"r"})",
                    At("2026-01-01T00:00:00Z"), {}};
  EXPECT_FALSE(Seal(purge));
  LeafInfo purged = *ParseLeaf(SealInternal(purge)->leaf);
  ASSERT_TRUE(purged.purges);
  EXPECT_EQ(purged.purges->index, 3u);
  purge.document = R"({"index":"3","leaf_hash":"x","reason":"r"})";
  EXPECT_FALSE(SealInternal(purge));
  for (const char* bad : {"", "[]", R"({"v":3,"kind":"ssp","recorded_at":"2026-01-01T00:00:00Z","document":{}})",
                          R"({"v":2,"kind":"ssp","recorded_at":"2026-01-01","document":{}})",
                          R"({"v":2,"kind":"purge","recorded_at":"2026-01-01T00:00:00Z","document":{}})",
                          R"({"v":2,"kind":5,"recorded_at":"2026-01-01T00:00:00Z","document":{}})"}) {
    EXPECT_FALSE(ParseLeaf(bad)) << bad;
  }
}

TEST(Inventory, RoundTripsAndReplaysLikeTheBackends) {
  InventoryDocument doc;
  doc.rows.models.push_back({"m", "Acme", "", "pretrain", true, 1.5e9});
  doc.rows.models.push_back({"m-chat", "Acme", "m", "fine-tune", false, std::nullopt});
  doc.rows.runs.push_back({"m", "pretrain", "2026-01-01", "given", 1.2e26, std::nullopt});
  doc.rows.events.push_back({"m", "released", "2026-02-01T00:00:00Z"});
  doc.file_sha256.push_back(std::string(64, '0'));
  InventoryDocument back = *InventoryFromJson(InventoryToJson(doc));
  EXPECT_EQ(InventoryToJson(back), InventoryToJson(doc));
  InventoryReplay replay;
  replay.Apply(back.rows);
  InventoryRows tables = replay.Tables();
  ASSERT_EQ(tables.lineage.size(), 1u);
  EXPECT_EQ(tables.lineage[0].base, "m");
  EXPECT_EQ(tables.developers, std::vector<std::string>{"Acme"});
  EXPECT_FALSE(InventoryDifference(tables, tables));
  InventoryRows edited = tables;
  edited.lineage.clear();
  EXPECT_NE(InventoryDifference(tables, edited)->find("lineage"), std::string::npos);
  // A re-import replaces the model's lineage edge, runs and events.
  doc.rows.models[1].base = "";
  doc.rows.runs.clear();
  replay.Apply(doc.rows);
  EXPECT_TRUE(replay.Tables().lineage.empty());
  EXPECT_TRUE(replay.Tables().runs.empty());
  for (const char* bad : {"{}", R"({"models":[{"id":5}],"runs":[],"events":[],"files":[]})",
                          R"({"models":[],"runs":[{"model":"m","kind":"k","start":"s","flop_method":"f","flop":"1"}],)"
                          R"("events":[],"files":[]})",
                          R"({"models":[],"runs":[],"events":[],"files":["short"]})"}) {
    EXPECT_FALSE(InventoryFromJson(bad)) << bad;
  }
}

// Security review of issue 10, finding 6: a leaf or openings of the wrong JSON types (hostile stored
// data) threw out of CheckOpening and aborted verify and show.
TEST(Records, HostileLeavesAndOpeningsAreRefusedNotThrown) {
  RecordInput input = Statement();
  input.redactions.clear();
  SealedRecord s = *Seal(input);
  ASSERT_TRUE(CheckOpening(s.leaf, input.document, s.openings));
  json leaf = json::parse(s.leaf);
  json openings = json::parse(s.openings);
  std::vector<std::pair<json, json>> hostile;
  for (json commitment : {json(5), json::array(), json(nullptr), json::object()}) {
    json l = leaf;
    l["document"]["commitment"] = commitment;
    hostile.emplace_back(l, openings);
  }
  for (json fields : {json(5), json::array({1}), json("x")}) {
    json o = openings;
    o["fields"] = fields;
    hostile.emplace_back(leaf, o);
    json l = leaf;
    l["fields"] = fields;
    hostile.emplace_back(l, openings);
  }
  {
    json l = leaf;
    l["fields"]["signer"] = 7;  // a commitment that is not a string
    hostile.emplace_back(l, openings);
    json o = openings;
    o["fields"].erase("signer");
    hostile.emplace_back(leaf, o);
  }
  for (const auto& [l, o] : hostile) {
    core::Result<void> r = core::Ok();
    EXPECT_NO_THROW(r = CheckOpening(l.dump(), input.document, o.dump())) << l.dump() << " " << o.dump();
    EXPECT_FALSE(r) << l.dump() << " " << o.dump();
    EXPECT_NO_THROW((void)PublicDisclosure(l.dump(), input.document, o.dump())) << l.dump() << " " << o.dump();
  }
  json l = leaf;
  l["redactions"] = "all";
  core::Result<std::string> d = std::string();
  EXPECT_NO_THROW(d = PublicDisclosure(l.dump(), input.document, s.openings));
  EXPECT_FALSE(d);
  EXPECT_NO_THROW((void)CheckDisclosure(s.leaf, R"({"fields":{"signer":{"value":"x"}}})"));
  EXPECT_FALSE(CheckDisclosure(s.leaf, R"({"fields":{"signer":{"value":"x"}}})"));
}

}  // namespace
}  // namespace flopline::ledger
