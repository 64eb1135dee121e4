// Golden scenarios against the real regime files in regimes/. Each test names the clause it checks:
// thresholds exactly at, just below and just above their boundary, the readings of the statutes'
// ambiguities, effective dates, CPI indexing, what-if overrides, lineage, and deadlines across month
// ends, year ends and a leap day.
#include "flopline/rules/engine.h"

#include <atomic>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "flopline/rules/determination_json.h"
#include "regime_fixture.h"

namespace flopline::rules {
namespace {

class EngineTest : public RegimeFixture {
 protected:
  static std::string Pretrain(const std::string& id, double flop, double cost, const std::string& extra = "") {
    return "[[model]]\nid = \"" + id + "\"\ndeveloper = \"Dev\"\ndeveloper_revenue_usd = 1e9\nfoundation_model = true\n" +
           extra + "[[model.training]]\nkind = \"pretrain\"\nstart = 2026-02-01\nflop = " + Num(flop) +
           "\ncost_usd = " + Num(cost) + "\n";
  }
  static std::string Derived(const std::string& id, const std::string& base, const std::string& derivation,
                             double flop, double cost, const std::string& developer = "Dev") {
    std::string model = "[[model]]\nid = \"" + id + "\"\ndeveloper = \"" + developer +
                        "\"\ndeveloper_revenue_usd = 1e9\nfoundation_model = true\nbase = \"" + base +
                        "\"\nderivation = \"" + derivation + "\"\n";
    if (flop == 0) return model;  // an unmodified copy trains nothing
    return model + "[[model.training]]\nkind = \"" + (derivation == "fine-tune" ? "fine-tune" : "other") +
           "\"\nstart = 2026-05-01\nflop = " + Num(flop) + "\ncost_usd = " + Num(cost) + "\n";
  }
};

// ---- SB 1047 §22602(e)(1)(A)(i): "greater than 10^26" and cost "exceeds $100,000,000" (strict) ----

TEST_F(EngineTest, Sb1047_e1Ai_ExactlyAtTenToTheTwentySixIsNotCovered) {
  auto a = Assess(Models(Pretrain("m", 1e26, 1.5e8)), "2026-06-01");
  EXPECT_EQ(Under(a, "m", "ca-sb1047").status, "not-covered");
  EXPECT_EQ(Under(a, "m", "ca-sb1047").covered, false);
}

TEST_F(EngineTest, Sb1047_e1Ai_JustAboveTenToTheTwentySixIsCovered) {
  auto a = Assess(Models(Pretrain("m", std::nextafter(1e26, 2e26), 1.5e8)), "2026-06-01");
  const Determination& d = Under(a, "m", "ca-sb1047");
  EXPECT_EQ(d.status, "covered-model");
  EXPECT_EQ(d.covered, true);
  EXPECT_EQ(d.basis, std::vector<std::string>{"Cal. Bus. & Prof. Code §22602(e)(1)(A)(i)"});
  ASSERT_FALSE(d.outcomes.front().margins.empty());
  EXPECT_EQ(d.outcomes.front().margins[0].right, "param.covered_flop");
  EXPECT_EQ(d.note, "SB 1047 was vetoed on 2024-09-29; it is evaluated as written, as if enacted on its own dates.");
}

TEST_F(EngineTest, Sb1047_e1Ai_CostExactlyOneHundredMillionIsNotCovered) {
  auto at = Assess(Models(Pretrain("m", 2e26, 1e8)), "2026-06-01");
  EXPECT_EQ(Under(at, "m", "ca-sb1047").status, "not-covered");
  auto above = Assess(Models(Pretrain("m", 2e26, 100000000.01)), "2026-06-01");
  EXPECT_EQ(Under(above, "m", "ca-sb1047").status, "covered-model");
  auto below = Assess(Models(Pretrain("m", 2e26, 99999999.99)), "2026-06-01");
  EXPECT_EQ(Under(below, "m", "ca-sb1047").status, "not-covered");
}

TEST_F(EngineTest, Sb1047_e1Ai_MarginsSayHowFarFromTheLine) {
  auto a = Assess(Models(Pretrain("m", 2.6e25, 5e7)), "2026-06-01");
  const auto& margins = Under(a, "m", "ca-sb1047").outcomes.front().margins;
  ASSERT_GE(margins.size(), 2u);
  EXPECT_EQ(margins[0].text, "3.85x below");
  EXPECT_EQ(margins[1].text, "2x below");
}

// ---- SB 1047 fine-tunes: (e)(1)(A)(ii) ">= 3x10^25 and > $10M"; (f)(3) "not exceeding 3x10^25", A2 ----

TEST_F(EngineTest, Sb1047_e1Aii_FineTuneAtExactlyThreeTimesTenToTheTwentyFiveIsANewCoveredModel) {
  auto a = Assess(Models(Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 3e25, 1.1e7)), "2026-06-01");
  const Determination& d = Under(a, "ft", "ca-sb1047");
  // ">= 3x10^25" holds at exactly 3e25, and (f)(3)'s "not exceeding" holds too: both rules apply (A2),
  // the covered-model status takes precedence, and the overlap is flagged.
  EXPECT_EQ(Reading(d, "A3-own-training, A2-literal"), "covered-model");
  EXPECT_EQ(d.outcomes.front().rule, "e1Aii-fine-tuned");
}

TEST_F(EngineTest, Sb1047_f3_FineTuneJustBelowTheLineCostingOverTenMillionIsADerivative) {
  auto a = Assess(Models(Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 2.9e25, 1.1e7)), "2026-06-01");
  const Determination& d = Under(a, "ft", "ca-sb1047");
  EXPECT_EQ(Reading(d, "A3-own-training, A2-literal"), "covered-model-derivative");
  EXPECT_EQ(Reading(d, "A3-own-training, A2-intended"), "covered-model-derivative");
  // A fine-tune of a covered model is governed by (e)(1)(A)(ii) and (f)(3) under every reading
  // (regimes.md "A3 limit"): the lineage reading does not make it a covered model of its own.
  EXPECT_EQ(Reading(d, "A3-lineage, A2-literal"), "covered-model-derivative");
  EXPECT_EQ(d.status, "covered-model-derivative");
  EXPECT_EQ(d.covered, true);
}

