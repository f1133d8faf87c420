// journal_cli.h — `kordon journal`: query, export, retention and check of a journal file
// written by the journal plugin (plugins/journal). Works on the file directly, read-only for
// query/export/check, so it runs beside a host that is writing (WAL).
//
// Thread safety: single-threaded command-line code.
#ifndef KORDON_HOST_JOURNAL_CLI_H_
#define KORDON_HOST_JOURNAL_CLI_H_

#include <cstdint>
#include <optional>
#include <string>

namespace kordon::host {

// argv[0] is "journal". Exit codes: 0 ok, 1 usage error, 2 the check found a problem,
// 3 the file cannot be opened or read.
int JournalCommand(int argc, char** argv);

// A time for --since/--until: RFC 3339 ("2026-11-28T01:30:00Z", "...T01:30:00.5+03:00") or
// relative to now_us ("-15m", "-2h", "-1d", "-30s"). nullopt when it is neither.
std::optional<int64_t> ParseJournalTime(const std::string& text, int64_t now_us);

// A duration "30d", "12h", "15m", "45s" in microseconds; nullopt when malformed.
std::optional<int64_t> ParseJournalDuration(const std::string& text);

}  // namespace kordon::host

#endif  // KORDON_HOST_JOURNAL_CLI_H_
