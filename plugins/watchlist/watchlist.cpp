// watchlist.cpp — see watchlist.h.

#include "watchlist.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "names.h"
#include "utf8.h"

namespace kordon::watchlist {
namespace {

// How many listed names a part's candidate list may hold and still be scanned (see
// CheckName, step 2).
constexpr size_t kScanCap = 4096;
constexpr size_t kHardCap = 65536;

// Score factors (README.md, "Scores").
constexpr double kNoDateFactor = 0.90;      // either side has no date of birth
constexpr double kYearOnlyFactor = 0.95;    // the years agree, a full date is on one side only
constexpr double kNationalityFactor = 0.90; // both nationalities known and different

std::string Plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The distance between two parts: the best over their key variants (limit + 1: too far).
size_t PartDistance(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b,
                    size_t* length) {
  size_t best = SIZE_MAX;
  for (std::string_view x : a)
    for (std::string_view y : b) {
      const size_t len = std::max(x.size(), y.size());
      const size_t limit = AllowedTypos(std::min(x.size(), y.size()));
      const size_t d = DamerauLevenshtein(x, y, limit);
      if (d <= limit && d < best) {
        best = d;
        *length = len;
      }
    }
  return best;
}

struct Pairing {
  size_t query_part;
  size_t entry_part;
  size_t distance;
  double similarity;
};

// Greedy one-to-one pairing of parts, most similar first. Names have at most kMaxParts parts.
std::vector<Pairing> PairParts(const std::vector<std::vector<std::string_view>>& q,
                               const std::vector<std::vector<std::string_view>>& e) {
  std::vector<Pairing> all;
  for (size_t i = 0; i < q.size(); ++i)
    for (size_t j = 0; j < e.size(); ++j) {
      size_t length = 1;
      const size_t d = PartDistance(q[i], e[j], &length);
      if (d == SIZE_MAX) continue;
      // A letter that differs costs half its share of the part: one typo in a six-letter
      // surname scores 0.92, two in a ten-letter one 0.90.
      all.push_back({i, j, d, 1.0 - 0.5 * static_cast<double>(d) / static_cast<double>(length)});
    }
  std::sort(all.begin(), all.end(), [](const Pairing& a, const Pairing& b) {
    if (a.similarity != b.similarity) return a.similarity > b.similarity;
    return a.query_part + a.entry_part < b.query_part + b.entry_part;
  });
  std::vector<Pairing> chosen;
  uint32_t used_q = 0, used_e = 0;
  for (const Pairing& p : all) {
    if ((used_q >> p.query_part) & 1u || (used_e >> p.entry_part) & 1u) continue;
    used_q |= 1u << p.query_part;
    used_e |= 1u << p.entry_part;
    chosen.push_back(p);
  }
  return chosen;
}

bool IsFullDate(std::string_view d) { return d.size() == 10; }

// The date of birth as a constraint. Returns the factor (0: no hit) and says why in *why.
double CompareBirthDates(std::string_view query, const std::vector<std::string>& entry,
                         std::string* why) {
  if (query.empty() || !IsValidBirthDate(query) || entry.empty()) {
    *why = "date of birth not compared (" +
           std::string(entry.empty() ? "not listed" : "not known for the traveller") + ")";
    return kNoDateFactor;
  }
  double best = 0;
  for (const std::string& d : entry) {
    if (IsFullDate(query) && IsFullDate(d)) {
      if (query == d) {
        *why = "date of birth " + d + " equal";
        return 1.0;
      }
      continue;
    }
    if (query.substr(0, 4) == std::string_view(d).substr(0, 4) && best < kYearOnlyFactor) {
      best = kYearOnlyFactor;
      *why = "year of birth " + d.substr(0, 4) + " equal (full date on one side only)";
    }
  }
  if (best == 0) {
    std::string listed;
    for (const std::string& d : entry) listed += (listed.empty() ? "" : " or ") + d;
    *why = "date of birth " + std::string(query) + " differs from " + listed;
  }
  return best;
}

void Merge(uint32_t entry_index, Hit hit, std::unordered_map<uint32_t, Hit>* best) {
  auto [it, inserted] = best->try_emplace(entry_index, hit);
  if (inserted) return;
  Hit& old = it->second;
  old.explanation += "; " + hit.explanation;
  old.matched += "+" + hit.matched;
  old.score = std::max(old.score, hit.score);
}

}  // namespace

bool IsValidBirthDate(std::string_view date) {
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i)
      if (date[i] < '0' || date[i] > '9') return false;
    return true;
  };
  if (date.size() == 4) return digits(0, 4) && date[0] != '0';
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return false;
  if (!digits(0, 4) || !digits(5, 2) || !digits(8, 2) || date[0] == '0') return false;
  const int y = std::stoi(std::string(date.substr(0, 4)));
  const unsigned m = static_cast<unsigned>(std::stoi(std::string(date.substr(5, 2))));
  const unsigned d = static_cast<unsigned>(std::stoi(std::string(date.substr(8, 2))));
  return std::chrono::year_month_day(std::chrono::year(y), std::chrono::month(m),
                                     std::chrono::day(d))
      .ok();
}

