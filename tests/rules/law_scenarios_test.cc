// Golden scenarios for issue 11: the law right in every corner. Each test names the clause it
// checks and failed on the code before the fix (the shipped regime files and the engine): duties
// that began before their law, duties that do not wait for release, copies that trained nothing,
// penalty conditions and bases, CPI scope, the EU's same-provider rule, open-source exemption and
// Art. 52 clock, regulator thresholds, turnover in euros, citations, and the duties that were
// missing, with recurring clocks.
#include <algorithm>
#include <cstdio>

#include <gtest/gtest.h>

#include "flopline/core/toml_fields.h"
#include "flopline/rules/determination_json.h"
#include "flopline/rules/engine.h"
#include "regime_fixture.h"

namespace flopline::rules {
namespace {

class LawTest : public RegimeFixture {
 protected:
  static const ObligationState* Duty(const Determination& d, const std::string& id, std::size_t nth = 0) {
    for (const auto& o : d.obligations) {
      if (o.id == id && nth-- == 0) return &o;
    }
    return nullptr;
  }

  static bool Noted(const Determination& d, const std::string& part) {
    return std::any_of(d.notes.begin(), d.notes.end(), [&](const std::string& n) { return n.find(part) != std::string::npos; });
  }


  // A pretrained foundation model of developer "Dev" (revenue $1B: "large" under SB 53 / RAISE).
  static std::string Pretrain(const std::string& id, double flop, double cost, const std::string& extra = "",
                              const std::string& start = "2026-02-01") {
    return "[[model]]\nid = \"" + id + "\"\ndeveloper = \"Dev\"\ndeveloper_revenue_usd = 1e9\nfoundation_model = true\n" +
           extra + "[[model.training]]\nkind = \"pretrain\"\nstart = " + start + "\nflop = " + Num(flop) +
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
  static std::string Events(const std::string& model, const std::vector<std::pair<std::string, std::string>>& events) {
    std::string out;
    for (const auto& [kind, at] : events) {
      out += "[[event]]\nmodel = \"" + model + "\"\nkind = \"" + kind + "\"\nat = " + at + "\n";
    }
    return out;
  }
};

// ---- 1. No duty before its law ----

// SB 53 began on 2026-01-01: a model deployed in mid-2025 owed no transparency report for that
// deployment. It was shown "overdue".
TEST_F(LawTest, Sb53_22757_12c1_DeploymentBeforeTheLawOwesNoReport) {
  auto a = Assess(Models(Pretrain("m", 2e26, 2e8) + Events("m", {{"released", "2025-07-01T00:00:00Z"}})), "2026-06-01");
  const ObligationState* report = Duty(Under(a, "m", "ca-sb53"), "transparency-report");
  ASSERT_NE(report, nullptr);
  EXPECT_EQ(report->state, "not-applicable");
  EXPECT_NE(report->detail.find("before this duty began on 2026-01-01"), std::string::npos) << report->detail;
  // An incident discovered before the law is not reportable under it either; one after it is.
  auto b = Assess(Models(Pretrain("m", 2e26, 2e8) + Events("m", {{"incident-discovered", "2025-12-20T00:00:00Z"},
                                                                  {"incident-discovered", "2026-02-01T00:00:00Z"}})),
                  "2026-06-01");
  const Determination& d = Under(b, "m", "ca-sb53");
  EXPECT_EQ(Duty(d, "critical-incident-15d", 0)->state, "not-applicable");
  EXPECT_EQ(Duty(d, "critical-incident-15d", 1)->state, "overdue");
}

// RAISE takes effect on 2027-01-01 (S.8828 §3).
TEST_F(LawTest, Raise_1421_3a_DeploymentBefore2027OwesNoReport) {
  auto a = Assess(Models(Pretrain("m", 2e26, 2e8) + Events("m", {{"released", "2026-06-01T00:00:00Z"}})), "2027-03-01");
  EXPECT_EQ(Duty(Under(a, "m", "ny-raise"), "transparency-report")->state, "not-applicable");
}

// EU Art. 111(3): a model placed on the market before 2025-08-02 has until 2027-08-02 for Arts 53
// and 55. It was shown overdue from its release in 2025.
TEST_F(LawTest, EuAiAct_111_3_ModelOnTheMarketBeforeAugust2025HasUntilAugust2027) {
  auto a = Assess(Models(Pretrain("m", 2e25, 2e7, "", "2024-06-01") + Events("m", {{"released", "2025-03-01T00:00:00Z"}})),
                  "2026-06-01");
  const Determination& d = Under(a, "m", "eu-ai-act-gpai");
  for (const char* id : {"technical-documentation", "copyright-policy", "training-content-summary", "systemic-evaluation"}) {
    const ObligationState* duty = Duty(d, id);
    ASSERT_NE(duty, nullptr) << id;
    EXPECT_EQ(duty->due->ToString(), "2027-08-02T00:00:00Z") << id;
    EXPECT_EQ(duty->state, "open") << id;
    EXPECT_NE(duty->detail.find("Art. 111(3)"), std::string::npos) << duty->detail;
  }
  // Placed on the market after 2025-08-02: due at the release, as before.
  auto later = Assess(Models(Pretrain("m", 2e25, 2e7) + Events("m", {{"released", "2026-03-01T00:00:00Z"}})), "2026-06-01");
  EXPECT_EQ(Duty(Under(later, "m", "eu-ai-act-gpai"), "technical-documentation")->due->ToString(), "2026-03-01T00:00:00Z");
}

// Art. 52(1) for a model that already met the threshold before Chapter V applied: two weeks after
// 2025-08-02, not on 2025-08-02.
TEST_F(LawTest, EuAiAct_52_1_ModelAlreadyOverTheLineNotifiesTwoWeeksAfterAugust2025) {
  auto a = Assess(Models(Pretrain("m", 2e25, 2e7, "", "2025-01-01") +
                         Events("m", {{"training-started", "2025-01-01T00:00:00Z"}})),
                  "2025-08-10");
  const ObligationState* notify = Duty(Under(a, "m", "eu-ai-act-gpai"), "notify-commission-2w");
  ASSERT_NE(notify, nullptr);
  EXPECT_EQ(notify->due->ToString(), "2025-08-16T00:00:00Z");
  EXPECT_EQ(notify->state, "open");
}

// ---- 2. Duties that do not wait for release ----

// SB 53 §22757.12(a): the framework is owed from the law's start by a developer that trained
// before it, whether or not anything was released. It was "open, due before the first release".
TEST_F(LawTest, Sb53_22757_12a_FrameworkFromTheLawsStartNotFromRelease) {
  auto a = Assess(Models(Pretrain("m", 2e26, 2e8, "", "2025-03-01") +
                         Events("m", {{"training-started", "2025-03-01T00:00:00Z"}})),
                  "2026-02-01");
  const ObligationState* framework = Duty(Under(a, "m", "ca-sb53"), "frontier-ai-framework");
  ASSERT_NE(framework, nullptr);
  EXPECT_EQ(framework->due->ToString(), "2026-01-01T00:00:00Z");
  EXPECT_EQ(framework->state, "overdue");
  // Training that starts under the law: due when it starts, released or not.
  auto b = Assess(Models(Pretrain("m", 2e26, 2e8) + Events("m", {{"training-started", "2026-02-01T00:00:00Z"}})), "2026-03-01");
  EXPECT_EQ(Duty(Under(b, "m", "ca-sb53"), "frontier-ai-framework")->due->ToString(), "2026-02-01T00:00:00Z");
}

// GBL §1421(1): the same, from 2027-01-01.
TEST_F(LawTest, Raise_1421_1_FrameworkFromTheLawsStart) {
  auto a = Assess(Models(Pretrain("m", 2e26, 2e8) + Events("m", {{"training-started", "2026-02-01T00:00:00Z"}})), "2027-02-01");
  const ObligationState* framework = Duty(Under(a, "m", "ny-raise"), "frontier-ai-framework");
  ASSERT_NE(framework, nullptr);
  EXPECT_EQ(framework->due->ToString(), "2027-01-01T00:00:00Z");
  EXPECT_EQ(framework->state, "overdue");
}

// SB 1047 §22603(b) and (h): use "for a purpose not exclusively related to the training or
// reasonable evaluation" triggers them, not only release. The `internal-use` event did not exist.
TEST_F(LawTest, Sb1047_22603b_h_InternalUseTriggersAssessmentAndFirstStatement) {
  auto a = Assess(Models(Pretrain("m", 2e26, 2e8) + Events("m", {{"internal-use", "2026-04-01T00:00:00Z"},
                                                                  {"capability-assessment-recorded", "2026-03-20T00:00:00Z"}})),
                  "2026-06-01");
  const Determination& d = Under(a, "m", "ca-sb1047");
  const ObligationState* assess = Duty(d, "capability-assessment-before-use");
  ASSERT_NE(assess, nullptr);
  EXPECT_EQ(assess->due->ToString(), "2026-04-01T00:00:00Z");
  EXPECT_EQ(assess->state, "met");
  const ObligationState* first = Duty(d, "first-statement-of-compliance");
  EXPECT_EQ(first->due->ToString(), "2026-05-01T00:00:00Z");
  EXPECT_EQ(first->state, "overdue");
  // Whichever comes first starts the clock: a later release does not move it.
  auto b = Assess(Models(Pretrain("m", 2e26, 2e8) + Events("m", {{"internal-use", "2026-04-01T00:00:00Z"},
                                                                  {"released", "2026-05-15T00:00:00Z"}})),
                  "2026-06-01");
  EXPECT_EQ(Duty(Under(b, "m", "ca-sb1047"), "first-statement-of-compliance")->due->ToString(), "2026-05-01T00:00:00Z");
}

// ---- 3. A copier is not a developer ----

// SB 53 §22757.11(h), GBL §1420(8): "has trained, or initiated the training of". A pure copy made
// its holder a large frontier developer under the whole-lineage reading.
TEST_F(LawTest, Sb53_22757_11h_Raise_1420_8_ACopierIsNotAFrontierDeveloper) {
  auto a = Assess(Models(Pretrain("base", 2e26, 2e8) + Derived("copy", "base", "copy", 0, 0, "Host")), "2027-06-01");
  for (const char* regime : {"ca-sb53", "ny-raise"}) {
    const Determination& d = Under(a, "copy", regime);
    EXPECT_EQ(d.status, "not-frontier") << regime;
    EXPECT_EQ(d.covered, false) << regime;
  }
}

// SB 1047 §22602(f)(1) names an unmodified copy a covered model derivative under every reading; it
// was a "covered model" under the lineage reading (A3), making the copier a developer.
TEST_F(LawTest, Sb1047_f1_CopyIsADerivativeUnderEveryReading) {
  auto a = Assess(Models(Pretrain("base", 2e26, 2e8) + Derived("copy", "base", "copy", 0, 0, "Host")), "2026-06-01");
  const Determination& d = Under(a, "copy", "ca-sb1047");
  EXPECT_EQ(Reading(d, "A3-lineage, A2-literal"), "covered-model-derivative");
  EXPECT_EQ(d.status, "covered-model-derivative");
  EXPECT_EQ(d.outcomes.front().developer, "Dev");
}

// regimes.md "A3 limit": a fine-tune of a covered model is governed by (e)(1)(A)(ii) and (f)(3)
// under every reading; the lineage reading made a small fine-tune a covered model.
TEST_F(LawTest, Sb1047_f3_FineTuneOfACoveredModelIsGovernedByItsOwnClausesUnderEveryReading) {
  auto a = Assess(Models(Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 2.9e25, 1.1e7)), "2026-06-01");
  const Determination& d = Under(a, "ft", "ca-sb1047");
  EXPECT_EQ(Reading(d, "A3-lineage, A2-literal"), "covered-model-derivative");
  EXPECT_EQ(d.status, "covered-model-derivative");
  // A model with training of its own on an uncovered base: the lineage reading still counts it.
  auto b = Assess(Models(Pretrain("base", 8e25, 8e7) + Derived("ft", "base", "fine-tune", 3e25, 3e7)), "2026-06-01");
  EXPECT_EQ(Reading(Under(b, "ft", "ca-sb1047"), "A3-lineage, A2-literal"), "covered-model");
}

// ---- 4. SB 1047 §22606(a)(1): the condition, and the covered model's cost as the base ----

TEST_F(LawTest, Sb1047_22606a1_PenaltyIsForHarmCasesAndMeasuredOnTheCoveredModel) {
  // A derivative with $50M of its own post-training work on a $200M covered model: the ceiling is
  // 10% of the covered model's cost ($20M), not of the lineage's $250M.
  auto a = Assess(Models(Pretrain("base", 2e26, 2e8) + Derived("mod", "base", "post-training-modification", 1e25, 5e7)),
                  "2026-06-01");
  const Determination& d = Under(a, "mod", "ca-sb1047");
  // Obligations and penalties are those of the first reading with duties: own training, (f)(2).
  EXPECT_EQ(Reading(d, "A3-own-training, A2-literal"), "covered-model-derivative");
  ASSERT_TRUE(d.penalty_first);
  EXPECT_DOUBLE_EQ(*d.penalty_first, 2e7);
  EXPECT_DOUBLE_EQ(*d.penalty_subsequent, 6e7);
  // The figure is shown with the violations it is for, and the remedies for the others.
  EXPECT_TRUE(Noted(d, "death or bodily harm")) << testing::PrintToString(d.notes);
  EXPECT_TRUE(Noted(d, "(a)(4)-(7)")) << testing::PrintToString(d.notes);
}

// ---- 5. CPI indexing: (e)(2) reaches subdivision (e) only ----

TEST_F(LawTest, Sb1047_e2_CpiIndexesSubdivisionEButNotTheF3TenMillion) {
  CpiSeries cpi{"ca-cpi-u", "test", "test", {{2024, 300.0}, {2025, 309.0}}};
  // 2026: (e)'s $10M becomes $10,300,000; (f)(3)'s stays $10,000,000. A fine-tune just below
  // 3x10^25 costing $10.2M is a derivative under (f)(3) as written; indexing (f)(3) made it nothing.
  auto a = Assess(Models(Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 2.9e25, 1.02e7)), "2026-06-01",
                  {}, {cpi});
  const Determination& d = Under(a, "ft", "ca-sb1047");
  EXPECT_EQ(Reading(d, "A3-own-training, A2-literal"), "covered-model-derivative");
  auto param = [&](const std::string& name) {
    return std::find_if(d.params.begin(), d.params.end(), [&](const ParamValue& p) { return p.name == name; })->value;
  };
  EXPECT_EQ(param("finetune_cost_usd"), 10'300'000);
  EXPECT_EQ(param("derivative_finetune_cost_usd"), 10'000'000);
  EXPECT_EQ(param("covered_cost_usd"), 103'000'000);
}

// ---- 6. EU: same provider, open source, the Art. 52 clock ----

// GPAI Guidelines paras 23, 60: the provider's own fine-tune of its systemic-risk model stays the
// same, systemic-risk model. It was "modification-below-provider-threshold" (no duties).
TEST_F(LawTest, EuAiAct_Guidelines60_SameProvidersFineTuneStaysSystemicRisk) {
  auto a = Assess(Models(Pretrain("base", 3e25, 3e7) + Derived("ft", "base", "fine-tune", 1e23, 1e5)), "2026-06-01");
  const Determination& d = Under(a, "ft", "eu-ai-act-gpai");
  EXPECT_EQ(d.status, "gpai-systemic-risk");
  EXPECT_EQ(d.covered, true);
  // It is the same model: the base's Art. 52(1) notification covers it.
  auto events = Assess(Models(Pretrain("base", 3e25, 3e7) + Derived("ft", "base", "fine-tune", 1e23, 1e5) +
                              Events("ft", {{"training-started", "2026-05-01T00:00:00Z"}})),
                       "2026-06-01");
  EXPECT_EQ(Duty(Under(events, "ft", "eu-ai-act-gpai"), "notify-commission-2w")->state, "not-applicable");
  // Another provider's fine-tune of the same size is still judged by the one-third test.
  auto b = Assess(Models(Pretrain("base", 3e25, 3e7) + Derived("ft", "base", "fine-tune", 1e23, 1e5, "Other")), "2026-06-01");
  EXPECT_EQ(Under(b, "ft", "eu-ai-act-gpai").status, "modification-below-provider-threshold");
}

// Art. 53(2), 54(6): a free and open-source model without systemic risk is exempt from Art.
// 53(1)(a)-(b) and Art. 54, not from (c)-(d); a systemic-risk one is exempt from nothing.
TEST_F(LawTest, EuAiAct_53_2_OpenSourceExemptionOnlyWithoutSystemicRisk) {
  const std::string open = "open_source = true\neu_established = false\n";
  auto a = Assess(Models(Pretrain("m", 5e23, 5e5, open) + Events("m", {{"released", "2026-03-01T00:00:00Z"}})), "2026-06-01");
  const Determination& d = Under(a, "m", "eu-ai-act-gpai");
  ASSERT_EQ(d.status, "gpai");
  EXPECT_EQ(Duty(d, "technical-documentation")->state, "not-applicable");
  EXPECT_NE(Duty(d, "technical-documentation")->detail.find("Art. 53(2)"), std::string::npos);
  EXPECT_EQ(Duty(d, "authorised-representative")->state, "not-applicable");
  EXPECT_EQ(Duty(d, "copyright-policy")->state, "overdue");
  EXPECT_EQ(Duty(d, "training-content-summary")->state, "overdue");
  auto systemic = Assess(Models(Pretrain("m", 2e25, 2e7, open) + Events("m", {{"released", "2026-03-01T00:00:00Z"}})), "2026-06-01");
  const Determination& s = Under(systemic, "m", "eu-ai-act-gpai");
  EXPECT_EQ(Duty(s, "technical-documentation")->state, "overdue");
  EXPECT_EQ(Duty(s, "authorised-representative")->state, "overdue");
}

// Art. 52(1): "becomes known that it will be met": a pre-training estimate (Guidelines para 31).
TEST_F(LawTest, EuAiAct_52_1_ClockStartsAtTheComputeEstimate) {
  auto a = Assess(Models(Pretrain("m", 2e25, 2e7) + Events("m", {{"compute-estimated", "2026-01-05T00:00:00Z"},
                                                                  {"training-started", "2026-02-01T00:00:00Z"},
                                                                  {"commission-notified", "2026-01-25T00:00:00Z"}})),
                  "2026-06-01");
  const Determination& d = Under(a, "m", "eu-ai-act-gpai");
  const ObligationState* notify = Duty(d, "notify-commission-2w");
  ASSERT_NE(notify, nullptr);
  EXPECT_EQ(notify->due->ToString(), "2026-01-19T00:00:00Z");
  EXPECT_EQ(notify->state, "met-late");
  EXPECT_EQ(Duty(d, "notify-commission-2w", 1), nullptr);  // one notification, not one per event
}

// ---- 7. Smaller ones ----

// §22603(g): incidents affecting "covered model derivatives controlled by the developer". A copy
// held by someone else is not the covered model's developer's to report.
TEST_F(LawTest, Sb1047_22603g_IncidentDutyCoversOnlyDerivativesTheDeveloperControls) {
  std::string models = Pretrain("base", 2e26, 2e8) + Derived("hosted", "base", "copy", 0, 0, "Host") +
                       Derived("own", "base", "copy", 0, 0, "Dev") +
                       Events("hosted", {{"incident-discovered", "2026-05-01T00:00:00Z"}}) +
                       Events("own", {{"incident-discovered", "2026-05-01T00:00:00Z"}});
  auto a = Assess(Models(models), "2026-06-01");
  EXPECT_EQ(Duty(Under(a, "hosted", "ca-sb1047"), "incident-report-72h")->state, "not-applicable");
  EXPECT_EQ(Duty(Under(a, "own", "ca-sb1047"), "incident-report-72h")->state, "overdue");
}

// §22602(e)(1)(B)(i)(II): after 2027 a fine-tune must "exceed" the regulator's threshold, and the
// regulator's figure needs the Board of Frontier Models' approval first (Gov. Code §11547.6).
TEST_F(LawTest, Sb1047_e1BiII_RegulatorFineTuneThresholdMustBeExceededAndApproved) {
  auto text = core::ReadFile(Source("regimes/ca-sb1047.toml"));
  ASSERT_TRUE(text);
  const std::string row = "values = [{ from = 2024-09-03, value = 3e25 }]";
  auto with_row = [&](const std::string& approved) {
    std::string t = *text;
    std::size_t at = t.find(row);
    EXPECT_NE(at, std::string::npos);
    t.replace(at, row.size(), "values = [{ from = 2024-09-03, value = 3e25 }, { from = 2027-03-01, value = 4e25, "
                              "source = \"GovOps regulation (test)\"" + approved + " }]");
    auto r = Regime::Parse(t, "ca-sb1047.toml");
    EXPECT_TRUE(r) << r.error().ToString();
    return *r;
  };
  Inventory inv = Models(Pretrain("base", 2e26, 2e8) + Derived("ft", "base", "fine-tune", 4e25, 2e7));
  // Approved: exactly at 4e25 does not exceed it; the fine-tune is a derivative, not a new covered model.
  auto approved = Assess(inv, "2027-06-01", {}, {}, {with_row(", approved = 2027-02-15")});
  const Determination& d = Under(approved, "ft", "ca-sb1047");
  EXPECT_EQ(Reading(d, "A3-own-training, A2-literal"), "covered-model-derivative");
  // Not approved: the statute's 3x10^25 and "equal to or greater than" still hold, with a note.
  auto pending = Assess(inv, "2027-06-01", {}, {}, {with_row("")});
  const Determination& p = Under(pending, "ft", "ca-sb1047");
  EXPECT_EQ(Reading(p, "A3-own-training, A2-literal"), "covered-model");
  EXPECT_TRUE(Noted(p, "Board of Frontier Models")) << testing::PrintToString(p.notes);
}

// Art. 101(1): 3% of worldwide turnover in euros. The USD revenue was read as euros.
TEST_F(LawTest, EuAiAct_101_FineNeedsTurnoverInEuros) {
  auto usd_only = Assess(Models(Pretrain("m", 2e25, 2e7)), "2026-09-01");
  const Determination& d = Under(usd_only, "m", "eu-ai-act-gpai");
  EXPECT_FALSE(d.penalty_first.has_value());
  EXPECT_TRUE(Noted(d, "developer_turnover_eur")) << testing::PrintToString(d.notes);
  auto eur = Assess(Models(Pretrain("m", 2e25, 2e7, "developer_turnover_eur = 2e9\n")), "2026-09-01");
  EXPECT_DOUBLE_EQ(*Under(eur, "m", "eu-ai-act-gpai").penalty_first, 6e7);
  auto small = Assess(Models(Pretrain("m", 2e25, 2e7, "developer_turnover_eur = 1e8\n")), "2026-09-01");
  EXPECT_DOUBLE_EQ(*Under(small, "m", "eu-ai-act-gpai").penalty_first, 1.5e7);
}

// ---- 8. Citations to the subdivision ----

TEST_F(LawTest, Citations_Sb53AndRaiseToTheSubdivision) {
  auto cite = [&](const std::string& regime, const std::string& id) {
    for (const Regime& r : *regimes_) {
      if (r.id != regime) continue;
      for (const Obligation& o : r.obligations) {
        if (o.id == id) return o.cite;
      }
    }
    return std::string("none");
  };
  EXPECT_EQ(cite("ca-sb53", "framework-annual-review"), "§22757.12(b)(1)");
  EXPECT_EQ(cite("ca-sb53", "framework-modification-published"), "§22757.12(b)(2)");
  EXPECT_EQ(cite("ca-sb53", "critical-incident-15d"), "§22757.13(c)(1)");
  EXPECT_EQ(cite("ca-sb53", "imminent-risk-24h"), "§22757.13(c)(2)");
  EXPECT_EQ(cite("ny-raise", "frontier-ai-framework"), "GBL §1421(1)");
  EXPECT_EQ(cite("ny-raise", "framework-annual-review"), "GBL §1421(2)(a)");
  EXPECT_EQ(cite("ny-raise", "framework-modification-published"), "GBL §1421(2)(b)");
  EXPECT_EQ(cite("ny-raise", "transparency-report"), "GBL §1421(3)(a)");
  EXPECT_EQ(cite("ny-raise", "critical-incident-72h"), "GBL §1422(3)(a)");
  EXPECT_EQ(cite("ny-raise", "imminent-risk-24h"), "GBL §1422(3)(b)");
  const Regime& raise = *std::find_if(regimes_->begin(), regimes_->end(), [](const Regime& r) { return r.id == "ny-raise"; });
  EXPECT_NE(raise.params[0].cite.find("§1420(9)"), std::string::npos);
  EXPECT_NE(raise.params[1].cite.find("§1420(10)"), std::string::npos);
}

// ---- What to add 3: what counts as the cost of training ----

// §22602(e)(1)(A)(i): "the cost of which ... when calculated using the average market prices of
// cloud compute". Data, salaries, other compute and earlier runs are recorded and shown excluded,
// with the clause; they never lift a model over the $100M line.
TEST_F(LawTest, Sb1047_e1Ai_CostIsComputeAtMarketPriceOtherComponentsExcluded) {
  const std::string costs = "[model.costs]\ndata_usd = 5e6\npeople_usd = 4e7\nearlier_runs_usd = 2e7\n";
  std::string model = Pretrain("m", 2e26, 9e7);
  auto a = Assess(Models(model + costs), "2026-06-01");
  const Determination& d = Under(a, "m", "ca-sb1047");
  EXPECT_EQ(d.status, "not-covered");  // $90M of compute; $65M of other costs do not count
  auto note = std::find_if(d.notes.begin(), d.notes.end(),
                           [](const std::string& n) { return n.find("cost components under ca-sb1047") == 0; });
  ASSERT_NE(note, d.notes.end()) << testing::PrintToString(d.notes);
  EXPECT_NE(note->find("compute-market $9.00e+07: counted"), std::string::npos) << *note;
  EXPECT_NE(note->find("people $4.00e+07: excluded (§22602(e)(1)(A)(i)"), std::string::npos) << *note;
  EXPECT_NE(note->find("data $5.00e+06: excluded"), std::string::npos) << *note;
  EXPECT_NE(note->find("earlier-runs $2.00e+07: excluded"), std::string::npos) << *note;
  EXPECT_EQ(note->find("other-compute"), std::string::npos);  // not recorded, not listed
  // Regimes without a cost test say nothing about costs.
  EXPECT_FALSE(Noted(Under(a, "m", "ca-sb53"), "cost components"));
}

// ---- What to add 1: the missing duties, and recurring clocks ----

TEST_F(LawTest, Sb1047_22603_MissingDutiesAreListedWithTheirClauses) {
  auto a = Assess(Models(Pretrain("m", 2e26, 2e8) + Events("m", {{"training-started", "2026-02-01T00:00:00Z"},
                                                                  {"released", "2026-05-01T00:00:00Z"}})),
                  "2026-06-01");
  const Determination& d = Under(a, "m", "ca-sb1047");
  EXPECT_EQ(Duty(d, "senior-personnel")->cite, "§22603(a)(4)");
  EXPECT_EQ(Duty(d, "senior-personnel")->due->ToString(), "2026-02-01T00:00:00Z");
  EXPECT_EQ(Duty(d, "safeguards-before-use")->cite, "§22603(b)(3)");
  EXPECT_EQ(Duty(d, "attribution-before-use")->cite, "§22603(b)(4)");
  EXPECT_EQ(Duty(d, "no-use-with-unreasonable-risk")->cite, "§22603(c)");
  EXPECT_EQ(Duty(d, "no-use-with-unreasonable-risk")->state, "standing");  // a prohibition: nothing discharges it
  EXPECT_EQ(Duty(d, "annual-safeguard-reevaluation")->cite, "§22603(d)");
  EXPECT_EQ(Duty(d, "annual-safeguard-reevaluation")->due->ToString(), "2027-05-01T00:00:00Z");
}

// SB 53 §22757.12(d), GBL §1422(2)(a): internal-use summaries every three months.
TEST_F(LawTest, Sb53_22757_12d_InternalUseSummariesEveryThreeMonths) {
  std::string model = Pretrain("m", 2e26, 2e8) + Events("m", {{"internal-use", "2026-01-15T00:00:00Z"},
                                                              {"internal-use-summary-sent", "2026-04-10T00:00:00Z"}});
  // Quarter to 2026-04-15 met; quarter to 2026-07-15 open on 2026-06-01.
  auto a = Assess(Models(model), "2026-06-01");
  const ObligationState* q = Duty(Under(a, "m", "ca-sb53"), "internal-use-summaries");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->due->ToString(), "2026-07-15T00:00:00Z");
  EXPECT_EQ(q->state, "open");
  // On 2026-08-01 the quarter to 2026-07-15 has passed without a summary.
  auto b = Assess(Models(model), "2026-08-01");
  const ObligationState* late = Duty(Under(b, "m", "ca-sb53"), "internal-use-summaries");
  EXPECT_EQ(late->state, "overdue");
  EXPECT_EQ(late->due->ToString(), "2026-10-15T00:00:00Z");
  // RAISE: the same duty from 2027-01-01, counted from that date for use that began earlier.
  auto c = Assess(Models(model), "2027-02-01");
  const ObligationState* raise = Duty(Under(c, "m", "ny-raise"), "internal-use-summaries");
  ASSERT_NE(raise, nullptr);
  EXPECT_EQ(raise->cite, "GBL §1422(2)(a)");
  EXPECT_EQ(raise->due->ToString(), "2027-04-01T00:00:00Z");
}

