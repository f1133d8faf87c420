-- night-shift.lua — "At night, raise the random rate."
--
-- Between night_from and night_to (local time at the crossing point), each crossing on the
-- listed lanes is selected for a documentary check (yellow channel) with probability `rate`,
-- on top of the risk profile's own selection. The draw is a hash of the crossing id: the same
-- crossing always draws the same, so a replay or a reload decides exactly as before.
--
-- Settings:
--   night_from, night_to  hours, local time (default 22 and 6)
--   utc_offset_h          the crossing point's offset from UTC (default 6: Ak-Zhol, Kyrgyzstan)
--   rate                  share of crossings selected, 0..1 (default 0.1)
--   lanes                 comma-separated lanes (default: every lane)

local from = kordon.setting("night_from", 22)
local to = kordon.setting("night_to", 6)
local offset = kordon.setting("utc_offset_h", 6)
local rate = kordon.setting("rate", 0.1)
local lanes = nil
for lane in string.gmatch(kordon.setting("lanes", ""), "[^,%s]+") do
  lanes = lanes or {}
  lanes[lane] = true
end
assert(rate >= 0 and rate <= 1, "setting rate must be between 0 and 1")

-- FNV-1a over the id, 32 bits, mixed by MurmurHash3's finaliser (ids that differ in their
-- last character must not draw alike), as a fraction in [0, 1).
local function draw(id)
  local h = 2166136261
  for i = 1, #id do h = ((h ~ id:byte(i)) * 16777619) & 0xffffffff end
  h = h ~ (h >> 16)
  h = (h * 0x85ebca6b) & 0xffffffff
  h = h ~ (h >> 13)
  h = (h * 0xc2b2ae35) & 0xffffffff
  h = h ~ (h >> 16)
  return h / 4294967296.0
end

local function night(hour)
  if from > to then return hour >= from or hour < to end
  return hour >= from and hour < to
end

kordon.on("crossing.opened", function(m)
  local c = m.body
  if lanes and not lanes[c.lane] then return end
  local hour = os.date("!*t", math.floor(c.opened_us / 1e6) + offset * 3600).hour
  if not night(hour) then return end
  local d = draw(c.id)
  if d < rate then
    kordon.risk.indicator{crossing_id = c.id, lane = c.lane, name = "night_random",
                          channel = "yellow",
                          text = ("night shift (%02d h): random documentary check, %.0f %% of " ..
                                  "crossings"):format(hour, rate * 100)}
  end
end)
