// console_plugin.cpp — the officer's workstation console: an HTTP server inside the host
// (cpp-httplib) serving the pages in web/, live updates by Server-Sent Events, /health,
// /metrics, logins, and the officer's actions published on the bus (see README.md).
//
// Threading: the constructor, Start, Stop and OnMessage run on the instance's (actor) thread.
// The HTTP server runs on its own listening thread and a pool of worker threads; handlers
// there read the model (under model_mutex_), check passwords (Argon2id, ~0.1 s: never on the
// actor thread), publish (Host::Publish is thread-safe) and wait for outcomes that the actor
// thread hands them through Waiter objects. The actor thread never waits for an HTTP thread:
// SSE frames go into bounded per-client queues (SseHub).
#include <dlfcn.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <kordon/plugin.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "accounts.h"
#include "auth.h"
#include "channel.h"
#include "console_model.h"
#include "plugin_settings.h"
#include "sse_hub.h"

namespace {

namespace kc = kordon::console;
using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kCookie[] = "kordon_session";
constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr int kMaxConcurrentHashes = 2;  // Argon2id uses 64 MiB each

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The folder this plugin's .so was loaded from (the default web_root sits beside it).
std::string PluginDirectory() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&PluginDirectory), &info) == 0 || info.dli_fname == nullptr)
    return ".";
  return std::filesystem::path(info.dli_fname).parent_path().string();
}

struct ListenAddress {
  std::string host;
  int port = 0;
};

// "HOST:PORT" or "[V6]:PORT"; port 0 picks a free one (tests).
ListenAddress ParseListen(const std::string& text, bool allow_remote) {
  ListenAddress a;
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size())
    throw std::invalid_argument("setting 'listen' must be HOST:PORT, got '" + text + "'");
  a.host = text.substr(0, colon);
  if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']')
    a.host = a.host.substr(1, a.host.size() - 2);
  const std::string port = text.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) > 65535)
    throw std::invalid_argument("setting 'listen': '" + port + "' is not a port (0-65535)");
  a.port = std::stoi(port);
  const bool loopback = a.host == "localhost" || a.host == "::1" || a.host.rfind("127.", 0) == 0;
  if (!loopback && !allow_remote)
    throw std::invalid_argument("setting 'listen': '" + a.host +
                                "' is not a loopback address; the console serves other machines "
                                "only with allow_remote = true (and then behind TLS)");
  return a;
}

bool ParseBool(const kordon::Host& h, const std::string& key, bool fallback) {
  auto v = h.Config(key);
  if (!v) return fallback;
  if (*v == "true" || *v == "yes" || *v == "1") return true;
  if (*v == "false" || *v == "no" || *v == "0") return false;
  throw std::invalid_argument("setting '" + key + "' must be true or false, got '" + *v + "'");
}

std::string CookieValue(const httplib::Request& req, const std::string& name) {
  const std::string header = req.get_header_value("Cookie");
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    part.erase(0, part.find_first_not_of(' '));
    if (part.size() > name.size() && part.compare(0, name.size(), name) == 0 &&
        part[name.size()] == '=')
      return part.substr(name.size() + 1);
    pos = end + 1;
  }
  return "";
}

void SendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& error) {
  SendJson(res, status, {{"error", error}});
}

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Trimmed(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// Prometheus label values: backslash, double quote and newline escaped.
std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// Hands an outcome from the actor thread (or a reply callback) to a waiting HTTP thread.
struct Waiter {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;  // GUARDED_BY(mutex)
  bool ok = false;    // GUARDED_BY(mutex)
  std::string body;   // GUARDED_BY(mutex): the reply, or the error
  void Finish(bool success, std::string text) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (done) return;
      done = true;
      ok = success;
      body = std::move(text);
    }
    cv.notify_all();
  }
  bool Wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, timeout, [&] { return done; });
  }
};

const char* const kDecisions[] = {"cleared", "secondary_inspection", "refused_entry",
                                  "goods_detained"};

template <size_t N>
bool OneOf(const std::string& v, const char* const (&list)[N]) {
  return std::any_of(std::begin(list), std::end(list), [&](const char* x) { return v == x; });
}

