#include "flopline/rules/expr.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace flopline::rules {

const char* TruthName(Truth t) {
  switch (t) {
    case Truth::kFalse: return "false";
    case Truth::kTrue: return "true";
    default: return "unknown";
  }
}

// ---- FactSchema ----

int FactSchema::AddNumber(std::string name) {
  facts_.push_back({std::move(name), Type::kNumber, {}});
  return static_cast<int>(facts_.size()) - 1;
}
int FactSchema::AddBool(std::string name) {
  facts_.push_back({std::move(name), Type::kBool, {}});
  return static_cast<int>(facts_.size()) - 1;
}
int FactSchema::AddString(std::string name, std::vector<std::string> values) {
  facts_.push_back({std::move(name), Type::kString, std::move(values)});
  return static_cast<int>(facts_.size()) - 1;
}
void FactSchema::AddAlias(std::string alias, int fact) { aliases_.emplace_back(std::move(alias), fact); }

int FactSchema::Find(std::string_view name) const {
  for (std::size_t i = 0; i < facts_.size(); ++i) {
    if (facts_[i].name == name) return static_cast<int>(i);
  }
  for (const auto& [alias, fact] : aliases_) {
    if (alias == name) return fact;
  }
  return -1;
}

int FactSchema::ValueIndex(int fact, std::string_view value) const {
  const auto& values = facts_[static_cast<std::size_t>(fact)].values;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] == value) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::string> FactSchema::Names() const {
  std::vector<std::string> out;
  for (const auto& f : facts_) out.push_back(f.name);
  for (const auto& [alias, fact] : aliases_) out.push_back(alias);
  return out;
}

// ---- Parser ----

class Parser {
 public:
  Parser(std::string_view text, const FactSchema& facts, const std::vector<std::string>& params,
         core::Location where, std::string field, Expr& out)
      : text_(text), facts_(facts), params_(params), where_(std::move(where)), field_(std::move(field)),
        out_(out) {}

  core::Result<void> Run(Type want) {
    Next();
    FL_ASSIGN_OR_RETURN(int root, ParseOr());
    if (token_.kind != Kind::kEnd) return Error(token_.begin, fmt::format("unexpected '{}'", token_.text));
    if (want == Type::kBool && Node(root).type != Type::kBool) {
      return Error(0, "the condition must be true or false, not a number or a string");
    }
    if (want == Type::kNumber && Node(root).type != Type::kNumber) {
      return Error(0, "the amount must be a number");
    }
    out_.root_ = root;
    return core::Ok();
  }

 private:
  enum class Kind { kNumber, kString, kIdent, kOp, kLParen, kRParen, kEnd };
  struct Token {
    Kind kind = Kind::kEnd;
    std::string text;
    double number = 0;
    int begin = 0;
  };
  using Op = Expr::Op;

  tl::unexpected<core::Error> Error(int offset, std::string message) const {
    core::Location at = where_;
    if (at.column > 0) at.column += offset + 1;  // +1: the opening quote of the TOML string
    return core::InvalidArgument(fmt::format("{} (in \"{}\")", message, text_), field_, at);
  }

