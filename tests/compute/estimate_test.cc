#include "flopline/compute/estimate.h"

#include <gtest/gtest.h>

#include "flopline/compute/estimate_json.h"
#include "flopline/compute/hf_config.h"
#include "test_paths.h"

namespace flopline::compute {
namespace {

class EstimateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto a = AcceleratorTable::Load(testing::DataFile("accelerators.toml"));
    ASSERT_TRUE(a) << a.error().ToString();
    accelerators_ = *a;
    auto p = PriceTable::Load(testing::DataFile("cloud-prices.toml"));
    ASSERT_TRUE(p) << p.error().ToString();
    prices_ = *p;
    auto arch = LoadHfConfig(testing::ExampleConfig("llama-2-7b-chat.json"));
    ASSERT_TRUE(arch);
    llama_ = *arch;
  }
  core::Result<Estimate> Run(const EstimateRequest& r) { return EstimateTraining(r, accelerators_, prices_); }

  AcceleratorTable accelerators_;
  PriceTable prices_;
  Architecture llama_;
};

TEST_F(EstimateTest, ArchitectureMethodRangeSpansTheConventions) {
  EstimateRequest r;
  r.architecture = llama_;
  r.tokens = 2e12;
  auto e = Run(r);
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ(e->method, "architecture");
  EXPECT_DOUBLE_EQ(e->training_flop.point, e->architecture->training_flop);
  EXPECT_DOUBLE_EQ(e->training_flop.low, *e->training_flop_6nd);  // 6ND is the lower reading here
  EXPECT_DOUBLE_EQ(e->training_flop.high, e->architecture->training_flop_full_attention);
  EXPECT_EQ(e->architecture->seq_len, 4096);
  EXPECT_EQ(e->architecture->seq_len_source, "max_position_embeddings");
  double sum = 0;
  for (const auto& [c, flop] : e->architecture->breakdown) sum += flop;
  EXPECT_NEAR(sum / e->training_flop.point, 1.0, 1e-12);
  EXPECT_FALSE(e->recompute_flop.has_value());
  EXPECT_FALSE(e->cost.has_value());
}

TEST_F(EstimateTest, RecomputationIsOneMoreForwardReportedApart) {
  EstimateRequest r;
  r.architecture = llama_;
  r.tokens = 1e12;
  auto plain = Run(r);
  r.recompute = true;
  auto with = Run(r);
  ASSERT_TRUE(plain && with);
  EXPECT_DOUBLE_EQ(with->training_flop.point, plain->training_flop.point);
  EXPECT_DOUBLE_EQ(*with->recompute_flop, with->training_flop.point / 3.0);
}

TEST_F(EstimateTest, SeqLenFlagOverridesTheConfig) {
  EstimateRequest r;
  r.architecture = llama_;
  r.tokens = 1e12;
  r.seq_len = 1024;
  auto e = Run(r);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->architecture->seq_len, 1024);
  EXPECT_EQ(e->architecture->seq_len_source, "--seq-len");
}

TEST_F(EstimateTest, NoSequenceLengthIsAClearError) {
  auto falcon = LoadHfConfig(testing::FixtureConfig("falcon-7b.json"));
  ASSERT_TRUE(falcon);
  EstimateRequest r;
  r.architecture = *falcon;
  r.tokens = 1.5e12;
  auto e = Run(r);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("--seq-len"), std::string::npos);
  r.seq_len = 2048;
  EXPECT_TRUE(Run(r));
}

TEST_F(EstimateTest, HardwareWithUnknownUtilizationGivesEpochsRange) {
  EstimateRequest r;
  r.hardware = HardwareRun{"H100", 1000, 100, std::nullopt, std::nullopt, ""};
  auto e = Run(r);
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ(e->method, "hardware-time");
  double capacity = 989.4e12 * 1000 * 100 * 3600;
  EXPECT_DOUBLE_EQ(e->training_flop.low, capacity * 0.30);
  EXPECT_DOUBLE_EQ(e->training_flop.high, capacity * 0.40);
  EXPECT_NE(e->hardware->utilization_source.find("unknown"), std::string::npos);
}

TEST_F(EstimateTest, BothMethodsAreReconciled) {
  EstimateRequest r;
  r.architecture = llama_;
  r.tokens = 2e12;
  r.hardware = HardwareRun{"A100-SXM4-80GB", 1, 184320, std::nullopt, std::nullopt, ""};
  auto e = Run(r);
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ(e->method, "architecture+hardware-time");
  double capacity = 312e12 * 184320 * 3600;
  EXPECT_DOUBLE_EQ(e->reconciliation->implied_utilization, e->architecture->training_flop / capacity);
  EXPECT_DOUBLE_EQ(e->reconciliation->ratio, e->architecture->training_flop / (capacity * 0.35));
  EXPECT_DOUBLE_EQ(e->training_flop.low, capacity * 0.30);  // the hardware reading is the lowest
}

