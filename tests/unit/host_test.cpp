// The host in-process, with plugins compiled into this test: lifecycle, host services,
// ordering, backpressure and shutdown. (tests/integration runs the real processes.)
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <kordon/plugin.hpp>
#include <spdlog/spdlog.h>

#include "host.h"

using namespace kordon::host;
using namespace std::chrono_literals;

namespace {

// A plugin whose behaviour each test scripts per instance name.
struct Ctx;
struct Hooks {
  std::function<kordon_status(Ctx&)> create, start, stop;
  std::function<kordon_status(Ctx&, const kordon_message&)> message;
};
struct Ctx {
  const kordon_host_api* api;
  kordon_host_context* context;
  std::string name;
  Hooks hooks;
  kordon_status Publish(const char* topic, const std::string& body, const char* crossing = nullptr) {
    kordon_publish_args a{};
    a.struct_size = sizeof(a);
    a.topic = topic;
    a.body = body.data();
    a.body_size = body.size();
    a.crossing_id = crossing;
    return api->publish(context, &a);
  }
};

std::mutex g_hooks_mutex;
std::map<std::string, Hooks> g_hooks;

kordon_status Create(const kordon_instance_info* info, void** out) {
  std::lock_guard<std::mutex> lock(g_hooks_mutex);
  auto* c = new Ctx{info->host, info->context, info->instance_name, g_hooks[info->instance_name]};
  *out = c;
  if (c->hooks.create) {
    kordon_status rc = c->hooks.create(*c);
    if (rc != KORDON_OK) {
      delete c;
      return rc;
    }
  }
  return KORDON_OK;
}
kordon_status Start(void* p) {
  auto* c = static_cast<Ctx*>(p);
  return c->hooks.start ? c->hooks.start(*c) : KORDON_OK;
}
kordon_status Stop(void* p) {
  auto* c = static_cast<Ctx*>(p);
  return c->hooks.stop ? c->hooks.stop(*c) : KORDON_OK;
}
kordon_status Handle(void* p, const kordon_message* m) {
  auto* c = static_cast<Ctx*>(p);
  return c->hooks.message ? c->hooks.message(*c, *m) : KORDON_OK;
}
void Destroy(void* p) { delete static_cast<Ctx*>(p); }

const char* const kEverything[] = {"", nullptr};
const char* const kServices[] = {"calc", nullptr};

kordon_status ScriptedEntry(const kordon_host_offer* offer, const kordon_plugin_descriptor** out) {
  static const kordon_plugin_descriptor d = [] {
    kordon_plugin_descriptor x{};
    x.struct_size = sizeof(x);
    x.abi_version = KORDON_ABI_VERSION;
    x.name = "scripted";
    x.kind = KORDON_KIND_OTHER;
    x.vendor = "tests";
    x.version = "1.0.0";
    x.subscribes = kEverything;
    x.services = kServices;
    x.create = &Create;
    x.start = &Start;
    x.stop = &Stop;
    x.handle_message = &Handle;
    x.destroy = &Destroy;
    return x;
  }();
  return kordon_answer_offer(offer, &d, out);
}

InstanceConfig Instance(const std::string& name, std::vector<std::string> subscribe = {},
                        std::string lane = "") {
  InstanceConfig i;
  i.name = name;
  i.library = "scripted";
  i.lane = std::move(lane);
  i.has_subscribe = !subscribe.empty();
  i.subscribe = std::move(subscribe);
  return i;
}

HostConfig Config(std::vector<InstanceConfig> instances) {
  HostConfig c;
  c.name = "test-host";
  c.bus.ingress = "";
  c.bus.egress = "";
  c.instances = std::move(instances);
  return c;
}

void SetHooks(const std::string& name, Hooks h) {
  std::lock_guard<std::mutex> lock(g_hooks_mutex);
  g_hooks[name] = std::move(h);
}

std::unique_ptr<Host> StartHost(HostConfig config) {
  auto host = std::make_unique<Host>(std::move(config));
  host->AddStaticPlugin("scripted", &ScriptedEntry);
  REQUIRE(host->Load().ok());
  Status s = host->Start();
  REQUIRE_MESSAGE(s.ok(), s.message());
  return host;
}

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

struct Quiet {
  Quiet() { spdlog::set_level(spdlog::level::off); }
} quiet;

}  // namespace