std::string ValidateEntry(const Entry& e) {
  if (e.id.empty()) return "the id is empty";
  if (e.id.size() > 128) return "the id is longer than 128 bytes";
  if (!kordon::text::IsValidUtf8(e.id) || !kordon::text::IsValidUtf8(e.reason))
    return "text that is not UTF-8";
  if (e.kind == "person") {
    if (e.names.empty() && e.documents.empty())
      return "a person needs a name or a document number";
  } else if (e.kind == "document") {
    if (e.documents.empty()) return "a document entry needs a document number";
  } else if (e.kind == "vehicle") {
    if (e.plates.empty() && e.vins.empty()) return "a vehicle entry needs a plate or a VIN";
  } else {
    return "kind '" + e.kind + "' is not person, document or vehicle";
  }
  for (const std::string& n : e.names) {
    if (!kordon::text::IsValidUtf8(n)) return "a name that is not UTF-8";
    if (SplitName(n).empty()) return "name '" + n + "' has no letters";
  }
  for (const std::string& d : e.birth_dates)
    if (!IsValidBirthDate(d)) return "birth date '" + d + "' is not YYYY-MM-DD or YYYY";
  for (const Document& d : e.documents)
    if (d.number.empty()) return "an empty document number";
  for (const Plate& p : e.plates)
    if (p.plate.empty()) return "an empty plate";
  for (const std::string& v : e.vins)
    if (v.empty()) return "an empty VIN";
  return "";
}

uint32_t Snapshot::Intern(const std::string& key) {
  auto [it, inserted] = key_ids_.try_emplace(key, static_cast<uint32_t>(vocabulary_.size()));
  if (inserted) {
    vocabulary_.push_back(key);
    postings_.emplace_back();
  }
  return it->second;
}

void Snapshot::AddName(uint32_t entry, uint16_t alias, std::string_view name) {
  std::vector<NamePart> parts = SplitName(name);
  if (parts.empty()) return;
  const auto name_id = static_cast<uint32_t>(names_.size());
  names_.push_back({entry, static_cast<uint32_t>(parts_.size()), alias,
                    static_cast<uint8_t>(parts.size())});
  for (const NamePart& p : parts) {
    parts_.push_back({static_cast<uint32_t>(part_keys_.size()),
                      static_cast<uint8_t>(p.keys.size())});
    for (const std::string& k : p.keys) {
      const uint32_t id = Intern(k);
      part_keys_.push_back(id);
      std::vector<uint32_t>& list = postings_[id];
      if (list.empty() || list.back() != name_id) list.push_back(name_id);
    }
  }
}

