// expression.cpp — the condition language: lexer, recursive-descent parser with static type
// checks, three-valued evaluator. Grammar (README.md, "Conditions"):
//
//   condition  := and_expr ("or" and_expr)*
//   and_expr   := not_expr ("and" not_expr)*
//   not_expr   := "not" not_expr | comparison
//   comparison := operand [ ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
//                         | ["not"] "in" ( "(" literal ("," literal)* ")" | fact ) ]
//   operand    := number | string | "true" | "false" | "null" | fact
//               | "exists" "(" fact ")" | "count" "(" fact ")" | "(" condition ")"
#include "expression.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace kordon::risk {

namespace {

constexpr int kMaxDepth = 64;

enum class Tok {
  kEnd, kNumber, kString, kIdent, kLParen, kRParen, kComma,
  kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr, kNot, kIn, kTrue, kFalse, kNull, kBad
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;     // 0-based offset in the text
  std::string text;   // identifier, decoded string, number spelling, or the bad character
  double number = 0;
};

std::string Describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd: return "the end of the condition";
    case Tok::kNumber: return "number " + t.text;
    case Tok::kString: return "string \"" + t.text + "\"";
    case Tok::kIdent: return "'" + t.text + "'";
    case Tok::kBad: return "'" + t.text + "'";
    default: return "'" + t.text + "'";
  }
}

bool IdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IdentChar(char c) {
  return IdentStart(c) || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

}  // namespace

const char* TypeName(ValueType t) {
  switch (t) {
    case ValueType::kNull: return "null";
    case ValueType::kBool: return "a boolean";
    case ValueType::kNumber: return "a number";
    case ValueType::kString: return "a string";
    case ValueType::kList: return "a list";
    case ValueType::kAny: return "any value";
  }
  return "?";
}

ValueType TypeOf(const Value& v) {
  switch (v.index()) {
    case 0: return ValueType::kNull;
    case 1: return ValueType::kBool;
    case 2: return ValueType::kNumber;
    case 3: return ValueType::kString;
    default: return ValueType::kList;
  }
}

bool IsNull(const Value& v) { return v.index() == 0; }

std::string FormatValue(const Value& v) {
  switch (v.index()) {
    case 0: return "unknown";
    case 1: return std::get<bool>(v) ? "true" : "false";
    case 2: {
      const double d = std::get<double>(v);
      if (!std::isfinite(d)) return "unknown";
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%.2f", d);
      std::string s = buf;
      while (!s.empty() && s.back() == '0') s.pop_back();
      if (!s.empty() && s.back() == '.') s.pop_back();
      if (s == "-0") s = "0";
      return s;
    }
    case 3: return std::get<std::string>(v);
    default: {
      std::string s;
      for (const std::string& item : std::get<List>(v)) {
        if (!s.empty()) s += ", ";
        s += item;
      }
      return s;
    }
  }
}

std::optional<ValueType> FactCatalog::Lookup(std::string_view name) const {
  auto it = facts.find(name);
  if (it != facts.end()) return it->second.type;
  for (const std::string& p : open_prefixes)
    if (name.size() > p.size() && name.substr(0, p.size()) == p) return ValueType::kAny;
  return std::nullopt;
}

std::string FactCatalog::Closest(std::string_view name) const {
  std::string best;
  size_t best_d = 4;
  for (const auto& [known, entry] : facts) {
    // Levenshtein distance, two rows.
    std::vector<size_t> prev(known.size() + 1), cur(known.size() + 1);
    for (size_t j = 0; j <= known.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= name.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= known.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                           prev[j - 1] + (name[i - 1] == known[j - 1] ? 0 : 1)});
      std::swap(prev, cur);
    }
    if (prev[known.size()] < best_d) {
      best_d = prev[known.size()];
      best = known;
    }
  }
  return best;
}

