#include "flopline/forecast/trends.h"

#include "flopline/forecast/thresholds.h"

#include <gtest/gtest.h>

namespace flopline::forecast {
namespace {

TEST(TrendsTest, BundledTrendsLoadWithSources) {
  auto t = LoadTrends(std::string(FLOPLINE_SOURCE_DIR) + "/data/forecast-trends.toml");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_DOUBLE_EQ(t->hardware_halving_years.point, 2.46);
  EXPECT_DOUBLE_EQ(t->algorithmic_halving_months.point, 8.0);
  EXPECT_FALSE(t->hardware_source.empty());
  EXPECT_FALSE(t->cpi_source.empty());
}

TEST(ThresholdsTest, StatutoryLinesComeFromTheRegimeFiles) {
  auto regimes = rules::LoadRegimeDir(std::string(FLOPLINE_SOURCE_DIR) + "/regimes");
  ASSERT_TRUE(regimes) << regimes.error().ToString();
  auto lines = ThresholdsFromRegimes(*regimes, core::Date::FromYmd(2024, 1, 1));
  bool sb1047 = false, sb53 = false;
  for (const auto& t : lines) {
    EXPECT_FALSE(t.cite.empty()) << t.regime;
    if (t.regime == "ca-sb1047" && t.name == "covered model") {
      sb1047 = true;
      EXPECT_EQ(t.flop, 1e26);
      EXPECT_EQ(t.cost_usd, 1e8);
      EXPECT_EQ(t.cpi_indexed_from, 2026);
      EXPECT_NE(t.note.find("vetoed"), std::string::npos);
    }
    if (t.regime == "ca-sb53") {
      sb53 = true;
      EXPECT_FALSE(t.cost_usd.has_value());  // no cost test
    }
  }
  EXPECT_TRUE(sb1047 && sb53);
}

TEST(TrendsTest, InconsistentSpreadIsAnErrorAtItsLine) {
  auto t = ParseTrends(R"([hardware]
halving_years = { low = 3.0, point = 2.0, high = 4.0 }
source = "s"
reference_accelerator = "H100"
utilization = { low = 0.3, point = 0.35, high = 0.4 }
)", "t.toml");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().field, "hardware.halving_years.point");
  EXPECT_EQ(t.error().where->line, 2);
}

TEST(TrendsTest, UnknownKeysAreRejected) {
  auto t = ParseTrends("[hardwre]\nhalving_years = 2\n", "t.toml");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().field, "hardwre");
}

}  // namespace
}  // namespace flopline::forecast