  void Next() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    token_ = Token{};
    token_.begin = static_cast<int>(pos_);
    if (pos_ >= text_.size()) return;
    char c = text_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '.' && pos_ + 1 < text_.size() &&
                                                        std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])))) {
      std::string number_text(text_.substr(pos_));
      char* end = nullptr;
      token_.number = std::strtod(number_text.c_str(), &end);
      std::size_t used = static_cast<std::size_t>(end - number_text.c_str());
      token_.kind = Kind::kNumber;
      token_.text = number_text.substr(0, used);
      pos_ += used;
      return;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t start = pos_;
      while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' ||
                                     text_[pos_] == '.')) {
        ++pos_;
      }
      token_.kind = Kind::kIdent;
      token_.text = std::string(text_.substr(start, pos_ - start));
      return;
    }
    if (c == '"') {
      std::size_t start = ++pos_;
      while (pos_ < text_.size() && text_[pos_] != '"') ++pos_;
      token_.kind = pos_ < text_.size() ? Kind::kString : Kind::kOp;  // unterminated: reported as bad op
      token_.text = std::string(text_.substr(start, pos_ - start));
      if (pos_ < text_.size()) ++pos_;
      if (token_.kind == Kind::kOp) token_.text = "\"" + token_.text;
      return;
    }
    if (c == '(' || c == ')') {
      token_.kind = c == '(' ? Kind::kLParen : Kind::kRParen;
      token_.text = std::string(1, c);
      ++pos_;
      return;
    }
    static constexpr std::string_view kTwo[] = {"<=", ">=", "==", "!="};
    for (std::string_view op : kTwo) {
      if (text_.substr(pos_, 2) == op) {
        token_.kind = Kind::kOp;
        token_.text = std::string(op);
        pos_ += 2;
        return;
      }
    }
    token_.kind = Kind::kOp;
    token_.text = std::string(1, c);
    ++pos_;
  }

  Expr::Node& Node(int i) { return out_.nodes_[static_cast<std::size_t>(i)]; }

  int Add(Expr::Node node) {
    out_.nodes_.push_back(node);
    return static_cast<int>(out_.nodes_.size()) - 1;
  }

  bool IsWord(const char* word) const { return token_.kind == Kind::kIdent && token_.text == word; }

  core::Result<int> Binary(Op op, Type result, int a, int b, int begin) {
    return Add({op, result, a, b, 0, -1, begin, Node(b).end});
  }

  core::Result<int> ParseOr() {
    FL_ASSIGN_OR_RETURN(int left, ParseAnd());
    while (IsWord("or")) {
      int at = token_.begin;
      Next();
      FL_ASSIGN_OR_RETURN(int right, ParseAnd());
      FL_RETURN_IF_ERROR(ExpectBool(left, at, "or"));
      FL_RETURN_IF_ERROR(ExpectBool(right, at, "or"));
      FL_ASSIGN_OR_RETURN(left, Binary(Op::kOr, Type::kBool, left, right, Node(left).begin));
    }
    return left;
  }

  core::Result<int> ParseAnd() {
    FL_ASSIGN_OR_RETURN(int left, ParseNot());
    while (IsWord("and")) {
      int at = token_.begin;
      Next();
      FL_ASSIGN_OR_RETURN(int right, ParseNot());
      FL_RETURN_IF_ERROR(ExpectBool(left, at, "and"));
      FL_RETURN_IF_ERROR(ExpectBool(right, at, "and"));
      FL_ASSIGN_OR_RETURN(left, Binary(Op::kAnd, Type::kBool, left, right, Node(left).begin));
    }
    return left;
  }

  core::Result<int> ParseNot() {
    if (IsWord("not")) {
      int at = token_.begin;
      if (++depth_ > 64) return Error(at, "the expression nests too deeply");
      Next();
      FL_ASSIGN_OR_RETURN(int operand, ParseNot());
      --depth_;
      FL_RETURN_IF_ERROR(ExpectBool(operand, at, "not"));
      return Add({Op::kNot, Type::kBool, operand, -1, 0, -1, at, Node(operand).end});
    }
    return ParseCompare();
  }

  core::Result<void> ExpectBool(int node, int at, const char* op) {
    if (Node(node).type != Type::kBool) {
      return Error(at, fmt::format("'{}' needs true/false operands, got {}", op,
                                   Node(node).type == Type::kNumber ? "a number" : "a string"));
    }
    return core::Ok();
  }

  core::Result<int> ParseCompare() {
    FL_ASSIGN_OR_RETURN(int left, ParseSum());
    if (token_.kind != Kind::kOp) return left;
    static const std::pair<const char*, Op> kOps[] = {{"<", Op::kLt}, {"<=", Op::kLe}, {">", Op::kGt},
                                                      {">=", Op::kGe}, {"==", Op::kEq}, {"!=", Op::kNe}};
    for (const auto& [text, op] : kOps) {
      if (token_.text != text) continue;
      int at = token_.begin;
      Next();
      FL_ASSIGN_OR_RETURN(int right, ParseSum());
      Type lt = Node(left).type, rt = Node(right).type;
      if (lt == Type::kString || rt == Type::kString) {
        if (op != Op::kEq && op != Op::kNe) return Error(at, "strings compare only with == and !=");
        FL_RETURN_IF_ERROR(ResolveStringCompare(left, right, at));
      } else if (lt != rt || (lt == Type::kBool && op != Op::kEq && op != Op::kNe)) {
        return Error(at, fmt::format("cannot compare with '{}': {} and {}", text, TypeName(lt), TypeName(rt)));
      }
      FL_ASSIGN_OR_RETURN(int node, Binary(op, Type::kBool, left, right, Node(left).begin));
      if (token_.kind == Kind::kOp && (token_.text == "<" || token_.text == ">" || token_.text == "<=" ||
                                       token_.text == ">=" || token_.text == "==" || token_.text == "!=")) {
        return Error(token_.begin, "comparisons do not chain: write 'a < b and b < c'");
      }
      return node;
    }
    return left;
  }

  // A string literal compared with a string fact must be one of the fact's values.
  core::Result<void> ResolveStringCompare(int left, int right, int at) {
    Expr::Node& l = Node(left);
    Expr::Node& r = Node(right);
    if (l.type != Type::kString || r.type != Type::kString) return Error(at, "cannot compare a string with a number or a boolean");
    Expr::Node* fact = l.op == Op::kFact ? &l : r.op == Op::kFact ? &r : nullptr;
    Expr::Node* literal = l.op == Op::kString ? &l : r.op == Op::kString ? &r : nullptr;
    if (!fact || !literal) return Error(at, "compare a string fact with a quoted value");
    const std::string value(text_.substr(static_cast<std::size_t>(literal->begin) + 1,
                                         static_cast<std::size_t>(literal->end - literal->begin - 2)));
    int index = facts_.ValueIndex(fact->index, value);
    if (index < 0) {
      std::string allowed;
      for (const auto& v : facts_.values(fact->index)) allowed += (allowed.empty() ? "" : ", ") + v;
      return Error(literal->begin, fmt::format("'{}' is not a value of {}; expected one of: {}", value,
                                               facts_.name(fact->index), allowed));
    }
    literal->index = index;
    return core::Ok();
  }

  static const char* TypeName(Type t) {
    return t == Type::kNumber ? "a number" : t == Type::kBool ? "true/false" : "a string";
  }

  core::Result<int> ParseSum() {
    FL_ASSIGN_OR_RETURN(int left, ParseProduct());
    while (token_.kind == Kind::kOp && (token_.text == "+" || token_.text == "-")) {
      Op op = token_.text == "+" ? Op::kAdd : Op::kSub;
      int at = token_.begin;
      Next();
      FL_ASSIGN_OR_RETURN(int right, ParseProduct());
      FL_RETURN_IF_ERROR(ExpectNumber(left, at));
      FL_RETURN_IF_ERROR(ExpectNumber(right, at));
      FL_ASSIGN_OR_RETURN(left, Binary(op, Type::kNumber, left, right, Node(left).begin));
    }
    return left;
  }

  core::Result<int> ParseProduct() {
    FL_ASSIGN_OR_RETURN(int left, ParseAtom());
    while (token_.kind == Kind::kOp && (token_.text == "*" || token_.text == "/")) {
      Op op = token_.text == "*" ? Op::kMul : Op::kDiv;
      int at = token_.begin;
      Next();
      FL_ASSIGN_OR_RETURN(int right, ParseAtom());
      FL_RETURN_IF_ERROR(ExpectNumber(left, at));
      FL_RETURN_IF_ERROR(ExpectNumber(right, at));
      FL_ASSIGN_OR_RETURN(left, Binary(op, Type::kNumber, left, right, Node(left).begin));
    }
    return left;
  }

  core::Result<void> ExpectNumber(int node, int at) {
    if (Node(node).type != Type::kNumber) return Error(at, "arithmetic needs numbers");
    return core::Ok();
  }

  core::Result<int> ParseAtom() {
    if (++depth_ > 64) return Error(token_.begin, "the expression nests too deeply");
    Token t = token_;
    int end = static_cast<int>(pos_);
    switch (t.kind) {
      case Kind::kNumber:
        if (!std::isfinite(t.number)) return Error(t.begin, fmt::format("'{}' is not a finite number", t.text));
        Next();
        --depth_;
        return Add({Op::kNumber, Type::kNumber, -1, -1, t.number, -1, t.begin, end});
      case Kind::kString:
        Next();
        --depth_;
        return Add({Op::kString, Type::kString, -1, -1, 0, -1, t.begin, end});
      case Kind::kLParen: {
        Next();
        FL_ASSIGN_OR_RETURN(int inner, ParseOr());
        if (token_.kind != Kind::kRParen) return Error(token_.begin, "expected ')'");
        Next();
        --depth_;
        return inner;
      }
      case Kind::kOp:
        if (t.text == "-") {
          Next();
          FL_ASSIGN_OR_RETURN(int operand, ParseAtom());
          FL_RETURN_IF_ERROR(ExpectNumber(operand, t.begin));
          --depth_;
          return Add({Op::kNeg, Type::kNumber, operand, -1, 0, -1, t.begin, Node(operand).end});
        }
        return Error(t.begin, fmt::format("unexpected '{}'", t.text));
      case Kind::kIdent: {
        Next();
        if ((t.text == "max" || t.text == "min") && token_.kind == Kind::kLParen) {
          Next();
          FL_ASSIGN_OR_RETURN(int a, ParseSum());
          if (!(token_.kind == Kind::kOp && token_.text == ",")) return Error(token_.begin, fmt::format("{}(a, b) needs two arguments", t.text));
          Next();
          FL_ASSIGN_OR_RETURN(int b, ParseSum());
          if (token_.kind != Kind::kRParen) return Error(token_.begin, "expected ')'");
          int close = static_cast<int>(pos_);
          Next();
          FL_RETURN_IF_ERROR(ExpectNumber(a, t.begin));
          FL_RETURN_IF_ERROR(ExpectNumber(b, t.begin));
          --depth_;
          return Add({t.text == "max" ? Op::kMax : Op::kMin, Type::kNumber, a, b, 0, -1, t.begin, close});
        }
        --depth_;
        if (t.text == "true" || t.text == "false") {
          return Add({Op::kBool, Type::kBool, -1, -1, 0, t.text == "true" ? 1 : 0, t.begin, end});
        }
        if (t.text.rfind("param.", 0) == 0) {
          std::string name = t.text.substr(6);
          for (std::size_t i = 0; i < params_.size(); ++i) {
            if (params_[i] == name) return Add({Op::kParam, Type::kNumber, -1, -1, 0, static_cast<int>(i), t.begin, end});
          }
          std::string known;
          for (const auto& p : params_) known += (known.empty() ? "" : ", ") + p;
          return Error(t.begin, fmt::format("unknown parameter '{}'; this regime defines: {}", name, known));
        }
        int fact = facts_.Find(t.text);
        if (fact < 0) {
          std::string known;
          for (const auto& n : facts_.Names()) known += (known.empty() ? "" : ", ") + n;
          return Error(t.begin, fmt::format("unknown fact '{}'; known: {}", t.text, known));
        }
        if (facts_.type(fact) == Type::kString &&
            std::none_of(out_.string_facts_.begin(), out_.string_facts_.end(), [&](const auto& e) { return e.first == fact; })) {
          out_.string_facts_.emplace_back(fact, facts_.values(fact));
        }
        return Add({Op::kFact, facts_.type(fact), -1, -1, 0, fact, t.begin, end});
      }
      default:
        return Error(t.begin, "the condition ends too early");
    }
  }

  std::string_view text_;
  const FactSchema& facts_;
  const std::vector<std::string>& params_;
  core::Location where_;
  std::string field_;
  Expr& out_;
  Token token_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