struct Expression::Node {
  enum class Kind { kLiteral, kFact, kList, kNot, kAnd, kOr, kCompare, kIn, kExists, kCount };
  Kind kind = Kind::kLiteral;
  ValueType type = ValueType::kAny;  // static type of the node's value
  Tok op = Tok::kEnd;                // kCompare: the operator; kIn: kNot when negated
  Value literal;                     // kLiteral
  std::vector<Value> items;          // kList
  size_t slot = 0;                   // kFact, kExists, kCount
  std::vector<std::unique_ptr<Node>> kids;
};

namespace {

using Node = Expression::Node;
using NodePtr = std::unique_ptr<Node>;

class Parser {
 public:
  Parser(std::string_view text, const FactCatalog* catalog, std::vector<std::string>* names)
      : text_(text), catalog_(catalog), names_(names) {}

  NodePtr ParseAll(bool want_bool) {
    Next();
    NodePtr root = Or(0);
    if (root == nullptr) return nullptr;
    if (tok_.kind != Tok::kEnd)
      return Fail(tok_.pos, "expected 'and', 'or' or the end of the condition, found " +
                                Describe(tok_));
    if (want_bool && !BoolLike(*root))
      return Fail(0, "the condition is " + std::string(TypeName(root->type)) +
                         ", not true/false: compare it (for example 'x > 10' or 'x == \"A\"')");
    return root;
  }

  const std::string& error() const { return error_; }
  size_t error_pos() const { return error_pos_; }

 private:
  static bool BoolLike(const Node& n) {
    return n.type == ValueType::kBool || n.type == ValueType::kAny;
  }

  NodePtr Fail(size_t pos, const std::string& what) {
    if (error_.empty()) {
      error_ = "column " + std::to_string(pos + 1) + ": " + what;
      error_pos_ = pos;
    }
    return nullptr;
  }

  void Next() {
    while (i_ < text_.size() && (text_[i_] == ' ' || text_[i_] == '\t' || text_[i_] == '\n' ||
                                 text_[i_] == '\r'))
      ++i_;
    tok_ = Token();
    tok_.pos = i_;
    if (i_ >= text_.size()) return;
    const char c = text_[i_];
    auto two = [&](char second) { return i_ + 1 < text_.size() && text_[i_ + 1] == second; };
    auto simple = [&](Tok k, size_t len) {
      tok_.kind = k;
      tok_.text = std::string(text_.substr(i_, len));
      i_ += len;
    };
    if (c == '(') return simple(Tok::kLParen, 1);
    if (c == ')') return simple(Tok::kRParen, 1);
    if (c == ',') return simple(Tok::kComma, 1);
    if (c == '=' && two('=')) return simple(Tok::kEq, 2);
    if (c == '!' && two('=')) return simple(Tok::kNe, 2);
    if (c == '<' && two('=')) return simple(Tok::kLe, 2);
    if (c == '>' && two('=')) return simple(Tok::kGe, 2);
    if (c == '<') return simple(Tok::kLt, 1);
    if (c == '>') return simple(Tok::kGt, 1);
    if (c == '"' || c == '\'') return LexString(c);
    if ((c >= '0' && c <= '9') || c == '-' || c == '.') return LexNumber();
    if (IdentStart(c)) {
      size_t j = i_;
      while (j < text_.size() && IdentChar(text_[j])) ++j;
      tok_.text = std::string(text_.substr(i_, j - i_));
      i_ = j;
      static const std::pair<const char*, Tok> kWords[] = {
          {"and", Tok::kAnd}, {"or", Tok::kOr}, {"not", Tok::kNot}, {"in", Tok::kIn},
          {"true", Tok::kTrue}, {"false", Tok::kFalse}, {"null", Tok::kNull}};
      tok_.kind = Tok::kIdent;
      for (const auto& [word, kind] : kWords)
        if (tok_.text == word) tok_.kind = kind;
      return;
    }
    // One UTF-8 sequence (or byte) as the offending character.
    size_t len = 1;
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0xF0) len = 4; else if (b >= 0xE0) len = 3; else if (b >= 0xC0) len = 2;
    len = std::min(len, text_.size() - i_);
    simple(Tok::kBad, len);
  }