TEST_F(EstimateTest, ImpossibleUtilizationIsFlagged) {
  EstimateRequest r;
  r.architecture = llama_;
  r.tokens = 2e12;
  r.hardware = HardwareRun{"A100", 1, 1000, std::nullopt, std::nullopt, ""};
  auto e = Run(r);
  ASSERT_TRUE(e);
  EXPECT_GT(e->reconciliation->implied_utilization, 1.0);
  bool flagged = false;
  for (const std::string& note : e->notes) flagged = flagged || note.find("inconsistent") != std::string::npos;
  EXPECT_TRUE(flagged);
}

TEST_F(EstimateTest, CostFromAcceleratorHoursAtTheStartDate) {
  EstimateRequest r;
  r.hardware = HardwareRun{"A100-SXM4-80GB", 1, 184320, 0.4, 0.4, ""};
  r.start = core::Date::FromYmd(2023, 3, 1);
  auto e = Run(r);
  ASSERT_TRUE(e) << e.error().ToString();
  ASSERT_TRUE(e->cost);
  EXPECT_EQ(e->cost->source, "cloud-price-table");
  EXPECT_EQ(e->cost->basis, "accelerator-hours");
  EXPECT_EQ(e->cost->usd.point, core::UsdCents::FromDollars(184320 * 3.67));
  EXPECT_EQ(e->cost->usd.low, core::UsdCents::FromDollars(184320 * 1.10));
  EXPECT_EQ(e->cost->usd.high, core::UsdCents::FromDollars(184320 * 4.10));
}

TEST_F(EstimateTest, CostFromFlopAloneViaPricePerFlop) {
  EstimateRequest r;
  r.params = 1e9;
  r.tokens = 1e12;
  r.start = core::Date::FromYmd(2025, 6, 1);
  auto e = Run(r);
  ASSERT_TRUE(e) << e.error().ToString();
  ASSERT_TRUE(e->cost);
  EXPECT_EQ(e->cost->basis, "price-per-flop");
  // H100-SXM (defaulted), 2025 typical $11.06/h at 35% of 989.4 TFLOP/s.
  double per_flop = 11.06 / (989.4e12 * 0.35 * 3600);
  EXPECT_NEAR(e->cost->usd.point.dollars(), 6e21 * per_flop, 0.01);
  EXPECT_NE(e->cost->detail.find("defaulted"), std::string::npos);
}

TEST_F(EstimateTest, GivenCostOverridesPricing) {
  EstimateRequest r;
  r.params = 1e9;
  r.tokens = 1e12;
  r.start = core::Date::FromYmd(2025, 6, 1);
  r.cost_usd = 123456.78;
  auto e = Run(r);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->cost->source, "given");
  EXPECT_EQ(e->cost->usd.point.cents(), 12345678);
  nlohmann::json j = EstimateToJson(*e);
  EXPECT_EQ(j["cost_source"], "given");
  EXPECT_DOUBLE_EQ(j["cost_usd"].get<double>(), 123456.78);
}

TEST_F(EstimateTest, BadInputsAreRejected) {
  EstimateRequest nothing;
  EXPECT_FALSE(Run(nothing));
  EstimateRequest no_tokens;
  no_tokens.architecture = llama_;
  auto e = Run(no_tokens);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().field, "tokens");
  for (double bad : {0.0, -5.0, std::nan("")}) {
    EstimateRequest r;
    r.architecture = llama_;
    r.tokens = bad;
    auto result = Run(r);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().field, "tokens");
  }
  EstimateRequest bad_u;
  bad_u.hardware = HardwareRun{"A100", 8, 10, 1.5, 1.5, ""};
  EXPECT_FALSE(Run(bad_u));
  EstimateRequest unknown;
  unknown.hardware = HardwareRun{"Z9000", 8, 10, std::nullopt, std::nullopt, ""};
  auto u = Run(unknown);
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().message.find("known:"), std::string::npos);
}

TEST_F(EstimateTest, JsonHasTheDocumentedKeysAsPlainNumbers) {
  EstimateRequest r;
  r.architecture = llama_;
  r.tokens = 2e12;
  r.start = core::Date::FromYmd(2023, 3, 1);
  auto e = Run(r);
  ASSERT_TRUE(e);
  nlohmann::json j = EstimateToJson(*e);
  for (const char* key : {"params_total", "params_active", "flop_per_token_forward", "training_flop",
                          "training_flop_6nd", "training_flop_low", "training_flop_high", "cost_usd"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_TRUE(j[key].is_number()) << key;
  }
  EXPECT_EQ(j["method"], "architecture");
  EXPECT_TRUE(j["breakdown"].is_object());
  EXPECT_TRUE(j["breakdown"]["mlp"].is_number());
  EXPECT_EQ(j["cost_source"], "cloud-price-table");
  EXPECT_EQ(j["params_total"].get<std::int64_t>(), 6'738'415'616);
}

}  // namespace
}  // namespace flopline::compute
