// The document kinds as shipped (documents/*.toml) against the law (regimes/*.toml and the clauses of
// shared/law/regimes.md), the kinds and fill parsers' errors, building and rendering.
#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "flopline/documents/document.h"
#include "flopline/documents/fill.h"
#include "flopline/documents/kinds.h"
#include "flopline/rules/regime.h"

namespace flopline::documents {
namespace {

std::string SourcePath(const std::string& rel) { return std::string(FLOPLINE_SOURCE_DIR) + "/" + rel; }

const std::vector<DocumentKind>& Shipped() {
  static const std::vector<DocumentKind> kinds = [] {
    auto k = LoadKindDir(SourcePath("documents"));
    EXPECT_TRUE(k) << k.error().ToString();
    return k ? *k : std::vector<DocumentKind>{};
  }();
  return kinds;
}

const DocumentKind& Kind(const std::string& id) {
  const DocumentKind* k = FindKind(Shipped(), id);
  EXPECT_NE(k, nullptr) << id;
  static DocumentKind empty;
  return k ? *k : empty;
}

bool Has(const DocumentKind& k, const std::string& id) { return k.FindElement(id) != nullptr; }

TEST(DocumentKindsTest, ShippedKindsLoadAndMatchTheRegimes) {
  auto regimes = rules::LoadRegimeDir(SourcePath("regimes"));
  ASSERT_TRUE(regimes) << regimes.error().ToString();
  auto checked = CheckAgainstRegimes(Shipped(), *regimes);
  EXPECT_TRUE(checked) << checked.error().ToString();
  std::vector<std::string> ids;
  for (const DocumentKind& k : Shipped()) ids.push_back(k.id);
  for (const char* id : {"sb1047-ssp", "sb1047-statement-of-compliance", "sb1047-incident-report",
                         "sb1047-audit-report", "sb53-frontier-ai-framework", "sb53-transparency-report",
                         "sb53-critical-incident-report", "raise-frontier-ai-framework", "raise-incident-report",
                         "eu-art52-notification", "eu-annex-xi-technical-documentation"}) {
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
  }
}

TEST(DocumentKindsTest, EveryElementCitesItsClause) {
  for (const DocumentKind& k : Shipped()) {
    EXPECT_FALSE(k.required_by.empty()) << k.id;
    for (const Element& e : k.elements) {
      EXPECT_FALSE(e.cite.empty()) << k.id << "." << e.id;
      EXPECT_FALSE(e.law.empty()) << k.id << "." << e.id;
    }
  }
}

// SB 1047 §22603(a)(3)(A)-(I): every lettered element of the protocol (regimes.md T3).
TEST(DocumentKindsTest, SspHasEveryElementOf22603a3) {
  const DocumentKind& ssp = Kind("sb1047-ssp");
  for (char letter = 'A'; letter <= 'I'; ++letter) {
    std::string id = std::string("a3") + letter;
    const Element* e = ssp.FindElement(id);
    ASSERT_NE(e, nullptr) << id;
    EXPECT_EQ(e->cite, std::string("§22603(a)(3)(") + letter + ")");
    EXPECT_EQ(e->text, TextNeed::kRequired) << id;
  }
}

TEST(DocumentKindsTest, StatementAuditAndIncidentElements) {
  const DocumentKind& soc = Kind("sb1047-statement-of-compliance");
  for (const char* id : {"f2A", "f2B", "f2C"}) EXPECT_TRUE(Has(soc, id)) << id;
  EXPECT_EQ(soc.signer_cite, "§22603(f)(1)");
  EXPECT_EQ(soc.record_kind, "statement-of-compliance");
  const DocumentKind& audit = Kind("sb1047-audit-report");
  for (const char* id : {"e4A", "e4B", "e4C", "e4D"}) EXPECT_TRUE(Has(audit, id)) << id;
  EXPECT_TRUE(audit.FindElement("e4D")->signatory);
  EXPECT_TRUE(Has(Kind("sb1047-incident-report"), "g-learned"));
  const DocumentKind& framework = Kind("sb53-frontier-ai-framework");
  EXPECT_EQ(framework.elements.size(), 11u);  // the developer, then the ten topics of §22757.12(a)
  EXPECT_TRUE(framework.describe_redactions);
  const DocumentKind& report = Kind("sb53-transparency-report");
  for (const char* id : {"c1-website", "c1-contact", "c1-release-date", "c1-languages", "c1-modalities", "c1-uses",
                         "c1-restrictions", "c2-assessments", "c2-results", "c2-third-parties", "c2-other-steps"}) {
    EXPECT_TRUE(Has(report, id)) << id;
  }
  EXPECT_EQ(report.FindElement("c2-results")->applies_to, std::vector<std::string>{"large-frontier-developer"});
  for (const char* id : {"date", "reasons", "statement", "internal-use"}) {
    EXPECT_TRUE(Has(Kind("sb53-critical-incident-report"), id)) << id;
  }
  const DocumentKind& annex = Kind("eu-annex-xi-technical-documentation");
  for (const char* id : {"s1-1a-tasks", "s1-1b-acceptable-use", "s1-1c-release", "s1-1d-architecture",
                         "s1-1e-modality", "s1-1f-licence", "s1-2a-integration", "s1-2b-design", "s1-2c-data",
                         "s1-2d-compute", "s1-2e-energy", "s2-1-evaluation", "s2-2-adversarial",
                         "s2-3-system-architecture"}) {
    EXPECT_TRUE(Has(annex, id)) << id;
  }
  const DocumentKind& notification = Kind("eu-art52-notification");
  EXPECT_EQ(notification.FindElement("compute")->facts, std::vector<std::string>{"compute.cumulative_2sf"});
}

constexpr const char* kKindText = R"toml(regime = "ca-sb1047"
[[kind]]
id = "k"
title = "T"
required_by = "§1"
summary = "S"
record_kind = "statement-of-compliance"
applies_to = ["covered-model"]
due = "D"
retention = "R"
redaction_cite = "§1(r)"
redaction_grounds = ["trade-secret"]
describe_redactions = true
[[kind.element]]
id = "a"
heading = "A"
cite = "§1(a)"
law = "L"
text = "required"
redactable = true
[[kind.element]]
id = "b"
heading = "B"
cite = "§1(b)"
law = "L"
text = "optional"
input = "list"
[[kind.element]]
id = "c"
heading = "C"
cite = "§1(c)"
law = "L"
text = "none"
facts = ["record.test-results"]
)toml";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(DocumentKindsTest, ParseErrorsNameFileLineAndField) {
  auto unknown_key = ParseKinds(Replace(kKindText, "law = \"L\"\ntext = \"required\"", "law = \"L\"\nlaww = 1\ntext = \"required\""), "k.toml");
  ASSERT_FALSE(unknown_key);
  EXPECT_EQ(unknown_key.error().ToString().rfind("k.toml:19:8:", 0), 0u) << unknown_key.error().ToString();
  EXPECT_EQ(unknown_key.error().field, "kind[0].element[0].laww");