  void LexString(char quote) {
    tok_.kind = Tok::kString;
    size_t j = i_ + 1;
    std::string out;
    for (;;) {
      if (j >= text_.size()) {
        tok_.kind = Tok::kBad;
        tok_.text = "unterminated string";
        i_ = j;
        return;
      }
      const char c = text_[j];
      if (c == quote) break;
      if (c == '\\' && j + 1 < text_.size() &&
          (text_[j + 1] == '\\' || text_[j + 1] == '"' || text_[j + 1] == '\'')) {
        out += text_[j + 1];
        j += 2;
        continue;
      }
      out += c;
      ++j;
    }
    tok_.text = std::move(out);
    i_ = j + 1;
  }

  void LexNumber() {
    size_t j = i_;
    if (text_[j] == '-') ++j;
    while (j < text_.size() && ((text_[j] >= '0' && text_[j] <= '9') || text_[j] == '.')) ++j;
    const std::string_view spelled = text_.substr(i_, j - i_);
    double v = 0;
    auto [end, ec] = std::from_chars(spelled.data(), spelled.data() + spelled.size(), v);
    tok_.text = std::string(spelled);
    i_ = j;
    if (ec != std::errc() || end != spelled.data() + spelled.size() || !std::isfinite(v) ||
        (j < text_.size() && IdentChar(text_[j]))) {
      tok_.kind = Tok::kBad;
      if (j < text_.size() && IdentChar(text_[j])) tok_.text += text_[j];
      return;
    }
    tok_.kind = Tok::kNumber;
    tok_.number = v;
  }