// GBL §1428: a disclosure statement before developing, renewed every two years and on a transfer.
TEST_F(LawTest, Raise_1428_DisclosureStatementEveryTwoYearsAndOnTransfer) {
  std::string model = Pretrain("m", 2e26, 2e8) + Events("m", {{"training-started", "2027-02-01T00:00:00Z"},
                                                              {"disclosure-statement-filed", "2027-01-20T00:00:00Z"},
                                                              {"ownership-transferred", "2028-03-01T00:00:00Z"}});
  auto a = Assess(Models(model), "2029-06-01");
  const Determination& d = Under(a, "m", "ny-raise");
  EXPECT_EQ(Duty(d, "disclosure-statement")->state, "met");
  const ObligationState* renewal = Duty(d, "disclosure-statement-renewal");
  ASSERT_NE(renewal, nullptr);
  EXPECT_EQ(renewal->due->ToString(), "2029-01-20T00:00:00Z");
  EXPECT_EQ(renewal->state, "overdue");
  EXPECT_EQ(Duty(d, "disclosure-statement-on-transfer")->state, "overdue");
}

// EU Art. 54 and Art. 55(1)(b)-(d).
TEST_F(LawTest, EuAiAct_54_55_RepresentativeAndSystemicRiskDuties) {
  auto a = Assess(Models(Pretrain("m", 2e25, 2e7, "eu_established = false\n") +
                         Events("m", {{"released", "2026-03-01T00:00:00Z"}, {"incident-discovered", "2026-04-01T00:00:00Z"}})),
                  "2026-06-01");
  const Determination& d = Under(a, "m", "eu-ai-act-gpai");
  EXPECT_EQ(Duty(d, "authorised-representative")->cite, "Art. 54(1)");
  EXPECT_EQ(Duty(d, "systemic-risk-assessment")->cite, "Art. 55(1)(b)");
  const ObligationState* incident = Duty(d, "serious-incident-report");
  ASSERT_NE(incident, nullptr);
  EXPECT_EQ(incident->cite, "Art. 55(1)(c)");
  EXPECT_FALSE(incident->due.has_value());  // "without undue delay": no date is invented
  EXPECT_EQ(incident->state, "open");
  EXPECT_EQ(Duty(d, "systemic-cybersecurity")->cite, "Art. 55(1)(d)");
  // A provider established in the Union appoints no representative.
  auto eu = Assess(Models(Pretrain("m", 2e25, 2e7, "eu_established = true\n")), "2026-06-01");
  EXPECT_EQ(Duty(Under(eu, "m", "eu-ai-act-gpai"), "authorised-representative")->state, "not-applicable");
}

