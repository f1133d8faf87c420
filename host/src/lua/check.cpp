// check.cpp — CheckScript(): the static pass of `kordon script check` (see script.h).
//
// Compiles the text (text chunks only) for syntax errors, then scans its tokens, skipping
// comments and strings, for `kordon.<name>` and `kordon.<table>.<name>` and reports names the
// API does not have. A token scan sees inside every handler, which a dry run of the top-level
// chunk would not; it misses aliases (`local k = kordon`), which are rare in procedures.
#include <cctype>
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
  std::string text;  // an identifier, or one punctuation character
  int line;
  bool ident;
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
  auto skip_long = [&](size_t level) {  // i is just after the opener
    const std::string close = "]" + std::string(level, '=') + "]";
    const size_t end = text.find(close, i);
    const size_t stop = end == std::string_view::npos ? text.size() : end + close.size();
    for (; i < stop; ++i) line += text[i] == '\n';
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
      i += n;
      skip_long(level);
    } else if (c == '"' || c == '\'') {
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        line += text[i] == '\n';
      }
      ++i;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const size_t start = i;
      while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) ||
                                 text[i] == '_'))
        ++i;
      out.push_back({std::string(text.substr(start, i - start)), line, true});
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else {
      out.push_back({std::string(1, c), line, false});
      ++i;
    }
  }
  return out;
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
    if (!t[i].ident || t[i].text != "kordon") continue;
    if (i > 0 && (t[i - 1].text == "." || t[i - 1].text == ":")) continue;  // x.kordon
    if (t[i + 1].text != "." || !t[i + 2].ident) continue;
    std::string full = t[i + 2].text;
    if (!Known().count(full)) {
      problems.push_back(name + ":" + std::to_string(t[i].line) + ": unknown kordon." + full);
      continue;
    }
    if (IsTable(full) && i + 4 < t.size() && t[i + 3].text == "." && t[i + 4].ident) {
      full += "." + t[i + 4].text;
      if (!Known().count(full))
        problems.push_back(name + ":" + std::to_string(t[i].line) + ": unknown kordon." + full);
    }
  }
  return problems;
}

}  // namespace kordon::lua