TEST_CASE("messages reach subscribers in order, with the envelope filled in") {
  std::mutex m;
  std::vector<std::string> seen;
  std::string source, lane, crossing, id;
  SetHooks("sink", {.message = [&](Ctx&, const kordon_message& msg) -> kordon_status {
                      std::lock_guard<std::mutex> lock(m);
                      seen.emplace_back(msg.body, msg.body_size);
                      source = msg.source;
                      lane = msg.lane;
                      crossing = msg.crossing_id;
                      id = msg.id;
                      CHECK(msg.body[msg.body_size] == '\0');
                      return KORDON_OK;
                    }});
  SetHooks("source", {.start = [](Ctx& c) -> kordon_status {
                        for (int i = 0; i < 500; ++i)
                          if (c.Publish("scanner.plate.read", "{\"n\":" + std::to_string(i) + "}", "X-1") != KORDON_OK)
                            return KORDON_E_FAILED;
                        return KORDON_OK;
                      }});
  auto host = StartHost(Config({Instance("sink", {"scanner"}), Instance("source", {"nothing"}, "lane-7")}));
  REQUIRE(WaitFor([&] { std::lock_guard<std::mutex> l(m); return seen.size() == 500; }));
  std::lock_guard<std::mutex> lock(m);
  for (int i = 0; i < 500; ++i) REQUIRE(seen[i] == "{\"n\":" + std::to_string(i) + "}");
  CHECK(source == "source");
  CHECK(lane == "lane-7");
  CHECK(crossing == "X-1");
  CHECK(id.size() == 32);
}

TEST_CASE("subscriptions match whole segments") {
  std::atomic<int> got{0};
  SetHooks("sink", {.message = [&](Ctx&, const kordon_message&) -> kordon_status { ++got; return KORDON_OK; }});
  SetHooks("source", {.start = [](Ctx& c) -> kordon_status {
                        c.Publish("scanners.x", "{}");
                        c.Publish("scan", "{}");
                        c.Publish("scanner", "{}");
                        c.Publish("scanner.plate", "{}");
                        return KORDON_OK;
                      }});
  auto host = StartHost(Config({Instance("sink", {"scanner"}), Instance("source", {"nothing"})}));
  REQUIRE(WaitFor([&] { return got.load() >= 2; }));
  std::this_thread::sleep_for(50ms);
  CHECK(got.load() == 2);
}

TEST_CASE("publish refuses bad topics and bodies with a status, and counts them") {
  std::map<std::string, kordon_status> results;
  SetHooks("p", {.start = [&](Ctx& c) -> kordon_status {
                   results["bad topic"] = c.Publish("Bad Topic", "{}");
                   results["reserved"] = c.Publish("$ctl.marker", "{}");
                   results["array"] = c.Publish("ok", "[1]");
                   results["broken"] = c.Publish("ok", "{\"a\":");
                   results["utf8"] = c.Publish("ok", "{\"a\":\"\xc3\"}");
                   results["null args"] = c.api->publish(c.context, nullptr);
                   kordon_publish_args small{};
                   small.struct_size = 8;
                   results["small args"] = c.api->publish(c.context, &small);
                   results["good"] = c.Publish("ok", "{\"name\":\"Асанов\"}");
                   return KORDON_OK;
                 }});
  auto host = StartHost(Config({Instance("p", {"nothing"})}));
  for (const char* k : {"bad topic", "reserved", "array", "broken", "utf8", "null args", "small args"})
    CHECK_MESSAGE(results[k] == KORDON_E_INVALID_ARGUMENT, k);
  CHECK(results["good"] == KORDON_OK);
  CHECK(host->instances()[0]->stats().publish_failures == 7);
  CHECK(host->instances()[0]->stats().published == 1);
}

TEST_CASE("configuration values reach the plugin in file order") {
  std::vector<std::string> keys;
  std::string value;
  bool missing_is_null = false;
  SetHooks("c", {.create = [&](Ctx& c) -> kordon_status {
                   for (size_t i = 0;; ++i) {
                     const char* k = c.api->config_key_at(c.context, i);
                     if (k == nullptr) break;
                     keys.emplace_back(k);
                   }
                   value = c.api->config_get(c.context, "plates");
                   missing_is_null = c.api->config_get(c.context, "absent") == nullptr;
                   return KORDON_OK;
                 }});
  InstanceConfig i = Instance("c");
  i.settings = {{"interval_ms", "10"}, {"plates", "А 123 ВС 02"}};
  auto host = StartHost(Config({i}));
  CHECK(keys == std::vector<std::string>{"interval_ms", "plates"});
  CHECK(value == "А 123 ВС 02");
  CHECK(missing_is_null);
}