TEST_F(EngineTest, Sb1047_A2_CheapFineTuneFallsInTheGapUnderTheLiteralReading) {
  auto a = Assess(Models(Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 1e24, 5e6)), "2026-06-01");
  const Determination& d = Under(a, "ft", "ca-sb1047");
  EXPECT_EQ(Reading(d, "A3-own-training, A2-literal"), "not-covered");
  EXPECT_EQ(Reading(d, "A3-own-training, A2-intended"), "covered-model-derivative");
  EXPECT_EQ(d.status, "depends-on-reading");
  EXPECT_FALSE(d.covered.has_value());
}

TEST_F(EngineTest, Sb1047_f1_CopyIsADerivativeWhoseDutiesFallOnTheBasesDeveloper) {
  auto a = Assess(Models(Pretrain("base", 2e26, 2e8) + Derived("copy", "base", "copy", 0, 0, "Host")), "2026-06-01");
  const Determination& d = Under(a, "copy", "ca-sb1047");
  EXPECT_EQ(Reading(d, "A3-own-training, A2-literal"), "covered-model-derivative");
  EXPECT_EQ(d.outcomes.front().developer, "Dev");
  // The penalty ceiling is the covered model's training cost: the lineage's.
  ASSERT_TRUE(d.penalty_first);
  EXPECT_DOUBLE_EQ(*d.penalty_first, 0.10 * 2e8);
}

TEST_F(EngineTest, Sb1047_f_DerivativesOfAnUncoveredModelAreNotCovered) {
  auto a = Assess(Models(Pretrain("base", 5e25, 5e7) + Derived("copy", "base", "copy", 0, 0)), "2026-06-01");
  EXPECT_EQ(Under(a, "copy", "ca-sb1047").status, "not-covered");
}

TEST_F(EngineTest, Sb1047_Lineage_DerivativeOfADerivative) {
  auto a = Assess(Models(Pretrain("a", 2e26, 2e8) + Derived("b", "a", "post-training-modification", 1e20, 1e3) +
                         Derived("c", "b", "combination", 1e20, 1e3)),
                  "2026-06-01");
  EXPECT_EQ(Reading(Under(a, "c", "ca-sb1047"), "A3-own-training, A2-literal"), "covered-model-derivative");
}

// ---- SB 1047 dates, regulator thresholds, CPI (§22602(e)(1)(B), (e)(2)) and penalties (§22606) ----

TEST_F(EngineTest, Sb1047_e1B_ARegulatorThresholdChangesTheAnswer) {
  Inventory inv = Models(Pretrain("m", 1.5e26, 2e8));
  EXPECT_EQ(Under(Assess(inv, "2027-03-01"), "m", "ca-sb1047").status, "covered-model");
  auto what_if = Assess(inv, "2027-03-01", {{"ca-sb1047", "covered_flop", 2e26}});
  const Determination& d = Under(what_if, "m", "ca-sb1047");
  EXPECT_EQ(d.status, "not-covered");
  auto param = std::find_if(d.params.begin(), d.params.end(), [](const ParamValue& p) { return p.name == "covered_flop"; });
  EXPECT_EQ(param->basis, "what-if override (--set)");
  // After 2027-01-01 the answer says no regulator value is recorded and the statute's applies.
  bool noted = std::any_of(d.notes.begin(), d.notes.end(), [](const std::string& n) { return n.find("regulator") != std::string::npos; });
  EXPECT_TRUE(noted);
}

