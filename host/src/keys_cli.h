// keys_cli.h — `kordon keys generate --out PREFIX`: a CURVE key pair for a secure link,
// PREFIX.key (the secret key, mode 0600) and PREFIX.pub (see plugins/common/curve.h and
// plugins/bridge/README.md).
//
// Thread safety: single-threaded command-line code.
#ifndef KORDON_HOST_KEYS_CLI_H_
#define KORDON_HOST_KEYS_CLI_H_

namespace kordon::host {

// argv[0] is "keys". Exit codes: 0 ok, 1 usage error, 2 the files could not be written
// (one exists already, a directory is missing) or CURVE is unavailable.
int KeysCommand(int argc, char** argv);

}  // namespace kordon::host

#endif  // KORDON_HOST_KEYS_CLI_H_