  auto fact = ParseKinds(Replace(kKindText, "record.test-results", "record.no-such-kind"), "k.toml");
  ASSERT_FALSE(fact);
  EXPECT_EQ(fact.error().field, "kind[0].element[2].facts");
  EXPECT_NE(fact.error().message.find("unknown fact 'record.no-such-kind'"), std::string::npos);

  auto record = ParseKinds(Replace(kKindText, "\"statement-of-compliance\"", "\"purge\""), "k.toml");
  ASSERT_FALSE(record);
  EXPECT_EQ(record.error().field, "kind[0].record_kind");

  auto duplicate = ParseKinds(Replace(kKindText, "id = \"b\"", "id = \"a\""), "k.toml");
  ASSERT_FALSE(duplicate);
  EXPECT_NE(duplicate.error().message.find("defined twice"), std::string::npos);

  auto nothing = ParseKinds(Replace(kKindText, "facts = [\"record.test-results\"]", ""), "k.toml");
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().field, "kind[0].element[2].text");
}

class FillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kinds = ParseKinds(kKindText, "k.toml");
    ASSERT_TRUE(kinds) << kinds.error().ToString();
    kind_ = kinds->front();
  }
  core::Result<Fill> Parse(const std::string& text) { return ParseFill(text, "fill.toml", kind_); }
  DocumentKind kind_;
};

