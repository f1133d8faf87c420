// check.cpp — CheckScript(): the static pass of `kordon script check` (see script.h).
//
// Compiles the text (text chunks only) for syntax errors, then scans its tokens, skipping
// comments, for `kordon.<name>` and `kordon.<table>.<name>`: it reports names the API does not
// have, and for each call the wrong number of arguments and arguments written as literals of
// the wrong type (a string where a function goes, a timeout that is not 1..86400000 ms, a
// topic a host would refuse). A token scan sees inside every handler, which a dry run of the top-level
// chunk would not; it misses aliases (`local k = kordon`), which are rare in procedures.
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <lua.hpp>

#include "script.h"

namespace kordon::lua {
namespace {

const std::set<std::string, std::less<>>& Known() {
  static const std::set<std::string, std::less<>> names = {
      "on", "publish", "call", "wait", "after", "every", "cancel", "setting", "now", "array",
      "null", "log", "crossing", "risk", "console",
      "log.info", "log.warn", "log.error", "crossing.fact", "crossing.close",
      "risk.indicator", "console.ask"};
  return names;
}

bool IsTable(std::string_view name) {
  return name == "log" || name == "crossing" || name == "risk" || name == "console";
}

struct Token {
  enum Kind { kIdent, kString, kNumber, kPunct } kind;
  std::string text;  // an identifier, a string's raw contents, a number, one punctuation char
  int line;
  bool ident() const { return kind == kIdent; }
  bool punct(char c) const { return kind == kPunct && text.size() == 1 && text[0] == c; }
};

// Length of a long bracket opener "[", "=" * level, "[" at text[i], or 0.
size_t LongBracket(std::string_view text, size_t i, size_t* level) {
  if (i >= text.size() || text[i] != '[') return 0;
  size_t j = i + 1;
  while (j < text.size() && text[j] == '=') ++j;
  if (j < text.size() && text[j] == '[') {
    *level = j - i - 1;
    return j - i + 1;
  }
  return 0;
}

std::vector<Token> Tokens(std::string_view text) {
  std::vector<Token> out;
  int line = 1;
  size_t i = 0;
  // i is just after the opener; returns the contents.
  auto skip_long = [&](size_t level) {
    const std::string close = "]" + std::string(level, '=') + "]";
    const size_t end = text.find(close, i);
    const size_t stop = end == std::string_view::npos ? text.size() : end + close.size();
    std::string contents(text.substr(i, (end == std::string_view::npos ? text.size() : end) - i));
    for (; i < stop; ++i) line += text[i] == '\n';
    return contents;
  };
  while (i < text.size()) {
    const char c = text[i];
    size_t level = 0;
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == '-' && text.substr(i, 2) == "--") {
      i += 2;
      if (size_t n = LongBracket(text, i, &level)) {
        i += n;
        skip_long(level);
      } else {
        while (i < text.size() && text[i] != '\n') ++i;
      }
    } else if (size_t n = LongBracket(text, i, &level)) {
      const int at = line;
      i += n;
      out.push_back({Token::kString, skip_long(level), at});
    } else if (c == '"' || c == '\'') {
      const int at = line;
      std::string contents;
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) contents += text[i++];
        contents += text[i];
        line += text[i] == '\n';
      }
      ++i;
      out.push_back({Token::kString, std::move(contents), at});
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      const size_t start = i;
      while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) ||
                                 text[i] == '.' || text[i] == '_' ||
                                 ((text[i] == '+' || text[i] == '-') &&
                                  (text[i - 1] == 'e' || text[i - 1] == 'E' ||
                                   text[i - 1] == 'p' || text[i - 1] == 'P'))))
        ++i;
      out.push_back({Token::kNumber, std::string(text.substr(start, i - start)), line});
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = i;
      while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) ||
                                 text[i] == '_'))
        ++i;
      out.push_back({Token::kIdent, std::string(text.substr(start, i - start)), line});
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else {
      out.push_back({Token::kPunct, std::string(1, c), line});
      ++i;
    }
  }
  return out;
}

