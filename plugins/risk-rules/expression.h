// expression.h — fact values and the condition language of risk profiles (see README.md,
// "Conditions"): comparisons, and/or/not, `in` lists, exists(), count(), numbers, strings,
// facts by name. Parsed by hand (recursive descent) into a tree that is type-checked against
// a fact catalogue and evaluated with three-valued logic (a missing fact is "unknown", and a
// criterion fires only when its condition is true).
//
// Pure library: no SDK or JSON types. Thread safety: an Expression is immutable after Parse
// and may be evaluated from any number of threads at once.
#ifndef KORDON_PLUGINS_RISK_RULES_EXPRESSION_H_
#define KORDON_PLUGINS_RISK_RULES_EXPRESSION_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kordon::risk {

// A fact's value: null (unknown / absent), bool, number, string or a list of strings.
using List = std::vector<std::string>;
using Value = std::variant<std::monostate, bool, double, std::string, List>;

// The flat fact set of one crossing. Absent and null mean the same: unknown.
using Facts = std::map<std::string, Value, std::less<>>;

enum class ValueType { kNull, kBool, kNumber, kString, kList, kAny };

const char* TypeName(ValueType t);
ValueType TypeOf(const Value& v);
bool IsNull(const Value& v);

// How a value is shown in a criterion's text and in logs: numbers without trailing zeros
// (at most 2 decimals), lists joined with ", ", null as "unknown".
std::string FormatValue(const Value& v);

// Known facts and their types. A name that is not listed is refused at load time (a typo in a
// profile must not silently never fire) unless it starts with one of `open_prefixes`
// ("fact.", "indicator."): those are added at run time by site procedures, with any type.
struct FactCatalog {
  struct Entry {
    ValueType type = ValueType::kAny;
    std::string description;
  };
  std::map<std::string, Entry, std::less<>> facts;
  std::vector<std::string> open_prefixes;

  // The entry for `name`: listed, or kAny under an open prefix; nullopt when unknown.
  std::optional<ValueType> Lookup(std::string_view name) const;
  // The listed name closest to `name` (edit distance ≤ 3), for "did you mean".
  std::string Closest(std::string_view name) const;
};

// Where referenced facts live while one crossing is evaluated: Bind() looks each referenced
// name up once, evaluation then indexes this array.
using BoundFacts = std::vector<const Value*>;

class Expression {
 public:
  // Parses `text`. On error returns nullptr and sets *error to "column N: <what>" (columns
  // 1-based within `text`). `catalog` may be null: then every fact name is accepted with
  // type kAny. `want_bool`: the whole expression must be a condition.
  //
  // `shared_names`: when given, fact slots are numbered in this table (shared by every
  // expression of a profile, so that a profile binds each fact once per crossing) and names()
  // and Bind() must not be used; the caller binds with its table.
  static std::unique_ptr<Expression> Parse(std::string_view text, const FactCatalog* catalog,
                                           std::string* error, bool want_bool = true,
                                           std::vector<std::string>* shared_names = nullptr,
                                           size_t* error_offset = nullptr);
  ~Expression();
  Expression(const Expression&) = delete;
  Expression& operator=(const Expression&) = delete;

  // The distinct fact names the expression reads, in first-use order; slot i of a BoundFacts
  // is names()[i].
  const std::vector<std::string>& names() const { return names_; }
  BoundFacts Bind(const Facts& facts) const { return BindNames(names_, facts); }
  static BoundFacts BindNames(const std::vector<std::string>& names, const Facts& facts);

  // Three-valued: true, false, or nullopt (unknown, e.g. a comparison with a missing fact).
  std::optional<bool> Test(const BoundFacts& bound) const;
  std::optional<bool> Test(const Facts& facts) const { return Test(Bind(facts)); }

  // The expression as written (trimmed), for listings.
  const std::string& text() const { return text_; }

  struct Node;

 private:
  Expression() = default;
  std::unique_ptr<Node> root_;
  std::vector<std::string> names_;
  std::string text_;
};

}  // namespace kordon::risk

#endif  // KORDON_PLUGINS_RISK_RULES_EXPRESSION_H_
