// value.cpp — the JSON <-> Lua value bridge (see value.h and README.md for the rules).
#include "value.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <simdjson.h>

namespace kordon::lua {
namespace {

// Registry keys and the null sentinel: the addresses are unique, the contents unused.
const char kArrayMetaKey = 0;
const char kNullSentinel = 0;

void Push(lua_State* L, const nlohmann::json& j, int depth) {
  if (depth > kMaxDepth) luaL_error(L, "JSON nested deeper than %d levels", kMaxDepth);
  luaL_checkstack(L, 3, "JSON nested too deep");
  switch (j.type()) {
    case nlohmann::json::value_t::null: PushNull(L); return;
    case nlohmann::json::value_t::boolean: lua_pushboolean(L, j.get<bool>()); return;
    case nlohmann::json::value_t::number_integer:
      lua_pushinteger(L, j.get<std::int64_t>());
      return;
    case nlohmann::json::value_t::number_unsigned: {
      const auto u = j.get<std::uint64_t>();
      // Above INT64_MAX a Lua integer would wrap negative: a float is the honest value.
      if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        lua_pushinteger(L, static_cast<lua_Integer>(u));
      else
        lua_pushnumber(L, static_cast<lua_Number>(u));
      return;
    }
    case nlohmann::json::value_t::number_float: {
      const double d = j.get<double>();
      if (!std::isfinite(d)) luaL_error(L, "a JSON number is out of range");
      lua_pushnumber(L, d);
      return;
    }
    case nlohmann::json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (!ValidUtf8(s)) luaL_error(L, "a JSON string is not valid UTF-8");
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case nlohmann::json::value_t::array: {
      lua_createtable(L, static_cast<int>(std::min<size_t>(j.size(), 1u << 20)), 0);
      lua_Integer i = 0;
      for (const auto& item : j) {
        Push(L, item, depth + 1);
        lua_rawseti(L, -2, ++i);
      }
      PushArrayMeta(L);
      lua_setmetatable(L, -2);
      return;
    }
    case nlohmann::json::value_t::object: {
      lua_createtable(L, 0, static_cast<int>(std::min<size_t>(j.size(), 1u << 20)));
      for (const auto& [key, item] : j.items()) {
        if (!ValidUtf8(key)) luaL_error(L, "a JSON key is not valid UTF-8");
        lua_pushlstring(L, key.data(), key.size());
        Push(L, item, depth + 1);
        lua_rawset(L, -3);
      }
      return;
    }
    default: luaL_error(L, "binary JSON values are not supported"); return;
  }
}

void PushDom(lua_State* L, simdjson::dom::element e, int depth) {
  if (depth > kMaxDepth) luaL_error(L, "JSON nested deeper than %d levels", kMaxDepth);
  luaL_checkstack(L, 3, "JSON nested too deep");
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE: PushNull(L); return;
    case simdjson::dom::element_type::BOOL: lua_pushboolean(L, e.get_bool().value_unsafe()); return;
    case simdjson::dom::element_type::INT64:
      lua_pushinteger(L, e.get_int64().value_unsafe());
      return;
    case simdjson::dom::element_type::UINT64:  // above INT64_MAX: a float, as in Push
      lua_pushnumber(L, static_cast<lua_Number>(e.get_uint64().value_unsafe()));
      return;
    case simdjson::dom::element_type::DOUBLE:
      lua_pushnumber(L, e.get_double().value_unsafe());
      return;
    case simdjson::dom::element_type::STRING: {
      const std::string_view s = e.get_string().value_unsafe();
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case simdjson::dom::element_type::ARRAY: {
      const simdjson::dom::array a = e.get_array().value_unsafe();
      lua_createtable(L, static_cast<int>(std::min<size_t>(a.size(), 1u << 20)), 0);
      lua_Integer i = 0;
      for (simdjson::dom::element item : a) {
        PushDom(L, item, depth + 1);
        lua_rawseti(L, -2, ++i);
      }
      PushArrayMeta(L);
      lua_setmetatable(L, -2);
      return;
    }
    case simdjson::dom::element_type::OBJECT: {
      const simdjson::dom::object o = e.get_object().value_unsafe();
      lua_createtable(L, 0, static_cast<int>(std::min<size_t>(o.size(), 1u << 20)));
      for (simdjson::dom::key_value_pair kv : o) {
        lua_pushlstring(L, kv.key.data(), kv.key.size());
        PushDom(L, kv.value, depth + 1);
        lua_rawset(L, -3);
      }
      return;
    }
  }
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

// One step of the path to a value, kept as views while converting; the path is spelt out
// only when a conversion fails ("body.goods[3].kg").
struct Step {
  std::string_view key;    // object member, when index == 0
  lua_Integer index = 0;   // array element (1-based)
};

void AppendMember(std::string* p, std::string_view key) {
  if (IsIdentifier(key)) {
    *p += '.';
    *p += key;
  } else {
    *p += "[\"";
    for (char c : key.substr(0, 40)) *p += (c == '"' || c == '\\') ? '?' : c;
    *p += "\"]";
  }
}

void AppendString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;  // start of the pending run that needs no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

// Writes Lua values as JSON text (README.md's rules), appending to *out.
class Writer {
 public:
  Writer(lua_State* L, std::string_view root, std::string* out, std::string* error)
      : L_(L), root_(root), out_(out), error_(error) {}

  bool Value(int idx) {
    switch (lua_type(L_, idx)) {
      case LUA_TBOOLEAN:
        out_->append(lua_toboolean(L_, idx) ? "true" : "false");
        return true;
      case LUA_TNUMBER: {
        char buf[32];
        if (lua_isinteger(L_, idx)) {
          auto r = std::to_chars(buf, buf + sizeof buf, std::int64_t{lua_tointeger(L_, idx)});
          out_->append(buf, r.ptr);
          return true;
        }
        const double d = lua_tonumber(L_, idx);
        if (std::isnan(d)) return Fail("NaN is not JSON");
        if (std::isinf(d)) return Fail("infinity is not JSON");
        // Shortest text that reads back as the same double; a float stays a float (3.0).
        auto r = std::to_chars(buf, buf + sizeof buf, d);
        const std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
        out_->append(text);
        if (text.find_first_of(".e") == std::string_view::npos) out_->append(".0");
        return true;
      }
      case LUA_TSTRING: {
        size_t n = 0;
        const char* s = lua_tolstring(L_, idx, &n);
        if (!ValidUtf8({s, n})) return Fail("string is not valid UTF-8");
        AppendString(out_, {s, n});
        return true;
      }
      case LUA_TLIGHTUSERDATA:
        if (IsNull(L_, idx)) {
          out_->append("null");
          return true;
        }
        return Fail("a userdata is not JSON");
      case LUA_TTABLE: return Table(lua_absindex(L_, idx));
      case LUA_TNIL: out_->append("null"); return true;
      default:
        return Fail(std::string("a ") + lua_typename(L_, lua_type(L_, idx)) + " is not JSON");
    }
  }

 private:
  bool Fail(const std::string& why) {
    std::string p(root_);
    for (const Step& s : path_) {
      if (s.index > 0) p += "[" + std::to_string(s.index) + "]";
      else AppendMember(&p, s.key);
    }
    *error_ = p + ": " + why;
    return false;
  }

  bool Marked(int idx) {
    if (!lua_getmetatable(L_, idx)) return false;
    PushArrayMeta(L_);
    const bool marked = lua_rawequal(L_, -1, -2);
    lua_pop(L_, 2);
    return marked;
  }

  bool Table(int idx) {
    if (static_cast<int>(open_.size()) >= kMaxDepth)
      return Fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
    const void* self = lua_topointer(L_, idx);
    for (const void* p : open_)
      if (p == self) return Fail("a table that contains itself (a cycle) is not JSON");
    if (!lua_checkstack(L_, 4)) return Fail("Lua stack exhausted");

    // One pass to classify the keys: strings make an object, integers 1..n an array.
    size_t strings = 0, integers = 0;
    lua_Integer max_index = 0;
    lua_pushnil(L_);
    while (lua_next(L_, idx) != 0) {
      lua_pop(L_, 1);  // the value
      if (lua_type(L_, -1) == LUA_TSTRING) {
        ++strings;
      } else if (lua_isinteger(L_, -1) && lua_tointeger(L_, -1) >= 1) {
        ++integers;
        max_index = std::max(max_index, lua_tointeger(L_, -1));
      } else {
        const std::string what = lua_type(L_, -1) == LUA_TNUMBER
                                     ? "a number key other than 1..n"
                                     : std::string("a ") + luaL_typename(L_, -1) + " key";
        lua_pop(L_, 1);
        return Fail(what + " is not JSON (object keys are strings)");
      }
    }
    const bool marked = Marked(idx);
    if (strings > 0 && (integers > 0 || marked))
      return Fail(marked ? "an array (kordon.array) with string keys"
                         : "a table with both string and integer keys is not JSON");
    open_.push_back(self);
    if (integers > 0 || marked) {
      if (static_cast<size_t>(max_index) != integers)
        return Fail("an array with holes (keys must be 1.." + std::to_string(max_index) +
                    "; use kordon.null for a null)");
      out_->push_back('[');
      for (lua_Integer i = 1; i <= max_index; ++i) {
        if (i > 1) out_->push_back(',');
        lua_rawgeti(L_, idx, i);
        path_.push_back({{}, i});
        const bool ok = Value(-1);
        lua_pop(L_, 1);
        if (!ok) return false;
        path_.pop_back();
      }
      out_->push_back(']');
      open_.pop_back();
      return true;
    }
    out_->push_back('{');
    bool first = true;
    lua_pushnil(L_);
    while (lua_next(L_, idx) != 0) {
      size_t n = 0;
      const char* k = lua_tolstring(L_, -2, &n);  // a string: classified above; stays on the
      const std::string_view key(k, n);           // stack while the value is written
      if (!ValidUtf8(key)) {
        lua_pop(L_, 2);
        return Fail("a key is not valid UTF-8");
      }
      if (!first) out_->push_back(',');
      first = false;
      AppendString(out_, key);
      out_->push_back(':');
      path_.push_back({key, 0});
      const bool ok = Value(-1);
      lua_pop(L_, 1);
      if (!ok) {
        lua_pop(L_, 1);
        return false;
      }
      path_.pop_back();
    }
    out_->push_back('}');
    open_.pop_back();
    return true;
  }

  lua_State* L_;
  std::string_view root_;
  std::string* out_;
  std::string* error_;
  std::vector<const void*> open_;  // tables being written, outermost first
  std::vector<Step> path_;
};

}  // namespace

void OpenValueSupport(lua_State* L) {
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "kordon.array");
  lua_setfield(L, -2, "__name");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kArrayMetaKey);
}

