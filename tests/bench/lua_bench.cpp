// lua_bench — the cost per message dispatched into a site-procedure script (host/src/lua):
// the JSON body parsed, turned into a Lua table, the handler called as a coroutine, and what
// it publishes turned back into JSON; beside a baseline that parses the same JSON and visits
// it in C++ only (the same decision, the same result object), in the same run; prints the
// ratio. Also the dispatch alone (a pre-parsed body), which is what the engine adds.
//
// Exit status 1 when the script and the baseline do not publish the same results: the smoke
// run (CTest bench.lua_smoke) checks that.
//
//   lua_bench [--messages N] [--repeat R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "environment.h"
#include "script.h"
#include "bench_row.h"

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace lua = kordon::lua;

namespace {

// A small body: a weighbridge reading (~110 bytes).
std::string Body(int i) {
  return R"({"kg":)" + std::to_string(30000 + (i * 7919) % 20000) +
         R"(,"stable":true,"unit":"kg","axles":5,"scale":"wb-1","seq":)" + std::to_string(i) +
         "}";
}

class CountingEnvironment : public lua::Environment {
 public:
  // The body's text as the procedures plugin gets it, handed on as is; "kg" read for the
  // checksum with a scan (a parse would be the bench's own cost, not the engine's).
  void Publish(const std::string&, std::string_view body, const std::string&,
               const std::string&) override {
    ++published;
    const size_t at = body.find("\"kg\":");
    if (at != std::string_view::npos) sum += std::strtoll(body.data() + at + 5, nullptr, 10);
  }
  void Request(std::uint64_t, const std::string&, std::string_view, std::int64_t) override {}
  std::int64_t NowMicros() override { return 0; }
  void StartTimer(std::uint64_t, std::int64_t) override {}
  void CancelTimer(std::uint64_t) override {}
  void Log(lua::LogLevel, const std::string&) override {}
  std::optional<std::string> Setting(const std::string&) override { return std::nullopt; }
  void ReportError(const lua::ScriptError& e) override {
    ++errors;
    std::fprintf(stderr, "lua_bench: %s\n", e.message.c_str());
  }
  long published = 0, errors = 0;
  std::int64_t sum = 0;
};

const char kScript[] = R"lua(
local limit = kordon.setting('limit_kg', 40000)
kordon.on('weighbridge.weight', function(m)
  local b = m.body
  if b.stable and b.kg > limit then
    kordon.publish('lane.overweight', {kg = b.kg, lane = m.lane, axles = b.axles})
  end
end)
)lua";

