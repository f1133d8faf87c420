// watchlist_cli.h — `kordon watchlist`: imports lists into a watchlist database and checks
// a name, document, plate or VIN against it (plugins/watchlist, README.md).
//
// Thread safety: run from main only.
#ifndef KORDON_HOST_WATCHLIST_CLI_H_
#define KORDON_HOST_WATCHLIST_CLI_H_

// argv[0] is "watchlist". Exit codes: 0 done, 1 usage error, 2 the file was refused
// (nothing imported), 3 the database could not be opened or written.
int WatchlistCommand(int argc, char** argv);

#endif  // KORDON_HOST_WATCHLIST_CLI_H_
