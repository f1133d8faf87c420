// users_cli.h — `kordon user`: manages the console's users file (plugins/console/accounts.h):
// add a user with a role, change a password, list, disable or enable. Passwords are read from
// standard input (without echo on a terminal), never from the command line.
//
// Thread safety: run from main only.
#ifndef KORDON_HOST_USERS_CLI_H_
#define KORDON_HOST_USERS_CLI_H_

// argv[0] is "user". Exit codes: 0 done, 1 usage error, 2 refused (no such user, already
// exists, bad name or password), 3 the file cannot be opened or written.
int UsersCommand(int argc, char** argv);

#endif  // KORDON_HOST_USERS_CLI_H_