class ConsolePlugin : public kordon::Plugin {
 public:
  // Reads and checks every setting; throws std::invalid_argument naming the bad one.
  explicit ConsolePlugin(kordon::Host host) : Plugin(std::move(host)) {
    const kordon::Host& h = this->host();
    namespace st = kordon::settings;
    allow_remote_ = ParseBool(h, "allow_remote", false);
    listen_ = ParseListen(h.ConfigOr("listen", "127.0.0.1:8080"), allow_remote_);
    web_root_ = h.ConfigOr("web_root", PluginDirectory() + "/console-web");
    if (!std::filesystem::is_regular_file(web_root_ + "/index.html"))
      throw std::invalid_argument("setting 'web_root': '" + web_root_ +
                                  "' has no index.html (the console's pages)");
    users_path_ = h.ConfigOr("users", "");
    if (users_path_.empty())
      throw std::invalid_argument(
          "setting 'users' (the users file, see 'kordon user add') is "
          "required");
    const int64_t idle_s = st::IntInRange(h, "session_idle_s", 1800, 60, 86400);
    const int64_t max_sessions = st::IntInRange(h, "max_sessions", 64, 1, 10000);
    const int64_t failures = st::IntInRange(h, "login_max_failures", 5, 1, 1000);
    const int64_t address_failures =
        st::IntInRange(h, "login_max_failures_per_address", 20, 1, 10000);
    const int64_t window_s = st::IntInRange(h, "login_window_s", 300, 1, 86400);
    const int64_t lockout_s = st::IntInRange(h, "login_lockout_s", 300, 1, 86400);
    const int64_t queue = st::IntInRange(h, "sse_queue", 256, 4, 100000);
    max_clients_ = st::IntInRange(h, "max_clients", 16, 1, 256);
    decision_timeout_ms_ = st::IntInRange(h, "decision_timeout_ms", 5000, 100, 60000);
    sessions_ = std::make_unique<kc::SessionTable>(idle_s * 1000000, max_sessions);
    limiter_ = std::make_unique<kc::LoginLimiter>(static_cast<int>(failures),
                                                  static_cast<int>(address_failures),
                                                  window_s * 1000000, lockout_s * 1000000);
    hub_ =
        std::make_unique<kc::SseHub>(static_cast<size_t>(queue), static_cast<size_t>(max_clients_));
    if (!kc::InitSodium()) throw std::runtime_error("libsodium could not be initialised");
  }

  kordon::Status Start() override {
    std::string error;
    users_ = kc::UserStore::Open(users_path_, false, &error);
    if (!users_) return kordon::Status::Failed("the users file cannot be opened: " + error);
    auto list = users_->List(&error);
    if (list && list->empty())
      host().Warn("no users in " + users_path_ +
                  ": nobody can log in; add one with 'kordon user add --db " + users_path_ +
                  " NAME --role officer'");
    // Unknown user names are checked against this hash too, so that a login takes as long
    // whether the name exists or not.
    dummy_hash_ = kc::HashPassword(kc::RandomHex(16)).value_or("");
    server_ = std::make_unique<httplib::Server>();
    const size_t threads = static_cast<size_t>(max_clients_) + 6;
    server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_->set_payload_max_length(kMaxBodyBytes);
    Routes();
    int port = listen_.port;
    if (port == 0) {
      port = server_->bind_to_any_port(listen_.host);
      if (port <= 0) return kordon::Status::Failed("cannot listen on " + listen_.host);
    } else if (!server_->bind_to_port(listen_.host, port)) {
      return kordon::Status::Failed("cannot listen on " + listen_.host + ":" +
                                    std::to_string(port) + " (in use, or not an address here)");
    }
    port_ = port;
    server_thread_ = std::thread([this] { server_->listen_after_bind(); });
    const std::string host_part =
        listen_.host.find(':') != std::string::npos ? "[" + listen_.host + "]" : listen_.host;
    host().Info("console listening on http://" + host_part + ":" + std::to_string(port_) +
                "/ (pages from " + web_root_ + ", users in " + users_path_ + ")");
    return kordon::Status::Ok();
  }

  kordon::Status Stop() override {
    hub_->CloseAll();
    if (server_) server_->stop();
    if (server_thread_.joinable()) server_thread_.join();
    server_.reset();  // joins the worker threads
    {
      std::lock_guard<std::mutex> lock(waiters_mutex_);
      for (auto& [id, w] : decision_waiters_) w->Finish(false, "the console is stopping");
      decision_waiters_.clear();
    }
    const kc::SseHub::Stats s = hub_->stats();
    host().Info(
        "console: http requests " + std::to_string(http_requests_) + ", logins " +
        std::to_string(logins_ok_) + " (failed " + std::to_string(logins_failed_) + ", limited " +
        std::to_string(logins_limited_) + "), csrf refused " + std::to_string(csrf_refused_) +
        ", forbidden " + std::to_string(forbidden_) + ", decisions " + std::to_string(decisions_) +
        ", overrides " + std::to_string(overrides_) + ", sse clients " +
        std::to_string(s.connected) + " (overflowed " + std::to_string(s.overflows) + ", refused " +
        std::to_string(s.refused) + "), publish failures " + std::to_string(publish_failures_));
    return kordon::Status::Ok();
  }

