#include "flopline/core/result.h"

#include <gtest/gtest.h>

namespace flopline::core {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument("must be even", "x", Location{"in.toml", 3, 7});
  return x / 2;
}

Result<int> Quarter(int x) {
  FL_ASSIGN_OR_RETURN(int half, Half(x));
  FL_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(ResultTest, MacrosPropagateTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  auto bad = Quarter(6);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Code::kInvalidArgument);
  EXPECT_EQ(bad.error().ToString(), "in.toml:3:7: field 'x': must be even");
}

TEST(ResultTest, ToStringDropsUnknownParts) {
  EXPECT_EQ((Error{Code::kNotFound, "gone", Location{"f.json", 0, 0}, ""}.ToString()), "f.json: gone");
  EXPECT_EQ((Error{Code::kNotFound, "gone", std::nullopt, "tokens"}.ToString()), "field 'tokens': gone");
}

}  // namespace
}  // namespace flopline::core