TEST_CASE("timers fire on the instance's thread; cancel stops them") {
  std::atomic<int> repeating{0}, once{0};
  std::atomic<bool> same_thread{true};
  static std::thread::id actor;
  struct State {
    uint64_t id = 0;
    std::atomic<int>* repeating;
    std::atomic<int>* once;
    std::atomic<bool>* same_thread;
  };
  static State st;
  st = State{0, &repeating, &once, &same_thread};
  SetHooks("t", {.start = [&](Ctx& c) -> kordon_status {
                   actor = std::this_thread::get_id();
                   auto tick = [](void*, uint64_t, void* u) {
                     auto* s = static_cast<State*>(u);
                     if (std::this_thread::get_id() != actor) *s->same_thread = false;
                     ++*s->repeating;
                   };
                   auto one = [](void*, uint64_t, void* u) { ++*static_cast<State*>(u)->once; };
                   CHECK(c.api->timer_start(c.context, 1, 5, tick, &st, &st.id) == KORDON_OK);
                   CHECK(c.api->timer_start(c.context, 1, 0, one, &st, nullptr) == KORDON_OK);
                   CHECK(c.api->timer_start(c.context, 1, 0, nullptr, &st, nullptr) == KORDON_E_INVALID_ARGUMENT);
                   return KORDON_OK;
                 },
                 .message = [&](Ctx& c, const kordon_message&) -> kordon_status {
                   CHECK(c.api->timer_cancel(c.context, st.id) == KORDON_OK);
                   CHECK(c.api->timer_cancel(c.context, st.id) == KORDON_E_NOT_FOUND);
                   return KORDON_OK;
                 }});
  SetHooks("poke", {});
  auto host = StartHost(Config({Instance("t", {"poke"}), Instance("poke", {"nothing"})}));
  REQUIRE(WaitFor([&] { return repeating.load() >= 5; }));
  CHECK(host->PublishEvent("poke", "{}").ok());
  REQUIRE(WaitFor([&] { return host->instances()[0]->stats().received.load() == 1; }));
  int after_cancel = repeating.load();
  std::this_thread::sleep_for(60ms);
  CHECK(repeating.load() == after_cancel);
  CHECK(once.load() == 1);
  CHECK(same_thread.load());
}

TEST_CASE("request and reply between instances; errors and timeouts reach the caller") {
  struct Outcome {
    std::mutex m;
    std::vector<std::pair<kordon_status, std::string>> replies;
  };
  static Outcome out;
  {
    std::lock_guard<std::mutex> l(out.m);
    out.replies.clear();
  }
  auto on_reply = [](void*, kordon_status status, const kordon_message* reply, void*) {
    std::lock_guard<std::mutex> l(out.m);
    out.replies.emplace_back(status, reply ? std::string(reply->body, reply->body_size) : "null");
  };
  SetHooks("server", {.message = [](Ctx& c, const kordon_message& m) -> kordon_status {
                        if (m.reply_to[0] == '\0') return KORDON_OK;
                        std::string body(m.body, m.body_size);
                        if (body.find("fail") != std::string::npos)
                          return c.api->reply(c.context, &m, KORDON_E_NOT_FOUND, "{\"error\":\"no such plate\"}", 25);
                        return c.api->reply(c.context, &m, KORDON_OK, "{\"sum\":3}", 9);
                      }});
  SetHooks("client", {.start = [&](Ctx& c) -> kordon_status {
                        CHECK(c.api->request(c.context, "calc", "{\"a\":1}", 7, 2000, on_reply, nullptr) == KORDON_OK);
                        CHECK(c.api->request(c.context, "calc", "{\"fail\":1}", 10, 2000, on_reply, nullptr) == KORDON_OK);
                        CHECK(c.api->request(c.context, "nobody", "{}", 2, 50, on_reply, nullptr) == KORDON_OK);
                        CHECK(c.api->request(c.context, "Bad Name", "{}", 2, 50, on_reply, nullptr) == KORDON_E_INVALID_ARGUMENT);
                        CHECK(c.api->request(c.context, "calc", "[]", 2, 50, on_reply, nullptr) == KORDON_E_INVALID_ARGUMENT);
                        return KORDON_OK;
                      }});
  auto host = StartHost(Config({Instance("server", {"nothing"}), Instance("client", {"nothing"})}));
  REQUIRE(WaitFor([&] { std::lock_guard<std::mutex> l(out.m); return out.replies.size() == 3; }));
  std::this_thread::sleep_for(30ms);
  std::lock_guard<std::mutex> l(out.m);
  REQUIRE(out.replies.size() == 3);  // exactly once each
  std::map<kordon_status, std::string> by_status(out.replies.begin(), out.replies.end());
  CHECK(by_status[KORDON_OK] == "{\"sum\":3}");
  CHECK(by_status[KORDON_E_FAILED] == "{\"error\":\"no such plate\"}");
  CHECK(by_status[KORDON_E_TIMEOUT] == "null");
}

