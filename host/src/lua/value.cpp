// value.cpp — the JSON <-> Lua value bridge (see value.h and README.md for the rules).
#include "value.h"

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

std::string MemberPath(std::string_view path, std::string_view key) {
  std::string p(path);
  if (IsIdentifier(key)) {
    p += '.';
    p += key;
  } else {
    p += "[\"";
    for (char c : key.substr(0, 40)) p += (c == '"' || c == '\\') ? '?' : c;
    p += "\"]";
  }
  return p;
}

std::string IndexPath(std::string_view path, lua_Integer i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

class Converter {
 public:
  explicit Converter(lua_State* L) : L_(L) {}

  std::optional<nlohmann::json> Convert(int idx, const std::string& path, std::string* error) {
    switch (lua_type(L_, idx)) {
      case LUA_TBOOLEAN: return nlohmann::json(static_cast<bool>(lua_toboolean(L_, idx)));
      case LUA_TNUMBER: {
        if (lua_isinteger(L_, idx)) return nlohmann::json(std::int64_t{lua_tointeger(L_, idx)});
        const double d = lua_tonumber(L_, idx);
        if (std::isnan(d)) return Fail(path, "NaN is not JSON", error);
        if (std::isinf(d)) return Fail(path, "infinity is not JSON", error);
        return nlohmann::json(d);
      }
      case LUA_TSTRING: {
        size_t n = 0;
        const char* s = lua_tolstring(L_, idx, &n);
        if (!ValidUtf8({s, n})) return Fail(path, "string is not valid UTF-8", error);
        return nlohmann::json(std::string(s, n));
      }
      case LUA_TLIGHTUSERDATA:
        if (IsNull(L_, idx)) return nlohmann::json(nullptr);
        return Fail(path, "a userdata is not JSON", error);
      case LUA_TTABLE: return Table(lua_absindex(L_, idx), path, error);
      case LUA_TNIL: return nlohmann::json(nullptr);
      default:
        return Fail(path, std::string("a ") + lua_typename(L_, lua_type(L_, idx)) +
                              " is not JSON", error);
    }
  }

 private:
  static std::optional<nlohmann::json> Fail(const std::string& path, const std::string& why,
                                            std::string* error) {
    *error = path + ": " + why;
    return std::nullopt;
  }

  bool Marked(int idx) {
    if (!lua_getmetatable(L_, idx)) return false;
    PushArrayMeta(L_);
    const bool marked = lua_rawequal(L_, -1, -2);
    lua_pop(L_, 2);
    return marked;
  }

  std::optional<nlohmann::json> Table(int idx, const std::string& path, std::string* error) {
    if (static_cast<int>(open_.size()) >= kMaxDepth)
      return Fail(path, "nested deeper than " + std::to_string(kMaxDepth) + " levels", error);
    const void* self = lua_topointer(L_, idx);
    for (const void* p : open_)
      if (p == self) return Fail(path, "a table that contains itself (a cycle) is not JSON", error);
    if (!lua_checkstack(L_, 4)) return Fail(path, "Lua stack exhausted", error);

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
        return Fail(path, what + " is not JSON (object keys are strings)", error);
      }
    }
    const bool marked = Marked(idx);
    if (strings > 0 && (integers > 0 || marked))
      return Fail(path, marked ? "an array (kordon.array) with string keys"
                               : "a table with both string and integer keys is not JSON",
                  error);
    if (integers > 0 || marked) {
      if (static_cast<size_t>(max_index) != integers)
        return Fail(path, "an array with holes (keys must be 1.." + std::to_string(max_index) +
                              "; use kordon.null for a null)", error);
      open_.push_back(self);
      nlohmann::json out = nlohmann::json::array();
      for (lua_Integer i = 1; i <= max_index; ++i) {
        lua_rawgeti(L_, idx, i);
        auto v = Convert(-1, IndexPath(path, i), error);
        lua_pop(L_, 1);
        if (!v) return std::nullopt;
        out.push_back(std::move(*v));
      }
      open_.pop_back();
      return out;
    }
    open_.push_back(self);
    nlohmann::json out = nlohmann::json::object();
    lua_pushnil(L_);
    while (lua_next(L_, idx) != 0) {
      size_t n = 0;
      const char* k = lua_tolstring(L_, -2, &n);  // a string: classified above
      const std::string key(k, n);
      if (!ValidUtf8(key)) {
        lua_pop(L_, 2);
        return Fail(path, "a key is not valid UTF-8", error);
      }
      auto v = Convert(-1, MemberPath(path, key), error);
      lua_pop(L_, 1);
      if (!v) {
        lua_pop(L_, 1);
        return std::nullopt;
      }
      out[key] = std::move(*v);
    }
    open_.pop_back();
    return out;
  }

  lua_State* L_;
  std::vector<const void*> open_;  // tables being converted, outermost first
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

std::optional<nlohmann::json> ToJson(lua_State* L, int idx, std::string_view path,
                                     std::string* error) {
  Converter c(L);
  return c.Convert(lua_absindex(L, idx), std::string(path), error);
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