  static NodePtr Make(Node::Kind kind, ValueType type) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->type = type;
    return n;
  }

  NodePtr Or(int depth) {
    NodePtr left = And(depth);
    if (!left) return nullptr;
    if (tok_.kind != Tok::kOr) return left;
    NodePtr n = Make(Node::Kind::kOr, ValueType::kBool);
    if (!CheckLogical(*left, "or")) return nullptr;
    n->kids.push_back(std::move(left));
    while (tok_.kind == Tok::kOr) {
      const size_t at = tok_.pos;
      Next();
      NodePtr right = And(depth);
      if (!right) return nullptr;
      if (!CheckLogical(*right, "or", at)) return nullptr;
      n->kids.push_back(std::move(right));
    }
    return n;
  }

  NodePtr And(int depth) {
    NodePtr left = Not(depth);
    if (!left) return nullptr;
    if (tok_.kind != Tok::kAnd) return left;
    NodePtr n = Make(Node::Kind::kAnd, ValueType::kBool);
    if (!CheckLogical(*left, "and")) return nullptr;
    n->kids.push_back(std::move(left));
    while (tok_.kind == Tok::kAnd) {
      const size_t at = tok_.pos;
      Next();
      NodePtr right = Not(depth);
      if (!right) return nullptr;
      if (!CheckLogical(*right, "and", at)) return nullptr;
      n->kids.push_back(std::move(right));
    }
    return n;
  }

  bool CheckLogical(const Node& operand, const char* op, size_t at = std::string::npos) {
    if (BoolLike(operand)) return true;
    Fail(at == std::string::npos ? tok_.pos : at,
         std::string("'") + op + "' needs true/false on both sides, found " +
             TypeName(operand.type));
    return false;
  }

  NodePtr Not(int depth) {
    if (depth > kMaxDepth) return Fail(tok_.pos, "nested deeper than 64 levels");
    if (tok_.kind != Tok::kNot) return Comparison(depth);
    const size_t at = tok_.pos;
    Next();
    NodePtr inner = Not(depth + 1);
    if (!inner) return nullptr;
    if (!BoolLike(*inner))
      return Fail(at, "'not' needs true/false, found " + std::string(TypeName(inner->type)));
    NodePtr n = Make(Node::Kind::kNot, ValueType::kBool);
    n->kids.push_back(std::move(inner));
    return n;
  }

  NodePtr Comparison(int depth) {
    const size_t left_at = tok_.pos;
    NodePtr left = Operand(depth);
    if (!left) return nullptr;
    switch (tok_.kind) {
      case Tok::kEq: case Tok::kNe: case Tok::kLt: case Tok::kLe: case Tok::kGt: case Tok::kGe:
        return Compare(std::move(left), left_at, depth);
      case Tok::kIn:
        return In(std::move(left), false);
      case Tok::kNot: {
        Next();
        if (tok_.kind != Tok::kIn)
          return Fail(tok_.pos, "expected 'in' after 'not' here, found " + Describe(tok_));
        return In(std::move(left), true);
      }
      case Tok::kBad:
        if (tok_.text == "=")
          return Fail(tok_.pos, "'=' is not a comparison: write '=='");
        if (tok_.text == "!") return Fail(tok_.pos, "'!' is not an operator: write 'not' or '!='");
        return Fail(tok_.pos, "unexpected " + Describe(tok_));
      default:
        return left;
    }
  }

  NodePtr Compare(NodePtr left, size_t left_at, int depth) {
    const Tok op = tok_.kind;
    const std::string op_text = tok_.text;
    const size_t op_at = tok_.pos;
    Next();
    NodePtr right = Operand(depth);
    if (!right) return nullptr;
    const ValueType a = left->type, b = right->type;
    const bool ordering = op != Tok::kEq && op != Tok::kNe;
    auto bad = [&](ValueType t) {
      return t == ValueType::kList ||
             (ordering && (t == ValueType::kBool || t == ValueType::kNull));
    };
    if (bad(a))
      return Fail(left_at, "'" + op_text + "' cannot compare " + TypeName(a) +
                               (a == ValueType::kList ? " (use 'in' or count())" : ""));
    if (bad(b))
      return Fail(op_at, "'" + op_text + "' cannot compare " + TypeName(b) +
                             (b == ValueType::kList ? " (use 'in' or count())" : ""));
    if (a != ValueType::kAny && b != ValueType::kAny && a != b && a != ValueType::kNull &&
        b != ValueType::kNull)
      return Fail(op_at, std::string("'") + op_text + "' compares " + TypeName(a) + " with " +
                             TypeName(b) + ": it would never be true");
    NodePtr n = Make(Node::Kind::kCompare, ValueType::kBool);
    n->op = op;
    n->kids.push_back(std::move(left));
    n->kids.push_back(std::move(right));
    return n;
  }

  NodePtr In(NodePtr left, bool negated) {
    const size_t in_at = tok_.pos;
    Next();
    if (left->type == ValueType::kBool || left->type == ValueType::kNull)
      return Fail(in_at, "'in' needs a number, a string or a list on its left, found " +
                             std::string(TypeName(left->type)));
    NodePtr n = Make(Node::Kind::kIn, ValueType::kBool);
    n->op = negated ? Tok::kNot : Tok::kIn;
    if (tok_.kind == Tok::kLParen) {
      NodePtr list = Make(Node::Kind::kList, ValueType::kList);
      Next();
      for (;;) {
        Value v;
        if (tok_.kind == Tok::kString) {
          v = tok_.text;
        } else if (tok_.kind == Tok::kNumber) {
          v = tok_.number;
        } else {
          return Fail(tok_.pos, "expected a number or a string in the list, found " +
                                    Describe(tok_));
        }
        const ValueType item = TypeOf(v);
        const ValueType l = left->type;
        if (l != ValueType::kAny && !(l == item || (l == ValueType::kList &&
                                                    item == ValueType::kString)))
          return Fail(tok_.pos, std::string("the list holds ") + TypeName(item) +
                                    " but the left side is " + TypeName(l));
        list->items.push_back(std::move(v));
        Next();
        if (tok_.kind == Tok::kComma) {
          Next();
          continue;
        }
        if (tok_.kind == Tok::kRParen) break;
        return Fail(tok_.pos, "expected ',' or ')' in the list, found " + Describe(tok_));
      }
      Next();
      n->kids.push_back(std::move(left));
      n->kids.push_back(std::move(list));
      return n;
    }
    if (tok_.kind != Tok::kIdent)
      return Fail(tok_.pos, "expected a list '(...)' or a list fact after 'in', found " +
                                Describe(tok_));
    NodePtr fact = Fact();
    if (!fact) return nullptr;
    if (fact->type != ValueType::kList && fact->type != ValueType::kAny)
      return Fail(in_at, "'in' needs a list on its right; '" + (*names_)[fact->slot] + "' is " +
                             TypeName(fact->type));
    n->kids.push_back(std::move(left));
    n->kids.push_back(std::move(fact));
    return n;
  }

  NodePtr Fact() {
    const std::string name = tok_.text;
    const size_t at = tok_.pos;
    ValueType type = ValueType::kAny;
    if (catalog_ != nullptr) {
      std::optional<ValueType> t = catalog_->Lookup(name);
      if (!t) {
        const std::string near = catalog_->Closest(name);
        return Fail(at, "unknown fact '" + name + "'" +
                            (near.empty() ? "" : " (did you mean '" + near + "'?)"));
      }
      type = *t;
    }
    Next();
    NodePtr n = Make(Node::Kind::kFact, type);
    n->slot = SlotOf(name);
    return n;
  }

  size_t SlotOf(const std::string& name) {
    auto it = std::find(names_->begin(), names_->end(), name);
    if (it != names_->end()) return static_cast<size_t>(it - names_->begin());
    names_->push_back(name);
    return names_->size() - 1;
  }

  NodePtr Operand(int depth) {
    switch (tok_.kind) {
      case Tok::kNumber: {
        NodePtr n = Make(Node::Kind::kLiteral, ValueType::kNumber);
        n->literal = tok_.number;
        Next();
        return n;
      }
      case Tok::kString: {
        NodePtr n = Make(Node::Kind::kLiteral, ValueType::kString);
        n->literal = tok_.text;
        Next();
        return n;
      }
      case Tok::kTrue:
      case Tok::kFalse: {
        NodePtr n = Make(Node::Kind::kLiteral, ValueType::kBool);
        n->literal = tok_.kind == Tok::kTrue;
        Next();
        return n;
      }
      case Tok::kNull: {
        NodePtr n = Make(Node::Kind::kLiteral, ValueType::kNull);
        Next();
        return n;
      }
      case Tok::kLParen: {
        if (depth > kMaxDepth) return Fail(tok_.pos, "nested deeper than 64 levels");
        const size_t open = tok_.pos;
        Next();
        NodePtr inner = Or(depth + 1);
        if (!inner) return nullptr;
        if (tok_.kind != Tok::kRParen)
          return Fail(tok_.pos, "expected ')' to close the '(' at column " +
                                    std::to_string(open + 1) + ", found " + Describe(tok_));
        Next();
        return inner;
      }
      case Tok::kIdent: {
        if (tok_.text == "exists" || tok_.text == "count") return Function();
        return Fact();
      }
      case Tok::kBad:
        if (tok_.text == "unterminated string")
          return Fail(tok_.pos, "unterminated string");
        return Fail(tok_.pos, "unexpected " + Describe(tok_));
      case Tok::kEnd:
        return Fail(tok_.pos, "expected a value, found the end of the condition");
      default:
        return Fail(tok_.pos, "expected a value, found " + Describe(tok_));
    }
  }

  NodePtr Function() {
    const std::string fn = tok_.text;
    Next();
    if (tok_.kind != Tok::kLParen)
      return Fail(tok_.pos, fn + " is a function: write " + fn + "(fact)");
    Next();
    if (tok_.kind != Tok::kIdent)
      return Fail(tok_.pos, fn + "() takes a fact name, found " + Describe(tok_));
    const size_t at = tok_.pos;
    NodePtr fact = Fact();
    if (!fact) return nullptr;
    if (tok_.kind != Tok::kRParen)
      return Fail(tok_.pos, "expected ')' after " + fn + "(" + (*names_)[fact->slot] +
                                ", found " + Describe(tok_));
    Next();
    if (fn == "count" && fact->type != ValueType::kList && fact->type != ValueType::kAny)
      return Fail(at, "count() needs a list; '" + (*names_)[fact->slot] + "' is " +
                          TypeName(fact->type));
    NodePtr n = Make(fn == "exists" ? Node::Kind::kExists : Node::Kind::kCount,
                     fn == "exists" ? ValueType::kBool : ValueType::kNumber);
    n->slot = fact->slot;
    return n;
  }

  std::string_view text_;
  const FactCatalog* catalog_;
  std::vector<std::string>* names_;
  size_t i_ = 0;
  Token tok_;
  std::string error_;
  size_t error_pos_ = 0;
};