// ---- What to add 2: comparing versions (the rules side of `assess --compare`) ----

TEST_F(LawTest, CompareVersions_StatusDutiesAndPenaltyPerModel) {
  auto text = core::ReadFile(Source("regimes/ca-sb1047.toml"));
  ASSERT_TRUE(text);
  // A version whose line is 5x10^25 operations with no other change: a stand-in for an earlier
  // text, enough to see every column of the comparison move.
  std::string variant = *text;
  variant.replace(variant.find("id = \"ca-sb1047\""), std::string("id = \"ca-sb1047\"").size(), "id = \"ca-sb1047@variant\"");
  const std::string line = "values = [{ from = 2024-09-03, value = 1e26 }]";
  variant.replace(variant.find(line), line.size(), "values = [{ from = 2024-09-03, value = 5e25 }]");
  auto enrolled = Regime::Parse(*text, "ca-sb1047.toml");
  auto other = Regime::Parse(variant, "ca-sb1047@variant.toml");
  ASSERT_TRUE(enrolled && other);
  Engine engine({*enrolled, *other}, {});
  Inventory inv = Models(Pretrain("small", 8e25, 1.2e8) + Pretrain("big", 2e26, 2e8) +
                         Events("small", {{"released", "2026-05-01T00:00:00Z"}}));
  auto compared = CompareVersions(engine, inv, {core::Date::FromYmd(2026, 6, 1), {}, {}}, "ca-sb1047", "ca-sb1047@variant");
  ASSERT_TRUE(compared) << compared.error().ToString();
  ASSERT_EQ(compared->rows.size(), 2u);
  const VersionRow& small = compared->rows[0];
  EXPECT_EQ(small.model, "small");
  EXPECT_TRUE(small.differs);
  EXPECT_EQ(small.status[0], "not-covered");
  EXPECT_EQ(small.status[1], "covered-model");
  EXPECT_TRUE(small.duties_only[0].empty());
  EXPECT_NE(std::find(small.duties_only[1].begin(), small.duties_only[1].end(), "capability-assessment-before-use"),
            small.duties_only[1].end());
  EXPECT_FALSE(small.penalty_first[0].has_value());
  EXPECT_DOUBLE_EQ(*small.penalty_first[1], 1.2e7);
  EXPECT_FALSE(compared->rows[1].differs);  // over both lines: the same answer
  auto twice = CompareVersions(engine, inv, {core::Date::FromYmd(2026, 6, 1), {}, {}}, "ca-sb1047", "ca-sb1047");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().field, "--compare");
}

