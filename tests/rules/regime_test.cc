#include "flopline/rules/regime.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flopline::rules {
namespace {

const char* kMinimal = R"toml(id = "x"
title = "X"
version = 2025-01-01
source = "s"
statuses = ["covered", "not-covered"]
default_status = "not-covered"
covered_statuses = ["covered"]
[[param]]
name = "line"
unit = "operations"
cite = "§1"
values = [{ from = 2025-01-01, value = 1e26 }]
[[rule]]
id = "r1"
status = "covered"
cite = "§1(a)"
text = "t"
when = "own_flop > param.line"
)toml";

TEST(RegimeTest, EveryShippedRegimeLoadsAndEveryRuleCitesItsClause) {
  auto all = LoadRegimeDir(std::string(FLOPLINE_SOURCE_DIR) + "/regimes");
  ASSERT_TRUE(all) << all.error().ToString();
  std::vector<std::string> ids;
  for (const Regime& r : *all) ids.push_back(r.id);
  // The four regimes, and SB 1047's three earlier versions (one file per version, named by its id).
  EXPECT_EQ(ids, (std::vector<std::string>{"ca-sb1047", "ca-sb1047@2024-02-07", "ca-sb1047@2024-05-16",
                                           "ca-sb1047@2024-07-03", "ca-sb53", "eu-ai-act-gpai", "ny-raise"}));
  for (const Regime& r : *all) {
    for (const Rule& rule : r.rules) EXPECT_FALSE(rule.cite.empty()) << r.id << " " << rule.id;
    for (const Parameter& p : r.params) EXPECT_FALSE(p.cite.empty()) << r.id << " " << p.name;
    for (const Obligation& o : r.obligations) EXPECT_FALSE(o.cite.empty()) << r.id << " " << o.id;
    if (!r.Superseded()) continue;
    // The earlier versions were read from analyses and commentary, not the bill's text: every
    // provision says where it was read, and each file says what no source gave.
    EXPECT_EQ(r.id.substr(r.id.find('@') + 1), r.version.ToString()) << r.id;
    EXPECT_FALSE(r.unknowns.empty()) << r.id;
    for (const Rule& rule : r.rules) EXPECT_FALSE(rule.secondary.empty()) << r.id << " " << rule.id;
    for (const Obligation& o : r.obligations) EXPECT_FALSE(o.secondary.empty()) << r.id << " " << o.id;
    for (const Parameter& p : r.params) {
      if (p.regulator_flag_of.empty()) {
        EXPECT_FALSE(p.secondary.empty()) << r.id << " " << p.name;
      }
    }
  }
}

TEST(RegimeTest, SecondarySourcesUnknownPeriodsAndExemptionsAreChecked) {
  std::string base = kMinimal;
  std::string duty = "[[obligation]]\nid = \"d\"\ncite = \"§2\"\ntext = \"t\"\napplies_to = [\"covered\"]\n";
  // A period no source gives must name the source the duty was read from.
  auto unnamed = Regime::Parse(base + duty + "within = \"unknown\"\nafter = \"released\"\n", "x.toml");
  ASSERT_FALSE(unnamed);
  EXPECT_NE(unnamed.error().ToString().find("obligation[0].within"), std::string::npos) << unnamed.error().ToString();
  auto named = Regime::Parse(base + duty + "within = \"unknown\"\nafter = \"released\"\nsecondary = \"an analysis\"\n"
                             "exempt_by = \"limited-duty-exemption\"\n", "x.toml");
  ASSERT_TRUE(named) << named.error().ToString();
  EXPECT_TRUE(named->obligations[0].period_unknown);
  EXPECT_EQ(named->obligations[0].exempt_by, "limited-duty-exemption");
  auto bad_event = Regime::Parse(base + duty + "before = \"released\"\nexempt_by = \"no-such-event\"\n", "x.toml");
  ASSERT_FALSE(bad_event);
  EXPECT_NE(bad_event.error().ToString().find("exempt_by"), std::string::npos);
  auto listed = Regime::Parse("unknowns = [\"the penalty\"]\n" + base, "x.toml");
  ASSERT_TRUE(listed) << listed.error().ToString();
  EXPECT_EQ(listed->unknowns, std::vector<std::string>{"the penalty"});
  EXPECT_FALSE(listed->Superseded());
}

TEST(RegimeTest, ReadingsMultiplyIntoCombinations) {
  auto r = Regime::Load(std::string(FLOPLINE_SOURCE_DIR) + "/regimes/ca-sb1047.toml");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->combinations().size(), 4u);  // A3 (2) x A2 (2)
  EXPECT_EQ(r->CombinationName(0), "A3-own-training, A2-literal");
  // The A2-intended rule exists only under its reading.
  std::size_t intended = 0;
  for (std::size_t i = 0; i < r->rules.size(); ++i) {
    if (r->rules[i].id == "f3-fine-tuned-intended") intended = i;
  }
  EXPECT_FALSE(r->compiled_rules(0)[intended].has_value());
  EXPECT_TRUE(r->compiled_rules(1)[intended].has_value());
}

TEST(RegimeTest, MinimalRegimeParses) {
  auto r = Regime::Parse(kMinimal, "x.toml");
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->combinations().size(), 1u);
  EXPECT_EQ(r->CombinationName(0), "as written");
}

TEST(RegimeTest, TypeErrorInARuleIsReportedAtItsLineAndColumn) {
  std::string text = kMinimal;
  text.replace(text.find("own_flop > param.line"), 21, "own_flop > param.lines");
  auto r = Regime::Parse(text, "x.toml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().where->file, "x.toml");
  EXPECT_EQ(r.error().where->line, 18);
  EXPECT_EQ(r.error().where->column, 8 + 1 + 11);  // the value starts at column 8; the token at offset 11
  EXPECT_EQ(r.error().field, "rule[0].when");
  EXPECT_NE(r.error().message.find("unknown parameter 'lines'"), std::string::npos);
}

TEST(RegimeTest, UnknownStatusKeyOrEventIsAnError) {
  std::string bad_status = kMinimal;
  bad_status.replace(bad_status.find("status = \"covered\""), 18, "status = \"coverd\"");
  auto a = Regime::Parse(bad_status, "x.toml");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().message.find("unknown status 'coverd'"), std::string::npos);

  auto b = Regime::Parse(std::string(kMinimal) + "wen = \"x\"\n", "x.toml");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().field, "rule[0].wen");

  auto c = Regime::Parse(std::string(kMinimal) + "[[obligation]]\nid = \"o\"\ncite = \"§2\"\ntext = \"t\"\napplies_to = [\"covered\"]\nwithin = \"72h\"\nafter = \"incident-found\"\n", "x.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("unknown event 'incident-found'"), std::string::npos);

  auto d = Regime::Parse(std::string(kMinimal) + "[[obligation]]\nid = \"o\"\ncite = \"§2\"\ntext = \"t\"\napplies_to = [\"covered\"]\nwithin = \"72x\"\nafter = \"released\"\n", "x.toml");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().field, "obligation[0].within");
}

TEST(RegimeTest, DatedValuesMustAscend) {
  std::string text = kMinimal;
  text.replace(text.find("values = [{ from = 2025-01-01, value = 1e26 }]"), 46,
               "values = [{ from = 2026-01-01, value = 1e26 }, { from = 2025-01-01, value = 2e26 }]");
  auto r = Regime::Parse(text, "x.toml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("ascending"), std::string::npos);
}

}  // namespace
}  // namespace flopline::rules
