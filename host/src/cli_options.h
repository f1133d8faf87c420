// Command-line parsing shared by the `kordon` subcommands (Boost.Program_options).
// Thread safety: free functions (the tool is single-threaded).
#ifndef KORDON_HOST_CLI_OPTIONS_H_
#define KORDON_HOST_CLI_OPTIONS_H_

#include <exception>
#include <string>

#include <boost/program_options.hpp>

namespace kordon::host {

// The message of an option-parsing error. Use it instead of what() for every Boost.Program_
// options error whose values come from outside (command lines, configuration files): Boost
// 1.74 builds what() by replacing each %placeholder% until none is left, so a value that holds
// its own placeholder ("%value%") never ends (found by fuzz_config). This replaces each
// placeholder once, left to right. Any other exception: its what().
std::string OptionErrorText(const std::exception& e);

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
