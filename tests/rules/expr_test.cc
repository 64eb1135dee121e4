#include "flopline/rules/expr.h"

#include <cmath>

#include <gtest/gtest.h>

namespace flopline::rules {
namespace {

class ExprTest : public ::testing::Test {
 protected:
  void SetUp() override {
    flop_ = schema_.AddNumber("own_flop");
    cost_ = schema_.AddNumber("own_cost_usd");
    foundation_ = schema_.AddBool("foundation_model");
    derivation_ = schema_.AddString("derivation", {"pretrain", "fine-tune", "copy"});
    schema_.AddAlias("compute", flop_);
    values_.numbers.assign(schema_.size(), 0);
    values_.known.assign(schema_.size(), 1);
    values_.strings.assign(schema_.size(), 0);
    values_.bools.assign(schema_.size(), 0);
  }
  Expr Compile(const std::string& text) {
    auto e = Expr::Compile(text, schema_, params_, core::Location{"r.toml", 7, 8}, "rule[0].when");
    EXPECT_TRUE(e) << e.error().ToString();
    return e ? *e : Expr{};
  }
  core::Error CompileError(const std::string& text) {
    auto e = Expr::Compile(text, schema_, params_, core::Location{"r.toml", 7, 8}, "rule[0].when");
    EXPECT_FALSE(e) << text;
    return e ? core::Error{} : e.error();
  }

  FactSchema schema_;
  int flop_, cost_, foundation_, derivation_;
  std::vector<std::string> params_ = {"covered_flop", "covered_cost_usd"};
  std::vector<double> param_values_ = {1e26, 1e8};
  FactValues values_;
};

TEST_F(ExprTest, StrictAndNonStrictBoundariesAreKept) {
  Expr strict = Compile("compute > param.covered_flop");
  Expr at_least = Compile("compute >= param.covered_flop");
  values_.numbers[flop_] = 1e26;  // exactly at the line
  EXPECT_EQ(strict.Evaluate(values_, param_values_), Truth::kFalse);
  EXPECT_EQ(at_least.Evaluate(values_, param_values_), Truth::kTrue);
  values_.numbers[flop_] = std::nextafter(1e26, 2e26);
  EXPECT_EQ(strict.Evaluate(values_, param_values_), Truth::kTrue);
}

TEST_F(ExprTest, ConjunctionDisjunctionNegationAndArithmetic) {
  Expr e = Compile("(own_flop > param.covered_flop and own_cost_usd > param.covered_cost_usd) or not foundation_model");
  values_.numbers[flop_] = 2e26;
  values_.numbers[cost_] = 5e7;
  values_.bools[foundation_] = 1;
  EXPECT_EQ(e.Evaluate(values_, param_values_), Truth::kFalse);
  values_.bools[foundation_] = 0;
  EXPECT_EQ(e.Evaluate(values_, param_values_), Truth::kTrue);
  Expr third = Compile("own_flop * 3 > param.covered_flop + 1e25 - -1");
  values_.numbers[flop_] = 4e25;
  EXPECT_EQ(third.Evaluate(values_, param_values_), Truth::kTrue);
}

TEST_F(ExprTest, StringFactsCompareWithTheirDeclaredValues) {
  Expr e = Compile("derivation == \"fine-tune\"");
  values_.strings[derivation_] = 1;
  EXPECT_EQ(e.Evaluate(values_, param_values_), Truth::kTrue);
  values_.strings[derivation_] = 0;
  EXPECT_EQ(e.Evaluate(values_, param_values_), Truth::kFalse);
  core::Error typo = CompileError("derivation == \"fine_tune\"");
  EXPECT_NE(typo.message.find("'fine_tune' is not a value of derivation"), std::string::npos);
  EXPECT_NE(typo.message.find("fine-tune"), std::string::npos);
}

TEST_F(ExprTest, UnknownFactsFollowKleeneLogic) {
  values_.known[cost_] = 0;
  Expr both = Compile("own_flop > param.covered_flop and own_cost_usd > param.covered_cost_usd");
  values_.numbers[flop_] = 2e26;
  EXPECT_EQ(both.Evaluate(values_, param_values_), Truth::kUnknown);
  values_.numbers[flop_] = 1e20;  // false and unknown = false
  EXPECT_EQ(both.Evaluate(values_, param_values_), Truth::kFalse);
  Expr either = Compile("own_flop > param.covered_flop or own_cost_usd > param.covered_cost_usd");
  values_.numbers[flop_] = 2e26;  // true or unknown = true
  EXPECT_EQ(either.Evaluate(values_, param_values_), Truth::kTrue);
  Expr negated = Compile("not (own_cost_usd > 0)");
  EXPECT_EQ(negated.Evaluate(values_, param_values_), Truth::kUnknown);
}

TEST_F(ExprTest, TraceRecordsEveryComparisonWithItsValues) {
  Expr e = Compile("compute > param.covered_flop and own_cost_usd > param.covered_cost_usd");
  values_.numbers[flop_] = 1.2e26;
  values_.numbers[cost_] = 4e7;
  std::vector<Comparison> trace;
  EXPECT_EQ(e.Evaluate(values_, param_values_, &trace), Truth::kFalse);
  ASSERT_EQ(trace.size(), 2u);
  EXPECT_EQ(trace[0].left, "compute");
  EXPECT_EQ(trace[0].op, ">");
  EXPECT_EQ(trace[0].right, "param.covered_flop");
  EXPECT_EQ(trace[0].left_value, 1.2e26);
  EXPECT_EQ(trace[0].right_value, 1e26);
  EXPECT_EQ(trace[0].holds, Truth::kTrue);
  EXPECT_EQ(trace[1].holds, Truth::kFalse);
}

TEST_F(ExprTest, TypeErrorsAreCaughtAtLoadWithTheirColumn) {
  core::Error not_bool = CompileError("own_flop + 1");
  EXPECT_NE(not_bool.message.find("must be true or false"), std::string::npos);
  core::Error mixed = CompileError("foundation_model > 3");
  EXPECT_NE(mixed.message.find("cannot compare"), std::string::npos);
  EXPECT_EQ(mixed.where->column, 8 + 1 + 17);  // the string starts at column 8; '>' is at offset 17
  EXPECT_EQ(mixed.where->line, 7);
  EXPECT_EQ(mixed.field, "rule[0].when");
  core::Error unknown = CompileError("own_flops > 1");
  EXPECT_NE(unknown.message.find("unknown fact 'own_flops'"), std::string::npos);
  core::Error param = CompileError("own_flop > param.covered_flops");
  EXPECT_NE(param.message.find("covered_flop"), std::string::npos);
  EXPECT_NE(CompileError("own_flop > 1 > 0").message.find("do not chain"), std::string::npos);
  EXPECT_NE(CompileError("(own_flop > 1").message.find("expected ')'"), std::string::npos);
  EXPECT_NE(CompileError("own_flop >").message.find("ends too early"), std::string::npos);
  EXPECT_NE(CompileError("own_flop and foundation_model").message.find("needs true/false"), std::string::npos);
  EXPECT_NE(CompileError("own_flop > 1e999").message.find("not a finite number"), std::string::npos);
  EXPECT_FALSE(Expr::Compile(std::string(200, '(') + "true" + std::string(200, ')'), schema_, params_, {}, "w"));
  EXPECT_FALSE(Expr::Compile([] { std::string s; for (int i = 0; i < 10000; ++i) s += "not "; return s + "true"; }(),
                             schema_, params_, {}, "w"));
}

}  // namespace
}  // namespace flopline::rules