void PushNull(lua_State* L) { lua_pushlightuserdata(L, const_cast<char*>(&kNullSentinel)); }

bool IsNull(lua_State* L, int idx) {
  return lua_type(L, idx) == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == &kNullSentinel;
}

void PushArrayMeta(lua_State* L) { lua_rawgetp(L, LUA_REGISTRYINDEX, &kArrayMetaKey); }

void PushJson(lua_State* L, const nlohmann::json& value) { Push(L, value, 0); }

void PushJsonText(lua_State* L, std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  const simdjson::error_code error = parser.parse(text.data(), text.size()).get(root);
  if (error != simdjson::SUCCESS)
    luaL_error(L, "the body is not valid JSON: %s", simdjson::error_message(error));
  PushDom(L, root, 0);
}

bool ToJsonText(lua_State* L, int idx, std::string_view path, std::string* out,
                std::string* error) {
  const size_t mark = out->size();
  Writer w(L, path, out, error);
  if (w.Value(lua_absindex(L, idx))) return true;
  out->resize(mark);
  return false;
}

std::optional<nlohmann::json> ToJson(lua_State* L, int idx, std::string_view path,
                                     std::string* error) {
  std::string text;
  if (!ToJsonText(L, idx, path, &text, error)) return std::nullopt;
  // Valid JSON by construction; a failure here would be a bug in the writer.
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    *error = std::string(path) + ": internal error: unparsable JSON written";
    return std::nullopt;
  }
  return j;
}

bool ValidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    std::uint32_t cp;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07;
    else return false;
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

}  // namespace kordon::lua
