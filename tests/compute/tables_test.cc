#include <gtest/gtest.h>

#include "flopline/compute/accelerators.h"
#include "flopline/compute/prices.h"
#include "test_paths.h"

namespace flopline::compute {
namespace {

TEST(AcceleratorTableTest, BundledTableHasEveryAcceleratorTheIssueNames) {
  auto table = AcceleratorTable::Load(testing::DataFile("accelerators.toml"));
  ASSERT_TRUE(table) << table.error().ToString();
  for (const char* name : {"V100", "A100", "H100-SXM", "H100-PCIe", "H200", "B200", "MI300X", "TPU-v4",
                           "TPU-v5e", "TPU-v5p"}) {
    auto a = table->Find(name);
    ASSERT_TRUE(a) << name;
    EXPECT_FALSE((*a)->source.empty()) << name;
  }
  for (const Accelerator& a : table->all()) EXPECT_FALSE(a.source.empty()) << a.id;
}

TEST(AcceleratorTableTest, MatchingIgnoresCaseAndPunctuation) {
  auto table = AcceleratorTable::Load(testing::DataFile("accelerators.toml"));
  ASSERT_TRUE(table);
  EXPECT_EQ((*table->Find("h100 sxm5"))->id, "H100-SXM");
  EXPECT_EQ((*table->Find("tpu_v5p"))->id, "TPU-v5p");
  EXPECT_DOUBLE_EQ(table->Peak(**table->Find("H100-SXM"), "")->value(), 989.4e12);
  EXPECT_DOUBLE_EQ(table->Peak(**table->Find("H100-SXM"), "fp8")->value(), 1978.9e12);
  EXPECT_FALSE(table->Peak(**table->Find("TPU-v4"), "fp8"));
}

TEST(AcceleratorTableTest, UnknownAcceleratorListsTheKnownOnes) {
  auto table = AcceleratorTable::Load(testing::DataFile("accelerators.toml"));
  ASSERT_TRUE(table);
  auto missing = table->Find("Z9000");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, core::Code::kNotFound);
  EXPECT_NE(missing.error().message.find("H100-SXM"), std::string::npos);
  EXPECT_NE(missing.error().message.find("TPU-v5e"), std::string::npos);
}

TEST(AcceleratorTableTest, BadRowIsAnErrorAtItsLine) {
  auto table = AcceleratorTable::Parse(R"(
[[accelerator]]
id = "X1"
aliases = []
name = "X"
default_precision = "bf16"
peak_flops = { bf16 = -1.0 }
source = "s"
)", "acc.toml");
  ASSERT_FALSE(table);
  EXPECT_EQ(table.error().field, "accelerator[0].peak_flops.bf16");
  EXPECT_EQ(table.error().where->line, 7);
  auto unknown_key = AcceleratorTable::Parse(
      "[[accelerator]]\nid = \"X\"\nalias = []\n", "acc.toml");
  ASSERT_FALSE(unknown_key);
  EXPECT_EQ(unknown_key.error().field, "accelerator[0].alias");
  EXPECT_EQ(unknown_key.error().where->line, 3);
}

TEST(PriceTableTest, RowInForceAtTheStartDate) {
  auto prices = PriceTable::Load(testing::DataFile("cloud-prices.toml"));
  ASSERT_TRUE(prices) << prices.error().ToString();
  auto row = prices->At("A100-SXM4-80GB", core::Date::FromYmd(2023, 7, 1));
  ASSERT_TRUE(row) << row.error().ToString();
  EXPECT_EQ((*row)->from, core::Date::FromYmd(2023, 1, 1));
  EXPECT_DOUBLE_EQ((*row)->typical, 3.67);
  // The day a row starts, it is in force.
  EXPECT_EQ((*prices->At("A100-SXM4-80GB", core::Date::FromYmd(2024, 1, 1)))->typical, 4.10);
  // Every row carries its source.
  EXPECT_FALSE((*row)->source.empty());
}

TEST(PriceTableTest, NoPriceIsAnErrorThatSaysWhatToDo) {
  auto prices = PriceTable::Load(testing::DataFile("cloud-prices.toml"));
  ASSERT_TRUE(prices);
  auto before = prices->At("H100-SXM", core::Date::FromYmd(2021, 1, 1));
  ASSERT_FALSE(before);
  EXPECT_NE(before.error().message.find("--price-per-hour"), std::string::npos);
  EXPECT_NE(before.error().message.find("2023-01-01"), std::string::npos);
  auto never = prices->At("MI300X", core::Date::FromYmd(2025, 6, 1));
  ASSERT_FALSE(never);
  EXPECT_EQ(never.error().code, core::Code::kNotFound);
}

TEST(PriceTableTest, InconsistentRowIsRejected) {
  auto prices = PriceTable::Parse(R"([[price]]
accelerators = ["A"]
from = 2024-01-01
low = 5.0
typical = 4.0
high = 6.0
source = "s"
)", "p.toml");
  ASSERT_FALSE(prices);
  EXPECT_NE(prices.error().message.find("low <= typical <= high"), std::string::npos);
}

}  // namespace
}  // namespace flopline::compute
