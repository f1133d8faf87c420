// Version negotiation and every refusal of the loader, against real .so files.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "plugin_library.h"

using namespace kordon::host;

namespace {

std::string Plugin(const std::string& name) { return std::string(KORDON_TEST_PLUGIN_DIR) + "/" + name; }

// Opens a file that must be refused; returns the status.
Status Refusal(const std::string& file) {
  auto r = PluginLibrary::Open(Plugin(file));
  REQUIRE_FALSE(r.ok());
  return r.status();
}

bool Has(const Status& s, const std::string& part) {
  INFO(s.message());
  return s.message().find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a valid C plugin negotiates and describes itself") {
  auto r = PluginLibrary::Open(Plugin("test_c_echo.so"));
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  const PluginDescription& d = r.value()->description();
  CHECK(d.name == "test-c-echo");
  CHECK(d.kind == KORDON_KIND_OTHER);
  CHECK(d.vendor == "Kordon tests");
  CHECK(d.version == "1.0.0");
  CHECK(d.abi_version == KORDON_ABI_VERSION);
  CHECK(d.subscribes == std::vector<std::string>{"test.ping"});
  CHECK(d.services == std::vector<std::string>{"echo"});
  CHECK(std::find(d.publishes.begin(), d.publishes.end(), "test.pong") != d.publishes.end());
  CHECK(std::string(KindName(d.kind)) == "other");
}

TEST_CASE("refused: file missing") {
  Status s = Refusal("no_such_plugin.so");
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(Has(s, "no_such_plugin.so' does not exist"));
  CHECK(Has(s, "library ="));
}

TEST_CASE("refused: not a shared library") {
  Status s = Refusal("not_a_library.so");
  CHECK(Has(s, "not_a_library.so' is not a loadable shared library"));
  CHECK(Has(s, "ELF"));
}

TEST_CASE("refused: entry symbol missing") {
  Status s = Refusal("test_no_entry.so");
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(Has(s, "test_no_entry.so' does not export the entry point 'kordon_plugin_entry'"));
}

TEST_CASE("refused: different major ABI, whether the plugin refuses or lies") {
  Status s = Refusal("test_abi_major2.so");
  CHECK(s.code() == Status::Code::kVersion);
  CHECK(Has(s, "implements ABI 2.0 and refused this host, which speaks ABI 1.0"));
  CHECK(Has(s, "rebuild the plugin against SDK 1.x"));
  Status lie = Refusal("test_abi_major2_accepts.so");
  CHECK(lie.code() == Status::Code::kVersion);
  CHECK(Has(lie, "implements ABI 2.0, a different major version from this host's ABI 1.0"));
}

TEST_CASE("refused: newer minor ABI than the host knows") {
  Status s = Refusal("test_abi_newer_minor.so");
  CHECK(s.code() == Status::Code::kVersion);
  CHECK(Has(s, "implements ABI 1.5, newer than this host's ABI 1.0"));
  CHECK(Has(s, "upgrade kordon-host to SDK 1.5"));
}

TEST_CASE("refused: descriptor smaller than required") {
  Status s = Refusal("test_small_struct.so");
  CHECK(Has(s, "has a descriptor of"));
  CHECK(Has(s, "ABI 1.0 requires at least " + std::to_string(sizeof(kordon_plugin_descriptor)) + " bytes"));
}

TEST_CASE("refused: incomplete descriptor names what is missing") {
  CHECK(Has(Refusal("test_no_name.so"), "incomplete descriptor: missing name"));
  CHECK(Has(Refusal("test_no_handle.so"), "incomplete descriptor: missing handle_message"));
  CHECK(Has(Refusal("test_bad_kind.so"), "kind 0 is not one of scanner"));
}

// Entry points compiled into this test: cases a .so cannot easily produce.
namespace {

kordon_plugin_descriptor MakeDescriptor() {
  kordon_plugin_descriptor d{};
  d.struct_size = sizeof(d);
  d.abi_version = KORDON_ABI_VERSION;
  d.name = "inline";
  d.kind = KORDON_KIND_OTHER;
  d.vendor = "tests";
  d.version = "1";
  d.create = [](const kordon_instance_info*, void**) -> kordon_status { return KORDON_OK; };
  d.start = [](void*) -> kordon_status { return KORDON_OK; };
  d.stop = [](void*) -> kordon_status { return KORDON_OK; };
  d.handle_message = [](void*, const kordon_message*) -> kordon_status { return KORDON_OK; };
  d.destroy = [](void*) {};
  return d;
}

kordon_plugin_descriptor g_descriptor = MakeDescriptor();
const kordon_host_offer* g_seen_offer = nullptr;

kordon_status NullDescriptor(const kordon_host_offer*, const kordon_plugin_descriptor** out) {
  *out = nullptr;
  return KORDON_OK;
}
kordon_status RefuseWithout(const kordon_host_offer*, const kordon_plugin_descriptor** out) {
  *out = nullptr;
  return KORDON_E_FAILED;
}
kordon_status Answer(const kordon_host_offer* offer, const kordon_plugin_descriptor** out) {
  g_seen_offer = offer;
  return kordon_answer_offer(offer, &g_descriptor, out);
}

}  // namespace

TEST_CASE("the host's offer carries its version and the oldest it loads") {
  g_descriptor = MakeDescriptor();
  REQUIRE(PluginLibrary::OpenStatic(&Answer, "inline").ok());
  REQUIRE(g_seen_offer != nullptr);
  CHECK(g_seen_offer->struct_size == sizeof(kordon_host_offer));
  CHECK(g_seen_offer->abi_version == KORDON_ABI_VERSION);
  CHECK(g_seen_offer->min_abi_version == KORDON_ABI_MIN_SUPPORTED_VERSION);
  CHECK(std::string(g_seen_offer->host_version) == KORDON_HOST_VERSION);
}

TEST_CASE("refused: no descriptor, refusal without a descriptor, oversize descriptor, bad topics") {
  CHECK(Has(PluginLibrary::OpenStatic(&NullDescriptor, "x").status(), "no usable descriptor"));
  CHECK(Has(PluginLibrary::OpenStatic(&RefuseWithout, "x").status(), "refused the host's offer"));
  g_descriptor = MakeDescriptor();
  g_descriptor.struct_size = sizeof(kordon_plugin_descriptor) + 8;
  CHECK(Has(PluginLibrary::OpenStatic(&Answer, "x").status(), "larger than ABI 1.0 defines"));
  static const char* const bad_topics[] = {"Scanner.Read", nullptr};
  g_descriptor = MakeDescriptor();
  g_descriptor.publishes = bad_topics;
  CHECK(Has(PluginLibrary::OpenStatic(&Answer, "x").status(), "publishes an invalid topic"));
  static const char* const bad_services[] = {"reply", nullptr};
  g_descriptor = MakeDescriptor();
  g_descriptor.services = bad_services;
  CHECK(Has(PluginLibrary::OpenStatic(&Answer, "x").status(), "invalid service 'reply'"));
  g_descriptor = MakeDescriptor();
  g_descriptor.vendor = "";
  CHECK(Has(PluginLibrary::OpenStatic(&Answer, "x").status(), "missing vendor"));
}

TEST_CASE("kordon_answer_offer refuses another major and an older minor host") {
  kordon_plugin_descriptor d = MakeDescriptor();
  const kordon_plugin_descriptor* out = nullptr;
  kordon_host_offer offer{sizeof(kordon_host_offer), KORDON_MAKE_ABI_VERSION(2, 0), KORDON_MAKE_ABI_VERSION(2, 0), "9"};
  CHECK(kordon_answer_offer(&offer, &d, &out) == KORDON_E_VERSION);
  CHECK(out == &d);  // still names its version
  d.abi_version = KORDON_MAKE_ABI_VERSION(1, 3);
  offer.abi_version = KORDON_MAKE_ABI_VERSION(1, 2);
  CHECK(kordon_answer_offer(&offer, &d, &out) == KORDON_E_VERSION);
  offer.abi_version = KORDON_MAKE_ABI_VERSION(1, 4);
  CHECK(kordon_answer_offer(&offer, &d, &out) == KORDON_OK);
  CHECK(kordon_answer_offer(nullptr, &d, &out) == KORDON_E_INVALID_ARGUMENT);
}

TEST_CASE("library paths: bare names search plugin_path then the executable's ../plugins") {
  HostConfig c;
  c.directory = "/etc/kordon";
  CHECK(ResolveLibraryPath("/abs/x.so", c) == "/abs/x.so");
  CHECK(ResolveLibraryPath("sub/x.so", c) == "/etc/kordon/sub/x.so");
  c.plugin_path = {std::string(KORDON_TEST_PLUGIN_DIR)};
  CHECK(ResolveLibraryPath("test_ok.so", c) == std::string(KORDON_TEST_PLUGIN_DIR) + "/test_ok.so");
  CHECK(ResolveLibraryPath("missing.so", c) == std::string(KORDON_TEST_PLUGIN_DIR) + "/missing.so");
}