// What an argument written literally is: "string", "number", "nil", "boolean", "function",
// "table", or "" when it is an expression whose type only a run would tell.
std::string LiteralType(const std::vector<Token>& t, size_t begin, size_t end) {
  if (begin >= end) return "";
  const Token& first = t[begin];
  if (end - begin == 2 && first.punct('-') && t[begin + 1].kind == Token::kNumber)
    return "number";  // a negative literal
  if (end - begin == 1) {
    if (first.kind == Token::kString) return "string";
    if (first.kind == Token::kNumber) return "number";
    if (first.ident() && first.text == "nil") return "nil";
    if (first.ident() && (first.text == "true" || first.text == "false")) return "boolean";
  }
  if (first.ident() && first.text == "function") return "function";
  if (first.punct('{') && t[end - 1].punct('}')) {
    int depth = 0;  // the braces must close at the end only: {a}.x is not a table literal
    for (size_t i = begin; i < end; ++i) {
      depth += t[i].punct('{') - t[i].punct('}');
      if (depth == 0 && i + 1 < end) return "";
    }
    return "table";
  }
  return "";
}

// Topic (or topic prefix, when prefix) syntax as the host checks it: dotted segments of
// a-z 0-9 _ -. Returns the problem, empty when fine.
std::string TopicProblem(std::string_view topic, bool prefix) {
  if (topic.empty()) return prefix ? "" : "a topic cannot be empty";
  if (topic.front() == '$') return "topics beginning with '$' are reserved for the host";
  size_t segment = 0;
  for (size_t i = 0; i <= topic.size(); ++i) {
    if (i == topic.size() || topic[i] == '.') {
      if (i == segment && !(prefix && i == topic.size()))
        return "'" + std::string(topic) + "' has an empty segment";
      segment = i + 1;
      continue;
    }
    const char c = topic[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return "'" + std::string(topic) + "' has a character a topic cannot have ('" +
             std::string(1, c) + "'; segments use a-z 0-9 _ -)";
  }
  return "";
}

// The arguments each kordon function takes: one entry per position, the types allowed
// ("any" for anything), optional ones at the end.
struct Signature {
  std::vector<std::set<std::string, std::less<>>> args;
  size_t required;
  bool variadic = false;
  int topic_arg = -1;  // the argument that is a topic (1-based), checked when literal
  bool topic_is_prefix = false;
};

const std::map<std::string, Signature, std::less<>>& Signatures() {
  using S = std::set<std::string, std::less<>>;
  static const S any = {"any"};
  static const std::map<std::string, Signature, std::less<>> sigs = {
      {"on", {{S{"string"}, S{"function"}}, 2, false, 1, true}},
      {"publish", {{S{"string"}, S{"table", "nil"}, S{"table", "nil"}}, 2, false, 1, false}},
      {"call", {{S{"string"}, S{"table", "nil"}, S{"number", "nil"}}, 1}},
      {"wait", {{S{"string"}, S{"table", "function", "nil"}, S{"number"}}, 3, false, 1, true}},
      {"after", {{S{"number"}, S{"function"}}, 2}},
      {"every", {{S{"number"}, S{"function"}}, 2}},
      {"cancel", {{any}, 1}},
      {"setting", {{S{"string"}, any}, 1}},
      {"now", {{}, 0}},
      {"array", {{S{"table", "nil"}}, 0}},
      {"log.info", {{}, 0, true}},
      {"log.warn", {{}, 0, true}},
      {"log.error", {{}, 0, true}},
      {"crossing.fact", {{S{"string", "table"}, S{"string"}, any}, 3}},
      {"crossing.close", {{S{"string", "table"}, S{"string"}}, 2}},
      {"risk.indicator", {{S{"table"}}, 1}},
      {"console.ask", {{S{"table"}}, 1}},
  };
  return sigs;
}

std::string Join(const std::set<std::string, std::less<>>& types) {
  std::string out;
  for (const std::string& t : types) out += (out.empty() ? "" : " or ") + t;
  return out;
}

// Checks the call of kordon.<full> whose arguments start at t[i] (a "(", a "{" or a string:
// Lua's call sugar); adds problems.
void CheckCall(const std::vector<Token>& t, size_t i, const std::string& full,
               const std::string& name, std::vector<std::string>* problems) {
  auto sig_it = Signatures().find(full);
  if (sig_it == Signatures().end() || i >= t.size()) return;
  const Signature& sig = sig_it->second;
  const int line = t[i].line;
  std::vector<std::pair<size_t, size_t>> args;  // [begin, end) token ranges
  if (t[i].kind == Token::kString) {
    args.push_back({i, i + 1});
  } else if (t[i].punct('{')) {
    int depth = 0;
    size_t j = i;
    for (; j < t.size(); ++j) {
      depth += t[j].punct('{') - t[j].punct('}');
      if (depth == 0) break;
    }
    args.push_back({i, std::min(j + 1, t.size())});
  } else if (t[i].punct('(')) {
    int depth = 0;
    int blocks = 0;  // function/do/if/repeat bodies: their commas separate no arguments
    size_t begin = i + 1;
    size_t j = i;
    for (; j < t.size(); ++j) {
      const Token& k = t[j];
      if (k.ident()) {
        if (k.text == "function" || k.text == "do" || k.text == "if" || k.text == "repeat")
          ++blocks;
        else if (k.text == "end" || k.text == "until")
          --blocks;
      }
      if (k.punct('(') || k.punct('{') || k.punct('[')) ++depth;
      if (k.punct(')') || k.punct('}') || k.punct(']')) {
        if (--depth == 0) {
          if (j > begin) args.push_back({begin, j});
          break;
        }
      }
      if (depth == 1 && blocks == 0 && k.punct(',')) {
        args.push_back({begin, j});
        begin = j + 1;
      }
    }
  } else {
    return;  // kordon.x used as a value, not called here
  }
  const std::string where = name + ":" + std::to_string(line) + ": kordon." + full;
  if (args.size() < sig.required) {
    problems->push_back(where + " needs " + std::to_string(sig.required) + " argument" +
                        (sig.required == 1 ? "" : "s") + ", got " +
                        std::to_string(args.size()));
  } else if (!sig.variadic && args.size() > sig.args.size()) {
    problems->push_back(where + " takes at most " + std::to_string(sig.args.size()) +
                        " argument" + (sig.args.size() == 1 ? "" : "s") + ", got " +
                        std::to_string(args.size()));
  }
  for (size_t a = 0; a < args.size() && a < sig.args.size(); ++a) {
    const std::string type = LiteralType(t, args[a].first, args[a].second);
    const auto& allowed = sig.args[a];
    if (type.empty() || allowed.count("any")) continue;
    if (!allowed.count(type) && !(type == "nil" && a >= sig.required)) {
      problems->push_back(where + ": argument " + std::to_string(a + 1) + " must be " +
                          Join(allowed) + ", got a " + type);
      continue;
    }
    if (static_cast<int>(a) + 1 == sig.topic_arg && type == "string") {
      const std::string why = TopicProblem(t[args[a].first].text, sig.topic_is_prefix);
      if (!why.empty()) problems->push_back(where + ": " + why);
    }
    if (type == "number" && (full == "wait" || full == "call" || full == "after" ||
                             full == "every") &&
        (a == 2 || full == "after" || full == "every")) {
      std::string n;  // the literal, with its minus sign
      for (size_t k = args[a].first; k < args[a].second; ++k) n += t[k].text;
      char* end = nullptr;
      const double v = std::strtod(n.c_str(), &end);
      if (end != n.c_str() + n.size() || v < 1 || v > 86400000 || v != static_cast<long>(v))
        problems->push_back(where + ": " + n + " is not a whole number of milliseconds in " +
                            "1..86400000");
    }
  }
}

}  // namespace