// ---- The bill's versions (issue 11, "What to add" 2): SB 1047 as introduced (2024-02-07), as
// passed by the Senate (amended 2024-05-16), as amended in the Assembly (2024-07-03), and as
// enrolled (ca-sb1047). Each golden test names the clause whose versions differ. ----

class VersionsTest : public LawTest {
 protected:
  static inline const std::vector<std::string> kIds = {"ca-sb1047@2024-02-07", "ca-sb1047@2024-05-16",
                                                       "ca-sb1047@2024-07-03", "ca-sb1047"};
  static std::vector<Regime> Files() {
    std::vector<Regime> out;
    for (const std::string& id : kIds) {
      auto r = Regime::Load(Source("regimes/" + id + ".toml"));
      EXPECT_TRUE(r) << r.error().ToString();
      if (r) out.push_back(std::move(*r));
    }
    return out;
  }
  // Superseded versions are assessed only when named: these tests name all four.
  static std::vector<ModelAnswer> AssessAll(const Inventory& inv, const std::string& as_of) {
    Engine engine(Files(), {});
    auto answers = engine.Assess(inv, {*core::Date::Parse(as_of), {}, kIds});
    EXPECT_TRUE(answers) << answers.error().ToString();
    return answers ? *answers : std::vector<ModelAnswer>{};
  }
};

