// The debate's figures reproduced to the dollar, the Monte Carlo's determinism and convergence,
// the SB 1047 cost-test crossover, CPI indexing, and bad inputs.
#include "flopline/forecast/projection.h"

#include <cmath>

#include <gtest/gtest.h>

namespace flopline::forecast {
namespace {

CapabilityQuery Debate(Spread hardware, Spread algorithms = Spread::Exactly(1e9)) {
  CapabilityQuery q;
  q.base_year = 2024;
  q.base_cost_usd = 100e6;
  q.years = {2029, 2034};
  q.hardware_halving_years = hardware;
  q.algorithmic_halving_months = algorithms;
  q.mc.samples = 0;
  return q;
}

TEST(DebateFiguresTest, HardwareHalvingEveryTwoAndAHalfYears) {
  // "$100M today costs about $25M in five years and under $6M in ten" (the bill's critics).
  auto f = ForecastCapability(Debate(Spread::Exactly(2.5)));
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_EQ(std::llround(f->hardware_only[0].point), 25'000'000);
  EXPECT_EQ(std::llround(f->hardware_only[1].point), 6'250'000);
}

TEST(DebateFiguresTest, CombinedFiftyTimesEveryFiveYears) {
  CapabilityQuery q = Debate(Spread::Exactly(2.5));
  q.combined_factor = 50;
  q.combined_per_years = 5;
  auto f = ForecastCapability(q);
  ASSERT_TRUE(f);
  EXPECT_EQ(std::llround(f->combined[0]), 2'000'000);  // 2029
  EXPECT_EQ(std::llround(f->combined[1]), 40'000);     // 2034
}

TEST(DebateFiguresTest, AlgorithmsHalvingEveryFourteenMonths) {
  // "10^8 FLOP today is about 6x10^6 in five years": 2^(-60/14) of it.
  EXPECT_NEAR(1e8 * AlgorithmicFactor(5, 14), 5.13e6, 0.01e6);
  EXPECT_NEAR(1e8 * AlgorithmicFactor(5, 15), 6.25e6, 1.0);
}

TEST(DebateFiguresTest, EpochsMeasuredRatesMoveTheClaims) {
  // Under Epoch's measured hardware rate (2.46 years) alone, $100M in 2024 is about $24.5M in 2029.
  auto f = ForecastCapability(Debate(Spread::Exactly(2.46), Spread::Exactly(8)));
  ASSERT_TRUE(f);
  EXPECT_NEAR(f->hardware_only[0].point, 100e6 * std::exp2(-5 / 2.46), 1e-6);
  // Hardware x algorithms (8-month halving) is far steeper than the debate's 50x per five years.
  EXPECT_LT(f->both[0].point, 2e6);
}

TEST(IndexedAmountTest, AdjustsYearlyFrom2026ToTheNearestHundredDollars) {
  EXPECT_EQ(IndexedAmount(100e6, 2026, 2025, 0.025), 100e6);
  EXPECT_EQ(IndexedAmount(100e6, 2026, 2026, 0.025), 102'500'000);
  EXPECT_EQ(IndexedAmount(100e6, 2026, 2027, 0.025), 105'062'500);  // 102.5M x 1.025, already whole $100s
  EXPECT_EQ(IndexedAmount(10e6, 2026, 2026, 0.0333), 10'333'000);
  EXPECT_EQ(std::fmod(IndexedAmount(100e6, 2026, 2040, 0.0271), 100.0), 0.0);
}

CostQuery TenToTheTwentySix() {
  CostQuery q;
  q.flop = 1e26;
  q.base_year = 2024;
  for (int y = 2024; y <= 2034; ++y) q.years.push_back(y);
  q.usd_per_flop = {2e-18, 8e-18, 9.4e-18};
  q.hardware_halving_years = {2.07, 2.46, 2.95};
  q.budgets = {2e6, 5e4};
  q.mc = {20000, 7};
  return q;
}

TEST(CostForecastTest, PointsFollowTheHalvingTime) {
  auto f = ForecastCost(TenToTheTwentySix());
  ASSERT_TRUE(f) << f.error().ToString();
  EXPECT_DOUBLE_EQ(f->cost_usd[0].point, 800e6);
  EXPECT_DOUBLE_EQ(f->cost_usd[10].point, 800e6 * std::exp2(-10 / 2.46));
  // $800M to $2M is log2(400) halvings of 2.46 years.
  EXPECT_NEAR(f->budgets[0].crossing_year.point, 2024 + 2.46 * std::log2(400.0), 1e-9);
  EXPECT_EQ(f->budgets[0].first_year_below, 2046);  // crossing at 2045.26
  for (const auto& c : f->cost_usd) {
    ASSERT_TRUE(c.range);
    EXPECT_LE(c.range->p5, c.range->p50);
    EXPECT_LE(c.range->p50, c.range->p95);
  }
}

TEST(CostForecastTest, BudgetAlreadyMetIsTheBaseYear) {
  CostQuery q = TenToTheTwentySix();
  q.budgets = {1e12};
  auto f = ForecastCost(q);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->budgets[0].first_year_below, 2024);
  EXPECT_EQ(f->budgets[0].crossing_year.point, 2024);
}

TEST(MonteCarloTest, SameSeedSameAnswerOtherSeedOtherAnswer) {
  auto a = ForecastCost(TenToTheTwentySix());
  auto b = ForecastCost(TenToTheTwentySix());
  CostQuery other = TenToTheTwentySix();
  other.mc.seed = 8;
  auto c = ForecastCost(other);
  ASSERT_TRUE(a && b && c);
  for (std::size_t i = 0; i < a->cost_usd.size(); ++i) {
    EXPECT_EQ(a->cost_usd[i].range->p5, b->cost_usd[i].range->p5);
    EXPECT_EQ(a->cost_usd[i].range->p50, b->cost_usd[i].range->p50);
    EXPECT_EQ(a->cost_usd[i].range->p95, b->cost_usd[i].range->p95);
  }
  EXPECT_NE(a->cost_usd[5].range->p50, c->cost_usd[5].range->p50);
}

TEST(MonteCarloTest, PercentilesConvergeAsSamplesGrow) {
  // The analytic median of a triangular(2.07, 2.46, 2.95) halving time, with a fixed price, is
  // known; the sampled median approaches it as the sample count grows.
  CostQuery q = TenToTheTwentySix();
  q.usd_per_flop = Spread::Exactly(8e-18);
  const Spread h = q.hardware_halving_years;
  const double median_h = h.Quantile(0.5);
  const double exact = 800e6 * std::exp2(-10 / median_h);  // cost rises with h: monotone
  double previous_error = 1e300;
  for (std::int64_t n : {1000, 100000, 1000000}) {
    q.mc.samples = n;
    auto f = ForecastCost(q);
    ASSERT_TRUE(f);
    double error = std::fabs(f->cost_usd[10].range->p50 / exact - 1);
    EXPECT_LT(error, previous_error * 1.5) << n;  // no worse, allowing sampling noise
    previous_error = std::min(previous_error, error);
  }
  EXPECT_LT(previous_error, 0.002);
}

TEST(MonteCarloTest, TriangularQuantilesHitTheirCorners) {
  Spread s{1, 2, 4};
  EXPECT_DOUBLE_EQ(s.Quantile(0), 1);
  EXPECT_DOUBLE_EQ(s.Quantile(1.0 / 3.0), 2);  // F(mode) = (2-1)/(4-1)
  EXPECT_NEAR(s.Quantile(1 - 1e-15), 4, 1e-6);
  EXPECT_EQ(Spread::Exactly(3).Quantile(0.7), 3);
}

ThresholdQuery Sb1047() {
  ThresholdQuery q;
  q.threshold = {"ca-sb1047", "covered model", 1e26, 100e6, 2026, "§22602(e)(1)(A)(i)", ""};
  q.base_year = 2024;
  for (int y = 2024; y <= 2040; ++y) q.years.push_back(y);
  q.usd_per_flop = Spread::Exactly(8e-18);
  q.hardware_halving_years = Spread::Exactly(2.5);
  q.cpi_rate = Spread::Exactly(0.0);
  q.frontier_base_year = 2024;
  q.frontier_base_flop = 3.8e25;
  q.frontier_growth_per_year = {4.0, 4.5, 5.0};
  q.mc.samples = 0;
  return q;
}

TEST(ThresholdForecastTest, CostTestDecidesOnceTheLineCostsLessThanIt) {
  // $800M halving every 2.5 years with no inflation: below $100M after 3 halvings = 7.5 years, so
  // the first whole year strictly below is 2032 (2031 still costs 2^(-2.8) x $800M = $115M).
  auto f = ForecastThreshold(Sb1047());
  ASSERT_TRUE(f) << f.error().ToString();
  ASSERT_TRUE(f->cost_test_binds_from);
  EXPECT_EQ(f->cost_test_binds_from->point, 2032);
  const ThresholdYear& y2031 = f->years[7];
  EXPECT_FALSE(y2031.cost_test_binds);
  EXPECT_EQ(y2031.effective_flop, 1e26);
  const ThresholdYear& y2032 = f->years[8];
  EXPECT_TRUE(y2032.cost_test_binds);
  EXPECT_NEAR(y2032.effective_flop, 100e6 / (8e-18 * std::exp2(-8 / 2.5)), 1e12);
}

TEST(ThresholdForecastTest, FrontierReachesTheLineWhenItsGrowthSays) {
  ThresholdQuery q = Sb1047();
  q.mc.samples = 5000;
  auto f = ForecastThreshold(q);
  ASSERT_TRUE(f);
  // 3.8e25 x 4.5^t = 1e26  =>  t = ln(1e26 / 3.8e25) / ln(4.5) = 0.643 years after 2024.
  EXPECT_NEAR(f->frontier_reaches_line.point, 2024 + std::log(1e26 / 3.8e25) / std::log(4.5), 1e-12);
  ASSERT_TRUE(f->frontier_reaches_line.range);
  // Faster growth reaches it sooner: the 5th percentile year comes from growth near 5x.
  EXPECT_GE(f->frontier_reaches_line.range->p5, 2024 + std::log(1e26 / 3.8e25) / std::log(5.0) - 1e-9);
  EXPECT_LE(f->frontier_reaches_line.range->p95, 2024 + std::log(1e26 / 3.8e25) / std::log(4.0) + 1e-9);
  EXPECT_DOUBLE_EQ(f->years[2].frontier_flop, 3.8e25 * 4.5 * 4.5);  // 2026
}

TEST(ThresholdForecastTest, InflationBringsTheCrossoverForward) {
  ThresholdQuery q = Sb1047();
  q.cpi_rate = Spread::Exactly(0.05);
  auto f = ForecastThreshold(q);
  ASSERT_TRUE(f);
  EXPECT_LT(f->cost_test_binds_from->point, 2032);
}

TEST(ThresholdForecastTest, CrossoverAgreesWithTheYearByYearTable) {
  // The crossover is found by stepping year by year; the table computes each year directly.
  ThresholdQuery q = Sb1047();
  q.cpi_rate = Spread::Exactly(0.03);
  q.base_year = 2027;  // after indexing began
  q.years.clear();
  for (int y = 2027; y <= 2045; ++y) q.years.push_back(y);
  auto f = ForecastThreshold(q);
  ASSERT_TRUE(f);
  int first_binding = 0;
  for (const auto& y : f->years) {
    if (y.cost_test_binds && first_binding == 0) first_binding = y.year;
    EXPECT_EQ(*y.cost_limit_usd, IndexedAmount(100e6, 2026, y.year, 0.03));
  }
  ASSERT_NE(first_binding, 0);
  EXPECT_EQ(f->cost_test_binds_from->point, first_binding);
}

TEST(ThresholdForecastTest, NoCostTestMeansTheLineAloneDecides) {
  ThresholdQuery q = Sb1047();
  q.threshold = {"ca-sb53", "frontier model", 1e26, std::nullopt, std::nullopt, "§22757.11(i)", ""};
  auto f = ForecastThreshold(q);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->cost_test_binds_from);
  for (const auto& y : f->years) EXPECT_EQ(y.effective_flop, 1e26);
}

TEST(ProjectionErrorTest, BadInputsAreRejected) {
  CostQuery negative = TenToTheTwentySix();
  negative.hardware_halving_years = Spread::Exactly(-2.5);
  auto a = ForecastCost(negative);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().field, "hardware_halving_years");
  CostQuery empty = TenToTheTwentySix();
  empty.years.clear();
  auto b = ForecastCost(empty);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("empty"), std::string::npos);
  CapabilityQuery before = Debate(Spread::Exactly(2.5));
  before.years = {2020};
  auto c = ForecastCapability(before);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("before the base year"), std::string::npos);
  CostQuery zero_budget = TenToTheTwentySix();
  zero_budget.budgets = {0};
  EXPECT_FALSE(ForecastCost(zero_budget));
}

}  // namespace
}  // namespace flopline::forecast
