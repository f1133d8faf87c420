// script_cli.h — `kordon script`: check a site procedure, and test it against a recorded
// stream with a simulated clock (scripts/README.md, "Testing a procedure").
//
// Thread safety: single-threaded command-line code.
#ifndef KORDON_HOST_SCRIPT_CLI_H_
#define KORDON_HOST_SCRIPT_CLI_H_

namespace kordon::host {

// argv[0] is "script". Exit codes: 0 ok, 1 usage error, 2 the script has problems, failed or
// did not meet its expectation, 3 an input file cannot be read or is malformed.
int ScriptCommand(int argc, char** argv);

}  // namespace kordon::host

#endif  // KORDON_HOST_SCRIPT_CLI_H_