// §22602 "covered model": 10^26 operations alone (introduced, Senate) against 10^26 AND more than
// $100M (from the June 5 amendments: regimes.md H6). A $90M run over the line was covered only in
// the earlier texts.
TEST_F(VersionsTest, Sb1047_22602_CostTestArrivedInTheAssembly) {
  auto a = AssessAll(Models(Pretrain("m", 1.1e26, 9e7)), "2025-06-01");
  EXPECT_EQ(Under(a, "m", "ca-sb1047@2024-02-07").status, "covered-model");
  EXPECT_EQ(Under(a, "m", "ca-sb1047@2024-05-16").status, "covered-model");
  EXPECT_EQ(Under(a, "m", "ca-sb1047@2024-07-03").status, "not-covered");
  EXPECT_EQ(Under(a, "m", "ca-sb1047").status, "not-covered");
  // Every earlier version says its rule was read from a secondary source, and what it cannot judge.
  EXPECT_TRUE(Noted(Under(a, "m", "ca-sb1047@2024-05-16"), "was read from a secondary source"))
      << testing::PrintToString(Under(a, "m", "ca-sb1047@2024-05-16").notes);
  Engine engine(Files(), {});
  auto context = engine.Context({core::Date::FromYmd(2025, 6, 1), {}, {"ca-sb1047@2024-02-07"}});
  ASSERT_TRUE(context);
  ASSERT_EQ(context->size(), 1u);
  const auto& notes = context->front().notes;
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n.find("not known for this version: the capability prong") != std::string::npos;
  })) << testing::PrintToString(notes);
  EXPECT_TRUE(std::any_of(notes.begin(), notes.end(), [](const std::string& n) {
    return n.find("covered_flop: read from a secondary source") != std::string::npos;
  })) << testing::PrintToString(notes);
}

