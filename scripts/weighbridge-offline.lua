-- weighbridge-offline.lua — the degraded-mode playbook for a weighbridge that goes offline.
--
-- While a lane's weighbridge is offline (or in error), every crossing opened on that lane gets
-- the fact `manual_weighing = true` and the officer is asked to weigh the vehicle on the
-- portable scale; the outage and its end are logged and alerted. When the weighbridge comes
-- back, the lane returns to normal by itself.
--
-- Settings:
--   portable_scale  what the officer is told to use (default "the portable axle scale")

local portable = kordon.setting("portable_scale", "the portable axle scale")
local down = {}  -- lane → {device=, since=} while its weighbridge is down

local function healthy(state) return state == "idle" or state == "busy" end

kordon.on("device.status", function(m)
  local s = m.body
  if s.kind ~= "scale" or not m.lane then return end
  if not healthy(s.state) and not down[m.lane] then
    down[m.lane] = {device = s.device, since = kordon.now()}
    kordon.log.warn(("weighbridge %s on %s is %s (%s): degraded mode"):format(
      s.device, m.lane, s.state, s.reason or "no reason given"))
    kordon.publish("alert.raised", {source = "procedure:weighbridge-offline", severity = "warning",
                                    reason = ("Weighbridge %s on %s is %s: weigh on %s"):format(
                                      s.device, m.lane, s.state, portable),
                                    lane = m.lane}, {lane = m.lane})
    -- The crossing in front of the officer right now needs the portable scale too.
    kordon.crossing.fact({lane = m.lane}, "manual_weighing", true)
    kordon.console.ask{lane = m.lane,
                       question = ("The weighbridge is %s. Weigh the vehicle on %s."):format(
                         s.state, portable),
                       choices = {"weighed", "cannot weigh"}}
  elseif healthy(s.state) and down[m.lane] then
    local minutes = (kordon.now() - down[m.lane].since) / 60
    down[m.lane] = nil
    kordon.log.info(("weighbridge %s on %s is back after %.1f min"):format(s.device, m.lane,
                                                                        minutes))
    kordon.publish("alert.raised", {source = "procedure:weighbridge-offline", severity = "info",
                                    reason = ("Weighbridge %s on %s is back (%.1f min down)"):format(
                                      s.device, m.lane, minutes),
                                    lane = m.lane}, {lane = m.lane})
  end
end)

kordon.on("crossing.opened", function(m)
  local lane = m.body.lane
  if not down[lane] then return end
  kordon.crossing.fact(m.body.id, "manual_weighing", true)
  kordon.console.ask{lane = lane, crossing_id = m.body.id,
                     question = ("Weighbridge still down: weigh %s on %s."):format(
                       m.body.plate or "the vehicle", portable),
                     choices = {"weighed", "cannot weigh"}}
end)
