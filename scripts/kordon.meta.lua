---@meta
-- LuaLS annotations for the kordon API of site procedures (see README.md): editor completion
-- and type hints. Not loaded by the engine.

---@class kordon.Message
---@field topic string
---@field id string
---@field time_us integer
---@field source string
---@field lane? string
---@field crossing_id? string
---@field body table

---@class kordon.Target
---@field crossing_id? string
---@field lane? string

kordon = {}

---JSON null (a nil would cut an array).
---@type lightuserdata
kordon.null = nil

---Calls handler for every message whose topic starts with prefix. Top level of the script only.
---@param prefix string
---@param handler fun(m: kordon.Message)
function kordon.on(prefix, handler) end

---@param topic string
---@param body table
---@param opts? {lane?: string, crossing_id?: string}
function kordon.publish(topic, body, opts) end

---Waits (handlers and timers only) for the reply of a service.
---@param service string
---@param body? table
---@param timeout_ms? integer default 5000
---@return table|nil reply
---@return string|nil error
function kordon.call(service, body, timeout_ms) end

---Waits (handlers and timers only) for the next matching message; nil on timeout.
---@param topic_prefix string
---@param filter table|fun(m: kordon.Message): boolean|nil
---@param timeout_ms integer
---@return kordon.Message|nil
function kordon.wait(topic_prefix, filter, timeout_ms) end

---@param ms integer
---@param fn fun()
---@return integer timer_id
function kordon.after(ms, fn) end

---@param ms integer
---@param fn fun()
---@return integer timer_id
function kordon.every(ms, fn) end

---@param timer_id integer
---@return boolean was_running
function kordon.cancel(timer_id) end

---@param key string
---@param default? string|number|boolean converts the setting to this type
---@return string|number|boolean|nil
function kordon.setting(key, default) end

---Seconds since the epoch (float), simulated in `kordon script test`.
---@return number
function kordon.now() end

---Marks t (or a new table) as a JSON array.
---@param t? table
---@return table
function kordon.array(t) end

kordon.log = {}
---@param ... any
function kordon.log.info(...) end
---@param ... any
function kordon.log.warn(...) end
---@param ... any
function kordon.log.error(...) end

kordon.crossing = {}
---@param target string|kordon.Target|kordon.Message a crossing id, {crossing_id=}, {lane=} or a message
---@param key string
---@param value any
---@return table|nil reply
---@return string|nil error
function kordon.crossing.fact(target, key, value) end

---@param target string|kordon.Target|kordon.Message
---@param reason string
---@return table|nil reply
---@return string|nil error
function kordon.crossing.close(target, reason) end

kordon.risk = {}
---@param t {crossing_id?: string, lane?: string, name: string, text: string, weight?: number, channel?: "green"|"blue"|"yellow"|"red", source?: string}
function kordon.risk.indicator(t) end

kordon.console = {}
---Publishes console.prompt (a question on the console for the officer, or the supervisor);
---returns the prompt id. The answer: kordon.wait("console.answer", {prompt_id = id}, timeout_ms)
---gives a message whose body is {prompt_id, lane, answer, user}.
---@param t {lane?: string, crossing_id?: string, question: string, choices?: string[], audience?: "officer"|"supervisor"}
---@return string prompt_id
function kordon.console.ask(t) end
