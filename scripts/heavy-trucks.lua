-- heavy-trucks.lua — "A truck over 40 t goes to lane 3."
--
-- Lane 3 has the certified heavy weighbridge and the axle-load check. When a crossing on any
-- other lane gets a stable weight over the limit, the officer at that lane is asked to send
-- the truck to lane 3, the crossing gets the fact `overweight_kg` (how far over), and the risk
-- module gets an indicator. A truck already on lane 3 only gets the fact.
--
-- Settings ([plugin.NAME] of the host configuration):
--   limit_kg    the gross weight above which a truck is heavy (default 40000)
--   heavy_lane  the lane that takes heavy trucks (default lane-3)

local limit = kordon.setting("limit_kg", 40000)
local heavy_lane = kordon.setting("heavy_lane", "lane-3")

-- Crossings already handled: a picture is published on every change, the truck is asked once.
local handled, order = {}, {}
local function first_time(id)
  if handled[id] then return false end
  handled[id] = true
  order[#order + 1] = id
  if #order > 1000 then handled[table.remove(order, 1)] = nil end
  return true
end

kordon.on("crossing.updated", function(m)
  local c = m.body
  local latest = c.weights and c.weights.latest
  if c.state ~= "open" or type(latest) ~= "table" or type(latest.kg) ~= "number" then return end
  if latest.kg <= limit or not first_time(c.id) then return end

  local over = latest.kg - limit
  kordon.log.info(("%s on %s: %d kg, %d kg over the limit"):format(c.plate or c.id, c.lane,
                                                                    latest.kg, over))
  local ok, err = kordon.crossing.fact(c.id, "overweight_kg", over)
  if not ok then kordon.log.warn("fact not recorded:", err) end
  kordon.risk.indicator{crossing_id = c.id, lane = c.lane, name = "overweight", weight = 15,
                        text = ("gross %d kg, over the %d kg limit"):format(latest.kg, limit)}
  if c.lane ~= heavy_lane then
    kordon.console.ask{lane = c.lane, crossing_id = c.id,
                       question = ("Truck %s weighs %d kg (limit %d kg): send it to %s."):format(
                         c.plate or "?", latest.kg, limit, heavy_lane),
                       choices = {"sent to " .. heavy_lane, "not possible"}}
  end
end)
