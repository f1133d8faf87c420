// Unit tests of the bridge's parts (plugins/bridge, plugins/common/curve): the KBL/1 frames,
// the outbox (order, acknowledgement, restart, limit), the applied-id store (duplicates), the
// ZAP handler (allow / deny / no CURVE) and two link engines over real loopback TCP, one of
// them stopped and restarted while the other keeps sending.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bridge_engine.h"
#include "bridge_store.h"
#include "curve.h"
#include "link_protocol.h"

namespace fs = std::filesystem;
using namespace kordon::bridge;
using namespace std::chrono_literals;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/kordon-bridge-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string File(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

MessageHeader Header(const std::string& origin, int n) {
  MessageHeader h;
  h.origin = origin;
  char id[33];
  std::snprintf(id, sizeof(id), "%016x%016x", 0xabcdu, static_cast<unsigned>(n));
  h.id = id;
  h.topic = "alert.raised";
  h.time_us = 1000 + n;
  h.source = "risk";
  h.lane = "lane-1";
  return h;
}

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

}  // namespace

TEST_SUITE("bridge-protocol") {
  TEST_CASE("every command survives encode and decode") {
    std::string error;
    auto c = Decode(Hello("site-a", "e1", 7), &error);
    REQUIRE(c);
    CHECK(c->kind == Command::Kind::kHello);
    CHECK(c->site == "site-a");
    CHECK(c->epoch == "e1");
    CHECK(c->seq == 7);
    c = Decode(Msg(42, "{}", "{\"x\":1}"), &error);
    REQUIRE(c);
    CHECK(c->kind == Command::Kind::kMsg);
    CHECK(c->seq == 42);
    CHECK(c->body == "{\"x\":1}");
    c = Decode(Ack(9), &error);
    REQUIRE(c);
    CHECK(c->kind == Command::Kind::kAck);
    CHECK(c->seq == 9);
    c = Decode(Welcome("b", 3), &error);
    REQUIRE(c);
    CHECK(c->kind == Command::Kind::kWelcome);
    CHECK(c->seq == 3);
    c = Decode(Resend(4), &error);
    REQUIRE(c);
    CHECK(c->kind == Command::Kind::kResend);
  }

  TEST_CASE("malformed frames are refused with a reason") {
    std::string error;
    CHECK_FALSE(Decode({"KBL/2", "ACK", "1"}, &error));
    CHECK_FALSE(Decode({"KBL/1", "ACK"}, &error));
    CHECK(error.find("needs 3 frames") != std::string::npos);
    CHECK_FALSE(Decode({"KBL/1", "ACK", "-1"}, &error));
    CHECK_FALSE(Decode({"KBL/1", "ACK", "99999999999999999999999"}, &error));
    CHECK_FALSE(Decode({"KBL/1", "HELLO", "bad site!", "e", "1"}, &error));
    CHECK_FALSE(Decode({"KBL/1", "NOPE", "1"}, &error));
  }

  TEST_CASE("a header round-trips and is checked") {
    std::string error;
    MessageHeader h = Header("site-a", 5);
    h.crossing_id = "X-1";
    h.schema = "scanner.plate.read";
    h.schema_version = 2;
    auto back = DecodeHeader(EncodeHeader(h), &error);
    REQUIRE(back);
    CHECK(back->id == h.id);
    CHECK(back->origin == "site-a");
    CHECK(back->crossing_id == "X-1");
    CHECK(back->schema_version == 2);
    CHECK_FALSE(DecodeHeader(R"({"origin":"a","id":"xyz","topic":"t"})", &error));
    CHECK(error.find("'id'") != std::string::npos);
    CHECK_FALSE(DecodeHeader(R"({"id":"00000000000000000000000000000001","topic":"t"})", &error));
    CHECK_FALSE(DecodeHeader("[1]", &error));
  }
}