  kordon::Status OnMessage(const kordon::Message& m) override {
    kc::BusEvent e{
        std::string(m.topic()), std::string(m.id()),          m.time_us(), std::string(m.source()),
        std::string(m.lane()),  std::string(m.crossing_id()), m.body()};
    std::optional<std::string> event;
    {
      std::lock_guard<std::mutex> lock(model_mutex_);
      if (!model_.OnMessage(e, &event))
        host().Warn("'" + e.topic + "' " + e.id + " from " + e.source +
                    " has a body that is not a JSON object; not shown (" +
                    std::to_string(model_.bad_messages()) + " so far)");
    }
    if (event) hub_->Broadcast(kc::SseFrame("bus", *event));
    if (e.topic == "crossing.closed" || e.topic == "crossing.command.rejected") SettleDecision(e);
    return kordon::Status::Ok();
  }

 private:
  // A decision's outcome: the crossing closed by it, or the crossings plugin's refusal.
  void SettleDecision(const kc::BusEvent& e) {
    Json body = Json::parse(e.body, nullptr, false);
    if (!body.is_object()) return;
    std::shared_ptr<Waiter> w;
    {
      std::lock_guard<std::mutex> lock(waiters_mutex_);
      auto it = decision_waiters_.find(e.crossing_id);
      if (it == decision_waiters_.end()) return;
      if (e.topic == "crossing.closed" && Str(body, "close_reason") != "decision") return;
      if (e.topic == "crossing.command.rejected" &&
          (Str(body, "action") != "decision" || Str(body, "source") != host().instance_name()))
        return;
      w = it->second;
      decision_waiters_.erase(it);
    }
    if (e.topic == "crossing.closed")
      w->Finish(true, Json{{"decision", body["decision"]}}.dump());
    else
      w->Finish(false, Str(body, "reason"));
  }

