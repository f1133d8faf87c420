// manifest_cli.h — `kordon manifest`: imports cargo declarations (JSON Lines or CSV) into a
// manifest database and looks them up by plate, container or number (plugins/manifest,
// README.md). Works on the file directly; a running manifest plugin sees the rows at once.
//
// Thread safety: run from main only.
#ifndef KORDON_HOST_MANIFEST_CLI_H_
#define KORDON_HOST_MANIFEST_CLI_H_

// argv[0] is "manifest". Exit codes: 0 done (lookup: found), 1 usage error, 2 a file was
// refused (nothing imported; every bad line on stderr), 3 the database could not be opened,
// read or written (nothing imported), 4 (lookup) nothing found.
int ManifestCommand(int argc, char** argv);

#endif  // KORDON_HOST_MANIFEST_CLI_H_
