// risk_cli.h — `kordon risk`: check a risk profile, and compare two profiles by replaying a
// journal export (plugins/risk-rules/README.md, "Replay and compare").
//
// Thread safety: single-threaded command-line code.
#ifndef KORDON_HOST_RISK_CLI_H_
#define KORDON_HOST_RISK_CLI_H_

namespace kordon::host {

// argv[0] is "risk". Exit codes: 0 ok, 1 usage error, 2 a profile is invalid, 3 the replay
// file cannot be read or has a malformed line.
int RiskCommand(int argc, char** argv);

}  // namespace kordon::host

#endif  // KORDON_HOST_RISK_CLI_H_