// The Senate version's debated derivative line (regimes.md H8, a named reading): a modification
// using less than 25% of the base's compute stays a derivative; one using more is judged on its own.
TEST_F(VersionsTest, Sb1047Senate_DerivativeLineOf25PercentIsANamedReading) {
  const std::string models = Pretrain("base", 1.2e26, 1.5e8) + Derived("big-ft", "base", "fine-tune", 5e25, 5e6, "Other") +
                             Derived("small-ft", "base", "fine-tune", 1e25, 1e6, "Other");
  auto a = AssessAll(Models(models), "2025-06-01");
  const Determination& big = Under(a, "big-ft", "ca-sb1047@2024-05-16");
  EXPECT_EQ(big.status, "depends-on-reading");
  EXPECT_EQ(Reading(big, "A3-own-training, H8-any-modification"), "derivative-model");
  // 5x10^25 is 42% of the base's 1.2x10^26: a model of its own, covered only if its compute counts
  // the base's (A3), and then its fine-tuner is the developer.
  EXPECT_EQ(Reading(big, "A3-own-training, H8-25-percent"), "not-covered");
  EXPECT_EQ(Reading(big, "A3-lineage, H8-25-percent"), "covered-model");
  for (const Outcome& o : big.outcomes) {
    if (o.reading == "A3-lineage, H8-25-percent") {
      EXPECT_EQ(o.developer, "Other");
    }
    if (o.reading == "A3-own-training, H8-any-modification") {
      EXPECT_EQ(o.developer, "Dev");
    }
  }
  // 1x10^25 is 8%: a derivative under either line.
  EXPECT_EQ(Under(a, "small-ft", "ca-sb1047@2024-05-16").status, "derivative-model");
  // The Assembly text of 2024-07-03: 3x10^25 or more makes a covered model, with no cost floor; the
  // enrolled text's $10M floor ((e)(1)(A)(ii)) leaves a $5M fine-tune out as written.
  EXPECT_EQ(Under(a, "big-ft", "ca-sb1047@2024-07-03").status, "covered-model");
  EXPECT_EQ(Reading(Under(a, "big-ft", "ca-sb1047"), "A3-own-training, A2-literal"), "not-covered");
}