std::shared_ptr<const Snapshot> Snapshot::Build(std::vector<Entry> entries) {
  std::shared_ptr<Snapshot> s(new Snapshot());
  s->entries_ = std::move(entries);
  for (uint32_t i = 0; i < s->entries_.size(); ++i) {
    const Entry& e = s->entries_[i];
    for (size_t a = 0; a < e.names.size() && a < 0xFFFF; ++a)
      s->AddName(i, static_cast<uint16_t>(a), e.names[a]);
    for (const Document& d : e.documents) s->documents_[d.number].push_back(i);
    for (const Plate& p : e.plates) s->plates_[p.plate].push_back(i);
    for (const std::string& v : e.vins) s->vins_[v].push_back(i);
  }
  // The deletion neighbourhood of the vocabulary (not of every name): a query key and its
  // deletions meet a listed key and its single deletions within the allowed distance.
  for (uint32_t id = 0; id < s->vocabulary_.size(); ++id) {
    const std::string& k = s->vocabulary_[id];
    s->deletions_[k].push_back(id);
    if (AllowedTypos(k.size()) == 0) continue;
    for (size_t i = 0; i < k.size(); ++i) {
      if (i > 0 && k[i] == k[i - 1]) continue;  // the same deletion twice
      std::string d = k.substr(0, i) + k.substr(i + 1);
      std::vector<uint32_t>& list = s->deletions_[d];
      if (list.empty() || list.back() != id) list.push_back(id);
    }
  }
  return s;
}

size_t Snapshot::IndexBytes() const {
  size_t bytes = names_.capacity() * sizeof(NameRecord) + parts_.capacity() * sizeof(PartRecord) +
                 part_keys_.capacity() * sizeof(uint32_t);
  for (const std::string& v : vocabulary_) bytes += sizeof(std::string) + v.capacity() + 1;
  for (const auto& p : postings_) bytes += sizeof(p) + p.capacity() * sizeof(uint32_t);
  // Hash maps: a node (key, value, next pointer, cached hash) plus a bucket pointer.
  auto map_bytes = [](const auto& map) {
    size_t b = map.bucket_count() * sizeof(void*);
    for (const auto& [k, v] : map)
      b += sizeof(k) + sizeof(v) + 2 * sizeof(void*) + v.capacity() * sizeof(uint32_t) +
           (k.capacity() > 15 ? k.capacity() + 1 : 0);
    return b;
  };
  bytes += map_bytes(deletions_) + map_bytes(documents_) + map_bytes(plates_) + map_bytes(vins_);
  bytes += key_ids_.bucket_count() * sizeof(void*) +
           key_ids_.size() * (sizeof(std::string) + sizeof(uint32_t) + 2 * sizeof(void*));
  return bytes;
}

