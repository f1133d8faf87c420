// lua_value_fuzz.cpp — fuzz target for the JSON <-> Lua bridge (host/src/lua/value.h).
// Invariants: nothing crashes or throws out; a JSON document that parses is pushed into Lua
// and comes back equal (or is refused with an error: too deep, invalid UTF-8); the result of
// a conversion is always dumpable JSON.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <lua.hpp>
#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "value.h"

namespace {

struct Args {
  const nlohmann::json* doc;
};

int PushText(lua_State* L) {
  const auto* t = static_cast<const std::string*>(lua_touserdata(L, 1));
  kordon::lua::PushJsonText(L, *t);
  return 1;
}

int Push(lua_State* L) {
  const auto* a = static_cast<const Args*>(lua_touserdata(L, 1));
  kordon::lua::PushJson(L, *a->doc);
  return 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  lua_State* L = luaL_newstate();
  FUZZ_CHECK(L != nullptr, "a state");
  kordon::lua::OpenValueSupport(L);
  // The text path (simdjson) on any bytes: a value that converts back, or a refusal.
  std::string copy = text;
  lua_pushcfunction(L, PushText);
  lua_pushlightuserdata(L, &copy);
  std::optional<nlohmann::json> from_text;
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
    std::string error;
    from_text = kordon::lua::ToJson(L, -1, "doc", &error);
    FUZZ_CHECK(from_text.has_value(), "what came from JSON text goes back to JSON");
  }
  lua_settop(L, 0);
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) {
    lua_close(L);
    return 0;
  }
  Args args{&doc};
  lua_pushcfunction(L, Push);
  lua_pushlightuserdata(L, &args);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) {
    std::string error;
    const auto back = kordon::lua::ToJson(L, -1, "doc", &error);
    FUZZ_CHECK(back.has_value(), "what came from JSON goes back to JSON");
    // Floats that hold integers stay floats and integers stay integers: equal as JSON values.
    FUZZ_CHECK(*back == doc || back->dump() == doc.dump(), "the round trip keeps the document");
    if (from_text) FUZZ_CHECK(*from_text == *back, "the text path and the tree path agree");
    (void)back->dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  } else {
    const std::string m = lua_tostring(L, -1) ? lua_tostring(L, -1) : "";
    FUZZ_CHECK(m.find("UTF-8") != std::string::npos || m.find("deeper") != std::string::npos ||
                   m.find("memory") != std::string::npos || m.find("range") != std::string::npos,
               "a refusal says why");
  }
  lua_close(L);
  return 0;
}
