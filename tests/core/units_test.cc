#include "flopline/core/units.h"

#include <type_traits>

#include <gtest/gtest.h>

#include "flopline/core/format.h"

namespace flopline::core {
namespace {

template <typename A, typename B>
concept Addable = requires(A a, B b) { a + b; };

TEST(UnitsTest, DifferentDimensionsDoNotMix) {
  static_assert(Addable<Flop, Flop>);
  static_assert(!Addable<Flop, UsdCents>);
  static_assert(!Addable<Flop, FlopPerSecond>);
  static_assert(!Addable<Flop, double>);
}

TEST(UnitsTest, RateTimesHoursIsWork) {
  Flop work = FlopPerSecond(1e15) * Hours(2);
  EXPECT_DOUBLE_EQ(work.value(), 7.2e18);
}

TEST(UnitsTest, DollarsRoundToTheNearestCent) {
  EXPECT_EQ(UsdCents::FromDollars(1.005).cents(), 100);  // 1.005 is 1.00499... in binary
  EXPECT_EQ(UsdCents::FromDollars(100e6).cents(), 10'000'000'000);
  EXPECT_DOUBLE_EQ(UsdCents(12345).dollars(), 123.45);
}

TEST(FormatTest, PrintsForPeople) {
  EXPECT_EQ(Sci3(8.4e22), "8.40e+22");
  EXPECT_EQ(Grouped(6738415616), "6,738,415,616");
  EXPECT_EQ(Grouped(-1234), "-1,234");
  EXPECT_EQ(Dollars(1.5e8), "$150M");
  EXPECT_EQ(Dollars(4.1), "$4.10");
  EXPECT_EQ(Percent(0.35), "35.0%");
}

}  // namespace
}  // namespace flopline::core
