// manifest.cpp — see manifest.h.
#include "manifest.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "csv.h"
#include "iso6346.h"
#include "plate.h"
#include "utf8.h"

namespace kordon::manifest {
namespace {

using nlohmann::json;

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  const size_t a = s.find_first_not_of(ws);
  if (a == std::string_view::npos) return "";
  const size_t b = s.find_last_not_of(ws);
  return std::string(s.substr(a, b - a + 1));
}

std::string Upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return s;
}

// Shown in errors: at most 40 bytes of what was found, cut on a character boundary.
std::string Quote(std::string_view s) {
  if (s.size() <= 40) return "'" + std::string(s) + "'";
  size_t cut = 40;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return "'" + std::string(s.substr(0, cut)) + "…'";
}

std::string Number(double v) {
  std::ostringstream out;
  out.precision(15);
  out << v;
  return out.str();
}

// Free text: required or not, UTF-8, no control characters (line breaks and tabs only where
// `multiline`: a goods description), at most kMaxTextBytes.
std::string CheckText(const char* field, std::string* value, bool required,
                      bool multiline = false) {
  *value = Trim(*value);
  if (value->empty()) return required ? std::string(field) + " is required" : "";
  if (!kordon::text::IsValidUtf8(*value)) return std::string(field) + " is not valid UTF-8";
  if (value->size() > kMaxTextBytes)
    return std::string(field) + " is longer than " + std::to_string(kMaxTextBytes) + " bytes";
  for (unsigned char c : *value)
    if ((c < 0x20 || c == 0x7F) && !(multiline && (c == '\n' || c == '\t')))
      return std::string(field) + " holds a control character";
  return "";
}

bool IsAlpha2(const std::string& s) {
  return s.size() == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

std::string CheckWeight(const std::string& field, std::optional<double> kg) {
  if (!kg) return "";
  if (!std::isfinite(*kg) || *kg <= 0) return field + " must be positive, got " + Number(*kg);
  if (*kg > kMaxGrossKg)
    return field + " " + Number(*kg) + " kg is not plausible (more than " +
           Number(kMaxGrossKg) + " kg)";
  return "";
}

// --- JSON ------------------------------------------------------------------------------------

// A string member: absent or null is "" (required ones are checked by Validate).
bool JsonString(const json& j, const char* key, std::string* out, std::string* error) {
  out->clear();
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = std::string("'") + key + "' must be a string";
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool JsonNumber(const json& j, const char* key, std::optional<double>* out, std::string* error) {
  out->reset();
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_number()) {
    *error = std::string("'") + key + "' must be a number";
    return false;
  }
  *out = it->get<double>();
  return true;
}

bool KnownMembers(const json& j, std::initializer_list<const char*> keys, const char* where,
                  std::string* error) {
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : keys) known |= key == k;
    if (!known) {
      std::string list;
      for (const char* k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
      *error = std::string("unknown member ") + Quote(key) + where + " (" + list + ")";
      return false;
    }
  }
  return true;
}

