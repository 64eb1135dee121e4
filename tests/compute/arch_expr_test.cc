// The expression language of architecture files: values, precedence, short-circuits, and errors
// (never undefined behaviour) for overflow, division by zero, bad types and deep nesting.
#include "compute/arch_expr.h"

#include <gtest/gtest.h>

namespace flopline::compute::arch {
namespace {

Scope MakeScope() {
  Scope scope;
  scope.values["hidden"] = Value::Int(4096);
  scope.values["heads"] = Value::Int(32);
  scope.values["i"] = Value::Int(5);
  scope.values["window"] = Value::None();
  scope.values["types"] = Value::List({Value::String("sliding_attention"), Value::String("full_attention")});
  scope.values["dense"] = Value::List({Value::Int(0), Value::Int(3)});
  scope.given.insert("hidden");
  return scope;
}

Value Eval(const std::string& text) {
  auto expr = Expr::Parse(text);
  EXPECT_TRUE(expr) << text << ": " << expr.error().message;
  if (!expr) return Value::None();
  auto value = expr->Eval(MakeScope());
  EXPECT_TRUE(value) << text << ": " << value.error().message;
  return value ? *value : Value::None();
}

std::string EvalError(const std::string& text) {
  auto expr = Expr::Parse(text);
  if (!expr) return expr.error().message;
  auto value = expr->Eval(MakeScope());
  EXPECT_FALSE(value) << text;
  return value ? "" : value.error().message;
}

TEST(ArchExprTest, ArithmeticAndPrecedence) {
  EXPECT_EQ(Eval("hidden / heads").i, 128);
  EXPECT_EQ(Eval("2 + 3 * 4").i, 14);
  EXPECT_EQ(Eval("(2 + 3) * 4").i, 20);
  EXPECT_EQ(Eval("-3 + 10 % 4").i, -1);
  EXPECT_EQ(Eval("ceil_div(4096, 16)").i, 256);
  EXPECT_EQ(Eval("ceil_div(4097, 16)").i, 257);
  EXPECT_EQ(Eval("max(1, min(7, 3))").i, 3);
}

TEST(ArchExprTest, ConditionsListsAndNone) {
  EXPECT_TRUE(Eval("i % 2 == 1 && i >= 5").b);
  EXPECT_TRUE(Eval("(i + 1) % 6 != 0 ? 512 : none").is_none());  // i = 5: the global layer
  EXPECT_EQ(Eval("i % 6 != 0 ? 512 : none").i, 512);
  EXPECT_TRUE(Eval("window == none").b);
  EXPECT_TRUE(Eval("types[0] == 'sliding_attention'").b);
  EXPECT_EQ(Eval("len(types)").i, 2);
  EXPECT_TRUE(Eval("contains(dense, 3)").b);
  EXPECT_FALSE(Eval("contains(window, 3)").b);  // an absent list is empty
  EXPECT_TRUE(Eval("given(hidden) && !given(heads)").b);
  // Short-circuit: the right side would fail on a none window.
  EXPECT_FALSE(Eval("window != none && window > 4").b);
}

TEST(ArchExprTest, ErrorsAreErrors) {
  EXPECT_NE(EvalError("hidden / 0").find("division by zero"), std::string::npos);
  EXPECT_NE(EvalError("9223372036854775807 + 1").find("overflow"), std::string::npos);
  EXPECT_NE(EvalError("hidden * hidden * hidden * hidden * hidden * hidden").find("overflow"), std::string::npos);
  EXPECT_NE(EvalError("window + 1").find("needs an integer"), std::string::npos);
  EXPECT_NE(EvalError("types[2]").find("outside"), std::string::npos);
  EXPECT_NE(EvalError("unknown_name").find("unknown name"), std::string::npos);
  EXPECT_NE(EvalError("hidden ? 1 : 2").find("true or false"), std::string::npos);
  EXPECT_NE(EvalError("99999999999999999999").find("too large"), std::string::npos);
  EXPECT_NE(EvalError("sqrt(4)").find("unknown function"), std::string::npos);
  EXPECT_NE(EvalError("min(1)").find("takes 2"), std::string::npos);
  EXPECT_NE(EvalError("1 +").find("expected a value"), std::string::npos);
  EXPECT_NE(EvalError("'open").find("unterminated"), std::string::npos);
  EXPECT_NE(EvalError(std::string(100, '(') + "1" + std::string(100, ')')).find("nested too deeply"),
            std::string::npos);
  EXPECT_NE(EvalError(std::string(1000, '!') + "true").find("nested too deeply"), std::string::npos);
}

TEST(ArchExprTest, NamesAreCollectedForLoadTimeChecks) {
  auto expr = Expr::Parse("given(hidden) ? hidden / heads : types[i] == 'x'");
  ASSERT_TRUE(expr);
  auto names = expr->Names();
  for (const char* name : {"hidden", "heads", "types", "i"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
}

}  // namespace
}  // namespace flopline::compute::arch