core::Result<Expr> Expr::Compile(std::string_view text, const FactSchema& facts,
                                 const std::vector<std::string>& params, core::Location where,
                                 const std::string& field) {
  Expr expr;
  expr.text_ = std::string(text);
  Parser parser(expr.text_, facts, params, std::move(where), field, expr);
  FL_RETURN_IF_ERROR(parser.Run(Type::kBool));
  return expr;
}

core::Result<Expr> Expr::CompileNumber(std::string_view text, const FactSchema& facts,
                                       const std::vector<std::string>& params, core::Location where,
                                       const std::string& field) {
  Expr expr;
  expr.text_ = std::string(text);
  Parser parser(expr.text_, facts, params, std::move(where), field, expr);
  FL_RETURN_IF_ERROR(parser.Run(Type::kNumber));
  return expr;
}

double Expr::EvaluateNumber(const FactValues& facts, const std::vector<double>& params, bool* known) const {
  bool all_known = true;
  double value = Number(root_, facts, params, all_known);
  if (known) *known = all_known;
  return value;
}

// ---- Evaluation ----

double Expr::Number(int i, const FactValues& facts, const std::vector<double>& params, bool& known) const {
  const Node& n = nodes_[static_cast<std::size_t>(i)];
  switch (n.op) {
    case Op::kNumber: return n.number;
    case Op::kParam: return params[static_cast<std::size_t>(n.index)];
    case Op::kFact:
      if (!facts.known[static_cast<std::size_t>(n.index)]) known = false;
      return facts.numbers[static_cast<std::size_t>(n.index)];
    case Op::kNeg: return -Number(n.a, facts, params, known);
    case Op::kAdd: return Number(n.a, facts, params, known) + Number(n.b, facts, params, known);
    case Op::kSub: return Number(n.a, facts, params, known) - Number(n.b, facts, params, known);
    case Op::kMul: return Number(n.a, facts, params, known) * Number(n.b, facts, params, known);
    case Op::kDiv: return Number(n.a, facts, params, known) / Number(n.b, facts, params, known);
    case Op::kMax: return std::max(Number(n.a, facts, params, known), Number(n.b, facts, params, known));
    case Op::kMin: return std::min(Number(n.a, facts, params, known), Number(n.b, facts, params, known));
    default: return 0;
  }
}