bool FromJson(const json& j, Manifest* m, std::string* error) {
  if (!j.is_object()) {
    *error = "the line is not a JSON object";
    return false;
  }
  if (!KnownMembers(j,
                    {"manifest", "lane", "date", "carrier", "plates", "plate_country",
                     "containers", "consignor", "consignee", "origin", "destination", "goods",
                     "declared_gross_kg"},
                    "", error))
    return false;
  if (!JsonString(j, "manifest", &m->number, error) || !JsonString(j, "lane", &m->lane, error) ||
      !JsonString(j, "date", &m->date, error) ||
      !JsonString(j, "carrier", &m->carrier, error) ||
      !JsonString(j, "plate_country", &m->plate_country, error) ||
      !JsonString(j, "consignor", &m->consignor, error) ||
      !JsonString(j, "consignee", &m->consignee, error) ||
      !JsonString(j, "origin", &m->origin, error) ||
      !JsonString(j, "destination", &m->destination, error))
    return false;
  if (auto it = j.find("plates"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) {
      *error = "'plates' must be an array of strings";
      return false;
    }
    for (const json& p : *it) {
      if (!p.is_string()) {
        *error = "'plates' must be an array of strings";
        return false;
      }
      m->plates.push_back(p.get<std::string>());
    }
  }
  if (auto it = j.find("containers"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) {
      *error = "'containers' must be an array";
      return false;
    }
    for (const json& c : *it) {
      Container container;
      if (c.is_string()) {
        container.code = c.get<std::string>();
      } else if (c.is_object()) {
        if (!KnownMembers(c, {"code", "size_type"}, " in a container", error) ||
            !JsonString(c, "code", &container.code, error) ||
            !JsonString(c, "size_type", &container.size_type, error))
          return false;
      } else {
        *error = "a container must be {\"code\", \"size_type\"} or a string";
        return false;
      }
      m->containers.push_back(std::move(container));
    }
  }
  auto goods = j.find("goods");
  if (goods == j.end() || goods->is_null()) {
    *error = "goods is required (at least one goods line)";
    return false;
  }
  if (!goods->is_array()) {
    *error = "'goods' must be an array of goods lines";
    return false;
  }
  size_t index = 0;
  for (const json& g : *goods) {
    ++index;
    const std::string where = " in goods line " + std::to_string(index);
    if (!g.is_object()) {
      *error = "goods line " + std::to_string(index) + " is not an object";
      return false;
    }
    GoodsLine line;
    std::optional<double> packages;
    if (!KnownMembers(g, {"hs_code", "description", "gross_kg", "net_kg", "packages"},
                      where.c_str(), error) ||
        !JsonNumber(g, "gross_kg", &line.gross_kg, error) ||
        !JsonNumber(g, "net_kg", &line.net_kg, error) ||
        !JsonNumber(g, "packages", &packages, error) ||
        !JsonString(g, "description", &line.description, error)) {
      *error += where;
      return false;
    }
    // An HS code is digits; senders write it as a string ("0808") or, losing leading zeros,
    // as a number: only the string keeps "0808", so a number is refused.
    if (auto hs = g.find("hs_code"); hs != g.end() && !hs->is_null()) {
      if (!hs->is_string()) {
        *error = "'hs_code' must be a string of digits" + where;
        return false;
      }
      line.hs_code = hs->get<std::string>();
    }
    if (packages) {
      if (*packages != std::floor(*packages) || *packages < 1 || *packages > kMaxPackages) {
        *error = "packages must be a whole number from 1 to " + std::to_string(kMaxPackages) +
                 ", got " + Number(*packages) + where;
        return false;
      }
      line.packages = static_cast<int64_t>(*packages);
    }
    m->goods.push_back(std::move(line));
  }
  std::optional<double> declared;
  if (!JsonNumber(j, "declared_gross_kg", &declared, error)) return false;
  if (!declared) {
    *error = "declared_gross_kg is required";
    return false;
  }
  m->declared_gross_kg = *declared;
  return true;
}

// --- CSV -------------------------------------------------------------------------------------

using Record = csv::Record;

// The well-formed records; every malformed one (up to kMaxErrors) is an error in *r.
void ReadRecords(std::string_view text, std::vector<Record>* out, ParseResult* r) {
  csv::Records read = csv::ReadRecords(text, {.max_record_bytes = kMaxLineBytes,
                                              .max_errors = kMaxErrors});
  for (csv::Error& e : read.errors) r->errors.push_back({e.line, std::move(e.reason)});
  r->error_count += read.error_count;
  *out = std::move(read.records);
}