TEST_SUITE("bridge-store") {
  TEST_CASE("the outbox keeps order, removes only what is acknowledged, and survives a restart") {
    TempDir dir;
    std::string error;
    std::string epoch;
    {
      auto box = Outbox::Open(dir.File("out.db"), 100, {"b", "c"}, &error);
      REQUIRE_MESSAGE(box, error);
      epoch = box->epoch();
      CHECK(epoch.size() == 32);
      for (int i = 1; i <= 5; ++i) {
        auto r = box->Enqueue({"b", "c"}, "h" + std::to_string(i), "{}", &error);
        CHECK(r["b"] == Outbox::Enqueued::kOk);
        CHECK(r["c"] == Outbox::Enqueued::kOk);
      }
      auto rows = box->Read("b", 1, 10, &error);
      REQUIRE(rows.size() == 5);
      for (size_t i = 0; i < rows.size(); ++i) {
        CHECK(rows[i].seq == i + 1);
        CHECK(rows[i].header == "h" + std::to_string(i + 1));
      }
      CHECK(box->Acknowledge("b", 3, &error) == 3);
      CHECK(box->Backlog("b") == 2);
      CHECK(box->Backlog("c") == 5);  // partners are independent
      CHECK(box->Acknowledge("b", 2, &error) == 0);  // an old ack changes nothing
    }
    auto box = Outbox::Open(dir.File("out.db"), 100, {"b", "c"}, &error);
    REQUIRE(box);
    CHECK(box->epoch() == epoch);
    CHECK(box->Acknowledged("b") == 3);
    CHECK(box->Backlog("b") == 2);
    auto rows = box->Read("b", 1, 10, &error);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].seq == 4);
    // Everything acknowledged, then a restart: sequence numbers are not reused.
    CHECK(box->Acknowledge("b", 5, &error) == 2);
    box.reset();
    box = Outbox::Open(dir.File("out.db"), 100, {"b", "c"}, &error);
    REQUIRE(box);
    (void)box->Enqueue({"b"}, "h6", "{}", &error);
    rows = box->Read("b", 1, 10, &error);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].seq == 6);
  }

  TEST_CASE("a full outbox refuses (and says so) instead of dropping silently") {
    TempDir dir;
    std::string error;
    auto box = Outbox::Open(dir.File("out.db"), 3, {"b", "c"}, &error);
    REQUIRE(box);
    (void)box->Enqueue({"c"}, "x", "{}", &error);  // c holds 1
    for (int i = 0; i < 3; ++i) (void)box->Enqueue({"b", "c"}, "h", "{}", &error);
    auto r = box->Enqueue({"b", "c"}, "h", "{}", &error);
    CHECK(r["b"] == Outbox::Enqueued::kFull);
    CHECK(r["c"] == Outbox::Enqueued::kFull);
    CHECK(box->Backlog("b") == 3);
    CHECK(box->Acknowledge("b", 1, &error) == 1);
    r = box->Enqueue({"b", "c"}, "h", "{}", &error);
    CHECK(r["b"] == Outbox::Enqueued::kOk);
    CHECK(r["c"] == Outbox::Enqueued::kFull);
  }

  TEST_CASE("the applied store remembers ids and sessions across a restart, and prunes by age") {
    TempDir dir;
    std::string error;
    {
      auto store = AppliedStore::Open(dir.File("applied.db"), &error);
      REQUIRE_MESSAGE(store, error);
      CHECK_FALSE(store->LastApplied("a", "e1"));
      REQUIRE(store->Begin().ok());
      CHECK(store->Record("a", "id-1", 100).ok());
      CHECK(store->Record("a", "id-2", 200).ok());
      CHECK(store->SetLastApplied("a", "e1", 2).ok());
      REQUIRE(store->Commit().ok());
    }
    auto store = AppliedStore::Open(dir.File("applied.db"), &error);
    REQUIRE(store);
    CHECK(store->WasApplied("a", "id-1"));
    CHECK_FALSE(store->WasApplied("b", "id-1"));  // ids are per origin
    CHECK(store->LastApplied("a", "e1") == 2u);
    CHECK(store->Prune(150) == 1);
    CHECK_FALSE(store->WasApplied("a", "id-1"));
    CHECK(store->WasApplied("a", "id-2"));
  }
}