  // The session of a request, or nullopt after answering it (401/403/415).
  std::optional<kc::Session> Authorize(const httplib::Request& req, httplib::Response& res,
                                       kc::Role needed, bool change) {
    std::optional<kc::Session> s = sessions_->Find(CookieValue(req, kCookie), NowUs());
    if (!s) {
      ++unauthenticated_;
      SendError(res, 401, "not logged in");
      return std::nullopt;
    }
    // A user disabled (or removed) with `kordon user` loses their sessions at once.
    {
      std::lock_guard<std::mutex> lock(users_mutex_);
      std::string error;
      auto c = users_->Lookup(s->user, &error);
      if (!c || c->user.disabled) {
        sessions_->RemoveUser(s->user);
        ++unauthenticated_;
        SendError(res, 401, "the account is disabled");
        return std::nullopt;
      }
      s->role = c->user.role;
    }
    if (change) {
      // JSON only: a cross-site form cannot send it without a CORS preflight, which fails.
      if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
        ++csrf_refused_;
        SendError(res, 415, "changes are sent as application/json");
        return std::nullopt;
      }
      if (!kc::CsrfOk(*s, req.get_header_value("X-CSRF-Token"))) {
        ++csrf_refused_;
        host().Warn("refused a change by " + s->user + " from " + req.remote_addr +
                    ": missing or wrong CSRF token");
        SendError(res, 403, "missing or wrong CSRF token; reload the page");
        return std::nullopt;
      }
    }
    if (static_cast<int>(s->role) < static_cast<int>(needed)) {
      ++forbidden_;
      host().Warn("refused " + req.path + " to " + s->user + " (" + kc::RoleName(s->role) +
                  "): needs " + kc::RoleName(needed));
      SendError(res, 403, std::string("this needs the role ") + kc::RoleName(needed));
      return std::nullopt;
    }
    return s;
  }

  std::optional<Json> ParseBody(const httplib::Request& req, httplib::Response& res) {
    Json j = Json::parse(req.body, nullptr, false);
    if (!j.is_object()) {
      SendError(res, 400, "the body must be a JSON object");
      return std::nullopt;
    }
    return j;
  }

  bool Publish(const std::string& topic, const Json& body, const std::string& lane,
               const std::string& crossing_id) {
    kordon::PublishOptions o;
    if (!lane.empty()) o.lane = lane.c_str();
    if (!crossing_id.empty()) o.crossing_id = crossing_id.c_str();
    kordon::Status s = host().Publish(topic, body.dump(), o);
    if (!s.ok()) {
      ++publish_failures_;
      host().Error(topic + " could not be published: " + s.ToString() + " (" +
                   std::to_string(publish_failures_) + " publish failures)");
    }
    return s.ok();
  }

  // Sends a request to a service and waits for its reply on this (HTTP) thread.
  void Forward(const std::string& service, const Json& body, httplib::Response& res) {
    auto w = std::make_shared<Waiter>();
    kordon::Status s = host().Request(
        service, body.dump(), 5000ms, [w](kordon::Status status, const kordon::Message* reply) {
          std::string text = reply != nullptr ? std::string(reply->body()) : status.ToString();
          w->Finish(status.ok(), std::move(text));
        });
    if (!s.ok()) return SendError(res, 502, service + ": " + s.ToString());
    if (!w->Wait(6000ms)) return SendError(res, 504, service + " did not answer");
    std::lock_guard<std::mutex> lock(w->mutex);
    if (w->ok) {
      res.status = 200;
      res.set_content(w->body, "application/json");
      return;
    }
    Json err = Json::parse(w->body, nullptr, false);
    SendError(res, 502, err.is_object() ? Str(err, "error") : service + ": " + w->body);
  }

  void Routes() {
    httplib::Server& svr = *server_;
    svr.set_pre_routing_handler([this](const httplib::Request&, httplib::Response& res) {
      ++http_requests_;
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("X-Frame-Options", "DENY");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
      return httplib::Server::HandlerResponse::Unhandled;
    });
    svr.set_mount_point("/", web_root_);

    svr.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      SendJson(res, 200,
               {{"status", "ok"},
                {"sse_clients", hub_->stats().clients},
                {"sessions", sessions_->size()}});
    });
    svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(Metrics(), "text/plain; version=0.0.4");
    });
    svr.Post("/api/login",
             [this](const httplib::Request& req, httplib::Response& res) { Login(req, res); });
    svr.Post("/api/logout", [this](const httplib::Request& req, httplib::Response& res) {
      auto s = Authorize(req, res, kc::Role::kOfficer, true);
      if (!s) return;
      sessions_->Remove(s->id);
      res.set_header("Set-Cookie",
                     std::string(kCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
      SendJson(res, 200, {{"ok", true}});
    });
    svr.Get("/api/session", [this](const httplib::Request& req, httplib::Response& res) {
      auto s = Authorize(req, res, kc::Role::kOfficer, false);
      if (!s) return;
      SendJson(res, 200, {{"user", s->user}, {"role", kc::RoleName(s->role)}, {"csrf", s->csrf}});
    });
    svr.Get("/api/state", [this](const httplib::Request& req, httplib::Response& res) {
      if (!Authorize(req, res, kc::Role::kOfficer, false)) return;
      Json snapshot;
      {
        std::lock_guard<std::mutex> lock(model_mutex_);
        snapshot = model_.Snapshot();
      }
      SendJson(res, 200, snapshot);
    });
    svr.Get("/events",
            [this](const httplib::Request& req, httplib::Response& res) { Events(req, res); });
    svr.Post("/api/alerts/ack", [this](const httplib::Request& req, httplib::Response& res) {
      Acknowledge(req, res);
    });
    svr.Post("/api/prompts/answer",
             [this](const httplib::Request& req, httplib::Response& res) { Answer(req, res); });
    svr.Post("/api/decision",
             [this](const httplib::Request& req, httplib::Response& res) { Decide(req, res); });
    svr.Post("/api/override",
             [this](const httplib::Request& req, httplib::Response& res) { Override(req, res); });
    svr.Get("/api/crossings", [this](const httplib::Request& req, httplib::Response& res) {
      if (!Authorize(req, res, kc::Role::kOfficer, false)) return;
      Json q = Json::object();
      for (const char* key : {"plate", "document", "name", "container", "lane", "state"}) {
        std::string v = Trimmed(req.get_param_value(key));
        if (!v.empty()) q[key] = v;
      }
      for (const char* key : {"limit", "since_us", "until_us"}) {
        const std::string v = req.get_param_value(key);
        if (v.empty()) continue;
        if (v.find_first_not_of("0123456789") != std::string::npos || v.size() > 18)
          return SendError(res, 400, std::string(key) + " must be a number");
        q[key] = std::stoll(v);
      }
      ++searches_;
      Forward("crossings.search", q, res);
    });
    svr.Get(R"(/api/crossings/([A-Za-z0-9_.:\-]{1,128}))",
            [this](const httplib::Request& req, httplib::Response& res) {
              if (!Authorize(req, res, kc::Role::kOfficer, false)) return;
              Forward("crossings.get", {{"crossing_id", req.matches[1].str()}}, res);
            });
  }

  // console.login for the audit log: who, from where, and the outcome (ok, refused: wrong name
  // or password, locked: the rate limit). Never the password. The name is cut to 64 bytes
  // (whole UTF-8 characters are not guaranteed: the dump replaces a cut one).
  void PublishLogin(const std::string& user, const std::string& role, const std::string& address,
                    const char* result) {
    Json body{{"user", user.substr(0, 64)}, {"address", address}, {"result", result}};
    if (!role.empty()) body["role"] = role;
    kordon::Status s = host().Publish(
        "console.login", body.dump(-1, ' ', false, Json::error_handler_t::replace));
    if (!s.ok()) {
      ++publish_failures_;
      host().Error("console.login could not be published: " + s.ToString());
    }
  }

  void Login(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
      ++csrf_refused_;
      return SendError(res, 415, "log in with application/json");
    }
    auto body = ParseBody(req, res);
    if (!body) return;
    const std::string user = Str(*body, "user");
    const std::string password = Str(*body, "password");
    const int64_t now = NowUs();
    int64_t wait_us = 0;
    if (!limiter_->Allowed(user, req.remote_addr, now, &wait_us)) {
      ++logins_limited_;
      host().Warn("login of '" + user.substr(0, 64) + "' from " + req.remote_addr +
                  " refused: too many failed attempts");
      res.set_header("Retry-After", std::to_string(wait_us / 1000000 + 1));
      PublishLogin(user, "", req.remote_addr, "locked");
      return SendError(res, 429, "too many failed logins; try again later");
    }
    std::optional<kc::UserStore::Credentials> c;
    if (kc::ValidUserName(user)) {
      std::lock_guard<std::mutex> lock(users_mutex_);
      std::string error;
      c = users_->Lookup(user, &error);
      if (!error.empty()) {
        host().Error("users file: " + error);
        return SendError(res, 500, "the users file cannot be read");
      }
    }
    bool good;
    {
      // At most kMaxConcurrentHashes Argon2 runs at once: each takes 64 MiB.
      std::unique_lock<std::mutex> lock(hash_mutex_);
      hash_cv_.wait(lock, [&] { return hashing_ < kMaxConcurrentHashes; });
      ++hashing_;
      lock.unlock();
      good = kc::VerifyPassword(c ? c->hash : dummy_hash_, password) && c && !c->user.disabled;
      lock.lock();
      --hashing_;
      hash_cv_.notify_one();
    }
    if (!good) {
      ++logins_failed_;
      limiter_->Failed(user, req.remote_addr, NowUs());
      host().Warn("failed login of '" + user.substr(0, 64) + "' from " + req.remote_addr);
      PublishLogin(user, "", req.remote_addr, "refused");
      return SendError(res, 401, "wrong user name or password");
    }
    limiter_->Succeeded(user);
    ++logins_ok_;
    kc::Session s = sessions_->Create(c->user.name, c->user.role, NowUs());
    host().Info(c->user.name + " (" + kc::RoleName(c->user.role) + ") logged in from " +
                req.remote_addr);
    PublishLogin(c->user.name, kc::RoleName(c->user.role), req.remote_addr, "ok");
    res.set_header("Set-Cookie",
                   std::string(kCookie) + "=" + s.id + "; Path=/; HttpOnly; SameSite=Strict");
    SendJson(res, 200, {{"user", s.user}, {"role", kc::RoleName(s.role)}, {"csrf", s.csrf}});
  }

  void Events(const httplib::Request& req, httplib::Response& res) {
    if (!Authorize(req, res, kc::Role::kOfficer, false)) return;
    std::shared_ptr<kc::SseClient> client = hub_->Connect();
    if (!client) return SendError(res, 503, "too many live pages connected");
    res.set_header("Cache-Control", "no-store");
    auto idle = std::make_shared<int>(0);
    res.set_chunked_content_provider(
        "text/event-stream",
        [client, idle](size_t, httplib::DataSink& sink) {
          std::string frame;
          switch (client->Take(&frame, 1000ms)) {
            case kc::SseClient::Next::kFrame:
              *idle = 0;
              return sink.write(frame.data(), frame.size());
            case kc::SseClient::Next::kIdle:
              // A comment every 15 s finds a page that went away without closing.
              if (++*idle >= 15) {
                *idle = 0;
                static const char kPing[] = ": ping\n\n";
                return sink.write(kPing, sizeof(kPing) - 1);
              }
              return true;
            case kc::SseClient::Next::kEnd:
              sink.done();
              return true;
          }
          return false;
        },
        [this, client](bool) { hub_->Disconnect(client); });
  }

  void Acknowledge(const httplib::Request& req, httplib::Response& res) {
    auto s = Authorize(req, res, kc::Role::kOfficer, true);
    if (!s) return;
    auto body = ParseBody(req, res);
    if (!body) return;
    const std::string id = Str(*body, "alert_id");
    std::optional<kc::Alert> alert;
    {
      std::lock_guard<std::mutex> lock(model_mutex_);
      if (const kc::Alert* a = model_.FindAlert(id)) alert = *a;
    }
    if (!alert) return SendError(res, 404, "no alert '" + id.substr(0, 64) + "'");
    if (!alert->acknowledged_by.empty())
      return SendError(res, 409, "already acknowledged by " + alert->acknowledged_by);
    if (alert->kind == "prompt")
      return SendError(res, 409, "a prompt is answered, not acknowledged");
    Json out = {{"alert_id", id},      {"alert_topic", alert->topic},
                {"kind", alert->kind}, {"user", s->user},
                {"lane", alert->lane}, {"crossing_id", alert->crossing_id}};
    if (!Publish("alert.acknowledged", out, alert->lane, alert->crossing_id))
      return SendError(res, 503, "the acknowledgement could not be published; try again");
    ++acks_;
    SendJson(res, 200, {{"ok", true}});
  }

  void Answer(const httplib::Request& req, httplib::Response& res) {
    auto s = Authorize(req, res, kc::Role::kOfficer, true);
    if (!s) return;
    auto body = ParseBody(req, res);
    if (!body) return;
    const std::string prompt_id = Str(*body, "prompt_id");
    const std::string answer = Str(*body, "answer");
    std::optional<kc::Alert> prompt;
    {
      std::lock_guard<std::mutex> lock(model_mutex_);
      if (const kc::Alert* a = model_.FindPrompt(prompt_id)) prompt = *a;
    }
    if (!prompt) return SendError(res, 404, "no prompt '" + prompt_id.substr(0, 64) + "'");
    const Json& choices = prompt->body.value("choices", Json::array());
    const bool listed = std::any_of(choices.begin(), choices.end(),
                                    [&](const Json& c) { return c.is_string() && c == answer; });
    if (answer.empty() || answer.size() > 1000 || (!choices.empty() && !listed))
      return SendError(res, 400, "the answer must be one of the prompt's choices");
    const std::string lane =
        Str(prompt->body, "lane").empty() ? prompt->lane : Str(prompt->body, "lane");
    Json out = {{"prompt_id", prompt_id}, {"lane", lane}, {"answer", answer}, {"user", s->user}};
    if (!Publish("console.answer", out, lane, prompt->crossing_id))
      return SendError(res, 503, "the answer could not be published; try again");
    SendJson(res, 200, {{"ok", true}});
  }

  void Decide(const httplib::Request& req, httplib::Response& res) {
    auto s = Authorize(req, res, kc::Role::kOfficer, true);
    if (!s) return;
    auto body = ParseBody(req, res);
    if (!body) return;
    const std::string crossing = Str(*body, "crossing_id");
    const std::string decision = Str(*body, "decision");
    const std::string notes = Str(*body, "notes");
    if (crossing.empty() || crossing.size() > 128)
      return SendError(res, 400, "crossing_id is required");
    if (!OneOf(decision, kDecisions))
      return SendError(res, 400,
                       "decision must be cleared, secondary_inspection, "
                       "refused_entry or goods_detained");
    if (notes.size() > 4096) return SendError(res, 400, "notes have at most 4096 bytes");
    std::string lane;
    {
      std::lock_guard<std::mutex> lock(model_mutex_);
      lane = model_.LaneOf(crossing);
    }
    auto w = std::make_shared<Waiter>();
    {
      std::lock_guard<std::mutex> lock(waiters_mutex_);
      if (decision_waiters_.count(crossing))
        return SendError(res, 409, "a decision on this crossing is already on its way");
      decision_waiters_[crossing] = w;
    }
    Json out = {{"decision", decision}, {"officer", s->user}, {"crossing_id", crossing}};
    if (!notes.empty()) out["notes"] = notes;
    const bool sent = Publish("officer.decision", out, lane, crossing);
    if (sent) {
      ++decisions_;
      host().Info(s->user + " decided " + decision + " on " + crossing);
    }
    const bool settled = sent && w->Wait(std::chrono::milliseconds(decision_timeout_ms_));
    {
      std::lock_guard<std::mutex> lock(waiters_mutex_);
      decision_waiters_.erase(crossing);
    }
    if (!sent) return SendError(res, 503, "the decision could not be published; try again");
    if (!settled)
      return SendError(res, 504,
                       "the crossings service did not confirm the decision in time; "
                       "check the crossing before deciding again");
    std::lock_guard<std::mutex> lock(w->mutex);
    if (!w->ok) return SendError(res, 409, w->body);
    SendJson(res, 200,
             {{"ok", true},
              {"crossing_id", crossing},
              {"decision", decision},
              {"officer", s->user},
              {"state", "closed"}});
  }

  void Override(const httplib::Request& req, httplib::Response& res) {
    auto s = Authorize(req, res, kc::Role::kSupervisor, true);
    if (!s) return;
    auto body = ParseBody(req, res);
    if (!body) return;
    const std::string crossing = Str(*body, "crossing_id");
    const std::string channel = Str(*body, "channel");
    const std::string reason = Trimmed(Str(*body, "reason"));
    if (crossing.empty() || crossing.size() > 128)
      return SendError(res, 400, "crossing_id is required");
    if (!kordon::ParseChannel(channel))
      return SendError(res, 400, "channel must be " + kordon::ChannelList());
    if (reason.size() < 5 || reason.size() > 4096)
      return SendError(res, 400, "an override needs a written reason (5-4096 characters)");
    std::string lane, previous;
    {
      std::lock_guard<std::mutex> lock(model_mutex_);
      lane = model_.LaneOf(crossing);
      previous = model_.ChannelOf(crossing);
    }
    Json out = {{"crossing_id", crossing},
                {"lane", lane},
                {"channel", channel},
                {"previous_channel", previous.empty() ? Json(nullptr) : Json(previous)},
                {"reason", reason},
                {"user", s->user},
                {"role", kc::RoleName(s->role)}};
    if (!Publish("officer.override", out, lane, crossing))
      return SendError(res, 503, "the override could not be published; try again");
    ++overrides_;
    host().Info(s->user + " overrode the channel of " + crossing + " to " + channel + ": " +
                reason);
    SendJson(res, 200, {{"ok", true}, {"crossing_id", crossing}, {"channel", channel}});
  }

  std::string Metrics() {
    std::string out;
    auto counter = [&](const std::string& name, const std::string& help, uint64_t v,
                       const char* type = "counter") {
      out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
             std::to_string(v) + "\n";
    };
    std::map<std::string, uint64_t> topics;
    std::map<std::string, std::string> plugins, devices;
    uint64_t bad = 0, alerts = 0, open_alerts = 0;
    {
      std::lock_guard<std::mutex> lock(model_mutex_);
      topics = model_.topic_counts();
      plugins = model_.plugin_states();
      devices = model_.device_states();
      bad = model_.bad_messages();
      alerts = model_.alerts_raised();
      open_alerts = model_.open_alerts();
    }
    out +=
        "# HELP kordon_bus_messages_total Messages the console received, per topic.\n"
        "# TYPE kordon_bus_messages_total counter\n";
    for (const auto& [t, n] : topics)
      out += "kordon_bus_messages_total{topic=\"" + Label(t) + "\"} " + std::to_string(n) + "\n";
    out +=
        "# HELP kordon_plugin_up 1 when the instance runs (plugin.status), else 0.\n"
        "# TYPE kordon_plugin_up gauge\n";
    for (const auto& [p, state] : plugins)
      out += "kordon_plugin_up{instance=\"" + Label(p) + "\",state=\"" + Label(state) + "\"} " +
             (state == "running" ? "1" : "0") + "\n";
    out +=
        "# HELP kordon_device_healthy 1 when the device is idle or busy (device.status).\n"
        "# TYPE kordon_device_healthy gauge\n";
    for (const auto& [d, state] : devices)
      out += "kordon_device_healthy{device=\"" + Label(d) + "\",state=\"" + Label(state) + "\"} " +
             (state == "idle" || state == "busy" ? "1" : "0") + "\n";
    const kc::SseHub::Stats s = hub_->stats();
    counter("kordon_console_http_requests_total", "HTTP requests served.", http_requests_);
    counter("kordon_console_logins_total", "Successful logins.", logins_ok_);
    counter("kordon_console_login_failures_total", "Logins refused for a wrong name or password.",
            logins_failed_);
    counter("kordon_console_login_limited_total", "Logins refused by the rate limit.",
            logins_limited_);
    counter("kordon_console_unauthenticated_total", "Requests refused without a session.",
            unauthenticated_);
    counter("kordon_console_csrf_refused_total", "Changes refused for a missing CSRF token.",
            csrf_refused_);
    counter("kordon_console_forbidden_total", "Requests refused for the user's role.", forbidden_);
    counter("kordon_console_decisions_total", "officer.decision published.", decisions_);
    counter("kordon_console_overrides_total", "officer.override published.", overrides_);
    counter("kordon_console_acknowledgements_total", "alert.acknowledged published.", acks_);
    counter("kordon_console_searches_total", "Searches of past crossings.", searches_);
    counter("kordon_console_publish_failures_total", "Publishes the bus refused.",
            publish_failures_);
    counter("kordon_console_bad_messages_total", "Bus messages with a body that is not JSON.", bad);
    counter("kordon_console_alerts_total", "Alerts raised.", alerts);
    counter("kordon_console_alerts_open", "Alerts not yet acknowledged.", open_alerts, "gauge");
    counter("kordon_console_sessions", "Live sessions.", sessions_->size(), "gauge");
    counter("kordon_console_sse_clients", "Connected live pages.", s.clients, "gauge");
    counter("kordon_console_sse_frames_total", "SSE frames queued to pages.", s.frames);
    counter("kordon_console_sse_overflows_total",
            "Pages too slow to keep up: told to reload and disconnected.", s.overflows);
    counter("kordon_console_sse_refused_total", "Live pages refused (max_clients).", s.refused);
    return out;
  }

  // Settings.
  bool allow_remote_ = false;
  ListenAddress listen_;
  std::string web_root_;
  std::string users_path_;
  int64_t max_clients_ = 16;
  int64_t decision_timeout_ms_ = 5000;
  int port_ = 0;

  std::unique_ptr<kc::SessionTable> sessions_;  // thread-safe
  std::unique_ptr<kc::LoginLimiter> limiter_;   // thread-safe
  std::unique_ptr<kc::SseHub> hub_;             // thread-safe

  std::mutex users_mutex_;
  std::unique_ptr<kc::UserStore> users_;  // GUARDED_BY(users_mutex_)
  std::string dummy_hash_;

  std::mutex hash_mutex_;
  std::condition_variable hash_cv_;
  int hashing_ = 0;  // GUARDED_BY(hash_mutex_)

  std::mutex model_mutex_;
  kc::ConsoleModel model_;  // GUARDED_BY(model_mutex_)

  std::mutex waiters_mutex_;
  std::map<std::string, std::shared_ptr<Waiter>> decision_waiters_;  // GUARDED_BY(waiters_mutex_)

  std::unique_ptr<httplib::Server> server_;
  std::thread server_thread_;

  std::atomic<uint64_t> http_requests_{0}, logins_ok_{0}, logins_failed_{0}, logins_limited_{0},
      unauthenticated_{0}, csrf_refused_{0}, forbidden_{0}, decisions_{0}, overrides_{0}, acks_{0},
      searches_{0}, publish_failures_{0};
};

}  // namespace

KORDON_PLUGIN(ConsolePlugin,
              {.name = "console",
               .kind = KORDON_KIND_CONSOLE,
               .vendor = "Kordon",
               .version = "0.1.0",
               .description = "The officer's workstation console: web pages, live updates (SSE), "
                              "logins, decisions",
               .publishes = {"officer.decision", "officer.override", "alert.acknowledged",
                             "console.answer", "console.login"},
               .subscribes = {""},
               .services = {}});
