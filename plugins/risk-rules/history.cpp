// history.cpp — see history.h.
#include "history.h"

#include <utility>

namespace kordon::risk {

std::unique_ptr<CarrierHistory> CarrierHistory::Open(const std::string& path,
                                                     std::string* error) {
  sqlite::DbStatus st;
  std::unique_ptr<sqlite::Db> db = sqlite::Db::Open(path, sqlite::OpenOptions(), &st);
  if (!db) {
    *error = st.message;
    return nullptr;
  }
  st = db->Exec(
      "CREATE TABLE IF NOT EXISTS carrier_crossings ("
      "  crossing_id TEXT PRIMARY KEY,"
      "  carrier TEXT NOT NULL,"
      "  channel TEXT NOT NULL,"
      "  refused INTEGER NOT NULL,"
      "  time_us INTEGER NOT NULL);"
      "CREATE INDEX IF NOT EXISTS carrier_crossings_by_carrier ON carrier_crossings(carrier);");
  if (!st.ok()) {
    *error = st.message;
    return nullptr;
  }
  std::unique_ptr<CarrierHistory> h(new CarrierHistory(std::move(db)));
  h->record_ = h->db_->Prepare(
      "INSERT INTO carrier_crossings(crossing_id, carrier, channel, refused, time_us) "
      "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(crossing_id) DO UPDATE SET "
      "carrier = excluded.carrier, channel = excluded.channel, "
      "refused = max(refused, excluded.refused), time_us = excluded.time_us",
      &st);
  if (st.ok())
    h->count_ = h->db_->Prepare(
        "SELECT count(*) FROM carrier_crossings WHERE carrier = ?1 AND crossing_id != ?2 "
        "AND (channel = 'red' OR refused != 0)",
        &st);
  if (!st.ok()) {
    *error = st.message;
    return nullptr;
  }
  return h;
}

sqlite::DbStatus CarrierHistory::Record(const std::string& crossing_id,
                                        const std::string& carrier, const std::string& channel,
                                        bool refused, int64_t time_us) {
  record_.Reset();
  record_.Bind(1, crossing_id).Bind(2, carrier).Bind(3, channel).Bind(4, refused ? 1 : 0)
      .Bind(5, time_us);
  return record_.Run();
}

std::optional<int64_t> CarrierHistory::RedCount(const std::string& carrier,
                                                const std::string& crossing_id,
                                                std::string* error) {
  count_.Reset();
  count_.Bind(1, carrier).Bind(2, crossing_id);
  if (count_.Next() != sqlite::Statement::Step::kRow) {
    *error = count_.status().message;
    count_.Reset();
    return std::nullopt;
  }
  const int64_t n = count_.Int(0);
  count_.Reset();  // ends the read: an open statement would hold back WAL checkpoints
  return n;
}

}  // namespace kordon::risk