TEST_SUITE("curve") {
  TEST_CASE("key files: the secret is 0600, nothing is overwritten, open secrets are refused") {
    TempDir dir;
    std::string error;
    auto pair = kordon::curve::GenerateKeyPair(&error);
    REQUIRE_MESSAGE(pair, error);
    const std::string prefix = dir.File("site-a");
    REQUIRE_MESSAGE(kordon::curve::WriteKeyFiles(prefix, *pair, &error), error);
    struct stat st;
    REQUIRE(::stat((prefix + ".key").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(kordon::curve::ReadKeyFile(prefix + ".key", true, &error) == pair->secret_key);
    CHECK(kordon::curve::ReadKeyFile(prefix + ".pub", false, &error) == pair->public_key);
    CHECK(kordon::curve::PublicKeyOf(pair->secret_key, &error) == pair->public_key);
    CHECK_FALSE(kordon::curve::WriteKeyFiles(prefix, *pair, &error));
    CHECK(error.find("already exists") != std::string::npos);
    ::chmod((prefix + ".key").c_str(), 0644);
    CHECK_FALSE(kordon::curve::ReadKeyFile(prefix + ".key", true, &error));
    CHECK(error.find("chmod 600") != std::string::npos);
  }

  TEST_CASE("loopback endpoints") {
    using kordon::curve::IsLoopbackEndpoint;
    CHECK(IsLoopbackEndpoint("tcp://127.0.0.1:7600"));
    CHECK(IsLoopbackEndpoint("tcp://localhost:7600"));
    CHECK(IsLoopbackEndpoint("tcp://[::1]:7600"));
    CHECK_FALSE(IsLoopbackEndpoint("tcp://10.0.0.5:7600"));
    CHECK_FALSE(IsLoopbackEndpoint("tcp://*:7600"));
    CHECK_FALSE(IsLoopbackEndpoint("tcp://0.0.0.0:7600"));
  }

  TEST_CASE("ZAP: a listed key gets in; an unknown key and a client without CURVE are refused") {
    std::string error;
    auto server_keys = kordon::curve::GenerateKeyPair(&error);
    auto good = kordon::curve::GenerateKeyPair(&error);
    auto bad = kordon::curve::GenerateKeyPair(&error);
    REQUIRE((server_keys && good && bad));
    void* ctx = zmq_ctx_new();
    std::mutex log_mutex;
    std::vector<std::string> log;
    {
      kordon::curve::ZapHandler zap(ctx, {good->public_key}, [&](bool, const std::string& l) {
        std::lock_guard<std::mutex> lock(log_mutex);
        log.push_back(l);
      });
      REQUIRE_MESSAGE(zap.Start(&error), error);
      // A second handler in the same context cannot bind.
      kordon::curve::ZapHandler second(ctx, {}, nullptr);
      CHECK_FALSE(second.Start(&error));

      void* server = zmq_socket(ctx, ZMQ_ROUTER);
      int one = 1, zero = 0;
      zmq_setsockopt(server, ZMQ_LINGER, &zero, sizeof(zero));
      zmq_setsockopt(server, ZMQ_CURVE_SERVER, &one, sizeof(one));
      zmq_setsockopt(server, ZMQ_CURVE_SECRETKEY, server_keys->secret_key.c_str(), 40);
      zmq_setsockopt(server, ZMQ_ZAP_DOMAIN, "test", 4);
      auto monitor = std::make_unique<kordon::curve::SocketMonitor>(ctx, server, &error);
      REQUIRE(monitor->ok());
      REQUIRE(zmq_bind(server, "tcp://127.0.0.1:*") == 0);
      char endpoint[128];
      size_t size = sizeof(endpoint);
      zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &size);

      auto client = [&](const kordon::curve::KeyPair* keys) {
        void* c = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(c, ZMQ_LINGER, &zero, sizeof(zero));
        if (keys != nullptr) {
          zmq_setsockopt(c, ZMQ_CURVE_SERVERKEY, server_keys->public_key.c_str(), 40);
          zmq_setsockopt(c, ZMQ_CURVE_PUBLICKEY, keys->public_key.c_str(), 40);
          zmq_setsockopt(c, ZMQ_CURVE_SECRETKEY, keys->secret_key.c_str(), 40);
        }
        zmq_connect(c, endpoint);
        zmq_send(c, "hi", 2, 0);
        return c;
      };
      auto received = [&](int ms) {
        zmq_pollitem_t item{server, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, ms) <= 0) return false;
        char buf[64];
        zmq_recv(server, buf, sizeof(buf), 0);  // routing id
        zmq_recv(server, buf, sizeof(buf), 0);  // "hi"
        return true;
      };
      void* c_bad = client(&*bad);
      void* c_plain = client(nullptr);
      CHECK_FALSE(received(500));
      void* c_good = client(&*good);
      CHECK(received(2000));
      // Both refusals are seen: the unknown key by ZAP, the plain client by the handshake.
      int failures = 0, mismatch = 0;
      CHECK(WaitFor(
          [&] {
            while (auto e = monitor->Read()) {
              if (e->IsHandshakeFailure()) ++failures;
              if (e->event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
                  e->value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
                ++mismatch;
            }
            return failures >= 2 && mismatch >= 1;
          },
          3000ms));
      CHECK(zap.counters().allowed >= 1);
      CHECK(zap.counters().refused >= 1);
      {
        std::lock_guard<std::mutex> lock(log_mutex);
        REQUIRE_FALSE(log.empty());
        CHECK(log.front().find("client key " + bad->public_key + " is not allowed") !=
              std::string::npos);
        CHECK(log.front().find("127.0.0.1") != std::string::npos);
      }
      // The allow-list can change while running.
      std::string err2;
      CHECK(zap.SetAllowed({bad->public_key}, &err2));
      CHECK_FALSE(zap.SetAllowed({"not a key"}, &err2));
      monitor.reset();
      for (void* s : {c_bad, c_plain, c_good, server}) zmq_close(s);
      zap.Stop();
    }
    zmq_ctx_term(ctx);
  }
}

namespace {

// One site's engine plus what it received.
struct Site {
  std::mutex mutex;
  std::vector<std::string> received;  // header ids in arrival order
  std::atomic<bool> busy{false};      // the local bus refuses with "busy"
  std::unique_ptr<Engine> engine;

  bool Start(EngineOptions o, std::string* error) {
    EngineCallbacks cb;
    cb.deliver = [this](const Inbound& in) {
      if (busy) return Delivery::kBusy;
      std::lock_guard<std::mutex> lock(mutex);
      received.push_back(in.header.id);
      return Delivery::kPublished;
    };
    engine = std::make_unique<Engine>(std::move(o), std::move(cb));
    return engine->Start(error);
  }
  size_t Count() {
    std::lock_guard<std::mutex> lock(mutex);
    return received.size();
  }
};

}  // namespace

TEST_SUITE("bridge-engine") {
  TEST_CASE("CURVE link: every message once and in order across a receiver restart") {
    TempDir dir;
    std::string error;
    auto keys_a = kordon::curve::GenerateKeyPair(&error);
    auto keys_b = kordon::curve::GenerateKeyPair(&error);
    REQUIRE((keys_a && keys_b));

    EngineOptions b;
    b.site = "site-b";
    b.listen = "tcp://127.0.0.1:*";
    b.secret_key = keys_b->secret_key;
    b.allowed_keys = {keys_a->public_key};
    b.outbox_path = dir.File("b-out.db");
    b.applied_path = dir.File("b-applied.db");
    auto site_b = std::make_unique<Site>();
    REQUIRE_MESSAGE(site_b->Start(b, &error), error);
    const std::string endpoint = site_b->engine->bound_endpoint();
    b.listen = endpoint;  // the same port after the restart

    EngineOptions a;
    a.site = "site-a";
    a.secret_key = keys_a->secret_key;
    a.partners = {{"site-b", endpoint, keys_b->public_key}};
    a.outbox_path = dir.File("a-out.db");
    a.ack_timeout_ms = 500;
    a.window = 64;
    Site site_a;
    REQUIRE_MESSAGE(site_a.Start(a, &error), error);

    std::vector<std::string> sent;
    auto send = [&](int from, int to) {
      for (int i = from; i < to; ++i) {
        MessageHeader h = Header("site-a", i);
        std::vector<std::string> full;
        REQUIRE(site_a.engine->Enqueue(h, "{\"n\":" + std::to_string(i) + "}", &full, &error));
        CHECK(full.empty());
        sent.push_back(h.id);
      }
    };
    send(0, 300);
    CHECK(WaitFor([&] { return site_b->Count() >= 300; }, 10s));
    // Stop the receiver, keep sending, bring it back with the same files.
    std::vector<std::string> before;
    {
      std::lock_guard<std::mutex> lock(site_b->mutex);
      before = site_b->received;
    }
    site_b->engine->Stop();
    site_b = std::make_unique<Site>();
    send(300, 600);
    CHECK(WaitFor([&] { return site_a.engine->Snapshot()[0].state != LinkState::kUp; }, 5s));
    REQUIRE_MESSAGE(site_b->Start(b, &error), error);
    // The bus is busy for a while: nothing is lost, it arrives later.
    site_b->busy = true;
    std::this_thread::sleep_for(300ms);
    site_b->busy = false;
    CHECK(WaitFor([&] { return before.size() + site_b->Count() >= 600; }, 15s));
    CHECK(WaitFor([&] { return site_a.engine->Snapshot()[0].backlog == 0; }, 5s));
    std::this_thread::sleep_for(200ms);
    std::vector<std::string> all = before;
    {
      std::lock_guard<std::mutex> lock(site_b->mutex);
      all.insert(all.end(), site_b->received.begin(), site_b->received.end());
    }
    CHECK(all == sent);  // exactly once, in order
    auto snap = site_a.engine->Snapshot()[0];
    CHECK(snap.acked == 600);
    CHECK(snap.reconnects >= 1);
    CHECK(snap.secure);
  }

  TEST_CASE("a sender whose outbox was reset (new epoch) cannot make a message apply twice") {
    TempDir dir;
    std::string error;
    EngineOptions b;
    b.site = "site-b";
    b.listen = "tcp://127.0.0.1:*";
    b.outbox_path = dir.File("b-out.db");
    b.applied_path = dir.File("b-applied.db");
    Site site_b;
    REQUIRE(site_b.Start(b, &error));
    EngineOptions a;
    a.site = "site-a";
    a.partners = {{"site-b", site_b.engine->bound_endpoint(), ""}};
    a.outbox_path = dir.File("a-out.db");
    std::vector<std::string> full;
    std::string first_epoch;
    {
      Site site_a;
      REQUIRE(site_a.Start(a, &error));
      first_epoch = site_a.engine->epoch();
      for (int i = 0; i < 10; ++i)
        REQUIRE(site_a.engine->Enqueue(Header("site-a", i), "{}", &full, &error));
      CHECK(WaitFor([&] { return site_a.engine->Snapshot()[0].backlog == 0; }, 5s));
    }
    // The outbox file is lost: a new epoch starts again at seq 1 with the same ids, then
    // new ones.
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(dir.File("a-out.db") + suffix);
    Site site_a;
    REQUIRE(site_a.Start(a, &error));
    CHECK(site_a.engine->epoch() != first_epoch);
    for (int i = 0; i < 15; ++i)
      REQUIRE(site_a.engine->Enqueue(Header("site-a", i), "{}", &full, &error));
    CHECK(WaitFor([&] { return site_a.engine->Snapshot()[0].backlog == 0; }, 5s));
    CHECK(site_b.Count() == 15);
    CHECK(site_b.engine->inbound().duplicates == 10);
    std::lock_guard<std::mutex> lock(site_b.mutex);
    for (int i = 0; i < 15; ++i) CHECK(site_b.received[static_cast<size_t>(i)] == Header("", i).id);
  }

  TEST_CASE("the listener drops a message that originated at its own site (a loop)") {
    TempDir dir;
    std::string error;
    EngineOptions b;
    b.site = "site-b";
    b.listen = "tcp://127.0.0.1:*";
    b.outbox_path = dir.File("b-out.db");
    b.applied_path = dir.File("b-applied.db");
    Site site_b;
    REQUIRE(site_b.Start(b, &error));
    EngineOptions a;
    a.site = "site-a";
    a.partners = {{"site-b", site_b.engine->bound_endpoint(), ""}};
    a.outbox_path = dir.File("a-out.db");
    Site site_a;
    REQUIRE(site_a.Start(a, &error));
    std::vector<std::string> full;
    REQUIRE(site_a.engine->Enqueue(Header("site-b", 1), "{}", &full, &error));
    REQUIRE(site_a.engine->Enqueue(Header("site-a", 2), "{}", &full, &error));
    CHECK(WaitFor([&] { return site_b.Count() == 1; }, 5s));
    CHECK(WaitFor([&] { return site_b.engine->inbound().loops == 1; }, 5s));
    CHECK(site_a.engine->Snapshot()[0].secure == false);
  }

  TEST_CASE("a CURVE listener refuses a partner whose key is not allowed, and counts it") {
    TempDir dir;
    std::string error;
    auto keys_a = kordon::curve::GenerateKeyPair(&error);
    auto keys_b = kordon::curve::GenerateKeyPair(&error);
    auto other = kordon::curve::GenerateKeyPair(&error);
    EngineOptions b;
    b.site = "site-b";
    b.listen = "tcp://127.0.0.1:*";
    b.secret_key = keys_b->secret_key;
    b.allowed_keys = {other->public_key};
    b.outbox_path = dir.File("b-out.db");
    b.applied_path = dir.File("b-applied.db");
    Site site_b;
    REQUIRE(site_b.Start(b, &error));
    EngineOptions a;
    a.site = "site-a";
    a.secret_key = keys_a->secret_key;
    a.partners = {{"site-b", site_b.engine->bound_endpoint(), keys_b->public_key}};
    a.outbox_path = dir.File("a-out.db");
    Site site_a;
    REQUIRE(site_a.Start(a, &error));
    std::vector<std::string> full;
    REQUIRE(site_a.engine->Enqueue(Header("site-a", 1), "{}", &full, &error));
    CHECK(WaitFor([&] { return site_b.engine->inbound().refused_clients >= 1; }, 5s));
    CHECK(site_b.Count() == 0);
    auto snap = site_a.engine->Snapshot()[0];
    CHECK(snap.state != LinkState::kUp);
    CHECK(snap.backlog == 1);  // kept for when the key is allowed
  }

  TEST_CASE("plain TCP is refused off loopback") {
    TempDir dir;
    std::string error;
    EngineOptions b;
    b.site = "site-b";
    b.listen = "tcp://0.0.0.0:*";
    b.outbox_path = dir.File("b-out.db");
    b.applied_path = dir.File("b-applied.db");
    Engine e(b, {});
    CHECK_FALSE(e.Start(&error));
    CHECK(error.find("only on loopback") != std::string::npos);
  }
}
