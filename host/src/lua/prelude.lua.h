// prelude.lua.h — the part of the kordon table written in Lua: thin helpers over publish and
// call (crossing, risk, console) and the simulated-clock os.time/os.date. Compiled into every
// state before the script; it runs inside the same sandbox as the script.
#ifndef KORDON_HOST_LUA_PRELUDE_LUA_H_
#define KORDON_HOST_LUA_PRELUDE_LUA_H_

namespace kordon::lua {

inline constexpr char kPrelude[] = R"lua(
local kordon = ...
local type, error, floor = type, error, math.floor

-- A crossing target: "crossing id", {crossing_id=}, {lane=} or a message table.
local function target(t, body, fn)
  if type(t) == "string" and t ~= "" then
    body.crossing_id = t
  elseif type(t) == "table" then
    if type(t.crossing_id) == "string" and t.crossing_id ~= "" then
      body.crossing_id = t.crossing_id
    elseif type(t.lane) == "string" and t.lane ~= "" then
      body.lane = t.lane
    end
  end
  if body.crossing_id == nil and body.lane == nil then
    error(fn .. ": a crossing id, {crossing_id=...} or {lane=...} expected", 3)
  end
  return body
end

kordon.crossing = {
  fact = function(t, key, value)
    if type(key) ~= "string" then error("kordon.crossing.fact: key must be a string", 2) end
    local body = target(t, {action = "fact", key = key, value = value}, "kordon.crossing.fact")
    return kordon.call("crossings.command", body, 5000)
  end,
  close = function(t, reason)
    if type(reason) ~= "string" then
      error("kordon.crossing.close: reason must be a string", 2)
    end
    local body = target(t, {action = "close", reason = reason}, "kordon.crossing.close")
    return kordon.call("crossings.command", body, 5000)
  end,
}

kordon.risk = {
  indicator = function(t)
    if type(t) ~= "table" then error("kordon.risk.indicator: a table expected", 2) end
    if type(t.name) ~= "string" or type(t.text) ~= "string" then
      error("kordon.risk.indicator: name and text (strings) are required", 2)
    end
    if t.weight == nil and t.channel == nil then
      error("kordon.risk.indicator: weight or channel is required", 2)
    end
    local body = {name = t.name, text = t.text, weight = t.weight, channel = t.channel,
                  crossing_id = t.crossing_id, source = t.source}
    kordon.publish("risk.indicator", body, {crossing_id = t.crossing_id, lane = t.lane})
  end,
}

-- A question on the console (console.prompt); the answer comes as console.answer with the
-- same prompt_id: kordon.wait("console.answer", {prompt_id = id}, timeout_ms).
local prompts = 0
kordon.console = {
  ask = function(t)
    if type(t) ~= "table" or type(t.question) ~= "string" then
      error("kordon.console.ask: {lane=, question=, choices=} expected", 2)
    end
    if t.audience ~= nil and t.audience ~= "officer" and t.audience ~= "supervisor" then
      error("kordon.console.ask: audience must be \"officer\" or \"supervisor\"", 2)
    end
    prompts = prompts + 1
    local id = string.format("%d-%d", floor(kordon.now() * 1000), prompts)
    kordon.publish("console.prompt", {prompt_id = id, lane = t.lane, question = t.question,
                                      choices = kordon.array(t.choices or {}),
                                      crossing_id = t.crossing_id,
                                      audience = t.audience or "officer"},
                   {lane = t.lane, crossing_id = t.crossing_id})
    return id
  end,
}

-- Lua runs an xpcall message handler and __gc finalizers with hooks off, so the instruction
-- budget could not stop a loop in them: the handler runs after the unwinding instead (it gets
-- the error value, not the erroring stack), and __gc is refused.
local pcall, pack, unpack, rawget, setmt = pcall, table.pack, table.unpack, rawget, setmetatable
xpcall = function(f, handler, ...)
  local r = pack(pcall(f, ...))
  if r[1] then return unpack(r, 1, r.n) end
  return false, handler(r[2])
end
setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("__gc metamethods are not allowed in a site procedure", 2)
  end
  return setmt(t, mt)
end

-- os without process access; time and date read the engine's clock (simulated in tests).
local now, time, date = kordon.now, os.time, os.date
os = {
  clock = os.clock,
  difftime = os.difftime,
  time = function(t) if t == nil then return floor(now()) end return time(t) end,
  date = function(f, t) return date(f, t or floor(now())) end,
}
)lua";

}  // namespace kordon::lua

#endif  // KORDON_HOST_LUA_PRELUDE_LUA_H_
