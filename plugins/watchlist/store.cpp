// store.cpp — see store.h.

#include "store.h"

#include <expat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "csv.h"
#include "names.h"
#include "plate.h"
#include "utf8.h"

namespace kordon::watchlist {
namespace {

constexpr size_t kMaxFileBytes = size_t{1} << 30;
constexpr size_t kMaxReasonBytes = 1000;

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t a = s.find_first_not_of(ws);
  if (a == std::string_view::npos) return "";
  const size_t b = s.find_last_not_of(ws);
  return std::string(s.substr(a, b - a + 1));
}

// "a; b;c" -> {"a", "b", "c"}; empty items dropped.
std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(';', start);
    if (end == std::string_view::npos) end = s.size();
    std::string item = Trim(s.substr(start, end - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

// "NUMBER/COUNTRY" -> (NUMBER, COUNTRY); no slash: country "".
std::pair<std::string, std::string> SplitCountry(const std::string& item) {
  const size_t slash = item.rfind('/');
  if (slash == std::string::npos) return {item, ""};
  return {Trim(std::string_view(item).substr(0, slash)),
          Trim(std::string_view(item).substr(slash + 1))};
}

std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return s;
}

// Fills the entry's fields from one CSV column; "" or the reason it is wrong.
std::string SetColumn(Entry* e, const std::string& column, const std::string& value) {
  if (column == "id") {
    e->id = Trim(value);
  } else if (column == "kind") {
    e->kind = Trim(value);
  } else if (column == "names") {
    e->names = SplitList(value);
  } else if (column == "birth_dates") {
    e->birth_dates = SplitList(value);
  } else if (column == "nationalities") {
    for (std::string& n : SplitList(value)) e->nationalities.push_back(Upper(std::move(n)));
  } else if (column == "documents") {
    for (const std::string& item : SplitList(value)) {
      auto [number, country] = SplitCountry(item);
      std::string normalised = NormaliseDocumentNumber(number);
      if (normalised.empty()) return "document number '" + item + "' has no letters or digits";
      e->documents.push_back({std::move(normalised), Upper(country)});
    }
  } else if (column == "plates") {
    for (const std::string& item : SplitList(value)) {
      auto [text, country] = SplitCountry(item);
      kordon::plate::NormalisedPlate p = kordon::plate::NormalisePlate(text);
      if (!p.ok) return "plate '" + item + "': " + p.error;
      e->plates.push_back({std::move(p.plate), Upper(country)});
    }
  } else if (column == "vins") {
    for (const std::string& item : SplitList(value)) {
      std::string vin = NormaliseVin(item);
      if (vin.size() != 17) return "VIN '" + item + "' does not have 17 letters and digits";
      e->vins.push_back(std::move(vin));
    }
  } else if (column == "reason") {
    e->reason = Trim(value);
  }
  return "";
}

const char* const kCsvColumns[] = {"id",        "kind",  "names", "birth_dates", "nationalities",
                                   "documents", "plates", "vins", "reason"};

using Record = csv::Record;

// The records of the file; false with "line N: reason" at the first malformed one.
bool ReadRecords(std::string_view text, std::vector<Record>* out, std::string* error) {
  csv::Records r = csv::ReadRecords(text);
  if (!r.ok()) {
    *error = "line " + std::to_string(r.errors.front().line) + ": " + r.errors.front().reason;
    return false;
  }
  *out = std::move(r.records);
  return true;
}

std::string Json(const Entry& e) {
  nlohmann::json j;
  j["names"] = e.names;
  j["birth_dates"] = e.birth_dates;
  j["nationalities"] = e.nationalities;
  j["documents"] = nlohmann::json::array();
  for (const Document& d : e.documents)
    j["documents"].push_back({{"number", d.number}, {"country", d.country}});
  j["plates"] = nlohmann::json::array();
  for (const Plate& p : e.plates)
    j["plates"].push_back({{"plate", p.plate}, {"country", p.country}});
  j["vins"] = e.vins;
  j["reason"] = e.reason;
  return j.dump();
}

bool FromJson(std::string_view text, Entry* e) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return false;
  try {
    e->names = j.value("names", std::vector<std::string>{});
    e->birth_dates = j.value("birth_dates", std::vector<std::string>{});
    e->nationalities = j.value("nationalities", std::vector<std::string>{});
    for (const auto& d : j.value("documents", nlohmann::json::array()))
      e->documents.push_back({d.value("number", ""), d.value("country", "")});
    for (const auto& p : j.value("plates", nlohmann::json::array()))
      e->plates.push_back({p.value("plate", ""), p.value("country", "")});
    e->vins = j.value("vins", std::vector<std::string>{});
    e->reason = j.value("reason", "");
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return true;
}

// --- UN consolidated list ------------------------------------------------------------------

struct UnParser {
  XML_Parser parser = nullptr;
  std::string list;
  std::vector<std::string> path;  // element names from the root
  std::string text;               // character data of the current element
  bool in_individual = false;
  bool in_entity = false;
  Entry entry;
  std::vector<std::string> name_parts;  // FIRST_NAME .. FOURTH_NAME
  std::string dataid;
  std::string list_type;
  std::string doc_number, doc_country;
  std::string error;
  ParseResult* result = nullptr;
  std::map<std::string, size_t> ids;  // id -> line

  void Fail(const std::string& why) {
    if (!error.empty()) return;
    error = "line " + std::to_string(XML_GetCurrentLineNumber(parser)) + ", column " +
            std::to_string(XML_GetCurrentColumnNumber(parser) + 1) + ": " + why;
    XML_StopParser(parser, XML_FALSE);
  }
  const std::string& Parent() const {
    static const std::string kNone;
    return path.size() >= 2 ? path[path.size() - 2] : kNone;
  }

  // After Fail, expat may still deliver the end of an empty element: ignore everything.
  void Start(const std::string& name) {
    if (!error.empty()) return;
    if (path.empty() && name != "CONSOLIDATED_LIST") {
      Fail("the root element is <" + name + ">, not <CONSOLIDATED_LIST>");
      return;
    }
    path.push_back(name);
    text.clear();
    if (name == "INDIVIDUAL") {
      in_individual = true;
      entry = Entry();
      entry.list = list;
      entry.kind = "person";
      name_parts.clear();
      dataid.clear();
      list_type.clear();
    } else if (name == "ENTITY") {
      in_entity = true;
    } else if (name == "INDIVIDUAL_DOCUMENT") {
      doc_number.clear();
      doc_country.clear();
    }
  }

  void End(const std::string& name) {
    if (!error.empty() || path.empty()) return;
    const std::string value = Trim(text);
    text.clear();
    const std::string parent = Parent();
    if (in_individual) {
      if (name == "INDIVIDUAL_DOCUMENT") {
        const std::string number = NormaliseDocumentNumber(doc_number);
        if (!number.empty()) entry.documents.push_back({number, doc_country});
      } else if (parent == "INDIVIDUAL") {
        if (name == "FIRST_NAME" || name == "SECOND_NAME" || name == "THIRD_NAME" ||
            name == "FOURTH_NAME") {
          if (!value.empty()) name_parts.push_back(value);
        } else if (name == "REFERENCE_NUMBER") {
          entry.id = value;
        } else if (name == "DATAID") {
          dataid = value;
        } else if (name == "UN_LIST_TYPE") {
          list_type = value;
        } else if (name == "COMMENTS1") {
          entry.reason = value.substr(0, kMaxReasonBytes);
        }
      } else if (parent == "INDIVIDUAL_ALIAS" && name == "ALIAS_NAME") {
        if (!value.empty() && !SplitName(value).empty()) entry.names.push_back(value);
      } else if (parent == "INDIVIDUAL_DATE_OF_BIRTH" && (name == "DATE" || name == "YEAR")) {
        // DATE is xs:date, possibly with a zone ("1961-01-01+00:00"); YEAR four digits.
        const std::string date = value.substr(0, name == "DATE" ? 10 : 4);
        if (!IsValidBirthDate(date)) {
          Fail("<" + name + "> '" + value + "' is not a date of birth");
          return;
        }
        if (std::find(entry.birth_dates.begin(), entry.birth_dates.end(), date) ==
            entry.birth_dates.end())
          entry.birth_dates.push_back(date);
      } else if (parent == "NATIONALITY" && name == "VALUE") {
        if (!value.empty()) entry.nationalities.push_back(value);
      } else if (parent == "INDIVIDUAL_DOCUMENT") {
        if (name == "NUMBER") doc_number = value;
        if (name == "ISSUING_COUNTRY") doc_country = value;
      } else if (name == "INDIVIDUAL") {
        FinishIndividual();
      }
    } else if (name == "ENTITY") {
      in_entity = false;
      ++result->skipped;
    }
    path.pop_back();
  }

  void FinishIndividual() {
    in_individual = false;
    std::string full;
    for (const std::string& p : name_parts) full += (full.empty() ? "" : " ") + p;
    if (!full.empty()) entry.names.insert(entry.names.begin(), full);
    if (entry.id.empty()) entry.id = dataid;
    if (!list_type.empty())
      entry.reason = "UN " + list_type + (entry.reason.empty() ? "" : ": " + entry.reason);
    const std::string why = ValidateEntry(entry);
    if (!why.empty()) {
      Fail("<INDIVIDUAL> " + (entry.id.empty() ? std::string("without an id") : entry.id) +
           " ending here: " + why);
      return;
    }
    const size_t line = XML_GetCurrentLineNumber(parser);
    auto [it, inserted] = ids.emplace(entry.id, line);
    if (!inserted) {
      Fail("<INDIVIDUAL> " + entry.id + " is listed twice (first ending on line " +
           std::to_string(it->second) + ")");
      return;
    }
    result->entries.push_back(std::move(entry));
  }

  static void XMLCALL OnStart(void* self, const XML_Char* name, const XML_Char**) {
    static_cast<UnParser*>(self)->Start(name);
  }
  static void XMLCALL OnEnd(void* self, const XML_Char* name) {
    static_cast<UnParser*>(self)->End(name);
  }
  static void XMLCALL OnText(void* self, const XML_Char* s, int len) {
    auto* p = static_cast<UnParser*>(self);
    if (p->text.size() < 64 * 1024) p->text.append(s, static_cast<size_t>(len));
  }
};

}  // namespace

ParseResult ParseCsv(std::string_view text, const std::string& list) {
  ParseResult r;
  std::vector<Record> records;
  if (!ReadRecords(text, &records, &r.error)) return r;
  if (records.empty()) {
    r.error = "line 1: no header (the file is empty)";
    return r;
  }
  std::vector<std::string> columns;
  for (const std::string& raw : records[0].fields) {
    const std::string c = Trim(raw);
    if (std::find(std::begin(kCsvColumns), std::end(kCsvColumns), c) == std::end(kCsvColumns)) {
      r.error = "line " + std::to_string(records[0].line) + ": unknown column '" + c +
                "' (columns: id, kind, names, birth_dates, nationalities, documents, plates, "
                "vins, reason)";
      return r;
    }
    if (std::find(columns.begin(), columns.end(), c) != columns.end()) {
      r.error = "line " + std::to_string(records[0].line) + ": column '" + c + "' twice";
      return r;
    }
    columns.push_back(c);
  }
  for (const char* needed : {"id", "kind"})
    if (std::find(columns.begin(), columns.end(), needed) == columns.end()) {
      r.error = "line " + std::to_string(records[0].line) + ": the header has no '" +
                std::string(needed) + "' column";
      return r;
    }
  std::unordered_map<std::string, size_t> ids;
  for (size_t n = 1; n < records.size(); ++n) {
    const Record& rec = records[n];
    const std::string at = "line " + std::to_string(rec.line) + ": ";
    if (rec.fields.size() != columns.size()) {
      r.error = at + std::to_string(rec.fields.size()) + " fields, the header has " +
                std::to_string(columns.size());
      r.entries.clear();
      return r;
    }
    Entry e;
    e.list = list;
    for (size_t c = 0; c < columns.size(); ++c) {
      if (!kordon::text::IsValidUtf8(rec.fields[c])) {
        r.error = at + "column '" + columns[c] + "' is not UTF-8";
        r.entries.clear();
        return r;
      }
      std::string why = SetColumn(&e, columns[c], rec.fields[c]);
      if (!why.empty()) {
        r.error = at + why;
        r.entries.clear();
        return r;
      }
    }
    std::string why = ValidateEntry(e);
    if (!why.empty()) {
      r.error = at + why;
      r.entries.clear();
      return r;
    }
    auto [it, inserted] = ids.emplace(e.id, rec.line);
    if (!inserted) {
      r.error = at + "id '" + e.id + "' already on line " + std::to_string(it->second);
      r.entries.clear();
      return r;
    }
    r.entries.push_back(std::move(e));
  }
  r.ok = true;
  return r;
}

ParseResult ParseUnXml(std::string_view text, const std::string& list) {
  ParseResult r;
  if (text.empty()) {
    r.error = "line 1, column 1: the file is empty";
    return r;
  }
  UnParser p;
  p.list = list;
  p.result = &r;
  p.parser = XML_ParserCreate("UTF-8");
  if (p.parser == nullptr) throw std::bad_alloc();
  XML_SetUserData(p.parser, &p);
  XML_SetElementHandler(p.parser, &UnParser::OnStart, &UnParser::OnEnd);
  XML_SetCharacterDataHandler(p.parser, &UnParser::OnText);
  // Fed in pieces: XML_Parse takes an int length.
  constexpr size_t kChunk = 1 << 20;
  XML_Status status = XML_STATUS_OK;
  size_t offset = 0;
  do {
    const size_t n = std::min(kChunk, text.size() - offset);
    const bool last = offset + n == text.size();
    status = XML_Parse(p.parser, text.data() + offset, static_cast<int>(n), last);
    offset += n;
  } while (status == XML_STATUS_OK && offset < text.size());
  if (p.error.empty() && status != XML_STATUS_OK)
    p.error = "line " + std::to_string(XML_GetCurrentLineNumber(p.parser)) + ", column " +
              std::to_string(XML_GetCurrentColumnNumber(p.parser) + 1) + ": " +
              XML_ErrorString(XML_GetErrorCode(p.parser));
  if (p.error.empty() && text.empty()) p.error = "line 1, column 1: the file is empty";
  XML_ParserFree(p.parser);
  if (!p.error.empty()) {
    r.error = p.error;
    r.entries.clear();
    return r;
  }
  r.ok = true;
  return r;
}

Store::Store(const std::string& path) : path_(path) {
  sqlite::OpenOptions options;
  options.busy_timeout_ms = 5000;
  sqlite::DbStatus status;
  db_ = sqlite::Db::Open(path, options, &status);
  if (!db_) throw std::runtime_error("cannot open watchlist database '" + path + "': " +
                                     status.message);
  for (const char* sql :
       {"CREATE TABLE IF NOT EXISTS entries (list TEXT NOT NULL, id TEXT NOT NULL, "
        "kind TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (list, id))",
        "CREATE TABLE IF NOT EXISTS imports (list TEXT PRIMARY KEY, source TEXT NOT NULL, "
        "entries INTEGER NOT NULL, imported_at TEXT NOT NULL)"}) {
    if (status = db_->Exec(sql); !status.ok())
      throw std::runtime_error("watchlist database '" + path + "': " + status.message);
  }
}

Store::~Store() = default;

bool Store::ReplaceList(const std::string& list, const std::vector<Entry>& entries,
                        const std::string& source, std::string* error) {
  auto fail = [&](const sqlite::DbStatus& status) {
    *error = status.message;
    return false;
  };
  sqlite::Transaction tx(db_.get());
  if (!tx.ok()) return fail(tx.status());
  sqlite::DbStatus status;
  sqlite::Statement del = db_->Prepare("DELETE FROM entries WHERE list = ?1", &status);
  if (!del) return fail(status);
  sqlite::Statement ins =
      db_->Prepare("INSERT INTO entries (list, id, kind, body) VALUES (?1, ?2, ?3, ?4)", &status);
  if (!ins) return fail(status);
  sqlite::Statement log =
      db_->Prepare("INSERT OR REPLACE INTO imports (list, source, entries, imported_at) "
                   "VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                   &status);
  if (!log) return fail(status);
  if (status = del.Bind(1, list).Run(); !status.ok()) return fail(status);
  for (const Entry& e : entries) {
    ins.Reset();
    if (status = ins.Bind(1, list).Bind(2, e.id).Bind(3, e.kind).Bind(4, Json(e)).Run();
        !status.ok()) {
      status.message = "entry " + e.id + ": " + status.message;
      return fail(status);
    }
  }
  if (status = log.Bind(1, list).Bind(2, source).Bind(3, static_cast<int64_t>(entries.size())).Run();
      !status.ok())
    return fail(status);
  if (status = tx.Commit(); !status.ok()) return fail(status);
  return true;
}

bool Store::LoadAll(std::vector<Entry>* entries, std::string* error) {
  entries->clear();
  sqlite::DbStatus status;
  sqlite::Statement st =
      db_->Prepare("SELECT list, id, kind, body FROM entries ORDER BY list, id", &status);
  if (!st) {
    *error = status.message;
    return false;
  }
  sqlite::Statement::Step step;
  while ((step = st.Next()) == sqlite::Statement::Step::kRow) {
    Entry e;
    e.list = st.Text(0);
    e.id = st.Text(1);
    e.kind = st.Text(2);
    const std::string why = FromJson(st.Text(3), &e) ? ValidateEntry(e) : "a body that is not JSON";
    if (!why.empty()) {
      *error = "entry " + e.list + "/" + e.id + " in the database: " + why;
      return false;
    }
    entries->push_back(std::move(e));
  }
  if (step == sqlite::Statement::Step::kError) {
    *error = st.status().message;
    return false;
  }
  return true;
}

int64_t Store::DataVersion() {
  sqlite::DbStatus status;
  sqlite::Statement st = db_->Prepare("PRAGMA data_version", &status);
  if (!st || st.Next() != sqlite::Statement::Step::kRow) return -1;
  return st.Int(0);
}

ImportOutcome ImportFile(Store& store, const std::string& file, const std::string& list,
                         const std::string& format) {
  ImportOutcome out;
  if (list.empty()) {
    out.error = "the list name is empty";
    return out;
  }
  std::string fmt = format;
  if (fmt.empty()) {
    const bool xml = file.size() >= 4 && Upper(file.substr(file.size() - 4)) == ".XML";
    fmt = xml ? "un-xml" : "csv";
  }
  if (fmt != "csv" && fmt != "un-xml") {
    out.error = "format '" + fmt + "' is not csv or un-xml";
    return out;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    out.error = "cannot open '" + file + "'";
    return out;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  if (text.size() > kMaxFileBytes) {
    out.error = "'" + file + "' is larger than 1 GiB";
    return out;
  }
  ParseResult r = fmt == "csv" ? ParseCsv(text, list) : ParseUnXml(text, list);
  if (!r.ok) {
    out.error = file + ": " + r.error + "; nothing was imported";
    return out;
  }
  std::string error;
  if (!store.ReplaceList(list, r.entries, fmt + ":" + file, &error)) {
    out.error = "cannot store list '" + list + "' in '" + store.path() + "': " + error +
                "; nothing was imported";
    return out;
  }
  out.ok = true;
  out.entries = r.entries.size();
  out.skipped = r.skipped;
  return out;
}

}  // namespace kordon::watchlist