// A decimal number: digits, at most one '.', nothing else (no sign, exponent or spaces inside).
bool ParseDecimal(const std::string& s, double* out) {
  if (s.empty() || s.size() > 32) return false;
  size_t dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  if (dots > 1 || s == ".") return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::vector<std::string> SplitBar(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('|', start);
    if (end == std::string::npos) end = s.size();
    std::string item = Trim(std::string_view(s).substr(start, end - start));
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

const char* const kHeaderColumns[] = {"manifest",   "lane",         "date",
                                      "carrier",    "plates",       "plate_country",
                                      "containers", "consignor",    "consignee",
                                      "origin",     "destination",  "declared_gross_kg"};
const char* const kGoodsColumns[] = {"hs_code", "description", "gross_kg", "net_kg", "packages"};

bool IsHeaderColumn(const std::string& c) {
  for (const char* k : kHeaderColumns)
    if (c == k) return true;
  return false;
}
bool IsGoodsColumn(const std::string& c) {
  for (const char* k : kGoodsColumns)
    if (c == k) return true;
  return false;
}

void AddError(ParseResult* r, size_t line, std::string reason) {
  ++r->error_count;
  if (r->errors.size() < kMaxErrors) r->errors.push_back({line, std::move(reason)});
}

}  // namespace

bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (s[i] < '0' || s[i] > '9') return false;
  const int y = std::stoi(std::string(s.substr(0, 4)));
  const int mo = std::stoi(std::string(s.substr(5, 2)));
  const int d = std::stoi(std::string(s.substr(8, 2)));
  if (y < 1900 || mo < 1 || mo > 12 || d < 1) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[mo - 1] + (mo == 2 && leap ? 1 : 0);
}

std::string Validate(Manifest* m) {
  m->number = Trim(m->number);
  if (m->number.empty()) return "manifest (the declaration number) is required";
  if (m->number.size() > 64) return "manifest number is longer than 64 characters";
  for (char c : m->number)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '/' || c == '_' || c == '.'))
      return "manifest number " + Quote(m->number) +
             " may hold only letters A-Z, digits and - / _ .";
  m->lane = Trim(m->lane);
  if (m->lane.size() > 64) return "lane is longer than 64 characters";
  for (char c : m->lane)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_' || c == '.' || c == ':'))
      return "lane " + Quote(m->lane) + " may hold only A-Z a-z 0-9 _ - . :";
  m->date = Trim(m->date);
  if (!m->date.empty() && !IsDate(m->date))
    return "date " + Quote(m->date) + " is not a date YYYY-MM-DD";
  if (std::string e = CheckText("carrier", &m->carrier, true); !e.empty()) return e;
  if (std::string e = CheckText("consignor", &m->consignor, true); !e.empty()) return e;
  if (std::string e = CheckText("consignee", &m->consignee, true); !e.empty()) return e;

  std::vector<std::string> plates;
  for (const std::string& raw : m->plates) {
    if (!kordon::text::IsValidUtf8(raw)) return "a plate is not valid UTF-8";
    kordon::plate::NormalisedPlate p = kordon::plate::NormalisePlate(raw);
    if (!p.ok) return "plate " + Quote(raw) + ": " + p.error;
    if (std::find(plates.begin(), plates.end(), p.plate) == plates.end())
      plates.push_back(std::move(p.plate));
  }
  if (plates.size() > kMaxPlates) return "more than " + std::to_string(kMaxPlates) + " plates";
  m->plates = std::move(plates);
  m->plate_country = Upper(Trim(m->plate_country));
  if (!m->plate_country.empty() && !IsAlpha2(m->plate_country))
    return "plate_country " + Quote(m->plate_country) + " is not an ISO 3166 alpha-2 code (KG)";

  std::vector<Container> containers;
  for (Container& c : m->containers) {
    if (!kordon::text::IsValidUtf8(c.code)) return "a container code is not valid UTF-8";
    const kordon::iso6346::Analysis a = kordon::iso6346::Analyse(c.code);
    if (!a.valid) {
      if (a.shape_ok && a.expected && a.found)
        return "container " + Quote(c.code) + ": wrong check digit " + *a.found +
               ", expected " + *a.expected + " (ISO 6346)";
      return "container " + Quote(c.code) + " is not an ISO 6346 code: " + a.problem;
    }
    c.code = a.code;
    c.size_type = Upper(Trim(c.size_type));
    if (!c.size_type.empty()) {
      bool ok = c.size_type.size() == 4;
      for (char ch : c.size_type) ok &= (ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z');
      if (!ok) return "container " + c.code + ": size_type " + Quote(c.size_type) +
                      " is not 4 letters or digits (45G1)";
    }
    auto same = [&](const Container& o) { return o.code == c.code; };
    if (std::find_if(containers.begin(), containers.end(), same) != containers.end())
      return "container " + c.code + " is listed twice";
    containers.push_back(c);
  }
  if (containers.size() > kMaxContainers)
    return "more than " + std::to_string(kMaxContainers) + " containers";
  m->containers = std::move(containers);
  if (m->plates.empty() && m->containers.empty())
    return "neither a plate nor a container: the manifest could never be matched";

  m->origin = Upper(Trim(m->origin));
  m->destination = Upper(Trim(m->destination));
  if (m->origin.empty()) return "origin is required";
  if (!IsAlpha2(m->origin))
    return "origin " + Quote(m->origin) + " is not an ISO 3166 alpha-2 code";
  if (m->destination.empty()) return "destination is required";
  if (!IsAlpha2(m->destination))
    return "destination " + Quote(m->destination) + " is not an ISO 3166 alpha-2 code";

  if (m->goods.empty()) return "goods is required (at least one goods line)";
  if (m->goods.size() > kMaxGoodsLines)
    return "more than " + std::to_string(kMaxGoodsLines) + " goods lines";
  double goods_gross = 0;
  for (size_t i = 0; i < m->goods.size(); ++i) {
    GoodsLine& g = m->goods[i];
    const std::string where = "goods line " + std::to_string(i + 1) + ": ";
    std::string hs;
    for (char c : g.hs_code)
      if (c != '.' && c != ' ') hs.push_back(c);
    if (hs.empty()) return where + "hs_code is required";
    bool digits = hs.size() >= 4 && hs.size() <= 10;
    for (char c : hs) digits &= c >= '0' && c <= '9';
    if (!digits) return where + "hs_code " + Quote(g.hs_code) + " is not 4 to 10 digits";
    g.hs_code = hs;
    if (std::string e = CheckText("description", &g.description, false, true); !e.empty())
      return where + e;
    if (std::string e = CheckWeight("gross_kg", g.gross_kg); !e.empty()) return where + e;
    if (std::string e = CheckWeight("net_kg", g.net_kg); !e.empty()) return where + e;
    if (g.gross_kg && g.net_kg && *g.net_kg > *g.gross_kg)
      return where + "net_kg " + Number(*g.net_kg) + " is more than gross_kg " +
             Number(*g.gross_kg);
    if (g.packages && (*g.packages < 1 || *g.packages > kMaxPackages))
      return where + "packages must be from 1 to " + std::to_string(kMaxPackages);
    if (g.gross_kg) goods_gross += *g.gross_kg;
  }
  if (!std::isfinite(m->declared_gross_kg) || m->declared_gross_kg <= 0)
    return "declared_gross_kg must be positive, got " + Number(m->declared_gross_kg);
  if (m->declared_gross_kg > kMaxGrossKg)
    return "declared_gross_kg " + Number(m->declared_gross_kg) +
           " kg is not plausible (more than " + Number(kMaxGrossKg) + " kg)";
  // Half a kilogram for rounding in the sender's sums.
  if (goods_gross > m->declared_gross_kg + 0.5)
    return "the goods lines weigh " + Number(goods_gross) + " kg gross, more than the declared " +
           Number(m->declared_gross_kg) + " kg";
  return "";
}

