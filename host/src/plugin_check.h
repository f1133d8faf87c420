// plugin_check.h — `kordon plugin check FILE`: the conformance checker a vendor (and
// `make test`, for every bundled plugin) runs before a plugin goes to a site.
//
// Everything the plugin does runs in child processes — `kordon plugin info` for the
// descriptor, real kordon-host processes for the rest — so a plugin that crashes or hangs
// fails a check instead of taking the checker down. See sdk/README.md, "Checking a plugin".
//
// Thread safety: single-threaded command-line code.
#ifndef KORDON_HOST_PLUGIN_CHECK_H_
#define KORDON_HOST_PLUGIN_CHECK_H_

namespace kordon::host {

// argv[0] is "check" (after "plugin"). Exit codes: 0 every check passed, 1 usage error,
// 2 a check failed.
int PluginCheckCommand(int argc, char** argv);

}  // namespace kordon::host

#endif  // KORDON_HOST_PLUGIN_CHECK_H_