const Value kNull;

// The value of an operand node; `scratch` holds computed values (count()).
const Value* Operand(const Node& n, const BoundFacts& bound, Value* scratch) {
  switch (n.kind) {
    case Node::Kind::kLiteral: return &n.literal;
    case Node::Kind::kFact: {
      const Value* v = n.slot < bound.size() ? bound[n.slot] : nullptr;
      return v != nullptr ? v : &kNull;
    }
    case Node::Kind::kCount: {
      const Value* v = n.slot < bound.size() ? bound[n.slot] : nullptr;
      if (v == nullptr || v->index() != 4) return &kNull;
      *scratch = static_cast<double>(std::get<List>(*v).size());
      return scratch;
    }
    default: return nullptr;  // a boolean node: the caller evaluates it with Eval
  }
}

bool Equal(const Value& a, const Value& b) { return a == b; }

std::optional<bool> Eval(const Node& n, const BoundFacts& bound) {
  switch (n.kind) {
    case Node::Kind::kLiteral:
    case Node::Kind::kFact: {
      Value scratch;
      const Value* v = Operand(n, bound, &scratch);
      if (v->index() == 1) return std::get<bool>(*v);
      return std::nullopt;  // null, or not a boolean: unknown
    }
    case Node::Kind::kNot: {
      std::optional<bool> r = Eval(*n.kids[0], bound);
      if (!r) return std::nullopt;
      return !*r;
    }
    case Node::Kind::kAnd: {
      bool unknown = false;
      for (const NodePtr& k : n.kids) {
        std::optional<bool> r = Eval(*k, bound);
        if (!r) unknown = true;
        else if (!*r) return false;
      }
      if (unknown) return std::nullopt;
      return true;
    }
    case Node::Kind::kOr: {
      bool unknown = false;
      for (const NodePtr& k : n.kids) {
        std::optional<bool> r = Eval(*k, bound);
        if (!r) unknown = true;
        else if (*r) return true;
      }
      if (unknown) return std::nullopt;
      return false;
    }
    case Node::Kind::kExists: {
      const Value* v = n.slot < bound.size() ? bound[n.slot] : nullptr;
      return v != nullptr && !IsNull(*v);
    }
    case Node::Kind::kCompare: {
      Value s1, s2;
      std::optional<bool> lb, rb;
      const Value* l = Operand(*n.kids[0], bound, &s1);
      const Value* r = Operand(*n.kids[1], bound, &s2);
      // A parenthesised condition compared with ==: evaluate it as a boolean.
      if (l == nullptr) {
        lb = Eval(*n.kids[0], bound);
        if (!lb) return std::nullopt;
        s1 = *lb;
        l = &s1;
      }
      if (r == nullptr) {
        rb = Eval(*n.kids[1], bound);
        if (!rb) return std::nullopt;
        s2 = *rb;
        r = &s2;
      }
      if (IsNull(*l) || IsNull(*r) || l->index() != r->index() || l->index() == 4)
        return std::nullopt;
      if (n.op == Tok::kEq) return Equal(*l, *r);
      if (n.op == Tok::kNe) return !Equal(*l, *r);
      int cmp = 0;
      if (l->index() == 2) {
        const double a = std::get<double>(*l), b = std::get<double>(*r);
        cmp = a < b ? -1 : (a > b ? 1 : 0);
      } else if (l->index() == 3) {
        cmp = std::get<std::string>(*l).compare(std::get<std::string>(*r));
      } else {
        return std::nullopt;
      }
      switch (n.op) {
        case Tok::kLt: return cmp < 0;
        case Tok::kLe: return cmp <= 0;
        case Tok::kGt: return cmp > 0;
        case Tok::kGe: return cmp >= 0;
        default: return std::nullopt;
      }
    }
    case Node::Kind::kIn: {
      Value s1;
      const Value* l = Operand(*n.kids[0], bound, &s1);
      if (l == nullptr || IsNull(*l)) return std::nullopt;
      const Node& right = *n.kids[1];
      // Whether the right-hand list holds `item` (a Value) or `text` (an element of a list
      // fact on the left: compared in place, no copy).
      auto contains = [&](const Value* item, const std::string* text) {
        if (right.kind == Node::Kind::kList) {
          for (const Value& v : right.items) {
            if (text != nullptr ? (v.index() == 3 && std::get<std::string>(v) == *text)
                                : v == *item)
              return true;
          }
          return false;
        }
        const Value* list = right.slot < bound.size() ? bound[right.slot] : nullptr;
        if (text == nullptr) {
          if (item->index() != 3) return false;
          text = &std::get<std::string>(*item);
        }
        const List& items = std::get<List>(*list);
        return std::find(items.begin(), items.end(), *text) != items.end();
      };
      if (right.kind == Node::Kind::kFact) {
        const Value* list = right.slot < bound.size() ? bound[right.slot] : nullptr;
        if (list == nullptr || list->index() != 4) return std::nullopt;
      }
      bool found = false;
      if (l->index() == 4) {
        for (const std::string& s : std::get<List>(*l))
          if (contains(nullptr, &s)) {
            found = true;
            break;
          }
      } else {
        found = contains(l, nullptr);
      }
      return n.op == Tok::kNot ? !found : found;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

Expression::~Expression() = default;

std::unique_ptr<Expression> Expression::Parse(std::string_view text, const FactCatalog* catalog,
                                              std::string* error, bool want_bool,
                                              std::vector<std::string>* shared_names,
                                              size_t* error_offset) {
  std::unique_ptr<Expression> e(new Expression());
  std::vector<std::string>* names = shared_names != nullptr ? shared_names : &e->names_;
  Parser p(text, catalog, names);
  e->root_ = p.ParseAll(want_bool);
  if (!e->root_) {
    if (error != nullptr) *error = p.error();
    if (error_offset != nullptr) *error_offset = p.error_pos();
    return nullptr;
  }
  size_t b = 0, end = text.size();
  while (b < end && (text[b] == ' ' || text[b] == '\t')) ++b;
  while (end > b && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  e->text_ = std::string(text.substr(b, end - b));
  return e;
}

BoundFacts Expression::BindNames(const std::vector<std::string>& names, const Facts& facts) {
  BoundFacts bound(names.size(), nullptr);
  for (size_t i = 0; i < names.size(); ++i) {
    auto it = facts.find(names[i]);
    if (it != facts.end()) bound[i] = &it->second;
  }
  return bound;
}

std::optional<bool> Expression::Test(const BoundFacts& bound) const { return Eval(*root_, bound); }

}  // namespace kordon::risk