int Expr::StringValue(int i, const FactValues& facts) const {
  const Node& n = nodes_[static_cast<std::size_t>(i)];
  if (n.op == Op::kString) return n.index;
  if (!facts.known[static_cast<std::size_t>(n.index)]) return -1;
  return facts.strings[static_cast<std::size_t>(n.index)];
}

Truth Expr::Bool(int i, const FactValues& facts, const std::vector<double>& params,
                 std::vector<Comparison>* trace, std::vector<NumericComparison>* numeric) const {
  // Either trace sees every comparison: no short cuts while one is kept.
  const bool tracing = trace || numeric;
  const Node& n = nodes_[static_cast<std::size_t>(i)];
  auto from = [](bool b) { return b ? Truth::kTrue : Truth::kFalse; };
  switch (n.op) {
    case Op::kBool: return from(n.index == 1);
    case Op::kFact: {
      Truth t = facts.known[static_cast<std::size_t>(n.index)]
                    ? from(facts.bools[static_cast<std::size_t>(n.index)] != 0)
                    : Truth::kUnknown;
      if (trace) {
        Comparison c;
        c.left = text_.substr(static_cast<std::size_t>(n.begin), static_cast<std::size_t>(n.end - n.begin));
        c.numeric = false;
        c.holds = t;
        c.actual = TruthName(t);
        trace->push_back(std::move(c));
      }
      return t;
    }
    case Op::kNot: {
      Truth t = Bool(n.a, facts, params, trace, numeric);
      return t == Truth::kUnknown ? t : from(t == Truth::kFalse);
    }
    case Op::kAnd: {
      Truth a = Bool(n.a, facts, params, trace, numeric);
      if (a == Truth::kFalse && !tracing) return a;
      Truth b = Bool(n.b, facts, params, trace, numeric);
      if (a == Truth::kFalse || b == Truth::kFalse) return Truth::kFalse;
      return a == Truth::kTrue && b == Truth::kTrue ? Truth::kTrue : Truth::kUnknown;
    }
    case Op::kOr: {
      Truth a = Bool(n.a, facts, params, trace, numeric);
      if (a == Truth::kTrue && !tracing) return a;
      Truth b = Bool(n.b, facts, params, trace, numeric);
      if (a == Truth::kTrue || b == Truth::kTrue) return Truth::kTrue;
      return a == Truth::kFalse && b == Truth::kFalse ? Truth::kFalse : Truth::kUnknown;
    }
    default: break;
  }
  // A comparison.
  const Node& l = nodes_[static_cast<std::size_t>(n.a)];
  Truth result;
  Comparison c;
  if (l.type == Type::kString) {
    int a = StringValue(n.a, facts), b = StringValue(n.b, facts);
    c.numeric = false;
    result = (a < 0 || b < 0) ? Truth::kUnknown : from((a == b) == (n.op == Op::kEq));
    if (trace) {  // text only when it will be read: this runs for every model under every rule
      const Node& fact = l.op == Op::kFact ? l : nodes_[static_cast<std::size_t>(n.b)];
      int value = fact.op == Op::kFact ? StringValue(fact.op == l.op ? n.a : n.b, facts) : -1;
      c.actual = value >= 0 && fact.op == Op::kFact ? "\"" + ValueName(fact.index, value) + "\"" : "unknown";
    }
  } else if (l.type == Type::kBool) {
    Truth a = Bool(n.a, facts, params, nullptr), b = Bool(n.b, facts, params, nullptr);
    result = (a == Truth::kUnknown || b == Truth::kUnknown) ? Truth::kUnknown : from((a == b) == (n.op == Op::kEq));
    c.numeric = false;
  } else {
    bool known = true;
    double a = Number(n.a, facts, params, known), b = Number(n.b, facts, params, known);
    c.left_value = a;
    c.right_value = b;
    bool holds = false;
    switch (n.op) {
      case Op::kLt: holds = a < b; break;
      case Op::kLe: holds = a <= b; break;
      case Op::kGt: holds = a > b; break;
      case Op::kGe: holds = a >= b; break;
      case Op::kEq: holds = a == b; break;
      default: holds = a != b; break;
    }
    result = known ? from(holds) : Truth::kUnknown;
    if (numeric) numeric->push_back(NumericComparison{i, a, b, result});
  }
  if (trace) {
    c.left = Span(n.a);
    c.right = Span(n.b);
    c.op = OpName(n.op);
    c.holds = result;
    trace->push_back(std::move(c));
  }
  return result;
}