std::optional<Manifest> ParseJsonLine(std::string_view line, std::string* error) {
  if (line.size() > kMaxLineBytes) {
    *error = "the line is longer than " + std::to_string(kMaxLineBytes) + " bytes";
    return std::nullopt;
  }
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> from "column".
    std::string what = e.what();
    const size_t at = what.find("column");
    *error = "not JSON: " + (at == std::string::npos ? what : what.substr(at));
    return std::nullopt;
  }
  Manifest m;
  if (!FromJson(j, &m, error)) return std::nullopt;
  if (std::string why = Validate(&m); !why.empty()) {
    *error = std::move(why);
    return std::nullopt;
  }
  return m;
}

ParseResult ParseJsonLines(std::string_view text) {
  ParseResult r;
  std::map<std::string, size_t> seen;  // number -> line
  size_t line = 0;
  size_t pos = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  while (pos < text.size()) {
    ++line;
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    pos = end + 1;
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (Trim(l).empty()) continue;
    std::string error;
    std::optional<Manifest> m = ParseJsonLine(l, &error);
    if (!m) {
      AddError(&r, line, error);
      continue;
    }
    auto [it, fresh] = seen.emplace(m->number, line);
    if (!fresh) {
      AddError(&r, line, "manifest " + m->number + " already on line " +
                             std::to_string(it->second));
      continue;
    }
    r.manifests.push_back(std::move(*m));
    r.lines.push_back(line);
  }
  if (line == 0) AddError(&r, 1, "the file is empty");
  if (!r.ok()) {
    r.manifests.clear();
    r.lines.clear();
  }
  return r;
}

