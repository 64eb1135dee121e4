#include "arch_expr.h"

#include <cctype>

#include <fmt/format.h>

namespace flopline::compute::arch {

using core::Result;

// Nesting deeper than this is not a family description but a fuzzer's input; the limit keeps the
// recursive parser and evaluator off the end of the stack. Depth counts parser frames: one level of
// parentheses costs about ten, so this allows some fifty.
constexpr int kMaxDepth = 512;
constexpr std::size_t kMaxLength = 4096;

struct Node {
  enum class Op { kLiteral, kName, kNot, kNeg, kBinary, kTernary, kCall, kIndex };
  Op op = Op::kLiteral;
  Value literal;
  std::string name;  // kName, kCall; the operator text for kBinary
  std::vector<std::shared_ptr<const Node>> args;
};

std::string Value::Describe() const {
  switch (kind) {
    case Kind::kNone: return "none";
    case Kind::kInt: return std::to_string(i);
    case Kind::kBool: return b ? "true" : "false";
    case Kind::kString: return "'" + s + "'";
    case Kind::kList: return fmt::format("a list of {}", list.size());
  }
  return "?";
}

namespace {

using NodePtr = std::shared_ptr<const Node>;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<NodePtr> ParseAll() {
    FL_ASSIGN_OR_RETURN(NodePtr node, Ternary(0));
    SkipSpace();
    if (pos_ != text_.size()) return Fail("unexpected text");
    return node;
  }

 private:
  tl::unexpected<core::Error> Fail(std::string_view what) const {
    return core::InvalidArgument(
        fmt::format("{} at character {} of expression \"{}\"", what, pos_ + 1, text_));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool Eat(std::string_view token) {
    SkipSpace();
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  static NodePtr Make(Node::Op op, std::vector<NodePtr> args, std::string name = {}) {
    auto node = std::make_shared<Node>();
    node->op = op;
    node->args = std::move(args);
    node->name = std::move(name);
    return node;
  }

  Result<NodePtr> Ternary(int depth) {
    if (depth > kMaxDepth) return Fail("expression nested too deeply");
    FL_ASSIGN_OR_RETURN(NodePtr cond, Binary(0, depth + 1));
    if (!Eat("?")) return cond;
    FL_ASSIGN_OR_RETURN(NodePtr yes, Ternary(depth + 1));
    if (!Eat(":")) return Fail("expected ':'");
    FL_ASSIGN_OR_RETURN(NodePtr no, Ternary(depth + 1));
    return Make(Node::Op::kTernary, {cond, yes, no});
  }

  // Precedence climbing over the binary operators, loosest first.
  Result<NodePtr> Binary(int level, int depth) {
    static const std::vector<std::vector<std::string_view>> kLevels = {
        {"||"}, {"&&"}, {"==", "!="}, {"<=", ">=", "<", ">"}, {"+", "-"}, {"*", "/", "%"}};
    if (depth > kMaxDepth) return Fail("expression nested too deeply");
    if (level == static_cast<int>(kLevels.size())) return Unary(depth + 1);
    FL_ASSIGN_OR_RETURN(NodePtr left, Binary(level + 1, depth + 1));
    while (true) {
      std::string_view matched;
      for (std::string_view op : kLevels[static_cast<std::size_t>(level)]) {
        if (Eat(op)) {
          matched = op;
          break;
        }
      }
      if (matched.empty()) return left;
      FL_ASSIGN_OR_RETURN(NodePtr right, Binary(level + 1, depth + 1));
      left = Make(Node::Op::kBinary, {left, right}, std::string(matched));
    }
  }

  Result<NodePtr> Unary(int depth) {
    if (depth > kMaxDepth) return Fail("expression nested too deeply");
    SkipSpace();
    // "!=" is never at the start of an operand, so a leading '!' is negation.
    if (Eat("!")) {
      FL_ASSIGN_OR_RETURN(NodePtr operand, Unary(depth + 1));
      return Make(Node::Op::kNot, {operand});
    }
    if (Eat("-")) {
      FL_ASSIGN_OR_RETURN(NodePtr operand, Unary(depth + 1));
      return Make(Node::Op::kNeg, {operand});
    }
    FL_ASSIGN_OR_RETURN(NodePtr node, Primary(depth + 1));
    while (Eat("[")) {
      FL_ASSIGN_OR_RETURN(NodePtr index, Ternary(depth + 1));
      if (!Eat("]")) return Fail("expected ']'");
      node = Make(Node::Op::kIndex, {node, index});
    }
    return node;
  }

  Result<NodePtr> Primary(int depth) {
    SkipSpace();
    if (pos_ >= text_.size()) return Fail("expected a value");
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      FL_ASSIGN_OR_RETURN(NodePtr inner, Ternary(depth + 1));
      if (!Eat(")")) return Fail("expected ')'");
      return inner;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      std::int64_t value = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        int digit = text_[pos_] - '0';
        if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, digit, &value)) {
          return Fail("integer too large");
        }
        ++pos_;
      }
      auto node = std::make_shared<Node>();
      node->literal = Value::Int(value);
      return NodePtr(node);
    }
    if (c == '\'') {
      std::size_t end = text_.find('\'', pos_ + 1);
      if (end == std::string_view::npos) return Fail("unterminated string");
      auto node = std::make_shared<Node>();
      node->literal = Value::String(std::string(text_.substr(pos_ + 1, end - pos_ - 1)));
      pos_ = end + 1;
      return NodePtr(node);
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t start = pos_;
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
        ++pos_;
      }
      std::string word(text_.substr(start, pos_ - start));
      auto node = std::make_shared<Node>();
      if (word == "true" || word == "false") {
        node->literal = Value::Bool(word == "true");
        return NodePtr(node);
      }
      if (word == "none") return NodePtr(node);
      if (!Eat("(")) return Make(Node::Op::kName, {}, word);
      static const std::map<std::string, std::size_t, std::less<>> kArity = {
          {"min", 2}, {"max", 2}, {"ceil_div", 2}, {"len", 1}, {"contains", 2}, {"given", 1}};
      auto arity = kArity.find(word);
      if (arity == kArity.end()) return Fail(fmt::format("unknown function '{}'", word));
      std::vector<NodePtr> args;
      if (!Eat(")")) {
        while (true) {
          FL_ASSIGN_OR_RETURN(NodePtr arg, Ternary(depth + 1));
          args.push_back(arg);
          if (Eat(")")) break;
          if (!Eat(",")) return Fail("expected ',' or ')'");
        }
      }
      if (args.size() != arity->second) {
        return Fail(fmt::format("{}() takes {} argument(s)", word, arity->second));
      }
      if (word == "given" && args[0]->op != Node::Op::kName) return Fail("given() takes a name");
      return Make(Node::Op::kCall, std::move(args), word);
    }
    return Fail(fmt::format("unexpected '{}'", c));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

