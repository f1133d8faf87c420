-- supervisor-alert.lua — "On a watchlist hit, alert the shift supervisor."
--
-- Every watchlist hit raises a critical alert for the supervisor and asks them, on the
-- console, whether to flag the crossing (the risk profile's `procedure-flag` criterion makes
-- a flagged crossing red). An unanswered question is escalated after `answer_timeout_s`.
--
-- Settings:
--   answer_timeout_s  how long the supervisor has to answer (default 120)

local timeout_ms = kordon.setting("answer_timeout_s", 120) * 1000
local alerts = 0

kordon.on("db.watchlist.hit", function(m)
  local hit = m.body
  alerts = alerts + 1
  local alert_id = ("watchlist-%s"):format(m.id)
  local who = (hit.entry.names and hit.entry.names[1]) or hit.matched
  kordon.publish("alert.raised", {source = "procedure:supervisor-alert", severity = "critical",
                                  audience = "supervisor", alert_id = alert_id, lane = m.lane,
                                  reason = ("Watchlist hit on %s: %s (%s list, score %.2f) — %s")
                                           :format(m.lane or "?", who, hit.entry.list,
                                                   hit.score, hit.entry.reason)},
                 {lane = m.lane})

  -- The crossing that took this hit (the crossings plugin attaches it to the read's crossing).
  local crossing = kordon.wait("crossing.updated", function(c)
    for _, h in ipairs(c.body.hits or {}) do
      if h.source_id == hit.source_id then return true end
    end
    return false
  end, 10000)
  local crossing_id = crossing and crossing.body.id

  local prompt = kordon.console.ask{lane = m.lane, crossing_id = crossing_id,
                                    audience = "supervisor",
                                    question = ("Watchlist hit: %s. Flag the crossing red?")
                                               :format(who),
                                    choices = {"flag", "no action"}}
  local answer = kordon.wait("console.answer", {prompt_id = prompt}, timeout_ms)
  if not answer then
    kordon.log.warn("supervisor did not answer within", timeout_ms / 1000, "s:", alert_id)
    kordon.publish("alert.raised", {source = "procedure:supervisor-alert", severity = "critical",
                                    audience = "supervisor", alert_id = alert_id .. "-escalated",
                                    lane = m.lane, escalated = true,
                                    reason = ("UNANSWERED watchlist hit on %s: %s"):format(
                                      m.lane or "?", who)},
                   {lane = m.lane})
    return
  end
  kordon.log.info("supervisor", answer.body.user or "?", "answered", answer.body.answer)
  if answer.body.answer == "flag" and crossing_id then
    local ok, err = kordon.crossing.fact(crossing_id, "supervisor_flag", true)
    if not ok then kordon.log.error("cannot flag", crossing_id, err) end
  end
end)