// §22603: the limited duty exemption (Senate) and the positive safety determination (introduced)
// relieve a covered model of the pre-training duties; the enrolled text has no such exemption.
TEST_F(VersionsTest, Sb1047_22603_LimitedDutyExemptionRelievesPreTrainingDuties) {
  auto a = AssessAll(Models(Pretrain("m", 2e26, 2e8, "", "2025-03-01") +
                            Events("m", {{"limited-duty-exemption", "2025-02-01T00:00:00Z"},
                                         {"training-started", "2025-03-01T00:00:00Z"}})),
                     "2025-06-01");
  const ObligationState* senate = Duty(Under(a, "m", "ca-sb1047@2024-05-16"), "cybersecurity-before-training");
  ASSERT_NE(senate, nullptr);
  EXPECT_EQ(senate->state, "not-applicable");
  EXPECT_NE(senate->detail.find("relieved of it by limited-duty-exemption"), std::string::npos) << senate->detail;
  EXPECT_NE(senate->detail.find("read from a secondary source"), std::string::npos) << senate->detail;
  EXPECT_EQ(Duty(Under(a, "m", "ca-sb1047@2024-05-16"), "covered-guidance-before-training")->state, "not-applicable");
  EXPECT_EQ(Duty(Under(a, "m", "ca-sb1047"), "cybersecurity-before-training")->state, "overdue");
  // The introduced text's exemption is a positive safety determination, not this event.
  EXPECT_EQ(Duty(Under(a, "m", "ca-sb1047@2024-02-07"), "cybersecurity-before-training")->state, "overdue");
  // An exemption after training began does not undo a duty that was due before it.
  auto late = AssessAll(Models(Pretrain("m", 2e26, 2e8, "", "2025-03-01") +
                               Events("m", {{"training-started", "2025-03-01T00:00:00Z"},
                                            {"limited-duty-exemption", "2025-04-01T00:00:00Z"}})),
                        "2025-06-01");
  EXPECT_EQ(Duty(Under(late, "m", "ca-sb1047@2024-05-16"), "cybersecurity-before-training")->state, "overdue");
}

// Certification under penalty of perjury to the Frontier Model Division (Senate, Assembly): owed,
// with no invented due date; the enrolled text has a statement of compliance instead (§22603(f)).
// Audits: from 2028 in the Assembly text of July 3, from 2026 as enrolled (§22603(e)(1)).
TEST_F(VersionsTest, Sb1047_22603_CertificationUnderPerjuryAndAuditStartDiffer) {
  auto a = AssessAll(Models(Pretrain("m", 2e26, 2e8) + Events("m", {{"training-started", "2026-02-01T00:00:00Z"},
                                                                   {"released", "2026-03-01T00:00:00Z"}})),
                     "2027-06-01");
  for (const char* id : {"ca-sb1047@2024-05-16", "ca-sb1047@2024-07-03"}) {
    const ObligationState* cert = Duty(Under(a, "m", id), "certification-under-penalty-of-perjury");
    ASSERT_NE(cert, nullptr) << id;
    EXPECT_EQ(cert->state, "open") << id;
    EXPECT_FALSE(cert->due.has_value()) << id;
    EXPECT_NE(cert->detail.find("the period is not known"), std::string::npos) << cert->detail;
  }
  EXPECT_EQ(Duty(Under(a, "m", "ca-sb1047"), "certification-under-penalty-of-perjury"), nullptr);
  EXPECT_EQ(Duty(Under(a, "m", "ca-sb1047"), "annual-third-party-audit")->state, "overdue");
  const ObligationState* july = Duty(Under(a, "m", "ca-sb1047@2024-07-03"), "annual-third-party-audit");
  ASSERT_NE(july, nullptr);
  EXPECT_EQ(july->state, "open");
  ASSERT_TRUE(july->due);
  EXPECT_GE(july->due->ToString(), "2028-01-01");
}

// §22606: the enrolled text's penalty figure (10% / 30% of the covered model's compute cost) has no
// counterpart in the earlier versions as read: no figure is shown, and the file says it is unknown.
TEST_F(VersionsTest, Sb1047_22606_PenaltyFigureOnlyWhereTheTextWasRead) {
  Inventory inv = Models(Pretrain("m", 2e26, 2e8));
  auto a = AssessAll(inv, "2026-06-01");
  ASSERT_TRUE(Under(a, "m", "ca-sb1047").penalty_first);
  EXPECT_DOUBLE_EQ(*Under(a, "m", "ca-sb1047").penalty_first, 2e7);
  for (const char* id : {"ca-sb1047@2024-02-07", "ca-sb1047@2024-05-16", "ca-sb1047@2024-07-03"}) {
    EXPECT_FALSE(Under(a, "m", id).penalty_first.has_value()) << id;
  }
  Engine engine(Files(), {});
  auto compared = CompareVersions(engine, inv, {core::Date::FromYmd(2026, 6, 1), {}, {}}, "ca-sb1047@2024-05-16", "ca-sb1047");
  ASSERT_TRUE(compared) << compared.error().ToString();
  const VersionRow& row = compared->rows.front();
  EXPECT_TRUE(row.differs);
  EXPECT_EQ(row.status[0], "covered-model");
  EXPECT_EQ(row.status[1], "covered-model");
  EXPECT_FALSE(row.penalty_first[0].has_value());
  EXPECT_DOUBLE_EQ(*row.penalty_first[1], 2e7);
  auto only = [&](int side, const std::string& id) {
    return std::find(row.duties_only[side].begin(), row.duties_only[side].end(), id) != row.duties_only[side].end();
  };
  EXPECT_TRUE(only(0, "covered-guidance-before-training"));
  EXPECT_TRUE(only(0, "certification-under-penalty-of-perjury"));
  EXPECT_TRUE(only(1, "annual-third-party-audit"));
  EXPECT_FALSE(only(0, "cybersecurity-before-training"));  // owed under both
}