ParseResult ParseCsv(std::string_view text) {
  ParseResult r;
  std::vector<Record> records;
  ReadRecords(text, &records, &r);
  if (records.empty()) {
    if (r.ok()) AddError(&r, 1, "the file is empty (a header line is required)");
    return r;
  }
  const Record& header = records[0];
  std::vector<std::string> columns;
  std::set<std::string> present;
  for (const std::string& raw : header.fields) {
    std::string c = Trim(raw);
    if (!IsHeaderColumn(c) && !IsGoodsColumn(c)) {
      AddError(&r, header.line, "unknown column " + Quote(c));
    } else if (!present.insert(c).second) {
      AddError(&r, header.line, "column " + c + " twice");
    }
    columns.push_back(std::move(c));
  }
  for (const char* required : {"manifest", "carrier", "consignor", "consignee", "origin",
                               "destination", "declared_gross_kg", "hs_code"})
    if (!present.count(required))
      AddError(&r, header.line, std::string("column ") + required + " is required");
  if (!present.count("plates") && !present.count("containers"))
    AddError(&r, header.line, "a plates or a containers column is required");
  if (!r.ok()) return r;

  struct Pending {
    Manifest m;
    size_t line = 0;
    std::map<std::string, std::string> header;  // the header columns as on the first row
    bool bad = false;
  };
  std::vector<Pending> pending;
  std::map<std::string, size_t> index;  // number -> pending
  for (size_t k = 1; k < records.size(); ++k) {
    const Record& rec = records[k];
    if (rec.fields.size() != columns.size()) {
      AddError(&r, rec.line, std::to_string(rec.fields.size()) + " fields, the header has " +
                                 std::to_string(columns.size()));
      continue;
    }
    std::map<std::string, std::string> head;
    GoodsLine goods;
    std::string error;
    for (size_t c = 0; c < columns.size() && error.empty(); ++c) {
      const std::string& column = columns[c];
      std::string value = Trim(rec.fields[c]);
      if (!kordon::text::IsValidUtf8(value)) {
        error = column + " is not valid UTF-8";
      } else if (IsHeaderColumn(column)) {
        head[column] = value;
      } else if (column == "hs_code") {
        goods.hs_code = value;
      } else if (column == "description") {
        goods.description = value;
      } else if (!value.empty()) {
        double v = 0;
        if (!ParseDecimal(value, &v)) {
          error = column + " " + Quote(value) + " is not a number (digits and one '.')";
        } else if (column == "gross_kg") {
          goods.gross_kg = v;
        } else if (column == "net_kg") {
          goods.net_kg = v;
        } else if (v != std::floor(v) || v < 1 || v > kMaxPackages) {
          error = "packages must be a whole number from 1 to " + std::to_string(kMaxPackages);
        } else {
          goods.packages = static_cast<int64_t>(v);
        }
      }
    }
    if (!error.empty()) {
      AddError(&r, rec.line, error);
      continue;
    }
    const std::string number = head["manifest"];
    if (number.empty()) {
      AddError(&r, rec.line, "manifest (the declaration number) is required");
      continue;
    }
    auto it = index.find(number);
    if (it == index.end()) {
      Pending p;
      p.line = rec.line;
      p.header = head;
      Manifest& m = p.m;
      m.number = number;
      m.lane = head["lane"];
      m.date = head["date"];
      m.carrier = head["carrier"];
      m.plates = SplitBar(head["plates"]);
      m.plate_country = head["plate_country"];
      for (const std::string& item : SplitBar(head["containers"])) {
        const size_t colon = item.find(':');
        Container container;
        container.code = Trim(std::string_view(item).substr(0, colon));
        if (colon != std::string::npos)
          container.size_type = Trim(std::string_view(item).substr(colon + 1));
        m.containers.push_back(std::move(container));
      }
      m.consignor = head["consignor"];
      m.consignee = head["consignee"];
      m.origin = head["origin"];
      m.destination = head["destination"];
      const std::string& declared = head["declared_gross_kg"];
      if (declared.empty()) {
        AddError(&r, rec.line, "declared_gross_kg is required");
        continue;
      }
      if (!ParseDecimal(declared, &m.declared_gross_kg)) {
        AddError(&r, rec.line,
                 "declared_gross_kg " + Quote(declared) + " is not a number (digits and one '.')");
        continue;
      }
      m.goods.push_back(std::move(goods));
      index.emplace(number, pending.size());
      pending.push_back(std::move(p));
      continue;
    }
    Pending& p = pending[it->second];
    std::string differs;
    for (const auto& [column, value] : head)
      if (p.header[column] != value) {
        differs = column;
        break;
      }
    if (!differs.empty()) {
      AddError(&r, rec.line, "manifest " + number + ": " + differs + " " + Quote(head[differs]) +
                                 " differs from " + Quote(p.header[differs]) + " on line " +
                                 std::to_string(p.line));
      p.bad = true;
      continue;
    }
    p.m.goods.push_back(std::move(goods));
  }
  for (Pending& p : pending) {
    if (p.bad) continue;
    if (std::string why = Validate(&p.m); !why.empty()) {
      AddError(&r, p.line, "manifest " + p.m.number + ": " + why);
      continue;
    }
    r.manifests.push_back(std::move(p.m));
    r.lines.push_back(p.line);
  }
  if (pending.empty() && r.ok()) AddError(&r, header.line, "no manifest after the header");
  if (!r.ok()) {
    r.manifests.clear();
    r.lines.clear();
  }
  std::stable_sort(r.errors.begin(), r.errors.end(),
                   [](const LineError& a, const LineError& b) { return a.line < b.line; });
  return r;
}