TEST_F(FillTest, ReadsTextListsSignatoryAndRedactions) {
  auto fill = Parse("[signatory]\nname = \"N\"\nrole = \"CTO\"\n[elements]\na = \"x\\n\\ny\"\nb = [\"1\", \"2\"]\n"
                    "[redact.a]\nground = \"trade-secret\"\nwhy = \"w\"\n");
  ASSERT_TRUE(fill) << fill.error().ToString();
  EXPECT_EQ(*fill->signer_name, "N");
  EXPECT_EQ(fill->texts["b"], (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(fill->redactions["a"].ground, "trade-secret");
}

TEST_F(FillTest, UnknownElementNamesFileLineAndField) {
  auto fill = Parse("[elements]\na = \"x\"\nzzz = \"y\"\n");
  ASSERT_FALSE(fill);
  EXPECT_EQ(fill.error().ToString().rfind("fill.toml:3:", 0), 0u) << fill.error().ToString();
  EXPECT_EQ(fill.error().field, "elements.zzz");
}

TEST_F(FillTest, WrongTypesAreRefused) {
  auto number = Parse("[elements]\na = 5\n");
  ASSERT_FALSE(number);
  EXPECT_EQ(number.error().field, "elements.a");
  EXPECT_NE(number.error().message.find("expected text"), std::string::npos);
  auto string_for_list = Parse("[elements]\nb = \"x\"\n");
  ASSERT_FALSE(string_for_list);
  EXPECT_NE(string_for_list.error().message.find("list"), std::string::npos);
  auto for_facts = Parse("[elements]\nc = \"x\"\n");
  ASSERT_FALSE(for_facts);
  EXPECT_NE(for_facts.error().message.find("takes no text"), std::string::npos);
  auto empty = Parse("[elements]\na = \"  \"\n");
  ASSERT_FALSE(empty);
  auto other_kind = Parse("kind = \"other\"\n");
  ASSERT_FALSE(other_kind);
  EXPECT_EQ(other_kind.error().field, "fill.kind");
}

TEST_F(FillTest, RedactionsOnlyWhereTheKindAllows) {
  auto not_redactable = Parse("[redact.b]\nground = \"trade-secret\"\nwhy = \"w\"\n");
  ASSERT_FALSE(not_redactable);
  EXPECT_EQ(not_redactable.error().field, "redact.b");
  auto ground = Parse("[redact.a]\nground = \"national-security\"\nwhy = \"w\"\n");
  ASSERT_FALSE(ground);
  EXPECT_EQ(ground.error().field, "redact.a.ground");
  auto undescribed = Parse("[redact.a]\nground = \"trade-secret\"\n");
  ASSERT_FALSE(undescribed);
  EXPECT_EQ(undescribed.error().field, "redact.a.why");
}

// The workspace API's fill (JSON) reads what the fill file says, and refuses what it refuses,
// naming the same fields.
TEST_F(FillTest, JsonFillReadsAndRefusesAsTheFillFileDoes) {
  using nlohmann::json;
  auto fill = FillFromJson(json::parse(R"({"signatory": {"name": "N", "role": "CTO"},
      "elements": {"a": "x\n\ny", "b": ["1", "2"]}, "redact": {"a": {"ground": "trade-secret", "why": "w"}}})"),
                           kind_);
  ASSERT_TRUE(fill) << fill.error().ToString();
  EXPECT_EQ(*fill->signer_name, "N");
  EXPECT_EQ(fill->texts["a"], (std::vector<std::string>{"x\n\ny"}));
  EXPECT_EQ(fill->texts["b"], (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(fill->redactions["a"].why, "w");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {R"([1])", "fill"},
      {R"({"sign": true})", "sign"},
      {R"({"kind": "other"})", "kind"},
      {R"({"signatory": {"name": "N"}})", "signatory.role"},
      {R"({"signatory": {"name": " ", "role": "R"}})", "signatory.name"},
      {R"({"elements": {"zzz": "y"}})", "elements.zzz"},
      {R"({"elements": {"a": 5}})", "elements.a"},
      {R"({"elements": {"b": "x"}})", "elements.b"},
      {R"({"elements": {"b": ["x", 1]}})", "elements.b"},
      {R"({"elements": {"c": "x"}})", "elements.c"},
      {R"({"elements": {"a": "  "}})", "elements.a"},
      {R"({"redact": {"b": {"ground": "trade-secret", "why": "w"}}})", "redact.b"},
      {R"({"redact": {"a": {"ground": "national-security", "why": "w"}}})", "redact.a.ground"},
      {R"({"redact": {"a": {"ground": "trade-secret"}}})", "redact.a.why"},
      {R"({"redact": {"a": {"ground": "trade-secret", "why": "w", "by": "x"}}})", "redact.a.by"},
  };
  for (const auto& [text, field] : refused) {
    auto r = FillFromJson(json::parse(text), kind_);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, core::Code::kInvalidArgument) << text;
    EXPECT_EQ(r.error().field, field) << text;
  }
  // The same message as the fill file's for the same mistake.
  auto toml = Parse("[elements]\nc = \"x\"\n");
  auto from_json = FillFromJson(json::parse(R"({"elements": {"c": "x"}})"), kind_);
  ASSERT_FALSE(toml);
  ASSERT_FALSE(from_json);
  EXPECT_EQ(toml.error().message, from_json.error().message);
}

// Every point of Annex XI (Reg. (EU) 2024/1689; the text of shared/law/regimes.md's EUAIA source, as
// documents/eu-ai-act-gpai.toml says) is an element of the technical documentation, by its citation.
TEST(DocumentKindsTest, TechnicalDocumentationCitesEveryPointOfAnnexXI) {
  const DocumentKind& k = Kind("eu-annex-xi-technical-documentation");
  std::vector<std::string> points = {"Section 1 point 1(a)", "Section 1 point 1(b)", "Section 1 point 1(c)",
                                     "Section 1 point 1(d)", "Section 1 point 1(e)", "Section 1 point 1(f)",
                                     "Section 1 point 2",    "Section 1 point 2(a)", "Section 1 point 2(b)",
                                     "Section 1 point 2(c)", "Section 1 point 2(d)", "Section 1 point 2(e)",
                                     "Section 2 point 1",    "Section 2 point 2",    "Section 2 point 3"};
  for (const std::string& point : points) {
    auto it = std::find_if(k.elements.begin(), k.elements.end(),
                           [&](const Element& e) { return e.cite == "Annex XI " + point; });
    ASSERT_NE(it, k.elements.end()) << point;
    EXPECT_FALSE(it->law.empty()) << point;
    EXPECT_EQ(it->text, TextNeed::kRequired) << point << ": a person describes it";
    // Section 2 is owed by models with systemic risk only.
    if (point.starts_with("Section 2")) {
      EXPECT_EQ(it->applies_to, (std::vector<std::string>{"gpai-systemic-risk"}));
    }
  }
  std::size_t annex = std::count_if(k.elements.begin(), k.elements.end(),
                                    [](const Element& e) { return e.cite.starts_with("Annex XI"); });
  EXPECT_EQ(annex, points.size()) << "an element cites a point Annex XI does not have";
}

FactSet Facts(bool with_record, const std::string& stale = {}) {
  FactSet facts;
  facts.status = "covered-model";
  facts.regime_title = "California SB 1047";
  facts.regime_version = "2024-09-03";
  if (with_record) {
    Source s{"record", 7, "LEAF=", "test-results", "2026-05-17T08:00:00Z", "results", ""};
    facts.facts["record.test-results"].push_back({"record.test-results", "results", "0.8 of threshold", s, stale});
  }
  return facts;
}

TEST_F(FillTest, BuildMarksMissingAndStaleElements) {
  Evidence evidence;
  evidence.model = "m";
  FactSet none = Facts(false);
  auto empty = BuildDocument({kind_, none, evidence, core::Date::FromYmd(2026, 11, 23), nullptr, 1});
  ASSERT_TRUE(empty);
  std::vector<CompletenessItem> items = Incomplete(*empty);
  ASSERT_EQ(items.size(), 3u);  // the signatory the record kind needs, a (text), c (the record)
  EXPECT_EQ(items[0].element, "signatory");
  EXPECT_EQ(items[1].element, "a");
  EXPECT_EQ(items[2].element, "c");
  EXPECT_EQ((*empty)["element.c"]["state"], "missing");
  EXPECT_EQ((*empty)["element.b"]["state"], "complete");  // optional text

  auto fill = Parse("[signatory]\nname = \"N\"\nrole = \"CTO\"\n[elements]\na = \"x\"\n");
  ASSERT_TRUE(fill);
  FactSet stale = Facts(true, "recorded 2024-01-01, more than 365 days before 2026-11-23");
  auto doc = BuildDocument({kind_, stale, evidence, core::Date::FromYmd(2026, 11, 23), &*fill, 2});
  ASSERT_TRUE(doc);
  items = Incomplete(*doc);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].state, "stale");
  EXPECT_EQ((*doc)["element.c"]["facts"][0]["source"]["index"], 7);
  EXPECT_EQ((*doc)["version"], 2);
  FactSet fresh = Facts(true);
  auto complete = BuildDocument({kind_, fresh, evidence, core::Date::FromYmd(2026, 11, 23), &*fill, 1});
  ASSERT_TRUE(complete);
  EXPECT_TRUE(Incomplete(*complete).empty());
  EXPECT_TRUE((*complete)["completeness"]["complete"].get<bool>());
}