// A superseded version is assessed only when named: the default run shows the law as enrolled.
TEST_F(VersionsTest, SupersededVersionsAreAssessedOnlyWhenNamed) {
  std::vector<Regime> all = Files();
  Engine engine(all, {});
  Inventory inv = Models(Pretrain("m", 2e26, 2e8));
  auto plain = engine.Assess(inv, {core::Date::FromYmd(2026, 6, 1), {}, {}});
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->front().determinations.size(), 1u);
  EXPECT_EQ(plain->front().determinations.front().regime, "ca-sb1047");
  auto named = engine.Assess(inv, {core::Date::FromYmd(2026, 6, 1), {}, {"ca-sb1047@2024-07-03"}});
  ASSERT_TRUE(named);
  ASSERT_EQ(named->front().determinations.size(), 1u);
  EXPECT_EQ(named->front().determinations.front().regime, "ca-sb1047@2024-07-03");
}

// Item 4: the penalty's condition and the other remedies reach both JSON shapes: the explained
// shape repeats them per model, the summary names the penalty in the head, where they are written once.
TEST_F(LawTest, Sb1047_22606a1_PenaltyConditionInBothJsonShapes) {
  Engine engine(*regimes_, {});
  auto contexts = engine.Context({core::Date::FromYmd(2026, 6, 1), {}, {}});
  ASSERT_TRUE(contexts);
  const nlohmann::json head = RegimesToJson(*contexts);
  auto penalty_in_head = [&](const std::string& regime, const nlohmann::json& summary) -> nlohmann::json {
    for (const nlohmann::json& r : head) {
      if (r["id"] == regime) return r["penalties"].at(summary["penalty"].get<std::size_t>());
    }
    ADD_FAILURE() << regime << " not in the head";
    return nullptr;
  };
  auto only = [](std::vector<ModelAnswer> answers, const std::string& regime) {
    ModelAnswer a = answers.front();
    std::erase_if(a.determinations, [&](const Determination& d) { return d.regime != regime; });
    return a;
  };
  auto summary_of = [](const ModelAnswer& a) {
    std::string text;
    AppendSummaryJson(text, a);
    return nlohmann::json::parse(text)["determinations"][0];
  };
  const ModelAnswer sb1047 = only(Assess(Models(Pretrain("m", 2e26, 2e8)), "2026-06-01"), "ca-sb1047");
  ASSERT_EQ(sb1047.determinations.size(), 1u);
  nlohmann::json explained = ModelToJson(sb1047)["determinations"][0];
  EXPECT_NE(explained["penalty_condition"].get<std::string>().find("death or bodily harm"), std::string::npos);
  EXPECT_NE(explained["penalty_otherwise"].get<std::string>().find("(a)(4)-(7)"), std::string::npos);
  nlohmann::json summary = summary_of(sb1047);
  ASSERT_TRUE(explained["penalty"].is_number());
  EXPECT_EQ(summary["penalty"], explained["penalty"]);
  EXPECT_FALSE(summary.contains("penalty_condition"));
  nlohmann::json penalty = penalty_in_head("ca-sb1047", summary);
  EXPECT_EQ(penalty["condition"], explained["penalty_condition"]);
  EXPECT_EQ(penalty["otherwise"], explained["penalty_otherwise"]);
  EXPECT_EQ(penalty["cite"], explained["penalty_cite"]);
  // SB 53's penalty names no other remedies: null, in both shapes.
  const ModelAnswer sb53 = only(Assess(Models(Pretrain("m", 2e26, 2e8)), "2026-06-01"), "ca-sb53");
  EXPECT_TRUE(ModelToJson(sb53)["determinations"][0]["penalty_otherwise"].is_null());
  nlohmann::json sb53_penalty = penalty_in_head("ca-sb53", summary_of(sb53));
  EXPECT_TRUE(sb53_penalty["otherwise"].is_null());
  EXPECT_FALSE(sb53_penalty["condition"].is_null());
}

// ---- The obligation language's new keys are checked at load, with the field ----

TEST(LawRegimeTest, NewObligationKeysAreCheckedAtLoad) {
  const std::string head = R"toml(id = "x"
title = "X"
version = 2025-01-01
source = "s"
statuses = ["covered", "not-covered"]
default_status = "not-covered"
covered_statuses = ["covered"]
[[rule]]
id = "r1"
status = "covered"
cite = "§1(a)"
text = "t"
when = "own_flop > 1"
)toml";
  auto parse = [&](const std::string& tail) { return Regime::Parse(head + tail, "x.toml"); };
  const std::string duty = "[[obligation]]\nid = \"o\"\ncite = \"§2\"\ntext = \"t\"\napplies_to = [\"covered\"]\n";
  // A transitional rule needs a start date: the regime has none and the duty gives none.
  auto no_from = parse(duty + "before = \"released\"\nearlier = \"due-at-start\"\n");
  ASSERT_FALSE(no_from);
  EXPECT_EQ(no_from.error().field, "obligation[0].earlier");
  auto due_on = parse(duty + "before = \"released\"\nfrom = 2025-08-02\nearlier = \"due-on\"\n");
  ASSERT_FALSE(due_on);
  EXPECT_EQ(due_on.error().field, "obligation[0].earlier_due");
  auto starting = parse(duty + "within = \"3d\"\nafter = \"released\"\nstarting = \"released\"\n");
  ASSERT_FALSE(starting);
  EXPECT_EQ(starting.error().field, "obligation[0].starting");
  auto hours = parse(duty + "every = \"72h\"\nstarting = \"released\"\n");
  ASSERT_FALSE(hours);
  EXPECT_NE(hours.error().message.find("months (m) or years (y)"), std::string::npos);
  auto list = parse(duty + "before = [\"released\", \"relesed\"]\n");
  ASSERT_FALSE(list);
  EXPECT_NE(list.error().message.find("unknown event 'relesed'"), std::string::npos);
  auto condition = parse(duty + "before = \"released\"\nwhen = \"open_sorce\"\n");
  ASSERT_FALSE(condition);
  EXPECT_EQ(condition.error().field, "obligation[0].when");
  auto ok = parse(duty + "every = \"3m\"\nfrom = 2026-01-01\nmet_by = \"internal-use-summary-sent\"\nwhen = \"not open_source\"\n");
  ASSERT_TRUE(ok) << ok.error().ToString();
  EXPECT_EQ(ok->obligations[0].delay_months, 3);
  EXPECT_TRUE(ok->compiled_obligations(0)[0].has_value());
  // Only compute at market price can count toward a cost test, and every component is listed.
  const std::string component = "[[cost_component]]\ncomponent = \"people\"\ncounts = true\ncite = \"c\"\n";
  auto people = parse(component);
  ASSERT_FALSE(people);
  EXPECT_EQ(people.error().field, "cost_component[0].counts");
}

}  // namespace
}  // namespace flopline::rules
