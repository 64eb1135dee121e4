// File: compute/arch_expr.h (private)
//
// The small expression language of architecture files (data/architectures/*.toml): what turns the
// values read from a config.json into sizes, per layer. It is deliberately tiny, so a family file
// stays readable and a fuzzer can cover it:
//
//   literals     12  true  false  none  'sliding_attention'
//   names        any value the file's [config] table reads, and `i` (the layer index) in per-layer
//                expressions
//   operators    ?:  ||  &&  == != < <= > >=  + -  * / %  unary ! and -  list[index]
//   functions    min(a, b)  max(a, b)  ceil_div(a, b)  len(list)  contains(list, x)  given(name)
//                (given: the config set that name, rather than its default)
//
// Integers are int64; every operation checks for overflow and division by zero, so a hostile file
// or config yields an error, never undefined behaviour. `none` is a value of its own (no window,
// no query compression): comparing it is allowed, doing arithmetic with it is an error.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"

namespace flopline::compute::arch {

struct Value {
  enum class Kind { kNone, kInt, kBool, kString, kList };
  Kind kind = Kind::kNone;
  std::int64_t i = 0;
  bool b = false;
  std::string s;
  std::vector<Value> list;

  static Value None() { return {}; }
  static Value Int(std::int64_t v) { Value x; x.kind = Kind::kInt; x.i = v; return x; }
  static Value Bool(bool v) { Value x; x.kind = Kind::kBool; x.b = v; return x; }
  static Value String(std::string v) { Value x; x.kind = Kind::kString; x.s = std::move(v); return x; }
  static Value List(std::vector<Value> v) { Value x; x.kind = Kind::kList; x.list = std::move(v); return x; }

  bool is_none() const { return kind == Kind::kNone; }
  std::string Describe() const;  // for messages: 12, true, none, 'x', [..]
};

// Values visible to an expression: the [config] reads, `i`, and which names the config set.
struct Scope {
  std::map<std::string, Value, std::less<>> values;
  std::set<std::string, std::less<>> given;
};

struct Node;

// A parsed expression. Parse errors name the offending position inside the expression text.
class Expr {
 public:
  static core::Result<Expr> Parse(std::string_view text);
  // A constant expression (a TOML integer or boolean written without quotes).
  static Expr Constant(Value value);

  core::Result<Value> Eval(const Scope& scope) const;
  // Names the expression reads (for checking that they exist when the file is loaded).
  std::vector<std::string> Names() const;
  // Whether it reads the layer index `i` or `encoder`: if not, its value is the same for every
  // layer and the evaluator computes it once.
  bool per_layer() const { return per_layer_; }
  const std::string& text() const { return text_; }

 private:
  std::shared_ptr<const Node> root_;
  std::string text_;
  bool per_layer_ = false;
};

}  // namespace flopline::compute::arch
