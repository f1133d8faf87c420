// value.h — the JSON <-> Lua value bridge of the site-procedure engine (rules: README.md).
//
// JSON -> Lua: objects become tables, arrays become sequences marked as arrays (so that an
// empty or emptied array goes back as []), null becomes the kordon.null sentinel, integers stay
// Lua integers and fractions floats. Lua -> JSON: the reverse, with every value JSON cannot hold
// (NaN, functions, cycles, mixed keys, depth > kMaxDepth, invalid UTF-8) refused with an error
// that names the path, e.g. "body.goods[3].kg: NaN is not JSON".
//
// Thread safety: the functions touch only the lua_State they are given; one thread per state.
// The engine links the C++ build of Lua (liblua5.4-c++), so Lua errors are C++ exceptions and
// unwinding runs destructors.
#ifndef KORDON_HOST_LUA_VALUE_H_
#define KORDON_HOST_LUA_VALUE_H_

#include <optional>
#include <string>
#include <string_view>

#include <lua.hpp>
#include <nlohmann/json.hpp>

namespace kordon::lua {

// Nesting deeper than this is refused both ways (a cycle shows up as too deep otherwise).
inline constexpr int kMaxDepth = 64;

// Creates the array marker metatable in the registry. Call once per state before the others.
void OpenValueSupport(lua_State* L);

// Pushes kordon.null (a light userdata) / tells whether the value at idx is it.
void PushNull(lua_State* L);
bool IsNull(lua_State* L, int idx);

// Pushes the array marker metatable.
void PushArrayMeta(lua_State* L);

// Pushes json as a Lua value. Raises a Lua error (invalid UTF-8, too deep, out of memory):
// REQUIRES a protected call.
void PushJson(lua_State* L, const nlohmann::json& value);

// Parses text (simdjson: grammar and UTF-8 checked in one pass) and pushes it like PushJson,
// without building a nlohmann tree. Raises a Lua error naming the parse failure: REQUIRES a
// protected call.
void PushJsonText(lua_State* L, std::string_view text);

// Writes the Lua value at idx as JSON text, appended to *out (compact; object members in Lua's
// traversal order). On failure leaves *out as it was and sets *error to "<path>: <reason>",
// the path spelt out only then. Never raises a Lua error (uses only non-raising API calls).
bool ToJsonText(lua_State* L, int idx, std::string_view path, std::string* out,
                std::string* error);

// The same as a nlohmann tree (ToJsonText, then parsed).
std::optional<nlohmann::json> ToJson(lua_State* L, int idx, std::string_view path,
                                     std::string* error);

// True when text is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool ValidUtf8(std::string_view text);

}  // namespace kordon::lua

#endif  // KORDON_HOST_LUA_VALUE_H_