TEST_F(EngineTest, Sb1047_e2_CpiIndexingFrom2026ToTheNearestHundredDollars) {
  CpiSeries cpi{"ca-cpi-u", "test", "test", {{2024, 300.0}, {2025, 309.0}, {2026, 318.27}}};
  Inventory inv = Models(Pretrain("m", 2e26, 1.029e8));
  // 2025: no adjustment yet. 2026: x 309/300 = $103,000,000. 2027: x 318.27/309 = $106,090,000.
  auto before = Assess(inv, "2025-12-31", {}, {cpi});
  EXPECT_EQ(Under(before, "m", "ca-sb1047").status, "covered-model");
  auto y2026 = Assess(inv, "2026-01-01", {}, {cpi});
  const Determination& d = Under(y2026, "m", "ca-sb1047");
  auto cost = std::find_if(d.params.begin(), d.params.end(), [](const ParamValue& p) { return p.name == "covered_cost_usd"; });
  EXPECT_EQ(cost->value, 103'000'000);
  EXPECT_EQ(d.status, "not-covered");  // $102.9M is now below the indexed line
  auto y2027 = Assess(inv, "2027-06-01", {}, {cpi});
  const Determination& d27 = Under(y2027, "m", "ca-sb1047");
  auto cost27 = std::find_if(d27.params.begin(), d27.params.end(), [](const ParamValue& p) { return p.name == "covered_cost_usd"; });
  EXPECT_EQ(cost27->value, 106'090'000);
}

TEST_F(EngineTest, Sb1047_e2_MissingCpiFiguresAreSaidNotGuessed) {
  auto a = Assess(Models(Pretrain("m", 2e26, 2e8)), "2026-06-01");
  const Determination& d = Under(a, "m", "ca-sb1047");
  bool said = std::any_of(d.notes.begin(), d.notes.end(), [](const std::string& n) {
    return n.find("CPI adjustment for 2026 was not applied") != std::string::npos;
  });
  EXPECT_TRUE(said);
}

TEST_F(EngineTest, Sb1047_22606_PenaltyIsTenThenThirtyPercentOfComputeCost) {
  auto a = Assess(Models(Pretrain("m", 2e26, 2.5e8)), "2026-06-01");
  const Determination& d = Under(a, "m", "ca-sb1047");
  EXPECT_DOUBLE_EQ(*d.penalty_first, 2.5e7);
  EXPECT_DOUBLE_EQ(*d.penalty_subsequent, 7.5e7);
  auto early = Assess(Models(Pretrain("m", 2e26, 2.5e8)), "2025-06-01");
  const Determination& e = Under(early, "m", "ca-sb1047");
  bool noted = std::any_of(e.notes.begin(), e.notes.end(), [](const std::string& n) { return n.find("on or after 2026-01-01") != std::string::npos; });
  EXPECT_TRUE(noted);
}

// ---- SB 53 §22757.11(i), (j): cumulative compute, "large" at > $500M revenue ----

TEST_F(EngineTest, Sb53_i2_SameDeveloperFineTuneCountsCumulativelyUnderBothReadings) {
  auto a = Assess(Models(Pretrain("base", 9.8e25, 1e8) + Derived("ft", "base", "fine-tune", 5e24, 5e6)), "2026-06-01");
  const Determination& base = Under(a, "base", "ca-sb53");
  EXPECT_EQ(base.status, "not-frontier");
  const Determination& ft = Under(a, "ft", "ca-sb53");
  EXPECT_EQ(ft.status, "large-frontier-developer");  // 1.03e26 > 1e26 under both readings; revenue $1B
}

TEST_F(EngineTest, Sb53_i2_AnotherDevelopersFineTuneDependsOnTheReading) {
  auto a = Assess(Models(Pretrain("base", 9.8e25, 1e8) + Derived("ft", "base", "fine-tune", 5e24, 5e6, "Other")), "2026-06-01");
  const Determination& d = Under(a, "ft", "ca-sb53");
  EXPECT_EQ(Reading(d, "S1-developer-lineage"), "not-frontier");
  EXPECT_EQ(Reading(d, "S1-whole-lineage"), "large-frontier-developer");
  EXPECT_EQ(d.status, "depends-on-reading");
}

TEST_F(EngineTest, Sb53_j_RevenueBoundaryAndUnknownRevenue) {
  auto at = Assess(Models(Pretrain("m", 2e26, 2e8, "").replace(Pretrain("m", 2e26, 2e8, "").find("1e9"), 3, "5e8")), "2026-06-01");
  EXPECT_EQ(Under(at, "m", "ca-sb53").status, "frontier-developer");  // exactly $500M is not "in excess of"
  std::string unknown = "[[model]]\nid = \"m\"\ndeveloper = \"D\"\nfoundation_model = true\n[[model.training]]\nkind = \"pretrain\"\nstart = 2026-02-01\nflop = 2e26\ncost_usd = 2e8\n";
  auto u = Assess(Models(unknown), "2026-06-01");
  EXPECT_EQ(Under(u, "m", "ca-sb53").status, "unknown");  // might be large: never a silent "frontier-developer"
  EXPECT_FALSE(Under(u, "m", "ca-sb53").covered.has_value());
}

TEST_F(EngineTest, Sb53_NonFoundationModelIsNotFrontier) {
  auto a = Assess(Models(Pretrain("m", 2e26, 2e8).replace(Pretrain("m", 2e26, 2e8).find("true"), 4, "false")), "2026-06-01");
  EXPECT_EQ(Under(a, "m", "ca-sb53").status, "not-frontier");
}

