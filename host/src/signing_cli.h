// signing_cli.h — signed plugins from the command line (see plugin_signature.h):
//   kordon keys generate-signing --out PREFIX    PREFIX.sign.key (0600) + PREFIX.sign.pub
//   kordon plugin sign FILE --key PREFIX.sign.key    writes FILE.sig
//   kordon plugin verify FILE --key PUB [--key PUB ...]    checks FILE.sig
// and the tamper-evident audit log's tools (plugins/audit/audit_log.h):
//   kordon audit verify FILE [--key PUB]    check the hash chain and the head checkpoints
//   kordon audit show FILE [--since T] [--topic P] [--json]
//
// Thread safety: single-threaded command-line code.
#ifndef KORDON_HOST_SIGNING_CLI_H_
#define KORDON_HOST_SIGNING_CLI_H_

namespace kordon::host {

// argv[0] is "generate-signing". Exit codes: 0 written, 1 usage, 2 refused (a file exists).
int GenerateSigningKeyCommand(int argc, char** argv);

// argv[0] is "sign". Exit codes: 0 FILE.sig written, 1 usage, 2 refused (unreadable file or
// key, FILE.sig exists and --force was not given).
int PluginSignCommand(int argc, char** argv);

// argv[0] is "verify". Exit codes: 0 the signature verifies, 1 usage, 2 it does not (the
// reason on stdout: unsigned, malformed, unknown key, bad signature, modified).
int PluginVerifyCommand(int argc, char** argv);

}  // namespace kordon::host

#endif  // KORDON_HOST_SIGNING_CLI_H_
