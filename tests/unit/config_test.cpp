#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include "config.h"

using namespace kordon::host;

namespace {

// The error message for text, which must fail to parse.
std::string ErrorOf(const std::string& text) {
  Result<HostConfig> r = ParseConfig(text, "site.ini");
  REQUIRE_FALSE(r.ok());
  return r.status().message();
}

bool Contains(const std::string& s, const std::string& part) {
  INFO(s);
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a full configuration parses in file order") {
  Result<HostConfig> r = ParseConfig(R"(
# comment
; another comment
[host]
name = ak-zhol-1
log_level = debug
on_plugin_error = skip
plugin_path = plugins, /opt/kordon/plugins
bus.ingress = tcp://127.0.0.1:17400
bus.egress = ipc:///tmp/kordon-egress
bus.queue_limit = 500
bus.publish_timeout_ms = 250
bus.max_body_bytes = 65536

[plugin.lane1-camera]
library = plate-sim.so
lane = lane-1
interval_ms = 1500
plates = 01 KG 123 ABC, А 123 ВС 02

[plugin.logger]
library = ./logger.so
subscribe = scanner, *, device.status
enabled = false
)", "site.ini");
  REQUIRE(r.ok());
  const HostConfig& c = r.value();
  CHECK(c.name == "ak-zhol-1");
  CHECK(c.log_level == "debug");
  CHECK(c.on_plugin_error == OnPluginError::kSkip);
  CHECK(c.plugin_path == std::vector<std::string>{"plugins", "/opt/kordon/plugins"});
  CHECK(c.bus.ingress == "tcp://127.0.0.1:17400");
  CHECK(c.bus.egress == "ipc:///tmp/kordon-egress");
  CHECK(c.bus.queue_limit == 500);
  CHECK(c.bus.publish_timeout_ms == 250);
  CHECK(c.bus.max_body_bytes == 65536);
  REQUIRE(c.instances.size() == 2);
  const InstanceConfig& cam = c.instances[0];
  CHECK(cam.name == "lane1-camera");
  CHECK(cam.line == 15);
  CHECK(cam.library == "plate-sim.so");
  CHECK(cam.lane == "lane-1");
  CHECK_FALSE(cam.has_subscribe);
  CHECK(cam.enabled);
  REQUIRE(cam.settings.size() == 2);
  CHECK(cam.settings[0] == std::make_pair(std::string("interval_ms"), std::string("1500")));
  CHECK(cam.settings[1].second == "01 KG 123 ABC, А 123 ВС 02");  // Cyrillic kept as is
  const InstanceConfig& log = c.instances[1];
  CHECK(log.has_subscribe);
  CHECK(log.subscribe == std::vector<std::string>{"scanner", "", "device.status"});
  CHECK_FALSE(log.enabled);
  CHECK(log.settings.empty());
}

TEST_CASE("defaults when [host] is absent") {
  Result<HostConfig> r = ParseConfig("[plugin.a]\nlibrary = a.so\n", "x.ini");
  REQUIRE(r.ok());
  CHECK(r->name == "kordon");
  CHECK(r->bus.ingress == "tcp://127.0.0.1:7400");
  CHECK(r->bus.egress == "tcp://127.0.0.1:7401");
  CHECK(r->on_plugin_error == OnPluginError::kStop);
}

TEST_CASE("a byte order mark and CRLF line ends are accepted") {
  Result<HostConfig> r = ParseConfig("\xEF\xBB\xBF[host]\r\nname = a\r\n[plugin.b]\r\nlibrary = b.so\r\n", "x.ini");
  REQUIRE(r.ok());
  CHECK(r->name == "a");
  CHECK(r->instances.at(0).library == "b.so");
}

TEST_CASE("structural errors name the file and the line") {
  CHECK(Contains(ErrorOf("[host]\nname = a\n[plugin.x]\nlibrary = x.so\n[plugin.x]\nlibrary = y.so\n"),
                 "site.ini:5: duplicate instance name 'x': [plugin.x] is already defined at line 3"));
  CHECK(Contains(ErrorOf("[host]\n[host]\n"), "site.ini:2: [host] appears twice (first at line 1)"));
  CHECK(Contains(ErrorOf("name = a\n"), "site.ini:1: key outside any section"));
  CHECK(Contains(ErrorOf("[host]\njust words\n"), "site.ini:2: expected 'key = value'"));
  CHECK(Contains(ErrorOf("[hosts]\n"), "site.ini:1: unknown section [hosts]"));
  CHECK(Contains(ErrorOf("[host\n"), "site.ini:1: section header must end with ']'"));
  CHECK(Contains(ErrorOf("[plugin.Lane1]\nlibrary=a.so\n"), "site.ini:1: instance name 'Lane1'"));
  CHECK(Contains(ErrorOf("[plugin.]\n"), "instance name ''"));
  CHECK(Contains(ErrorOf("[plugin.a]\nlibrary = a.so\nlibrary = b.so\n"),
                 "site.ini:3: key 'library' repeats in [plugin.a] (first at line 2)"));
  CHECK(Contains(ErrorOf("[plugin.a]\n = x\n"), "site.ini:2: empty key"));
  CHECK(Contains(ErrorOf("[plugin.a]\nKey = x\n"), "site.ini:2: key 'Key'"));
  CHECK(Contains(ErrorOf("[plugin.a]\nlibrary = a.so\nname = \xff\n"), "site.ini:3: invalid UTF-8 at column 8"));
}

TEST_CASE("[host] keys are typed and checked") {
  CHECK(Contains(ErrorOf("[host]\nnmae = x\n"), "site.ini:2: unknown key 'nmae' in [host]"));
  CHECK(Contains(ErrorOf("[host]\nbus.queue_limit = lots\n"), "site.ini:2: [host] bus.queue_limit"));
  CHECK(Contains(ErrorOf("[host]\nbus.queue_limit = 5\n"), "site.ini:2: [host] bus.queue_limit = 5 is outside 10..10000000"));
  CHECK(Contains(ErrorOf("[host]\n\nbus.publish_timeout_ms = 0\n"), "site.ini:3:"));
  CHECK(Contains(ErrorOf("[host]\nlog_level = loud\n"), "site.ini:2: [host] log_level 'loud'"));
  CHECK(Contains(ErrorOf("[host]\non_plugin_error = ignore\n"), "must be 'stop' or 'skip'"));
  CHECK(Contains(ErrorOf("[host]\nname = has space\n"), "site.ini:2: [host] name"));
  // A value holding Boost's own placeholder (its message loop never ended: fuzz_config).
  CHECK(Contains(ErrorOf("[host]\nbus.queue_limit = 1%value%\n"),
                 "site.ini:2: [host] bus.queue_limit: the argument ('1%value%') for option "
                 "'bus.queue_limit' is invalid"));
}

TEST_CASE("plain TCP only on loopback") {
  CHECK(Contains(ErrorOf("[host]\nbus.ingress = tcp://0.0.0.0:7400\n"), "must be on loopback"));
  CHECK(Contains(ErrorOf("[host]\nbus.egress = tcp://*:7401\n"), "site.ini:2:"));
  CHECK(ParseConfig("[host]\nbus.ingress = tcp://127.0.0.1:*\nbus.egress =\n", "x").ok());
  Result<HostConfig> r = ParseConfig("[host]\nbus.egress =\n", "x");
  REQUIRE(r.ok());
  CHECK(r->bus.egress.empty());
}

TEST_CASE("bus CURVE keys: beyond loopback only with CURVE; keys come in pairs") {
  const std::string z85 = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
  CHECK(Contains(ErrorOf("[host]\nbus.ingress = tcp://10.0.0.1:7400\n"),
                 "set bus.secret_key_file and bus.allowed_keys for CURVE"));
  CHECK(Contains(ErrorOf("[host]\nbus.secret_key_file = k.key\n"),
                 "bus.allowed_keys must list the clients' public keys"));
  CHECK(Contains(ErrorOf("[host]\nbus.allowed_keys = " + z85 + "\n"),
                 "bus.allowed_keys needs bus.secret_key_file"));
  Result<HostConfig> r = ParseConfig("[host]\nbus.ingress = tcp://0.0.0.0:7400\n"
                                     "bus.secret_key_file = k.key\nbus.allowed_keys = a.pub, " +
                                         z85 + "\n", "x");
  REQUIRE(r.ok());
  CHECK(r->bus.curve());
  CHECK(r->bus.allowed_keys == std::vector<std::string>{"a.pub", z85});
  // The files are read when the host starts (LoadBusKeys): a missing one is named.
  Status s = LoadBusKeys(&r->bus, "/nonexistent");
  CHECK(Contains(s.message(), "bus.secret_key_file: cannot open key file '/nonexistent/k.key'"));
}

TEST_CASE("plugin sections need a library and valid host keys") {
  CHECK(Contains(ErrorOf("[plugin.cam]\nlane = lane-1\n"), "site.ini:1: [plugin.cam] has no 'library = ...'"));
  CHECK(Contains(ErrorOf("[plugin.cam]\nlibrary = a.so\nsubscribe = Scanner\n"), "site.ini:3: subscribe:"));
  CHECK(Contains(ErrorOf("[plugin.cam]\nlibrary = a.so\nenabled = maybe\n"), "site.ini:3: enabled:"));
  CHECK(Contains(ErrorOf("[plugin.cam]\nlibrary = a.so\nlane = lane 1\n"), "site.ini:3: lane 'lane 1'"));
}

TEST_CASE("isolation, flood control and supervision keys") {
  Result<HostConfig> r = ParseConfig(
      "[host]\nsupervision.heartbeat_ms = 250\nsupervision.queue_limit = 7\n"
      "[plugin.cam]\nlibrary = a.so\nisolation = process\npublish_limit = 100\n"
      "memory_limit_mb = 256\nmode = x\n"
      "[plugin.db]\nlibrary = b.so\npublish_limit = 50\npublish_burst = 5\n",
      "site.ini");
  REQUIRE(r.ok());
  CHECK(r->supervision.heartbeat_ms == 250);
  CHECK(r->supervision.queue_limit == 7);
  CHECK(r->supervision.backoff_initial_ms == 100);
  CHECK(r->supervision.backoff_max_ms == 30000);
  CHECK(r->supervision.quarantine_failures == 5);
  const InstanceConfig& cam = r->instances[0];
  CHECK(cam.isolated);
  CHECK(cam.publish_limit == 100);
  CHECK(cam.publish_burst == 100);  // one second's worth by default
  CHECK(cam.memory_limit_mb == 256);
  // Host keys are not the plugin's settings.
  REQUIRE(cam.settings.size() == 1);
  CHECK(cam.settings[0].first == "mode");
  CHECK_FALSE(r->instances[1].isolated);
  CHECK(r->instances[1].publish_burst == 5);
  CHECK(Contains(ErrorOf("[plugin.cam]\nlibrary = a.so\nisolation = thread\n"),
                 "site.ini:3: isolation = 'thread' must be 'in_process' or 'process'"));
  CHECK(Contains(ErrorOf("[plugin.cam]\nlibrary = a.so\npublish_limit = fast\n"),
                 "site.ini:3: publish_limit = 'fast'"));
  CHECK(Contains(ErrorOf("[plugin.cam]\nlibrary = a.so\nmemory_limit_mb = 64\n"),
                 "memory_limit_mb needs isolation = process"));
  CHECK(Contains(ErrorOf("[host]\nsupervision.heartbeat_ms = 1\n"),
                 "supervision.heartbeat_ms = 1 is outside 10..600000"));
}

TEST_CASE("LoadConfigFile reports a missing file and records the directory") {
  Result<HostConfig> missing = LoadConfigFile("/nonexistent/site.ini");
  REQUIRE_FALSE(missing.ok());
  CHECK(Contains(missing.status().message(), "'/nonexistent/site.ini' does not exist"));

  char dir_template[] = "/tmp/kordon-config-test-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  std::string path = std::string(dir_template) + "/site.ini";
  std::ofstream(path) << "[host]\nname = t\n";
  Result<HostConfig> r = LoadConfigFile(path);
  REQUIRE(r.ok());
  CHECK(r->path == path);
  CHECK(r->directory == dir_template);
  std::remove(path.c_str());
  std::remove(dir_template);
}

TEST_CASE("instance names and log levels") {
  CHECK(IsValidInstanceName("lane1-camera_2"));
  CHECK_FALSE(IsValidInstanceName("Lane1"));
  CHECK_FALSE(IsValidInstanceName(std::string(65, 'a')));
  CHECK(IsValidLogLevel("warn"));
  CHECK_FALSE(IsValidLogLevel("warning"));
}