std::string FormatErrors(const std::string& file, const ParseResult& r) {
  std::string out;
  for (const LineError& e : r.errors) {
    if (!out.empty()) out += "\n";
    out += file + ": line " + std::to_string(e.line) + ": " + e.reason;
  }
  if (r.error_count > r.errors.size())
    out += "\n" + file + ": ... and " + std::to_string(r.error_count - r.errors.size()) +
           " more errors";
  return out;
}

ParseResult ParseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ParseResult r;
    AddError(&r, 0, "cannot open the file");
    return r;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const bool csv = path.size() >= 4 && Upper(path.substr(path.size() - 4)) == ".CSV";
  return csv ? ParseCsv(buffer.str()) : ParseJsonLines(buffer.str());
}

std::string ToJson(const Manifest& m) {
  json containers = json::array();
  for (const Container& c : m.containers) {
    json o = {{"code", c.code}};
    if (!c.size_type.empty()) o["size_type"] = c.size_type;
    containers.push_back(std::move(o));
  }
  json goods = json::array();
  for (const GoodsLine& g : m.goods) {
    json o = {{"hs_code", g.hs_code}};
    if (!g.description.empty()) o["description"] = g.description;
    if (g.gross_kg) o["gross_kg"] = *g.gross_kg;
    if (g.net_kg) o["net_kg"] = *g.net_kg;
    if (g.packages) o["packages"] = *g.packages;
    goods.push_back(std::move(o));
  }
  json j = {{"manifest", m.number},
            {"carrier", m.carrier},
            {"plates", m.plates},
            {"containers", containers},
            {"consignor", m.consignor},
            {"consignee", m.consignee},
            {"origin", m.origin},
            {"destination", m.destination},
            {"goods", goods},
            {"declared_gross_kg", m.declared_gross_kg}};
  if (!m.lane.empty()) j["lane"] = m.lane;
  if (!m.date.empty()) j["date"] = m.date;
  if (!m.plate_country.empty()) j["plate_country"] = m.plate_country;
  return j.dump();
}

}  // namespace kordon::manifest
