// crossings_cli.h — `kordon crossings`: searches a crossings file written by the crossings
// plugin (plugins/crossings) and shows one crossing. Read-only, so it runs beside a host that
// is writing (WAL).
//
// Thread safety: run from main only.
#ifndef KORDON_HOST_CROSSINGS_CLI_H_
#define KORDON_HOST_CROSSINGS_CLI_H_

// argv[0] is "crossings". Exit codes: 0 done (also when nothing matched), 1 usage error,
// 2 `show`: no such crossing, 3 the file cannot be opened or read.
int CrossingsCommand(int argc, char** argv);

#endif  // KORDON_HOST_CROSSINGS_CLI_H_