TEST_F(EngineTest, Sb53_InForceFrom2026AndEuChapterVFromAugust2025) {
  Inventory inv = Models(Pretrain("m", 2e26, 2e8));
  EXPECT_FALSE(Under(Assess(inv, "2025-12-31"), "m", "ca-sb53").in_force);
  EXPECT_TRUE(Under(Assess(inv, "2026-01-01"), "m", "ca-sb53").in_force);
  EXPECT_FALSE(Under(Assess(inv, "2025-08-01"), "m", "eu-ai-act-gpai").in_force);
  EXPECT_TRUE(Under(Assess(inv, "2025-08-02"), "m", "eu-ai-act-gpai").in_force);
  // Before its date the status is still shown, with a note saying so.
  const auto answers = Assess(inv, "2025-12-31");
  const Determination& early = Under(answers, "m", "ca-sb53");
  EXPECT_EQ(early.status, "large-frontier-developer");
  bool noted = std::any_of(early.notes.begin(), early.notes.end(), [](const std::string& n) { return n.find("in force from 2026-01-01") != std::string::npos; });
  EXPECT_TRUE(noted);
}

TEST_F(EngineTest, Raise_InForceFrom2027) {
  auto before = Assess(Models(Pretrain("m", 2e26, 2e8)), "2026-12-31");
  EXPECT_FALSE(Under(before, "m", "ny-raise").in_force);
  auto after = Assess(Models(Pretrain("m", 2e26, 2e8)), "2027-01-01");
  EXPECT_TRUE(Under(after, "m", "ny-raise").in_force);
  EXPECT_EQ(*Under(after, "m", "ny-raise").penalty_subsequent, 3e6);
}

// ---- EU AI Act Art. 51(2) "greater than 10^25"; GPAI guidelines: > 10^23, modifications > 1/3 ----

TEST_F(EngineTest, EuAiAct_51_2_SystemicRiskBoundary) {
  EXPECT_EQ(Under(Assess(Models(Pretrain("m", 1e25, 1e7)), "2026-06-01"), "m", "eu-ai-act-gpai").status, "gpai");
  EXPECT_EQ(Under(Assess(Models(Pretrain("m", 1.0000001e25, 1e7)), "2026-06-01"), "m", "eu-ai-act-gpai").status,
            "gpai-systemic-risk");
  EXPECT_EQ(Under(Assess(Models(Pretrain("m", 1e23, 1e5)), "2026-06-01"), "m", "eu-ai-act-gpai").status, "not-gpai");
}

TEST_F(EngineTest, EuAiAct_Guidelines32_ModificationOverOneThirdMakesTheModifierAProvider) {
  const double base = 3e24;
  auto at_third = Assess(Models(Pretrain("b", base, 1e6) + Derived("mod", "b", "fine-tune", base / 3, 1e5, "M")), "2026-06-01");
  EXPECT_EQ(Under(at_third, "mod", "eu-ai-act-gpai").status, "modification-below-provider-threshold");
  auto over = Assess(Models(Pretrain("b", base, 1e6) + Derived("mod", "b", "fine-tune", base / 3 * 1.01, 1e5, "M")), "2026-06-01");
  EXPECT_EQ(Under(over, "mod", "eu-ai-act-gpai").status, "gpai");
  auto of_systemic = Assess(Models(Pretrain("b", 3e25, 1e7) + Derived("mod", "b", "fine-tune", 1.2e25, 1e6, "M")), "2026-06-01");
  EXPECT_EQ(Under(of_systemic, "mod", "eu-ai-act-gpai").status, "gpai-systemic-risk");
}

TEST_F(EngineTest, EuAiAct_101_FineIsTheHigherOfThreePercentAndFifteenMillion) {
  // Art. 101(1) is a share of turnover in euros: given in EUR, never a USD revenue read as euros.
  auto a = Assess(Models(Pretrain("m", 2e25, 2e7, "developer_turnover_eur = 1e9\n")), "2026-09-01");
  ASSERT_TRUE(Under(a, "m", "eu-ai-act-gpai").penalty_first);
  EXPECT_EQ(*Under(a, "m", "eu-ai-act-gpai").penalty_first, 3e7);  // 3% of EUR 1B
  EXPECT_EQ(Under(a, "m", "eu-ai-act-gpai").penalty_currency, "EUR");
}

// ---- deadlines across month ends, year ends and a leap day ----

std::string WithEvents(const std::string& model, const std::vector<std::pair<std::string, std::string>>& events) {
  std::string out = model;
  for (const auto& [kind, at] : events) out += "[[event]]\nmodel = \"m\"\nkind = \"" + kind + "\"\nat = " + at + "\n";
  return out;
}

const ObligationState* Obligation(const Determination& d, const std::string& id, std::size_t nth = 0) {
  for (const auto& o : d.obligations) {
    if (o.id == id && nth-- == 0) return &o;
  }
  return nullptr;
}

TEST_F(EngineTest, Sb1047_g_SeventyTwoHoursAcrossAMonthEndAndAYearEnd) {
  auto a = Assess(Models(WithEvents(Pretrain("m", 2e26, 2e8), {{"incident-discovered", "2026-01-30T12:00:00Z"},
                                                                {"incident-reported", "2026-02-02T12:00:00Z"},
                                                                {"incident-discovered", "2026-12-30T18:00:00Z"},
                                                                {"incident-reported", "2027-01-02T18:00:01Z"}})),
                  "2027-02-01");
  const Determination& d = Under(a, "m", "ca-sb1047");
  const ObligationState* first = Obligation(d, "incident-report-72h", 0);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->due->ToString(), "2026-02-02T12:00:00Z");
  EXPECT_EQ(first->state, "met");  // exactly at the deadline
  const ObligationState* second = Obligation(d, "incident-report-72h", 1);
  EXPECT_EQ(second->due->ToString(), "2027-01-02T18:00:00Z");
  EXPECT_EQ(second->state, "met-late");  // one second late
}