void Snapshot::CheckName(const Query& query, const MatchOptions& options,
                         std::unordered_map<uint32_t, Hit>* best) const {
  const std::vector<NamePart> q = SplitName(query.name);
  if (q.empty()) return;
  // 1. Each query part against the vocabulary: listed keys at most one edit away (the
  // query key's single deletions meet a listed key or one of its single deletions). Parts
  // two edits away are scored in step 3 but do not select candidates: near a common key
  // they would select thousands.
  std::vector<std::vector<uint32_t>> matched(q.size());
  std::vector<size_t> list_sizes(q.size(), 0);
  std::vector<std::string> probes;
  for (size_t i = 0; i < q.size(); ++i) {
    std::vector<uint32_t> ids;
    for (const std::string& key : q[i].keys) {
      probes.clear();
      probes.push_back(key);
      if (AllowedTypos(key.size()) > 0)
        for (size_t a = 0; a < key.size(); ++a)
          if (a == 0 || key[a] != key[a - 1])
            probes.push_back(key.substr(0, a) + key.substr(a + 1));
      for (const std::string& probe : probes) {
        auto it = deletions_.find(probe);
        if (it == deletions_.end()) continue;
        for (uint32_t id : it->second) {
          const std::string& listed = vocabulary_[id];
          const size_t limit =
              std::min<size_t>(1, AllowedTypos(std::min(key.size(), listed.size())));
          if (DamerauLevenshtein(key, listed, limit) <= limit) ids.push_back(id);
        }
      }
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    matched[i] = std::move(ids);
    for (uint32_t id : matched[i]) list_sizes[i] += postings_[id].size();
  }
  // 2. Candidates. A listed name of two or more parts must agree with a query of two or more
  // on at least two parts. Candidates come from the rarest part's list (always, up to
  // kHardCap names) and from the other lists but the most common one when they are short
  // (up to kScanCap); each must then be on a second list (binary search in the postings)
  // before it is scored. So a name is found through its rarer parts: two parts that are
  // each shared by thousands of listed names (two common given names) select nothing alone.
  std::vector<size_t> order(q.size());
  for (size_t i = 0; i < q.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return list_sizes[a] < list_sizes[b]; });
  std::vector<uint32_t> candidates;
  for (size_t k = 0; k < order.size(); ++k) {
    const size_t i = order[k];
    const bool rarest = k == 0;
    if (!rarest && (k + 1 == order.size() || list_sizes[i] > kScanCap)) continue;
    if (rarest && list_sizes[i] > kHardCap) continue;
    for (uint32_t id : matched[i])
      candidates.insert(candidates.end(), postings_[id].begin(), postings_[id].end());
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  auto on_list = [&](size_t i, uint32_t name_id) {
    for (uint32_t id : matched[i])
      if (std::binary_search(postings_[id].begin(), postings_[id].end(), name_id)) return true;
    return false;
  };

  // 3. Score each candidate name.
  std::vector<std::vector<std::string_view>> qk(q.size());
  for (size_t i = 0; i < q.size(); ++i)
    for (const std::string& k : q[i].keys) qk[i].push_back(k);
  std::vector<std::vector<std::string_view>> ek;
  std::unordered_map<uint32_t, int> exactness;  // entry -> exact parts of its reported alias
  for (uint32_t name_id : candidates) {
    const NameRecord& rec = names_[name_id];
    if (q.size() > 1 && rec.part_count > 1) {
      size_t lists = 0;
      for (size_t i = 0; i < q.size() && lists < 2; ++i) lists += on_list(i, name_id);
      if (lists < 2) continue;
    }
    ek.assign(rec.part_count, {});
    for (size_t j = 0; j < rec.part_count; ++j) {
      const PartRecord& part = parts_[rec.first_part + j];
      for (size_t k = 0; k < part.key_count; ++k)
        ek[j].push_back(vocabulary_[part_keys_[part.first_key + k]]);
    }
    const std::vector<Pairing> pairs = PairParts(qk, ek);
    const size_t most = std::max(q.size(), ek.size());
    const size_t fewest = std::min(q.size(), ek.size());
    // Every part of the shorter name, and two parts whenever either name has two.
    if (pairs.size() < fewest || pairs.size() < std::min<size_t>(2, most)) continue;
    double sum = 0;
    for (const Pairing& p : pairs) sum += p.similarity;
    double score = sum / static_cast<double>(pairs.size()) *
                   (0.9 + 0.1 * static_cast<double>(pairs.size()) / static_cast<double>(most));
    const Entry& entry = entries_[rec.entry];
    std::string date_why;
    score *= CompareBirthDates(query.birth_date, entry.birth_dates, &date_why);
    std::string nationality_why;
    if (query.nationality.size() == 3 && !entry.nationalities.empty()) {
      const bool same = std::find(entry.nationalities.begin(), entry.nationalities.end(),
                                  query.nationality) != entry.nationalities.end();
      bool comparable = false;
      for (const std::string& n : entry.nationalities) comparable |= n.size() == 3;
      if (same) {
        nationality_why = "nationality " + query.nationality + " equal";
      } else if (comparable) {
        score *= kNationalityFactor;
        nationality_why = "nationality " + query.nationality + " differs from " +
                          entry.nationalities.front();
      }
    }
    if (score < options.min_score) continue;
    // Of two aliases that score alike, the one written like the query explains it best.
    int exact = 0;
    for (const Pairing& p : pairs) exact += p.distance == 0 ? 1 : 0;
    const std::vector<NamePart> e = SplitName(entry.names[rec.alias]);
    for (const Pairing& p : pairs)
      exact += q[p.query_part].latin == e[p.entry_part].latin &&
               q[p.query_part].cyrillic == e[p.entry_part].cyrillic;
    auto old = best->find(rec.entry);
    if (old != best->end() && old->second.matched == "name") {
      const int old_exact = exactness[rec.entry];
      if (old->second.score > score || (old->second.score == score && old_exact >= exact))
        continue;  // another alias of this entry matched as well or better
    }
    exactness[rec.entry] = exact;
    // The explanation: each pair in words, then the date and the nationality.
    std::vector<Pairing> ordered = pairs;
    std::sort(ordered.begin(), ordered.end(),
              [](const Pairing& a, const Pairing& b) { return a.query_part < b.query_part; });
    std::string why;
    for (const Pairing& p : ordered) {
      const NamePart& a = q[p.query_part];
      const NamePart& b = e[p.entry_part];
      const char* role = query.surname_parts == 0          ? "name part"
                         : p.query_part < query.surname_parts ? "surname"
                                                              : "given name";
      std::string how;
      const bool scripts_differ = a.cyrillic != b.cyrillic;
      if (p.distance == 0) {
        if (scripts_differ) how = " (transliteration)";
        else if (a.latin != b.latin) how = " (spelling variant)";
      } else {
        how = std::string(" (") + (scripts_differ ? "transliteration, " : "") +
              Plural(p.distance, "letter differs", "letters differ") + ")";
      }
      why += (why.empty() ? "" : ", ") + std::string(role) + " " + a.raw + " = " + b.raw + how;
    }
    if (ek.size() > pairs.size())
      why += ", " + Plural(ek.size() - pairs.size(), "listed name part", "listed name parts") +
             " not on the document";
    why += ", " + date_why;
    if (!nationality_why.empty()) why += ", " + nationality_why;
    if (entry.names.size() > 1 && rec.alias > 0) why += " (alias " + entry.names[rec.alias] + ")";
    if (old != best->end() && old->second.matched == "name") best->erase(old);
    Merge(rec.entry, Hit{&entry, score, "name", why}, best);
  }
}

std::vector<Hit> Snapshot::Check(const Query& query, const MatchOptions& options) const {
  std::unordered_map<uint32_t, Hit> best;
  if (!query.document_number.empty()) {
    const std::string number = NormaliseDocumentNumber(query.document_number);
    if (auto it = documents_.find(number); it != documents_.end())
      for (uint32_t i : it->second) {
        const Entry& e = entries_[i];
        for (const Document& d : e.documents) {
          if (d.number != number) continue;
          std::string why = "document number " + number + " listed";
          if (!d.country.empty() && !query.document_country.empty()) {
            if (d.country != query.document_country) continue;  // another country's document
            why += ", issued by " + d.country;
          }
          Merge(i, Hit{&e, 1.0, "document", why}, &best);
          break;
        }
      }
  }
  if (!query.plate.empty())
    if (auto it = plates_.find(query.plate); it != plates_.end())
      for (uint32_t i : it->second) {
        const Entry& e = entries_[i];
        for (const Plate& p : e.plates) {
          if (p.plate != query.plate) continue;
          std::string why = "plate " + p.plate + " listed";
          if (!p.country.empty() && !query.plate_country.empty()) {
            if (p.country != query.plate_country) continue;
            why += ", country " + p.country + " equal";
          }
          Merge(i, Hit{&e, 1.0, "plate", why}, &best);
          break;
        }
      }
  if (!query.vin.empty()) {
    const std::string vin = NormaliseVin(query.vin);
    if (auto it = vins_.find(vin); it != vins_.end())
      for (uint32_t i : it->second)
        Merge(i, Hit{&entries_[i], 1.0, "vin", "VIN " + vin + " listed"}, &best);
  }
  if (!query.name.empty()) CheckName(query, options, &best);

  std::vector<Hit> hits;
  for (auto& [index, hit] : best)
    if (hit.score >= options.min_score) hits.push_back(std::move(hit));
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.entry->list != b.entry->list) return a.entry->list < b.entry->list;
    return a.entry->id < b.entry->id;
  });
  if (hits.size() > options.max_hits) hits.resize(options.max_hits);
  for (Hit& h : hits) h.score = std::round(h.score * 1000) / 1000;
  return hits;
}

}  // namespace kordon::watchlist