TEST_CASE("pending requests fail with KORDON_E_STOPPED when the instance stops") {
  static std::atomic<int> stopped_replies{0};
  stopped_replies = 0;
  SetHooks("client", {.start = [](Ctx& c) -> kordon_status {
                        auto cb = [](void*, kordon_status s, const kordon_message*, void*) {
                          if (s == KORDON_E_STOPPED) ++stopped_replies;
                        };
                        return c.api->request(c.context, "nobody", "{}", 2, 60000, cb, nullptr);
                      }});
  auto host = StartHost(Config({Instance("client", {"nothing"})}));
  CHECK(host->Shutdown().ok());
  CHECK(stopped_replies.load() == 1);
}

TEST_CASE("messages that arrive before start are held and delivered after it, in order") {
  std::vector<std::string> seen;
  std::atomic<bool> started{false};
  bool early_before_start = false;
  SetHooks("sink", {.start = [&](Ctx&) -> kordon_status { started = true; return KORDON_OK; },
                    .message = [&](Ctx&, const kordon_message& m) -> kordon_status {
                      if (!started) early_before_start = true;
                      seen.emplace_back(m.body, m.body_size);
                      return KORDON_OK;
                    }});
  // The source publishes from create: the sink (listed first) is created but not started yet.
  SetHooks("source", {.create = [](Ctx& c) -> kordon_status {
                        for (int i = 0; i < 3; ++i) c.Publish("early", "{\"i\":" + std::to_string(i) + "}");
                        return KORDON_OK;
                      }});
  // Start order is file order, so "late" comes after the sink has started.
  SetHooks("late", {.start = [](Ctx& c) -> kordon_status { return c.Publish("early", "{\"i\":3}"); }});
  auto host = StartHost(Config({Instance("sink", {"early"}), Instance("source", {"nothing"}), Instance("late", {"nothing"})}));
  REQUIRE(WaitFor([&] { return host->instances()[0]->stats().received.load() == 4; }));
  (void)host->Shutdown();
  CHECK_FALSE(early_before_start);
  CHECK(seen == std::vector<std::string>{"{\"i\":0}", "{\"i\":1}", "{\"i\":2}", "{\"i\":3}"});
}

TEST_CASE("shutdown stops in reverse order and delivers what a stopping instance published") {
  std::mutex m;
  std::vector<std::string> order;
  std::atomic<int> received{0};
  std::atomic<int> published{0};
  std::atomic<bool> run{true};
  std::thread device;
  SetHooks("consumer", {.stop = [&](Ctx&) -> kordon_status { std::lock_guard<std::mutex> l(m); order.push_back("consumer"); return KORDON_OK; },
                        .message = [&](Ctx&, const kordon_message&) -> kordon_status { ++received; return KORDON_OK; }});
  SetHooks("producer", {.start = [&](Ctx& c) -> kordon_status {
                          // A device thread publishing as fast as the bus takes it.
                          device = std::thread([&run, &published, c]() mutable {
                            while (run)
                              if (c.Publish("reading", "{\"v\":1}") == KORDON_OK) ++published;
                          });
                          return KORDON_OK;
                        },
                        .stop = [&](Ctx& c) -> kordon_status {
                          run = false;
                          device.join();
                          if (c.Publish("reading", "{\"last\":true}") == KORDON_OK) ++published;
                          std::lock_guard<std::mutex> l(m);
                          order.push_back("producer");
                          return KORDON_OK;
                        }});
  auto host = StartHost(Config({Instance("consumer", {"reading"}), Instance("producer", {"nothing"})}));
  std::this_thread::sleep_for(300ms);
  REQUIRE(host->Shutdown().ok());
  CHECK(order == std::vector<std::string>{"producer", "consumer"});
  CHECK(published.load() > 100);
  CHECK(received.load() == published.load());
}