tl::unexpected<core::Error> EvalError(const std::string& message) {
  return core::InvalidArgument(message);
}

Result<std::int64_t> AsInt(const Value& v, std::string_view context) {
  if (v.kind != Value::Kind::kInt) {
    return EvalError(fmt::format("{} needs an integer, got {}", context, v.Describe()));
  }
  return v.i;
}

Result<bool> AsBool(const Value& v, std::string_view context) {
  if (v.kind != Value::Kind::kBool) {
    return EvalError(fmt::format("{} needs true or false, got {}", context, v.Describe()));
  }
  return v.b;
}

bool Equal(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kNone: return true;
    case Value::Kind::kInt: return a.i == b.i;
    case Value::Kind::kBool: return a.b == b.b;
    case Value::Kind::kString: return a.s == b.s;
    case Value::Kind::kList:
      if (a.list.size() != b.list.size()) return false;
      for (std::size_t k = 0; k < a.list.size(); ++k) {
        if (!Equal(a.list[k], b.list[k])) return false;
      }
      return true;
  }
  return false;
}

Result<Value> Eval(const Node& node, const Scope& scope);

Result<Value> EvalBinary(const Node& node, const Scope& scope) {
  const std::string& op = node.name;
  FL_ASSIGN_OR_RETURN(Value left, Eval(*node.args[0], scope));
  if (op == "||" || op == "&&") {  // short-circuit: `given(x) && x > 0` must not read a none x
    FL_ASSIGN_OR_RETURN(bool l, AsBool(left, "'" + op + "'"));
    if (op == "||" ? l : !l) return Value::Bool(l);
    FL_ASSIGN_OR_RETURN(Value right, Eval(*node.args[1], scope));
    FL_ASSIGN_OR_RETURN(bool r, AsBool(right, "'" + op + "'"));
    return Value::Bool(r);
  }
  FL_ASSIGN_OR_RETURN(Value right, Eval(*node.args[1], scope));
  if (op == "==") return Value::Bool(Equal(left, right));
  if (op == "!=") return Value::Bool(!Equal(left, right));
  std::string context = "'" + op + "'";
  FL_ASSIGN_OR_RETURN(std::int64_t a, AsInt(left, context));
  FL_ASSIGN_OR_RETURN(std::int64_t b, AsInt(right, context));
  if (op == "<") return Value::Bool(a < b);
  if (op == "<=") return Value::Bool(a <= b);
  if (op == ">") return Value::Bool(a > b);
  if (op == ">=") return Value::Bool(a >= b);
  std::int64_t out = 0;
  bool overflow = false;
  if (op == "+") overflow = __builtin_add_overflow(a, b, &out);
  if (op == "-") overflow = __builtin_sub_overflow(a, b, &out);
  if (op == "*") overflow = __builtin_mul_overflow(a, b, &out);
  if (op == "/" || op == "%") {
    if (b == 0) return EvalError(fmt::format("division by zero in {} {} {}", a, op, b));
    if (a == INT64_MIN && b == -1) return EvalError("integer overflow");
    out = op == "/" ? a / b : a % b;
  }
  if (overflow) return EvalError(fmt::format("integer overflow in {} {} {}", a, op, b));
  return Value::Int(out);
}

