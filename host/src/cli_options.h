// Command-line parsing shared by the `kordon` subcommands (Boost.Program_options).
// Thread safety: free functions (the tool is single-threaded).
#ifndef KORDON_HOST_CLI_OPTIONS_H_
#define KORDON_HOST_CLI_OPTIONS_H_

#include <boost/program_options.hpp>

namespace kordon::host {

// Parses argv into *vm. Adds --help (-h) to `options` unless it has one. Returns false when the
// command should end at once with *exit_code: 1 after printing "COMMAND: the error" and `usage`
// to stderr, 0 after printing `usage` and the options for --help. `command` names the
// subcommand in the error ("kordon journal stats").
bool ParseCommandLine(int argc, char** argv, boost::program_options::options_description& options,
                      const boost::program_options::positional_options_description& positional,
                      const char* usage, boost::program_options::variables_map* vm,
                      int* exit_code, const char* command = "kordon");

}  // namespace kordon::host

#endif  // KORDON_HOST_CLI_OPTIONS_H_