std::vector<std::string> CheckScript(std::string_view text, const std::string& name) {
  std::vector<std::string> problems;
  lua_State* L = luaL_newstate();
  if (L == nullptr) return {name + ": not enough memory to check the script"};
  const std::string chunk = "@" + name;
  if (luaL_loadbufferx(L, text.data(), text.size(), chunk.c_str(), "t") != LUA_OK) {
    problems.push_back(lua_tostring(L, -1) ? lua_tostring(L, -1) : name + ": cannot load");
  }
  lua_close(L);
  if (!problems.empty()) return problems;

  const std::vector<Token> t = Tokens(text);
  for (size_t i = 0; i + 2 < t.size(); ++i) {
    if (!t[i].ident() || t[i].text != "kordon") continue;
    if (i > 0 && (t[i - 1].punct('.') || t[i - 1].punct(':'))) continue;  // x.kordon
    if (!t[i + 1].punct('.') || !t[i + 2].ident()) continue;
    std::string full = t[i + 2].text;
    size_t next = i + 3;
    if (!Known().count(full)) {
      problems.push_back(name + ":" + std::to_string(t[i].line) + ": unknown kordon." + full);
      continue;
    }
    if (IsTable(full) && i + 4 < t.size() && t[i + 3].punct('.') && t[i + 4].ident()) {
      full += "." + t[i + 4].text;
      next = i + 5;
      if (!Known().count(full)) {
        problems.push_back(name + ":" + std::to_string(t[i].line) + ": unknown kordon." + full);
        continue;
      }
    }
    // An assignment (kordon.x = ...) is the script's own business, not a call.
    if (next < t.size() && !(t[next].punct('=') && !(next + 1 < t.size() && t[next + 1].punct('='))))
      CheckCall(t, next, full, name, &problems);
  }
  return problems;
}

}  // namespace kordon::lua
