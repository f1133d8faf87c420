// history.h — the risk plugin's own small record of decisions per carrier (SQLite, WAL, via
// plugins/common/sqlite_db.h), behind the fact `carrier_red_history`: how many other
// crossings of the same carrier were last assessed red or were refused.
//
// One row per crossing (its latest channel), replaced on each assessment; the file survives
// restarts. No SDK types.
//
// Thread safety: one CarrierHistory is one connection; use it from one thread.
#ifndef KORDON_PLUGINS_RISK_RULES_HISTORY_H_
#define KORDON_PLUGINS_RISK_RULES_HISTORY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "sqlite_db.h"

namespace kordon::risk {

class CarrierHistory {
 public:
  // Opens (creates) the file; nullptr and *error on failure.
  static std::unique_ptr<CarrierHistory> Open(const std::string& path, std::string* error);

  // Records the crossing's latest channel ("green" … "red") and whether it was refused.
  sqlite::DbStatus Record(const std::string& crossing_id, const std::string& carrier,
                          const std::string& channel, bool refused, int64_t time_us);

  // Crossings of `carrier` other than `crossing_id` last assessed red or refused; nullopt
  // (and *error) when the file cannot be read.
  std::optional<int64_t> RedCount(const std::string& carrier, const std::string& crossing_id,
                                  std::string* error);

 private:
  explicit CarrierHistory(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
  std::unique_ptr<sqlite::Db> db_;
  sqlite::Statement record_;
  sqlite::Statement count_;
};

}  // namespace kordon::risk

#endif  // KORDON_PLUGINS_RISK_RULES_HISTORY_H_