TEST_F(EngineTest, Deadlines_LeapDay) {
  auto a = Assess(Models(WithEvents(Pretrain("m", 2e26, 2e8), {{"incident-discovered", "2028-02-27T12:00:00Z"},
                                                                {"released", "2028-01-31T00:00:00Z"}})),
                  "2028-02-28");
  const Determination& d = Under(a, "m", "ca-sb1047");
  EXPECT_EQ(Obligation(d, "incident-report-72h")->due->ToString(), "2028-03-01T12:00:00Z");  // through Feb 29
  EXPECT_EQ(Obligation(d, "incident-report-72h")->state, "open");
  EXPECT_EQ(Obligation(d, "first-statement-of-compliance")->due->ToString(), "2028-03-01T00:00:00Z");  // 30 days
  auto sb53 = Assess(Models(WithEvents(Pretrain("m", 2e26, 2e8), {{"incident-discovered", "2028-02-20T00:00:00Z"}})),
                     "2028-02-21");
  EXPECT_EQ(Obligation(Under(sb53, "m", "ca-sb53"), "critical-incident-15d")->due->ToString(), "2028-03-06T00:00:00Z");
}

TEST_F(EngineTest, Deadlines_AnnualDutyFromALeapDayAndOverdueYears) {
  auto a = Assess(Models(WithEvents(Pretrain("m", 2e26, 2e8), {{"released", "2028-02-29T00:00:00Z"},
                                                                {"statement-filed", "2028-03-10T00:00:00Z"}})),
                  "2029-03-15");
  const Determination& d = Under(a, "m", "ca-sb1047");
  const ObligationState* annual = Obligation(d, "annual-statement-of-compliance");
  ASSERT_NE(annual, nullptr);
  EXPECT_EQ(annual->due->ToString(), "2030-02-28T00:00:00Z");
  EXPECT_EQ(annual->state, "open");  // the year to 2029-02-28 had the 2028-03-10 statement
  auto later = Assess(Models(WithEvents(Pretrain("m", 2e26, 2e8), {{"released", "2028-02-29T00:00:00Z"},
                                                                    {"statement-filed", "2028-03-10T00:00:00Z"}})),
                      "2030-03-15");
  EXPECT_EQ(Obligation(Under(later, "m", "ca-sb1047"), "annual-statement-of-compliance")->state, "overdue");
}

TEST_F(EngineTest, Deadlines_BeforeTrainingAndTwoWeeksAfter) {
  auto a = Assess(Models(WithEvents(Pretrain("m", 2e26, 2e8), {{"training-started", "2026-12-25T00:00:00Z"},
                                                                {"ssp-published", "2026-12-26T00:00:00Z"}})),
                  "2027-01-20");
  const Determination& d = Under(a, "m", "ca-sb1047");
  EXPECT_EQ(Obligation(d, "ssp-before-training")->state, "met-late");
  EXPECT_EQ(Obligation(d, "shutdown-capability-before-training")->state, "overdue");
  const ObligationState* notify = Obligation(Under(a, "m", "eu-ai-act-gpai"), "notify-commission-2w");
  EXPECT_EQ(notify->due->ToString(), "2027-01-08T00:00:00Z");
  EXPECT_EQ(notify->state, "overdue");
}

// ---- properties ----

TEST_F(EngineTest, Property_MoreComputeOrCostNeverUncoversAModel) {
  std::mt19937_64 rng(20261123);
  std::uniform_real_distribution<double> exponent(22.0, 27.0), dollars(4.0, 9.5);
  Engine engine(*regimes_, {});
  for (int trial = 0; trial < 300; ++trial) {
    double flop = std::pow(10.0, exponent(rng)), cost = std::pow(10.0, dollars(rng));
    double more_flop = flop * (1.0 + std::uniform_real_distribution<double>(0, 3)(rng));
    double more_cost = cost * (1.0 + std::uniform_real_distribution<double>(0, 3)(rng));
    AssessOptions options{core::Date::FromYmd(2026, 6, 1), {}, {}};
    auto small = engine.Assess(Models(Pretrain("m", flop, cost)), options);
    auto large = engine.Assess(Models(Pretrain("m", more_flop, more_cost)), options);
    ASSERT_TRUE(small && large);
    for (std::size_t r = 0; r < small->front().determinations.size(); ++r) {
      const auto& a = small->front().determinations[r];
      const auto& b = large->front().determinations[r];
      for (std::size_t o = 0; o < a.outcomes.size(); ++o) {
        const Regime& regime = *std::find_if(regimes_->begin(), regimes_->end(), [&](const Regime& x) { return x.id == a.regime; });
        if (regime.IsCovered(a.outcomes[o].status)) {
          EXPECT_TRUE(regime.IsCovered(b.outcomes[o].status))
              << a.regime << " " << flop << " -> " << more_flop << ", " << cost << " -> " << more_cost;
        }
      }
    }
  }
}