double NsPer(Clock::duration d, long n) {
  return std::chrono::duration<double, std::nano>(d).count() / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  long messages = 200000;
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--messages")) messages = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[i + 1]);
  }
  std::vector<std::string> bodies;
  for (long i = 0; i < messages; ++i) bodies.push_back(Body(static_cast<int>(i)));
  // Pre-built messages for the dispatch alone (a ring, to keep memory small).
  std::vector<lua::Message> ready(std::min<long>(messages, 1000));
  for (size_t i = 0; i < ready.size(); ++i) {
    ready[i].topic = "weighbridge.weight";
    ready[i].source = "wb";
    ready[i].lane = "3";
    ready[i].body = json::parse(bodies[i]);
  }

  CountingEnvironment env;
  lua::ScriptError error;
  auto script = lua::Script::Load(kScript, "bench.lua", &env, {}, &error);
  if (!script) {
    std::fprintf(stderr, "lua_bench: %s\n", error.message.c_str());
    return 1;
  }

  // The same dispatch into a handler that only reads the body: the cost into Lua alone.
  const char kReadOnly[] = "kordon.on('weighbridge.weight', function(m) local kg = m.body.kg end)";
  auto reader = lua::Script::Load(kReadOnly, "read.lua", &env, {}, &error);
  if (!reader) {
    std::fprintf(stderr, "lua_bench: %s\n", error.message.c_str());
    return 1;
  }
  double best_read = 1e18;

  double best_base = 1e18, best_lua = 1e18, best_text = 1e18, best_dispatch = 1e18;
  long base_published = 0;
  std::int64_t base_sum = 0;
  for (int r = 0; r < repeat; ++r) {
    // Baseline: parse and visit in C++, the same decision and the same result object.
    base_published = 0;
    base_sum = 0;
    auto t0 = Clock::now();
    for (const auto& text : bodies) {
      const json b = json::parse(text);
      const std::string lane = "3";
      if (b.value("stable", false) && b["kg"].get<std::int64_t>() > 40000) {
        const json out = {{"kg", b["kg"]}, {"lane", lane}, {"axles", b["axles"]}};
        ++base_published;
        base_sum += out["kg"].get<std::int64_t>();
      }
    }
    best_base = std::min(best_base, NsPer(Clock::now() - t0, messages));

    // The script: parse, dispatch (table, handler, publish back to JSON).
    env.published = 0;
    env.sum = 0;
    lua::Message m;
    m.topic = "weighbridge.weight";
    m.source = "wb";
    m.lane = "3";
    t0 = Clock::now();
    for (const auto& text : bodies) {
      m.body = json::parse(text);
      script->Dispatch(m);
    }
    best_lua = std::min(best_lua, NsPer(Clock::now() - t0, messages));
    if (env.published != base_published || env.sum != base_sum || env.errors != 0) {
      std::fprintf(stderr, "lua_bench: the script published %ld (sum %lld), the baseline %ld "
                   "(sum %lld), %ld errors\n", env.published, static_cast<long long>(env.sum),
                   base_published, static_cast<long long>(base_sum), env.errors);
      return 1;
    }

    // The same with the body text going straight into Lua (simdjson, no nlohmann tree).
    env.published = 0;
    env.sum = 0;
    lua::Message t = m;
    t0 = Clock::now();
    for (const auto& text : bodies) {
      t.body_text = text;
      script->Dispatch(t);
    }
    best_text = std::min(best_text, NsPer(Clock::now() - t0, messages));
    if (env.published != base_published || env.sum != base_sum || env.errors != 0) {
      std::fprintf(stderr, "lua_bench: the text path published %ld, the baseline %ld\n",
                   env.published, base_published);
      return 1;
    }

    // Dispatch alone: messages built beforehand.
    t0 = Clock::now();
    for (long i = 0; i < messages; ++i) script->Dispatch(ready[i % ready.size()]);
    best_dispatch = std::min(best_dispatch, NsPer(Clock::now() - t0, messages));

    t0 = Clock::now();
    for (long i = 0; i < messages; ++i) reader->Dispatch(ready[i % ready.size()]);
    best_read = std::min(best_read, NsPer(Clock::now() - t0, messages));
  }
  std::printf("lua_bench: %ld messages of ~%zu bytes, best of %d runs, %ld published per run\n",
              messages, bodies[0].size(), repeat, base_published);
  std::printf("  baseline C++ parse + visit        %8.0f ns/message\n", best_base);
  std::printf("  Lua parse + dispatch + publish    %8.0f ns/message  (ratio %.2f)\n", best_lua,
              best_lua / best_base);
  std::printf("  Lua body text (simdjson) + dispatch + publish\n"
              "                                    %8.0f ns/message  (ratio %.2f)\n",
              best_text, best_text / best_base);
  std::printf("  Lua dispatch alone (parsed body)  %8.0f ns/message\n", best_dispatch);
  std::printf("  Lua dispatch, handler only reads  %8.0f ns/message\n", best_read);
  kordon::bench::PrintRow({"lua", "procedures path: body text -> Lua, dispatch, publish",
                           best_text, "ns/message", "C++ parse + visit (nlohmann)", best_base,
                           best_text / best_base, "", std::nullopt});
  kordon::bench::PrintRow({"lua", "dispatch into Lua, handler only reads", best_read, "ns/message",
                           "", std::nullopt, std::nullopt, "<= 1000 ns", best_read <= 1000});
  std::printf("  script memory %zu bytes\n", script->memory_used());
  return 0;
}