TEST_F(FillTest, RenderingEscapesAndFootnotesAndWithholds) {
  Evidence evidence;
  evidence.model = "m<1>";
  auto fill = Parse("[signatory]\nname = \"N\"\nrole = \"CTO\"\n[elements]\na = \"<script>alert(1)</script>\"\n"
                    "[redact.a]\nground = \"trade-secret\"\nwhy = \"names a supplier\"\n");
  ASSERT_TRUE(fill);
  FactSet facts = Facts(true);
  auto doc = BuildDocument({kind_, facts, evidence, core::Date::FromYmd(2026, 11, 23), &*fill, 1});
  ASSERT_TRUE(doc);
  std::string html = RenderHtml(*doc, {}, Header{true, 9, "HASH=", false});
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("data-element=\"a\""), std::string::npos);
  EXPECT_NE(html.find("data-source-index=\"7\""), std::string::npos);
  EXPECT_NE(html.find("Ledger entry 7 (test-results record"), std::string::npos);
  EXPECT_NE(html.find("counter(pages)"), std::string::npos);
  EXPECT_NE(html.find("entry 9 · leaf hash HASH="), std::string::npos);

  auto redactions = LedgerRedactions(*doc);
  ASSERT_EQ(redactions.size(), 1u);
  EXPECT_EQ(redactions["element.a"], "trade-secret");
  nlohmann::json public_fields = *doc;
  public_fields.erase("element.a");
  std::string copy = RenderHtml(public_fields, redactions, Header{true, 9, "HASH=", true});
  EXPECT_EQ(copy.find("alert(1)"), std::string::npos);
  EXPECT_NE(copy.find("data-redacted=\"trade-secret\""), std::string::npos);
  EXPECT_NE(copy.find("names a supplier"), std::string::npos);  // what was redacted, and why
  // Rendering is a function of its input: the same fields give the same bytes.
  EXPECT_EQ(copy, RenderHtml(public_fields, redactions, Header{true, 9, "HASH=", true}));
}

}  // namespace
}  // namespace flopline::documents