Result<Value> EvalCall(const Node& node, const Scope& scope) {
  const std::string& fn = node.name;
  if (fn == "given") return Value::Bool(scope.given.count(node.args[0]->name) > 0);
  std::vector<Value> args;
  for (const NodePtr& arg : node.args) {
    FL_ASSIGN_OR_RETURN(Value v, Eval(*arg, scope));
    args.push_back(std::move(v));
  }
  if (fn == "len") {
    if (args[0].kind != Value::Kind::kList) return EvalError("len() needs a list, got " + args[0].Describe());
    return Value::Int(static_cast<std::int64_t>(args[0].list.size()));
  }
  if (fn == "contains") {
    if (args[0].kind == Value::Kind::kNone) return Value::Bool(false);  // an absent list is empty
    if (args[0].kind != Value::Kind::kList) return EvalError("contains() needs a list, got " + args[0].Describe());
    for (const Value& item : args[0].list) {
      if (Equal(item, args[1])) return Value::Bool(true);
    }
    return Value::Bool(false);
  }
  FL_ASSIGN_OR_RETURN(std::int64_t a, AsInt(args[0], fn + "()"));
  FL_ASSIGN_OR_RETURN(std::int64_t b, AsInt(args[1], fn + "()"));
  if (fn == "min") return Value::Int(std::min(a, b));
  if (fn == "max") return Value::Int(std::max(a, b));
  // ceil_div: Mamba's dt_rank = ceil(hidden_size / 16).
  if (b <= 0 || a < 0) return EvalError(fmt::format("ceil_div({}, {}) needs a >= 0 and b > 0", a, b));
  return Value::Int(a / b + (a % b != 0 ? 1 : 0));
}

Result<Value> Eval(const Node& node, const Scope& scope) {
  switch (node.op) {
    case Node::Op::kLiteral: return node.literal;
    case Node::Op::kName: {
      auto it = scope.values.find(node.name);
      if (it == scope.values.end()) return EvalError(fmt::format("unknown name '{}'", node.name));
      return it->second;
    }
    case Node::Op::kNot: {
      FL_ASSIGN_OR_RETURN(Value v, Eval(*node.args[0], scope));
      FL_ASSIGN_OR_RETURN(bool b, AsBool(v, "'!'"));
      return Value::Bool(!b);
    }
    case Node::Op::kNeg: {
      FL_ASSIGN_OR_RETURN(Value v, Eval(*node.args[0], scope));
      FL_ASSIGN_OR_RETURN(std::int64_t i, AsInt(v, "'-'"));
      if (i == INT64_MIN) return EvalError("integer overflow");
      return Value::Int(-i);
    }
    case Node::Op::kBinary: return EvalBinary(node, scope);
    case Node::Op::kTernary: {
      FL_ASSIGN_OR_RETURN(Value cond, Eval(*node.args[0], scope));
      FL_ASSIGN_OR_RETURN(bool b, AsBool(cond, "'?:'"));
      return Eval(*node.args[b ? 1 : 2], scope);
    }
    case Node::Op::kCall: return EvalCall(node, scope);
    case Node::Op::kIndex: {
      FL_ASSIGN_OR_RETURN(Value list, Eval(*node.args[0], scope));
      FL_ASSIGN_OR_RETURN(Value index, Eval(*node.args[1], scope));
      if (list.kind != Value::Kind::kList) return EvalError("[] needs a list, got " + list.Describe());
      FL_ASSIGN_OR_RETURN(std::int64_t k, AsInt(index, "[]"));
      if (k < 0 || k >= static_cast<std::int64_t>(list.list.size())) {
        return EvalError(fmt::format("index {} is outside a list of {}", k, list.list.size()));
      }
      return list.list[static_cast<std::size_t>(k)];
    }
  }
  return EvalError("bad expression");
}

void CollectNames(const Node& node, std::vector<std::string>& out) {
  if (node.op == Node::Op::kName) out.push_back(node.name);
  for (const NodePtr& arg : node.args) CollectNames(*arg, out);
}

}  // namespace

Result<Expr> Expr::Parse(std::string_view text) {
  if (text.size() > kMaxLength) {
    return core::InvalidArgument(fmt::format("expression longer than {} characters", kMaxLength));
  }
  Parser parser(text);
  FL_ASSIGN_OR_RETURN(NodePtr root, parser.ParseAll());
  Expr expr;
  expr.root_ = std::move(root);
  expr.text_ = std::string(text);
  for (const std::string& name : expr.Names()) {
    if (name == "i" || name == "encoder") expr.per_layer_ = true;
  }
  return expr;
}

Expr Expr::Constant(Value value) {
  auto node = std::make_shared<Node>();
  node->literal = value;
  Expr expr;
  expr.root_ = std::move(node);
  expr.text_ = value.Describe();
  return expr;
}

Result<Value> Expr::Eval(const Scope& scope) const {
  auto value = arch::Eval(*root_, scope);
  if (!value) {
    return core::InvalidArgument(fmt::format("{} (in \"{}\")", value.error().message, text_));
  }
  return value;
}

std::vector<std::string> Expr::Names() const {
  std::vector<std::string> out;
  CollectNames(*root_, out);
  return out;
}

}  // namespace flopline::compute::arch
