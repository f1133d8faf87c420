// plugin_new.h — `kordon plugin new NAME --kind KIND [--lang c|cpp] [--dir DIR]`: a
// ready-to-build plugin folder for a vendor (see plugin_new.cpp).
//
// Thread safety: single-threaded command-line code.
#ifndef KORDON_HOST_PLUGIN_NEW_H_
#define KORDON_HOST_PLUGIN_NEW_H_

namespace kordon::host {

// argv[0] is "new". Exit codes: 0 written, 1 usage error or the folder cannot be written.
int PluginNewCommand(int argc, char** argv);

}  // namespace kordon::host

#endif  // KORDON_HOST_PLUGIN_NEW_H_