TEST_F(EngineTest, Property_EvaluationIsDeterministic) {
  Inventory inv = Models(Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 1e24, 5e6) +
                         Derived("copy", "ft", "copy", 0, 0, "Host"));
  auto a = AssessmentToJson(core::Date::FromYmd(2026, 6, 1), Assess(inv, "2026-06-01")).dump();
  auto b = AssessmentToJson(core::Date::FromYmd(2026, 6, 1), Assess(inv, "2026-06-01")).dump();
  EXPECT_EQ(a, b);
}

TEST_F(EngineTest, ClassifyAgreesWithAssess) {
  Inventory inv = Models(Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 2.9e25, 1.1e7) +
                         Derived("copy", "ft", "copy", 0, 0, "Host"));
  Engine engine(*regimes_, {});
  AssessOptions options{core::Date::FromYmd(2026, 6, 1), {}, {}};
  auto statuses = engine.Classify(inv, options);
  auto answers = engine.Assess(inv, options);
  ASSERT_TRUE(statuses && answers);
  for (std::size_t r = 0; r < regimes_->size(); ++r) {
    for (std::size_t m = 0; m < inv.models.size(); ++m) {
      const std::string& via_assess = (*answers)[m].determinations[r].outcomes.front().status;
      int s = (*statuses)[r][m];
      EXPECT_EQ(s >= 0 ? (*regimes_)[r].statuses[static_cast<std::size_t>(s)] : "unknown", via_assess);
    }
  }
}

TEST_F(EngineTest, UnknownOverrideOrRegimeIsAnError) {
  Engine engine(*regimes_, {});
  Inventory inv = Models(Pretrain("m", 1e26, 1e8));
  auto bad = engine.Assess(inv, {core::Date::FromYmd(2026, 1, 1), {{"ca-sb1047", "covered_flops", 1}}, {}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "--set");
  auto regime = engine.Assess(inv, {core::Date::FromYmd(2026, 1, 1), {}, {"ca-sb1057"}});
  ASSERT_FALSE(regime);
  EXPECT_NE(regime.error().message.find("ca-sb1047"), std::string::npos);
}

// Issue 10 item 15: a what-if threshold of nan made a 1.2e26 model "not-covered" ("nanx below").
TEST_F(EngineTest, NonFiniteOrNegativeOverrideIsRefused) {
  Engine engine(*regimes_, {});
  Inventory inv = Models(Pretrain("m", 1.2e26, 2e8));
  for (double bad : {std::nan(""), HUGE_VAL, -HUGE_VAL, -1.0}) {
    auto r = engine.Assess(inv, {core::Date::FromYmd(2026, 6, 1), {{"ca-sb1047", "covered_flop", bad}}, {}});
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().field, "--set") << bad;
    EXPECT_NE(r.error().message.find("covered_flop"), std::string::npos) << r.error().message;
    auto c = engine.Classify(inv, {core::Date::FromYmd(2026, 6, 1), {{"ca-sb1047", "covered_flop", bad}}, {}});
    ASSERT_FALSE(c) << bad;
  }
  auto zero = engine.Assess(inv, {core::Date::FromYmd(2026, 6, 1), {{"ca-sb1047", "covered_flop", 0}}, {}});
  ASSERT_TRUE(zero) << zero.error().ToString();
}

// Issue 12: a summary (no explanations built) must say what the explained answer says.
TEST_F(EngineTest, SummaryAgreesWithTheExplainedAnswerOnEveryStatus) {
  std::string text = Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 2.9e25, 1.1e7) +
                     Derived("copy", "ft", "copy", 0, 0, "Host") + Pretrain("small", 1e24, 1e6) +
                     Derived("cheap", "base", "fine-tune", 1e23, 1e5, "Other") +
                     "[[event]]\nmodel = \"base\"\nkind = \"incident-discovered\"\nat = 2026-06-01T00:00:00Z\n";
  for (int i = 0; i < 40; ++i) text += Derived("d" + std::to_string(i), i ? "d" + std::to_string(i - 1) : "ft",
                                               i % 3 ? "fine-tune" : "copy", i % 3 ? 1e22 * i : 0, 1e4 * i, i % 2 ? "Dev" : "X");
  Inventory inv = Models(text);
  Engine engine(*regimes_, {});
  AssessOptions options{core::Date::FromYmd(2026, 11, 23), {}, {}};
  auto full = engine.Assess(inv, options);
  ASSERT_TRUE(full) << full.error().ToString();
  std::vector<ModelAnswer> summary;
  auto done = engine.AssessEach(inv, options, {}, [&](std::size_t i, const ModelAnswer& a) {
    EXPECT_EQ(i, summary.size());
    summary.push_back(a);
    return true;
  }, 2);
  ASSERT_TRUE(done) << done.error().ToString();
  ASSERT_EQ(summary.size(), full->size());
  for (std::size_t m = 0; m < summary.size(); ++m) {
    ASSERT_EQ(summary[m].determinations.size(), (*full)[m].determinations.size());
    for (std::size_t r = 0; r < summary[m].determinations.size(); ++r) {
      const Determination& s = summary[m].determinations[r];
      const Determination& f = (*full)[m].determinations[r];
      SCOPED_TRACE(summary[m].id + " under " + s.regime);
      EXPECT_FALSE(s.explained);
      EXPECT_TRUE(f.explained);
      EXPECT_EQ(s.status, f.status);
      EXPECT_EQ(s.covered, f.covered);
      EXPECT_EQ(s.basis, f.basis);
      EXPECT_EQ(KeyMargin(s), KeyMargin(f));
      ASSERT_EQ(s.outcomes.size(), f.outcomes.size());
      for (std::size_t o = 0; o < s.outcomes.size(); ++o) EXPECT_EQ(s.outcomes[o].status, f.outcomes[o].status);
      EXPECT_EQ(s.obligations.size(), f.obligations.size());
      EXPECT_EQ(NextDeadline(s) ? NextDeadline(s)->id : "", NextDeadline(f) ? NextDeadline(f)->id : "");
      EXPECT_EQ(s.penalty_first, f.penalty_first);
      EXPECT_TRUE(s.outcomes.front().explanation.empty());
      EXPECT_FALSE(f.outcomes.front().explanation.empty());
    }
  }
}

