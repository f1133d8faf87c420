// Loading a plugin library with Boost.DLL and negotiating its ABI version.
#ifndef KORDON_HOST_PLUGIN_LIBRARY_H_
#define KORDON_HOST_PLUGIN_LIBRARY_H_

#include <memory>
#include <string>
#include <vector>

#include <boost/dll/shared_library.hpp>
#include <kordon/kordon.h>

#include "config.h"
#include "plugin_signature.h"
#include "status.h"

namespace kordon::host {

// A descriptor copied into owned strings, safe to keep and print.
struct PluginDescription {
  std::string name;
  kordon_plugin_kind kind = KORDON_KIND_UNSPECIFIED;
  std::string vendor;
  std::string version;
  std::string description;
  uint32_t abi_version = 0;
  std::vector<std::string> publishes;
  std::vector<std::string> subscribes;
  std::vector<std::string> services;
};

const char* KindName(kordon_plugin_kind kind);
std::string AbiVersionString(uint32_t version);  // "1.0"
// A list of topic prefixes for people: "" (every topic) shows as "*"; an empty list as "-".
std::string PrefixList(const std::vector<std::string>& prefixes);

// The host's offer, the same for every plugin.
const kordon_host_offer& HostOffer();

// A loaded, negotiated plugin library. Immutable after Open; shared by every instance that
// uses it, and kept loaded until the last of them is destroyed (never unloaded while any of
// its code may run).
class PluginLibrary {
 public:
  // Loads `path`, calls its entry point with the host's offer and validates the descriptor.
  // Each refusal names the file, both versions where they matter, and what to do.
  static Result<std::shared_ptr<PluginLibrary>> Open(const std::string& path);
  // The same for a file whose signature was verified (require_signed): `verified` is the
  // identity of the file as it was read and hashed. After dlopen the path must still name that
  // very file, unchanged (same inode, size, mtime and ctime), or the library is refused: a file
  // replaced or rewritten between the check and the load is never run. `hash_hex` is kept
  // (signed_hash()) so that kordon-runner loads only the same bytes.
  static Result<std::shared_ptr<PluginLibrary>> OpenVerified(const std::string& path,
                                                             const signing::FileIdentity& verified,
                                                             const std::string& hash_hex);

  // Negotiates with an entry point compiled into this program (tests, benchmarks).
  static Result<std::shared_ptr<PluginLibrary>> OpenStatic(kordon_plugin_entry_fn entry,
                                                           const std::string& label);

  // A library known only by its description (DescribeInChild): its code runs elsewhere.
  static std::shared_ptr<PluginLibrary> FromDescription(std::string path,
                                                        PluginDescription description,
                                                        std::string signed_hash = "");

  const std::string& path() const { return path_; }
  const PluginDescription& description() const { return description_; }
  // REQUIRES: loaded().
  const kordon_plugin_descriptor& descriptor() const { return *descriptor_; }
  // Whether the code is in this process (false for FromDescription).
  bool loaded() const { return descriptor_ != nullptr; }
  // BLAKE2b-512 (hex) of the verified file; "" when no signature was required.
  const std::string& signed_hash() const { return signed_hash_; }

  // Unloads the library, unless KORDON_KEEP_PLUGINS_LOADED is set in the environment: then
  // it stays mapped until the process exits, so that valgrind (kordon plugin check) can name
  // the plugin's functions in the leaks it reports at exit.
  ~PluginLibrary();

 private:
  PluginLibrary() = default;
  // Open; with `pinned`, the file must still have that identity once it is mapped.
  static Result<std::shared_ptr<PluginLibrary>> Load(const std::string& path,
                                                     const signing::FileIdentity* pinned);
  static Result<std::shared_ptr<PluginLibrary>> Negotiate(std::shared_ptr<PluginLibrary> lib,
                                                          kordon_plugin_entry_fn entry);

  std::string path_;
  std::string signed_hash_;
  boost::dll::shared_library library_;
  const kordon_plugin_descriptor* descriptor_ = nullptr;
  PluginDescription description_;
};

// Finds the file for an instance's `library =` value: a value with a '/' is a path relative
// to the configuration's directory; a bare name is searched in plugin_path, then in
// <executable dir>/../plugins (a build tree), then <executable dir>/../lib/kordon/plugins
// (installed; KORDON_PLUGIN_INSTALL_DIR). Returns the path to try (which may not exist).
std::string ResolveLibraryPath(const std::string& library, const HostConfig& config);

}  // namespace kordon::host

#endif  // KORDON_HOST_PLUGIN_LIBRARY_H_
