#include "plugin_library.h"

#include <dlfcn.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>

#include <boost/dll/runtime_symbol_info.hpp>
#include <fmt/format.h>

#include "topic.h"

namespace fs = std::filesystem;

namespace kordon::host {
namespace {

constexpr size_t kDescriptorV1Size =
    offsetof(kordon_plugin_descriptor, destroy) + sizeof(kordon_destroy_fn);

std::vector<std::string> CopyList(const char* const* list, size_t limit = 256) {
  std::vector<std::string> out;
  if (list == nullptr) return out;
  for (size_t i = 0; i < limit && list[i] != nullptr; ++i) out.emplace_back(list[i]);
  return out;
}

std::string HostAbiRange() {
  return fmt::format("{} (loads {}..{})", AbiVersionString(KORDON_ABI_VERSION),
                     AbiVersionString(KORDON_ABI_MIN_SUPPORTED_VERSION),
                     AbiVersionString(KORDON_ABI_VERSION));
}

}  // namespace

const char* KindName(kordon_plugin_kind kind) {
  switch (kind) {
    case KORDON_KIND_SCANNER: return "scanner";
    case KORDON_KIND_SCALE: return "scale";
    case KORDON_KIND_DATABASE: return "database";
    case KORDON_KIND_RISK: return "risk";
    case KORDON_KIND_CONSOLE: return "console";
    case KORDON_KIND_BRIDGE: return "bridge";
    case KORDON_KIND_OTHER: return "other";
    default: return "unspecified";
  }
}

std::string AbiVersionString(uint32_t v) {
  return fmt::format("{}.{}", KORDON_ABI_VERSION_MAJOR(v), KORDON_ABI_VERSION_MINOR(v));
}

std::string PrefixList(const std::vector<std::string>& prefixes) {
  if (prefixes.empty()) return "-";
  std::string out;
  for (const std::string& p : prefixes) {
    if (!out.empty()) out += ", ";
    out += p.empty() ? "*" : p;
  }
  return out;
}

const kordon_host_offer& HostOffer() {
  static const kordon_host_offer offer = [] {
    kordon_host_offer o{};
    o.struct_size = sizeof(o);
    o.abi_version = KORDON_ABI_VERSION;
    o.min_abi_version = KORDON_ABI_MIN_SUPPORTED_VERSION;
    o.host_version = KORDON_HOST_VERSION;
    return o;
  }();
  return offer;
}

Result<std::shared_ptr<PluginLibrary>> PluginLibrary::Open(const std::string& path) {
  return Load(path, nullptr);
}

Result<std::shared_ptr<PluginLibrary>> PluginLibrary::Load(const std::string& path,
                                                           const signing::FileIdentity* pinned) {
  std::error_code fec;
  if (!fs::exists(path, fec))
    return Status::NotFound(fmt::format(
        "plugin file '{}' does not exist; check the 'library =' setting and plugin_path", path));
  if (!fs::is_regular_file(path, fec))
    return Status::InvalidArgument(fmt::format("plugin file '{}' is not a regular file", path));

  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->path_ = path;
  boost::dll::fs::error_code ec;
  dlerror();  // clear any stale message
  lib->library_.load(fs::absolute(path, fec), ec,
                     boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec || !lib->library_.is_loaded()) {
    const char* why = dlerror();
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a loadable shared library ({}); a plugin is an ELF .so built with the "
        "Kordon SDK for this machine's architecture",
        path, why != nullptr ? why : ec.message()));
  }
  if (pinned != nullptr) {
    // Checked before any of the plugin's functions is called (its ELF constructors have run:
    // dlopen runs them). What remains open is a rewrite of the same inode after this check
    // while pages are not yet faulted in — only someone who may write the plugin file can do
    // that (host/README.md, "Signed plugins").
    std::string error;
    std::optional<signing::FileIdentity> now = signing::IdentityOf(path, &error);
    if (!now || !(*now == *pinned))
      return Status::InvalidArgument(fmt::format(
          "signature check: '{}' was replaced or changed between its signature check and its "
          "loading; it was not run{}", path, now ? "" : " (" + error + ")"));
  }
  if (!lib->library_.has(KORDON_PLUGIN_ENTRY_NAME))
    return Status::NotFound(fmt::format(
        "'{}' does not export the entry point '{}': it is not a Kordon plugin, or it was built "
        "without KORDON_PLUGIN_ENTRY / KORDON_PLUGIN (check with: nm -D --defined-only '{}')",
        path, KORDON_PLUGIN_ENTRY_NAME, path));
  auto entry = lib->library_.get<kordon_status(const kordon_host_offer*,
                                               const kordon_plugin_descriptor**)>(
      KORDON_PLUGIN_ENTRY_NAME);
  return Negotiate(std::move(lib), entry);
}