// A stop set while models are judged (a server that is stopping) ends the judging after the model
// each thread is on: the chunk being judged is never handed over, and the answer says it stopped.
TEST_F(EngineTest, AStopEndsTheJudgingWithoutHandingOverTheUnfinishedChunk) {
  std::string text = Pretrain("base", 2e26, 2e8);
  for (int i = 0; i < 600; ++i) text += Derived("d" + std::to_string(i), "base", "fine-tune", 1e22, 1e4);
  Inventory inv = Models(text);
  Engine engine(*regimes_, {});
  std::atomic<bool> stop{false};
  AssessOptions options{core::Date::FromYmd(2026, 11, 23), {}, {}, &stop};
  std::atomic<std::size_t> judged{0};
  std::size_t handed = 0;
  // Set on a judging thread once 100 models are judged: deterministic, whatever the threads' pace.
  auto stopped = engine.AssessChunks(
      inv, options, {},
      [&](std::size_t, std::span<const ModelAnswer> chunk) {
        handed += chunk.size();
        return true;
      },
      2, Engine::Summaries::kFull,
      [&](unsigned, std::size_t, const ModelAnswer&) {
        if (++judged == 100) stop = true;
      });
  ASSERT_FALSE(stopped);
  EXPECT_EQ(stopped.error().code, core::Code::kUnavailable);
  EXPECT_EQ(stopped.error().field, "stop");
  EXPECT_EQ(handed, 0u);
  EXPECT_LT(judged.load(), inv.models.size());  // each thread stopped after the model it was on
  // Without a stop, or with one never set, every model is judged and handed over.
  stop = false;
  std::size_t all = 0;
  ASSERT_TRUE(engine.AssessEach(inv, options, {}, [&](std::size_t, const ModelAnswer&) { return ++all > 0; }, 2));
  EXPECT_EQ(all, inv.models.size());
}