TEST_CASE("a slow subscriber gets backpressure; a publish that cannot wait fails visibly") {
  std::atomic<int> received{0};
  std::atomic<int> ok{0}, busy{0}, other{0};
  SetHooks("slow", {.message = [&](Ctx&, const kordon_message&) -> kordon_status {
                      std::this_thread::sleep_for(2ms);
                      ++received;
                      return KORDON_OK;
                    }});
  SetHooks("fast", {.start = [&](Ctx& c) -> kordon_status {
                      std::thread([&, c]() mutable {
                        for (int i = 0; i < 400; ++i) {
                          kordon_status rc = c.Publish("flood", "{}");
                          (rc == KORDON_OK ? ok : rc == KORDON_E_BUSY ? busy : other)++;
                        }
                      }).detach();
                      return KORDON_OK;
                    }});
  HostConfig config = Config({Instance("slow", {"flood"}), Instance("fast", {"nothing"})});
  config.bus.queue_limit = 10;
  config.bus.publish_timeout_ms = 5;
  auto host = StartHost(std::move(config));
  REQUIRE(WaitFor([&] { return ok + busy + other == 400; }, 20s));
  REQUIRE(WaitFor([&] { return received.load() == ok.load(); }, 20s));
  CHECK(other.load() == 0);
  CHECK(busy.load() > 0);  // the publisher was told, not silently dropped
  CHECK(host->instances()[1]->stats().publish_failures.load() == static_cast<uint64_t>(busy.load()));
  CHECK(host->bus()->stats().backpressure_waits.load() > 0);
  (void)host->Shutdown();
  CHECK(received.load() == ok.load());  // everything accepted was delivered
}

// A C++ plugin through plugin.hpp: exceptions become statuses, never reach the host.
namespace {

std::atomic<int> g_cpp_messages{0};

class Thrower : public kordon::Plugin {
 public:
  explicit Thrower(kordon::Host host) : Plugin(std::move(host)) {
    if (this->host().Config("explode")) throw std::runtime_error("explode in constructor");
  }
  kordon::Status OnMessage(const kordon::Message& m) override {
    ++g_cpp_messages;
    if (m.body().find("throw") != std::string_view::npos) throw std::runtime_error("bad message");
    if (m.body().find("fail") != std::string_view::npos) return kordon::Status::Failed("refused");
    return kordon::Status::Ok();
  }
};

kordon_status ThrowerEntry(const kordon_host_offer* offer, const kordon_plugin_descriptor** out) {
  static const kordon::PluginInfo info{.name = "thrower", .kind = KORDON_KIND_RISK, .vendor = "tests",
                                       .version = "2.1.0", .subscribes = {"x"}};
  return kordon::detail::Entry<Thrower>(offer, out, info);
}

}  // namespace

TEST_CASE("the C++ wrapper turns exceptions into statuses") {
  HostConfig config = Config({Instance("t")});
  config.instances[0].library = "thrower";
  auto host = std::make_unique<Host>(config);
  host->AddStaticPlugin("thrower", &ThrowerEntry);
  REQUIRE(host->Load().ok());
  CHECK(host->reports()[0].library->description().kind == KORDON_KIND_RISK);
  REQUIRE(host->Start().ok());
  g_cpp_messages = 0;
  CHECK(host->PublishEvent("x", "{\"throw\":1}").ok());
  CHECK(host->PublishEvent("x", "{\"fail\":1}").ok());
  CHECK(host->PublishEvent("x", "{\"fine\":1}").ok());
  REQUIRE(WaitFor([&] { return g_cpp_messages.load() == 3; }));
  REQUIRE(WaitFor([&] { return host->instances()[0]->stats().handler_errors.load() == 2; }));
  CHECK(host->Shutdown().ok());

  config.instances[0].settings = {{"explode", "1"}};
  Host failing(config);
  failing.AddStaticPlugin("thrower", &ThrowerEntry);
  REQUIRE(failing.Load().ok());
  Status s = failing.Start();
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("'t'") != std::string::npos);
  CHECK(s.message().find("failed to create: KORDON_E_FAILED") != std::string::npos);
}

TEST_CASE("on_plugin_error = skip leaves out an instance whose create fails") {
  SetHooks("bad", {.create = [](Ctx&) -> kordon_status { return KORDON_E_FAILED; }});
  SetHooks("good", {});
  HostConfig config = Config({Instance("bad"), Instance("good")});
  config.on_plugin_error = OnPluginError::kSkip;
  auto host = StartHost(config);
  REQUIRE(host->instances().size() == 1);
  CHECK(host->instances()[0]->name() == "good");

  config.on_plugin_error = OnPluginError::kStop;
  Host strict(config);
  strict.AddStaticPlugin("scripted", &ScriptedEntry);
  REQUIRE(strict.Load().ok());
  CHECK_FALSE(strict.Start().ok());
  CHECK(strict.instances().empty());
}