Result<std::shared_ptr<PluginLibrary>> PluginLibrary::OpenVerified(
    const std::string& path, const signing::FileIdentity& verified, const std::string& hash_hex) {
  Result<std::shared_ptr<PluginLibrary>> lib = Load(path, &verified);
  if (lib.ok()) lib.value()->signed_hash_ = hash_hex;
  return lib;
}

Result<std::shared_ptr<PluginLibrary>> PluginLibrary::OpenStatic(kordon_plugin_entry_fn entry,
                                                                 const std::string& label) {
  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->path_ = label;
  return Negotiate(std::move(lib), entry);
}

std::shared_ptr<PluginLibrary> PluginLibrary::FromDescription(std::string path,
                                                             PluginDescription description,
                                                             std::string signed_hash) {
  std::shared_ptr<PluginLibrary> lib(new PluginLibrary());
  lib->path_ = std::move(path);
  lib->signed_hash_ = std::move(signed_hash);
  lib->description_ = std::move(description);
  return lib;
}

Result<std::shared_ptr<PluginLibrary>> PluginLibrary::Negotiate(
    std::shared_ptr<PluginLibrary> lib, kordon_plugin_entry_fn entry) {
  const std::string& path = lib->path_;
  const kordon_plugin_descriptor* d = nullptr;
  kordon_status rc = entry(&HostOffer(), &d);

  // Only the two frozen fields may be read before the version is known to be ours.
  auto frozen_ok = [&] {
    return d != nullptr && d->struct_size >= offsetof(kordon_plugin_descriptor, abi_version) + sizeof(uint32_t);
  };
  if (rc != KORDON_OK) {
    if (rc == KORDON_E_VERSION && frozen_ok())
      return Status::Version(fmt::format(
          "plugin '{}' implements ABI {} and refused this host, which speaks ABI {}; rebuild the "
          "plugin against SDK {}.x or run a host whose SDK major version is {}",
          path, AbiVersionString(d->abi_version), HostAbiRange(), KORDON_ABI_MAJOR,
          KORDON_ABI_VERSION_MAJOR(d->abi_version)));
    return Status::Version(fmt::format(
        "plugin '{}' refused the host's offer (ABI {}) with {}; ask its vendor for a build "
        "against SDK {}.x", path, HostAbiRange(), kordon_status_name(rc), KORDON_ABI_MAJOR));
  }
  if (!frozen_ok())
    return Status::InvalidArgument(fmt::format(
        "plugin '{}' accepted the offer but returned no usable descriptor (null or under 8 bytes)", path));

  uint32_t v = d->abi_version;
  if (KORDON_ABI_VERSION_MAJOR(v) != KORDON_ABI_MAJOR)
    return Status::Version(fmt::format(
        "plugin '{}' implements ABI {}, a different major version from this host's ABI {}; "
        "rebuild the plugin against SDK {}.x or run a host whose SDK major version is {}",
        path, AbiVersionString(v), HostAbiRange(), KORDON_ABI_MAJOR, KORDON_ABI_VERSION_MAJOR(v)));
  if (v < KORDON_ABI_MIN_SUPPORTED_VERSION)
    return Status::Version(fmt::format(
        "plugin '{}' implements ABI {}, older than the oldest this host loads ({}); rebuild it "
        "against the current SDK", path, AbiVersionString(v), HostAbiRange()));
  if (KORDON_ABI_VERSION_MINOR(v) > KORDON_ABI_MINOR)
    return Status::Version(fmt::format(
        "plugin '{}' implements ABI {}, newer than this host's ABI {}; upgrade kordon-host to "
        "SDK {} or later, or rebuild the plugin against SDK {}",
        path, AbiVersionString(v), HostAbiRange(), AbiVersionString(v),
        AbiVersionString(KORDON_ABI_VERSION)));
  // A 1.x descriptor must hold at least the 1.0 fields.
  if (d->struct_size < kDescriptorV1Size)
    return Status::InvalidArgument(fmt::format(
        "plugin '{}' has a descriptor of {} bytes; ABI {} requires at least {} bytes; the plugin "
        "was built against a damaged or foreign kordon.h — rebuild it against the SDK",
        path, d->struct_size, AbiVersionString(v), kDescriptorV1Size));
  if (d->struct_size > sizeof(kordon_plugin_descriptor))
    return Status::InvalidArgument(fmt::format(
        "plugin '{}' has a descriptor of {} bytes, larger than ABI {} defines ({} bytes) although "
        "it claims ABI {}; the plugin's kordon.h does not match its version — rebuild it",
        path, d->struct_size, AbiVersionString(KORDON_ABI_VERSION), sizeof(kordon_plugin_descriptor),
        AbiVersionString(v)));

  std::vector<std::string> missing;
  if (d->name == nullptr || d->name[0] == '\0') missing.push_back("name");
  if (d->vendor == nullptr || d->vendor[0] == '\0') missing.push_back("vendor");
  if (d->version == nullptr || d->version[0] == '\0') missing.push_back("version");
  if (d->create == nullptr) missing.push_back("create");
  if (d->start == nullptr) missing.push_back("start");
  if (d->stop == nullptr) missing.push_back("stop");
  if (d->handle_message == nullptr) missing.push_back("handle_message");
  if (d->destroy == nullptr) missing.push_back("destroy");
  if (!missing.empty())
    return Status::InvalidArgument(fmt::format(
        "plugin '{}' has an incomplete descriptor: missing {}; every ABI {} plugin must fill "
        "these fields", path, fmt::join(missing, ", "), AbiVersionString(v)));
  if (d->kind == KORDON_KIND_UNSPECIFIED || d->kind > KORDON_KIND_OTHER)
    return Status::InvalidArgument(fmt::format(
        "plugin '{}' has an incomplete descriptor: kind {} is not one of scanner, scale, "
        "database, risk, console, bridge, other", path, d->kind));

  PluginDescription& desc = lib->description_;
  desc.name = d->name;
  desc.kind = d->kind;
  desc.vendor = d->vendor;
  desc.version = d->version;
  desc.description = d->description != nullptr ? d->description : "";
  desc.abi_version = v;
  desc.publishes = CopyList(d->publishes);
  desc.subscribes = CopyList(d->subscribes);
  desc.services = CopyList(d->services);
  for (const std::string& t : desc.publishes)
    if (Status s = ValidateTopicPrefix(t); !s.ok())
      return Status::InvalidArgument(fmt::format("plugin '{}' publishes an invalid topic: {}", path, s.message()));
  for (const std::string& t : desc.subscribes)
    if (Status s = ValidateTopicPrefix(t); !s.ok())
      return Status::InvalidArgument(fmt::format("plugin '{}' subscribes to an invalid prefix: {}", path, s.message()));
  for (const std::string& t : desc.services) {
    if (Status s = ValidateTopic(t); !s.ok() || t == "reply")
      return Status::InvalidArgument(fmt::format(
          "plugin '{}' names an invalid service '{}' (a service name follows the topic rules; 'reply' is reserved)", path, t));
  }
  lib->descriptor_ = d;
  return lib;
}

