// watchlist.h — watchlist entries and the immutable match index built from them (a
// "snapshot"): exact matching of document numbers, plates and VINs, fuzzy matching of names
// across Cyrillic and Latin with the date of birth as a constraint. See README.md.
//
// Thread safety: a Snapshot is immutable after Build; any number of threads may call Check
// on one at once. Swap snapshots with std::atomic<std::shared_ptr<const Snapshot>> (see
// Watchlist below): a reader keeps the one it loaded for as long as it holds the pointer.
#ifndef KORDON_PLUGINS_WATCHLIST_WATCHLIST_H_
#define KORDON_PLUGINS_WATCHLIST_WATCHLIST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kordon::watchlist {

struct Document {
  std::string number;   // normalised (NormaliseDocumentNumber)
  std::string country;  // issuing country as given (ISO 3166 alpha-3 usually), "" unknown
};

struct Plate {
  std::string plate;    // normalised (kordon::plate::NormalisePlate)
  std::string country;  // ISO 3166-1 alpha-2 as plate-reader publishes it, "" unknown
};

struct Entry {
  std::string list;                      // list name (the import's --list)
  std::string id;                        // unique within the list
  std::string kind;                      // "person", "document" or "vehicle"
  std::vector<std::string> names;        // person: each alias in any script
  std::vector<std::string> birth_dates;  // person: "YYYY-MM-DD" or "YYYY"
  std::vector<std::string> nationalities;
  std::vector<Document> documents;
  std::vector<Plate> plates;
  std::vector<std::string> vins;         // normalised (NormaliseVin)
  std::string reason;                    // why it is listed
};

// What is checked; any subset of the fields may be set.
struct Query {
  std::string name;           // whole name, any script, any order (MRZ "A<<B" too)
  size_t surname_parts = 0;   // how many leading parts of `name` are the surname (0: unknown)
  std::string birth_date;     // "YYYY-MM-DD" or "YYYY"; "" or "unknown": not known
  std::string nationality;
  std::string document_number;
  std::string document_country;
  std::string plate;          // normalised
  std::string plate_country;
  std::string vin;
};

struct Hit {
  const Entry* entry = nullptr;  // points into the snapshot that produced the hit
  double score = 0;              // 0..1
  std::string matched;           // "name", "document", "plate" or "vin"
  std::string explanation;       // plain words
};

struct MatchOptions {
  double min_score = 0.85;
  size_t max_hits = 5;
};

class Snapshot {
 public:
  // Builds the index. Entries must be valid (see ValidateEntry); never throws except
  // std::bad_alloc.
  static std::shared_ptr<const Snapshot> Build(std::vector<Entry> entries);

  // Hits for the query, best first, at most options.max_hits, each at least min_score.
  // REQUIRES: the caller keeps this snapshot alive while it uses the hits.
  std::vector<Hit> Check(const Query& query, const MatchOptions& options) const;

  size_t size() const { return entries_.size(); }
  const std::vector<Entry>& entries() const { return entries_; }
  size_t name_count() const { return names_.size(); }
  size_t vocabulary_size() const { return vocabulary_.size(); }
  // An estimate of the heap the index holds (entries excluded), in bytes.
  size_t IndexBytes() const;

 private:
  struct NameRecord {
    uint32_t entry;
    uint32_t first_part;  // into parts_
    uint16_t alias;
    uint8_t part_count;
  };
  struct PartRecord {
    uint32_t first_key;  // into part_keys_
    uint8_t key_count;
  };
  Snapshot() = default;
  void AddName(uint32_t entry, uint16_t alias, std::string_view name);
  uint32_t Intern(const std::string& key);
  void CheckName(const Query& query, const MatchOptions& options,
                 std::unordered_map<uint32_t, Hit>* best) const;

  std::vector<Entry> entries_;
  std::vector<NameRecord> names_;
  std::vector<PartRecord> parts_;
  std::vector<uint32_t> part_keys_;                       // vocabulary ids
  std::vector<std::string> vocabulary_;                   // folded keys
  std::unordered_map<std::string, uint32_t> key_ids_;     // key -> vocabulary id
  std::vector<std::vector<uint32_t>> postings_;           // vocabulary id -> names_ ids
  std::unordered_map<std::string, std::vector<uint32_t>> deletions_;  // 0/1-deletion -> ids
  std::unordered_map<std::string, std::vector<uint32_t>> documents_;  // number -> entries
  std::unordered_map<std::string, std::vector<uint32_t>> plates_;
  std::unordered_map<std::string, std::vector<uint32_t>> vins_;
};

// An entry that a snapshot can hold: kind known, id present, what the kind needs present,
// dates well-formed. "" when valid, else the reason.
std::string ValidateEntry(const Entry& entry);

// "YYYY-MM-DD" (a real date) or "YYYY": true.
bool IsValidBirthDate(std::string_view date);

// The current snapshot of a watchlist, replaced as a whole.
class Watchlist {
 public:
  Watchlist() : current_(Snapshot::Build({})) {}
  std::shared_ptr<const Snapshot> Current() const { return current_.load(); }
  void Replace(std::shared_ptr<const Snapshot> next) { current_.store(std::move(next)); }

 private:
  std::atomic<std::shared_ptr<const Snapshot>> current_;
};

}  // namespace kordon::watchlist

#endif  // KORDON_PLUGINS_WATCHLIST_WATCHLIST_H_
