// File: flopline/rules/expr.h
//
// The condition language of regime files: a rule's `when` is an expression over facts (what is
// known of a model: its compute, cost, derivation, ...) and dated parameters (the statute's
// thresholds as of a date), for example
//
//   compute > param.covered_flop and cost_usd > param.covered_cost_usd
//   derivation == "fine-tune" and base_covered and not (compute >= param.finetune_flop)
//
// Grammar (lowest precedence first; comparisons do not chain):
//   expr    := and ("or" and)*
//   and     := not ("and" not)*
//   not     := "not" not | compare
//   compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
//   sum     := product (("+" | "-") product)*
//   product := atom (("*" | "/") atom)*
//   atom    := NUMBER | STRING | "true" | "false" | FACT | "param." NAME | "(" expr ")" | "-" atom
//            | ("max" | "min") "(" sum "," sum ")"
// Types are checked when the regime loads: numbers compare and add, booleans combine with
// and/or/not, string facts compare with == and != against one of the values they may take (so a
// misspelt "fine_tune" is an error at load, not a rule that silently never fires). The whole
// expression must be boolean. `>` and `>=` are kept as written: the statute's "greater than" and
// "at least" differ exactly at the boundary.
//
// Unknown facts (a cost nobody priced) make comparisons on them unknown, and unknowns combine by
// Kleene's three-valued logic: `false and unknown` is false, `true or unknown` is true, anything
// else with an unknown is unknown. So a missing input yields "unknown", never a silent "no".
//
// Compiled once into a flat node array; Evaluate() allocates nothing unless a trace is asked for.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"

namespace flopline::rules {

enum class Type : std::uint8_t { kNumber, kBool, kString };

enum class Truth : std::uint8_t { kFalse, kTrue, kUnknown };
const char* TruthName(Truth t);

// What facts exist and their types; string facts list the values they may take.
class FactSchema {
 public:
  int AddNumber(std::string name);
  int AddBool(std::string name);
  int AddString(std::string name, std::vector<std::string> values);
  // An alias is another name for a fact, e.g. a reading binds "compute" to "cumulative_flop".
  void AddAlias(std::string alias, int fact);

  int Find(std::string_view name) const;  // -1 if unknown
  Type type(int fact) const { return facts_[static_cast<std::size_t>(fact)].type; }
  const std::string& name(int fact) const { return facts_[static_cast<std::size_t>(fact)].name; }
  int ValueIndex(int fact, std::string_view value) const;  // -1 if not one of its values
  const std::vector<std::string>& values(int fact) const { return facts_[static_cast<std::size_t>(fact)].values; }
  std::size_t size() const { return facts_.size(); }
  std::vector<std::string> Names() const;

 private:
  struct Fact {
    std::string name;
    Type type;
    std::vector<std::string> values;
  };
  std::vector<Fact> facts_;
  std::vector<std::pair<std::string, int>> aliases_;
};

// The value of every fact, indexed as in the schema. Strings hold the index of their value.
struct FactValues {
  std::vector<double> numbers;  // kNumber facts (others unused)
  std::vector<std::uint8_t> known;  // 0 when a fact is unknown (any type)
  std::vector<int> strings;     // kString facts: value index
  std::vector<std::uint8_t> bools;
};

// One comparison as evaluated, for the explanation: "compute 1.2e26 > param.covered_flop 1e26".
struct Comparison {
  std::string left, op, right;  // as written
  double left_value = 0, right_value = 0;
  Truth holds = Truth::kUnknown;
  bool numeric = true;          // false for string and boolean conditions
  std::string actual;           // for those: the fact's value as text ("distillation", "false")
};

// A numeric comparison of a trace without its text: the comparison's node (Expr::LeftText and
// RightText give its sides as written) and the values compared.
struct NumericComparison {
  int node = -1;
  double left_value = 0, right_value = 0;
  Truth holds = Truth::kUnknown;
};

class Expr {
 public:
  // Parses and type-checks `text` against the facts and the parameter names. Errors are
  // kInvalidArgument located at `where` shifted by the offending token's column.
  static core::Result<Expr> Compile(std::string_view text, const FactSchema& facts,
                                    const std::vector<std::string>& params, core::Location where,
                                    const std::string& field);

  // The same for an amount (a penalty such as "0.10 * cost_usd"): the expression must be a number.
  static core::Result<Expr> CompileNumber(std::string_view text, const FactSchema& facts,
                                          const std::vector<std::string>& params, core::Location where,
                                          const std::string& field);
  // For number expressions; *known is false when a fact it read is unknown.
  double EvaluateNumber(const FactValues& facts, const std::vector<double>& params, bool* known) const;

  // `params` holds the parameters' values in the order of the names given to Compile.
  Truth Evaluate(const FactValues& facts, const std::vector<double>& params,
                 std::vector<Comparison>* trace = nullptr) const;
  // The same, with the numeric comparisons of the trace (the same ones, in the same order) as
  // values and positions only: no text is built, so a summary of a million models allocates
  // nothing here. `numeric` is cleared first.
  Truth Evaluate(const FactValues& facts, const std::vector<double>& params,
                 std::vector<NumericComparison>& numeric) const;
  // The sides of a numeric comparison as written, views into text().
  std::string_view LeftText(const NumericComparison& c) const;
  std::string_view RightText(const NumericComparison& c) const;
  std::string_view OpText(const NumericComparison& c) const;  // "<", ">=", ...

  const std::string& text() const { return text_; }
  // The facts and parameters the expression reads, for documentation and traces.
  std::vector<int> FactsUsed() const;

 private:
  enum class Op : std::uint8_t {
    kNumber, kBool, kString, kFact, kParam, kNeg, kAdd, kSub, kMul, kDiv,
    kLt, kLe, kGt, kGe, kEq, kNe, kAnd, kOr, kNot, kMax, kMin,
  };
  struct Node {
    Op op;
    Type type;
    int a = -1, b = -1;  // children
    double number = 0;   // kNumber
    int index = -1;      // kFact, kParam: which; kString: value index; kBool: 0/1
    int begin = 0, end = 0;  // source span, for traces
  };
  friend class Parser;

  double Number(int node, const FactValues& facts, const std::vector<double>& params, bool& known) const;
  Truth Bool(int node, const FactValues& facts, const std::vector<double>& params,
             std::vector<Comparison>* trace, std::vector<NumericComparison>* numeric = nullptr) const;
  std::string_view Span(int node) const;
  static std::string_view OpName(Op op);  // a comparison's operator as written
  int StringValue(int node, const FactValues& facts) const;  // -1 when unknown

  const std::string& ValueName(int fact, int value) const;

  std::string text_;
  std::vector<Node> nodes_;
  int root_ = -1;
  std::vector<std::pair<int, std::vector<std::string>>> string_facts_;  // values, for traces
};

}  // namespace flopline::rules