PluginLibrary::~PluginLibrary() {
  // RTLD_NODELETE on the loaded object: the dlclose that follows leaves it mapped.
  if (library_.is_loaded() && std::getenv("KORDON_KEEP_PLUGINS_LOADED") != nullptr)
    (void)dlopen(path_.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

std::string ResolveLibraryPath(const std::string& library, const HostConfig& config) {
  fs::path base = config.directory.empty() ? fs::current_path() : fs::path(config.directory);
  if (library.find('/') != std::string::npos) {
    fs::path p(library);
    return (p.is_absolute() ? p : base / p).lexically_normal().string();
  }
  std::vector<fs::path> dirs;
  for (const std::string& d : config.plugin_path) {
    fs::path p(d);
    dirs.push_back(p.is_absolute() ? p : base / p);
  }
  boost::dll::fs::error_code ec;
  fs::path exe = boost::dll::program_location(ec);
  if (!ec) {
    dirs.push_back(exe.parent_path() / ".." / "plugins");  // a build tree
#ifdef KORDON_INSTALLED_PLUGIN_DIR
    dirs.push_back(exe.parent_path() / ".." / KORDON_INSTALLED_PLUGIN_DIR);  // installed
#endif
  }
  for (const fs::path& d : dirs) {
    std::error_code fec;
    fs::path candidate = (d / library).lexically_normal();
    if (fs::exists(candidate, fec)) return candidate.string();
  }
  // Not found anywhere: report it against the first place searched.
  return ((dirs.empty() ? base : dirs.front()) / library).lexically_normal().string();
}

}  // namespace kordon::host