Truth Expr::Evaluate(const FactValues& facts, const std::vector<double>& params,
                     std::vector<Comparison>* trace) const {
  return Bool(root_, facts, params, trace);
}

Truth Expr::Evaluate(const FactValues& facts, const std::vector<double>& params,
                     std::vector<NumericComparison>& numeric) const {
  numeric.clear();
  return Bool(root_, facts, params, nullptr, &numeric);
}

std::string_view Expr::OpName(Op op) {
  static constexpr std::string_view kNames[] = {"<", "<=", ">", ">=", "==", "!="};
  return kNames[static_cast<int>(op) - static_cast<int>(Op::kLt)];
}

std::string_view Expr::Span(int node) const {
  const Node& x = nodes_[static_cast<std::size_t>(node)];
  return std::string_view(text_).substr(static_cast<std::size_t>(x.begin), static_cast<std::size_t>(x.end - x.begin));
}

std::string_view Expr::LeftText(const NumericComparison& c) const {
  return Span(nodes_[static_cast<std::size_t>(c.node)].a);
}

std::string_view Expr::RightText(const NumericComparison& c) const {
  return Span(nodes_[static_cast<std::size_t>(c.node)].b);
}

std::string_view Expr::OpText(const NumericComparison& c) const { return OpName(nodes_[static_cast<std::size_t>(c.node)].op); }

const std::string& Expr::ValueName(int fact, int value) const {
  static const std::string kUnknown = "?";
  for (const auto& [f, values] : string_facts_) {
    if (f == fact && value >= 0 && static_cast<std::size_t>(value) < values.size()) return values[static_cast<std::size_t>(value)];
  }
  return kUnknown;
}

std::vector<int> Expr::FactsUsed() const {
  std::vector<int> out;
  for (const Node& n : nodes_) {
    if (n.op == Op::kFact && std::find(out.begin(), out.end(), n.index) == out.end()) out.push_back(n.index);
  }
  return out;
}

}  // namespace flopline::rules
