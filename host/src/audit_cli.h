// audit_cli.h — `kordon audit verify|show FILE`: the tamper-evident audit log's tools (the
// file is written by plugins/audit; its format is in plugins/audit/README.md).
//
// Thread safety: single-threaded command-line code.
#ifndef KORDON_HOST_AUDIT_CLI_H_
#define KORDON_HOST_AUDIT_CLI_H_

namespace kordon::host {

// argv[0] is "audit". Exit codes: 0 the chain is intact (verify) or the records were shown,
// 1 usage error, 2 the chain is broken (the first broken record is named), 3 the file cannot
// be read as an audit log.
int AuditCommand(int argc, char** argv);

}  // namespace kordon::host

#endif  // KORDON_HOST_AUDIT_CLI_H_
