#include "flopline/core/date.h"

#include <gtest/gtest.h>

namespace flopline::core {
namespace {

TEST(DateTest, ParsesIsoDateAndPrintsItBack) {
  auto date = Date::Parse("2026-02-01");
  ASSERT_TRUE(date) << date.error().ToString();
  EXPECT_EQ(date->year(), 2026);
  EXPECT_EQ(date->ToString(), "2026-02-01");
}

TEST(DateTest, RejectsImpossibleDays) {
  EXPECT_FALSE(Date::Parse("2025-02-29"));
  EXPECT_TRUE(Date::Parse("2024-02-29"));
  EXPECT_FALSE(Date::Parse("2024-13-01"));
}

TEST(DateTest, RejectsOtherShapes) {
  for (const char* text : {"", "2024-1-01", "20240101", "2024/01/01", "2024-01-01T00:00", "abcd-ef-gh"}) {
    auto date = Date::Parse(text);
    ASSERT_FALSE(date) << text;
    EXPECT_EQ(date.error().code, Code::kInvalidArgument);
  }
}

TEST(DateTest, OrdersChronologically) {
  EXPECT_LT(Date::FromYmd(2023, 12, 31), Date::FromYmd(2024, 1, 1));
  EXPECT_EQ(Date::FromYmd(2024, 1, 1), *Date::Parse("2024-01-01"));
}

}  // namespace
}  // namespace flopline::core