// The brief summaries `flopline assess` prints (AssessChunks, Summaries::kBrief: storage reused
// chunk after chunk, obligations reduced to the next deadline) say what the full ones say.
TEST_F(EngineTest, BriefSummariesAgreeWithFullOnes) {
  std::string text = Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 2.9e25, 1.1e7) +
                     Pretrain("small", 1e24, 1e6) +
                     "[[event]]\nmodel = \"base\"\nkind = \"incident-discovered\"\nat = 2026-06-01T00:00:00Z\n"
                     "[[event]]\nmodel = \"ft\"\nkind = \"released\"\nat = 2026-03-01T00:00:00Z\n";
  // Enough models for several chunks on two threads, so that answers are reused.
  for (int i = 0; i < 10000; ++i) {
    text += Derived("d" + std::to_string(i), i % 50 ? "d" + std::to_string(i - 1) : (i % 100 ? "small" : "ft"),
                    i % 3 ? "fine-tune" : "copy", i % 3 ? 1e22 * (i % 97) : 0, 1e4 * (i % 89 + 1), i % 2 ? "Dev" : "X");
  }
  Inventory inv = Models(text);
  Engine engine(*regimes_, {});
  AssessOptions options{core::Date::FromYmd(2026, 11, 23), {}, {}};
  std::vector<ModelAnswer> full;
  ASSERT_TRUE(engine.AssessEach(inv, options, {}, [&](std::size_t, const ModelAnswer& a) {
    full.push_back(a);
    return true;
  }, 2));
  std::size_t seen = 0, deadlines = 0;
  auto done = engine.AssessChunks(inv, options, {}, [&](std::size_t first, std::span<const ModelAnswer> chunk) -> bool {
    EXPECT_EQ(first, seen);
    for (const ModelAnswer& b : chunk) {
      const ModelAnswer& f = full[seen++];
      EXPECT_EQ(b.id, f.id);
      for (std::size_t r = 0; r < b.determinations.size(); ++r) {
        const Determination& x = b.determinations[r];
        const Determination& y = f.determinations[r];
        SCOPED_TRACE(b.id + " under " + x.regime);
        EXPECT_EQ(x.status, y.status);
        EXPECT_EQ(x.covered, y.covered);
        EXPECT_EQ(x.basis, y.basis);
        EXPECT_EQ(KeyMargin(x), KeyMargin(y));
        // A brief summary leaves out only the notes that restate its penalty (written once, with the
        // penalty, in the head): the others are the same, in the same order.
        std::vector<std::string> own = y.notes;
        std::erase_if(own, [](const std::string& n) {
          return n.starts_with("the maximum penalty is for ") || n.starts_with("maximum penalty unknown: ") ||
                 n.starts_with("the penalty was read from a secondary source: ") || n.starts_with("penalties under ");
        });
        EXPECT_EQ(x.notes, own);
        EXPECT_EQ(x.penalty_first, y.penalty_first);
        EXPECT_EQ(x.penalty, y.penalty);
        EXPECT_EQ(x.penalty >= 0, !y.penalty_cite.empty());
        EXPECT_TRUE(x.penalty_cite.empty());
        EXPECT_EQ(x.outcomes.size(), y.outcomes.size());
        for (std::size_t o = 0; o < std::min(x.outcomes.size(), y.outcomes.size()); ++o) {
          EXPECT_EQ(x.outcomes[o].status, y.outcomes[o].status);
          EXPECT_EQ(x.outcomes[o].rule, y.outcomes[o].rule);
          EXPECT_EQ(x.outcomes[o].developer, y.outcomes[o].developer);
        }
        const ObligationState* nx = NextDeadline(x);
        const ObligationState* ny = NextDeadline(y);
        EXPECT_EQ(nx == nullptr, ny == nullptr);
        if (nx && ny) {
          ++deadlines;
          EXPECT_EQ(nx->id, ny->id);
          EXPECT_EQ(nx->cite, ny->cite);
          EXPECT_EQ(nx->due, ny->due);
          EXPECT_EQ(nx->state, ny->state);
          EXPECT_LE(x.obligations.size(), 1u);  // brief: the next deadline alone
        }
      }
    }
    return true;
  }, 2, Engine::Summaries::kBrief);
  ASSERT_TRUE(done) << done.error().ToString();
  EXPECT_EQ(seen, full.size());
  EXPECT_GT(deadlines, 0u);
}

// A rule decided under an ambiguity in several readings is one note, not one per reading: the
// notes of every shape (explained, summary, brief) say each thing once.
TEST_F(EngineTest, NotesSayEachThingOnce) {
  // A fine-tune in SB 1047's band gap (A2) is decided by the same rule under every reading.
  Inventory inv = Models(Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 2.9e25, 1.1e7) +
                         Derived("ft2", "ft", "fine-tune", 1e22, 1e4));
  Engine engine(*regimes_, {});
  AssessOptions options{core::Date::FromYmd(2026, 11, 23), {}, {}};
  std::size_t ambiguity_notes = 0;
  auto check = [&](const ModelAnswer& a, const char* shape) {
    for (const Determination& d : a.determinations) {
      SCOPED_TRACE(std::string(shape) + ": " + a.id + " under " + d.regime);
      for (std::size_t i = 0; i < d.notes.size(); ++i) {
        if (d.notes[i].find("decided under ambiguity") != std::string::npos) ++ambiguity_notes;
        for (std::size_t j = i + 1; j < d.notes.size(); ++j) EXPECT_NE(d.notes[i], d.notes[j]);
      }
    }
  };
  auto explained = engine.Assess(inv, options);
  ASSERT_TRUE(explained) << explained.error().ToString();
  for (const ModelAnswer& a : *explained) check(a, "explained");
  ASSERT_TRUE(engine.AssessEach(inv, options, {}, [&](std::size_t, const ModelAnswer& a) {
    check(a, "summary");
    return true;
  }));
  auto brief = engine.AssessChunks(inv, options, {}, [&](std::size_t, std::span<const ModelAnswer> chunk) {
    for (const ModelAnswer& a : chunk) check(a, "brief");
    return true;
  }, 1, Engine::Summaries::kBrief);
  ASSERT_TRUE(brief) << brief.error().ToString();
  EXPECT_GT(ambiguity_notes, 0u);  // the case the test is about happened
}

}  // namespace
}  // namespace flopline::rules

// AppendJsonString escapes eight bytes at a time while none needs it: a byte that does, at every
// offset within and across those words (and non-ASCII bytes beside it), is still escaped, and the
// result parses back to the input.
TEST(JsonString, EscapesEveryByteThatNeedsItAtEveryOffset) {
  const std::string specials[] = {"\"", "\\", "\n", "\x01", "\x1f", "\t"};
  for (const std::string& special : specials) {
    for (std::size_t at = 0; at < 24; ++at) {
      std::string text = std::string(at, 'a') + special + "\xc2\xa7" + std::string(17, 'z');
      std::string out;
      flopline::rules::AppendJsonString(out, text);
      EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), text) << at;
      EXPECT_TRUE(std::none_of(out.begin(), out.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) << at;
    }
  }
  std::string out;
  flopline::rules::AppendJsonString(out, std::string(40, ' ') + "\x7f" + "~!");  // no byte here needs one
  EXPECT_EQ(out, "\"" + std::string(40, ' ') + "\x7f~!\"");
}
