// scenario.cpp — see scenario.h.
#include "scenario.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "iso6346.h"
#include "mrz.h"

namespace kordon::sim {

const WatchlistPerson kWatchlistPersons[3] = {
    {"TOKTOGULOV", "NURLAN", "KGZ", "810214"},
    {"SULEIMENOVA", "ZHANAR", "KAZ", "900707"},
    {"KARIMOV", "RUSTAM<BAHODIROVICH", "UZB", "760330"},
};
const char* const kWatchlistPlates[2] = {"01KG777AAA", "777AEK05"};

namespace {

struct Name {
  const char* surname;
  const char* given;
  char sex;
};

// Names as the MRZ writes them (Doc 9303 transliteration of Cyrillic; '<' between parts).
const std::vector<std::pair<const char*, std::vector<Name>>> kPeople = {
    {"KGZ",
     {{"ASANOV", "BAKYT", 'M'}, {"ZHUNUSOVA", "AIGUL", 'F'}, {"ABDYLDAEV", "ERLAN", 'M'},
      {"MAMATOVA", "CHOLPON", 'F'}, {"ISAKOV", "TALANT", 'M'}, {"OSMONOVA", "NURZHAN", 'F'},
      {"BEKTUROV", "AZAMAT<KUBANYCHBEKOVICH", 'M'}}},
    {"KAZ",
     {{"NURPEISOV", "DAULET", 'M'}, {"ZHAKSYBEKOVA", "ASEL", 'F'}, {"SULEIMENOV", "ARMAN", 'M'},
      {"ABENOVA", "GULNARA", 'F'}, {"ORAZBAEV", "YERZHAN", 'M'}}},
    {"RUS",
     {{"IVANOV", "SERGEI", 'M'}, {"PETROVA", "OLGA", 'F'}, {"SMIRNOV", "ALEKSANDR", 'M'},
      {"KUZNETSOVA", "IRINA<VIKTOROVNA", 'F'}}},
    {"UZB", {{"YULDASHEVA", "DILNOZA", 'F'}, {"RAHIMOV", "SHERZOD", 'M'}}},
    {"TJK", {{"SAIDOV", "FIRDAVS", 'M'}}},
    {"CHN", {{"WANG", "WEI", 'M'}, {"LI", "NA", 'F'}}},
};

// Weights of the nationalities above at a Kyrgyz–Kazakh crossing.
const std::vector<double> kNationalityWeights = {40, 30, 12, 8, 4, 6};

const std::vector<std::string> kOwners = {"MSCU", "MSKU", "CSQU", "TGHU", "FCIU", "OOLU",
                                          "CMAU", "TCNU", "SEGU", "GESU"};
const std::vector<std::string> kSizeTypes = {"22G1", "42G1", "45G1", "22R1", "45R1"};

struct Goods {
  const char* hs;
  const char* text;
  double min_kg, max_kg;  // on the weighbridge: truck (kTruckTareKg) and cargo
};
const std::vector<Goods> kGoods = {
    {"080810", "fresh apples", 24000, 38000},     {"520100", "raw cotton", 22000, 36000},
    {"847130", "laptop computers", 16000, 24000}, {"620342", "cotton trousers", 15000, 26000},
    {"251710", "crushed stone", 30000, 42000},    {"870323", "used passenger cars", 18000, 28000},
    {"220300", "beer in cans", 26000, 39000},     {"640399", "leather footwear", 15000, 25000},
};
const std::vector<std::string> kCompanies = {
    "Ak-Zhol Trans LLC", "Bishkek Agro Export", "Almaty Logistics JSC", "Urumqi Silk Road Trading",
    "Tashkent Textile", "Karaganda Stone", "Osh Fruit Co-op", "Astana Retail Group"};
const std::vector<std::pair<std::string, std::string>> kRoutes = {
    {"CN", "KZ"}, {"KG", "KZ"}, {"KZ", "KG"}, {"UZ", "KZ"}, {"CN", "RU"}, {"TR", "KZ"}};

// Latin letters that have a Cyrillic look-alike, and the look-alike (UTF-8).
const char* CyrillicLookAlike(char c) {
  switch (c) {
    case 'A': return "\xD0\x90";  // А
    case 'B': return "\xD0\x92";  // В
    case 'E': return "\xD0\x95";  // Е
    case 'K': return "\xD0\x9A";  // К
    case 'M': return "\xD0\x9C";  // М
    case 'H': return "\xD0\x9D";  // Н
    case 'O': return "\xD0\x9E";  // О
    case 'P': return "\xD0\xA0";  // Р
    case 'C': return "\xD0\xA1";  // С
    case 'T': return "\xD0\xA2";  // Т
    case 'X': return "\xD0\xA5";  // Х
    case 'Y': return "\xD0\xA3";  // У
    default: return nullptr;
  }
}

// Letters used on plates that have a Cyrillic twin (Russian plates use only these).
constexpr char kTwinLetters[] = "ABEKMHOPCTXY";
constexpr char kLatinLetters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

std::string Pad(std::string s, size_t width) {
  s.resize(width, '<');
  return s;
}

std::string MrzName(const Person& p, size_t width) {
  return Pad(p.surname + "<<" + p.given_names, width);  // truncated when too long, as 9303 does
}

}  // namespace

std::string EncodeMrz(const Person& p) {
  using kordon::mrz::CheckDigit;
  const std::string number = Pad(p.document_number, 9);
  const std::string number_check(1, CheckDigit(number));
  const std::string birth_check(1, CheckDigit(p.birth));
  const std::string expiry_check(1, CheckDigit(p.expiry));
  if (p.id_card) {  // TD1
    const std::string line1 = Pad("I<" + p.nationality + number + number_check, 30);
    std::string line2 = p.birth + birth_check + p.sex + p.expiry + expiry_check + p.nationality;
    line2 = Pad(line2, 29);
    const std::string composite =
        line1.substr(5, 25) + line2.substr(0, 7) + line2.substr(8, 7) + line2.substr(18, 11);
    line2 += CheckDigit(composite);
    return line1 + "\n" + line2 + "\n" + MrzName(p, 30);
  }
  const std::string line1 = "P<" + p.nationality + MrzName(p, 39);
  const std::string personal = Pad("", 14);
  const std::string personal_check = "<";  // no personal number: '<' (Doc 9303 part 4)
  std::string line2 = number + number_check + p.nationality + p.birth + birth_check + p.sex +
                      p.expiry + expiry_check + personal + personal_check;
  const std::string composite = line2.substr(0, 10) + line2.substr(13, 7) + line2.substr(21, 22);
  line2 += CheckDigit(composite);
  return line1 + "\n" + line2;
}

Scenario::Scenario(ScenarioOptions options) : options_(options), random_(options.seed) {}

double Scenario::Uniform(double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(random_);
}

bool Scenario::Chance(double p) { return Uniform(0, 1) < p; }

template <typename T>
const T& Scenario::Pick(const std::vector<T>& items) {
  return items[std::uniform_int_distribution<size_t>(0, items.size() - 1)(random_)];
}

Person Scenario::NewPerson(bool driver) {
  Person p;
  const int year = static_cast<int>(options_.today.year());
  if (Chance(options_.watchlist_rate / 2)) {
    const WatchlistPerson& w =
        kWatchlistPersons[std::uniform_int_distribution<int>(0, 2)(random_)];
    p.surname = w.surname;
    p.given_names = w.given_names;
    p.nationality = w.nationality;
    p.birth = w.birth;
    p.sex = p.surname.back() == 'A' ? 'F' : 'M';
    p.watchlisted = true;
  } else {
    std::discrete_distribution<size_t> nationality(kNationalityWeights.begin(),
                                                   kNationalityWeights.end());
    const auto& [code, names] = kPeople[nationality(random_)];
    const Name& n = Pick(names);
    p.surname = n.surname;
    p.given_names = n.given;
    p.nationality = code;
    p.sex = n.sex;
    const int age = driver ? static_cast<int>(Uniform(23, 64)) : static_cast<int>(Uniform(1, 80));
    char birth[8];
    std::snprintf(birth, sizeof birth, "%02d%02d%02d", (year - age) % 100,
                  static_cast<int>(Uniform(1, 13)), static_cast<int>(Uniform(1, 29)));
    p.birth = birth;
  }
  char expiry[8];
  std::snprintf(expiry, sizeof expiry, "%02d%02d%02d", (year + static_cast<int>(Uniform(1, 10))) % 100,
                static_cast<int>(Uniform(1, 13)), static_cast<int>(Uniform(1, 29)));
  p.expiry = expiry;
  // EAEU citizens often cross with their identity card.
  p.id_card = (p.nationality == "KGZ" || p.nationality == "KAZ") && Chance(0.3);
  const std::string prefix = p.nationality == "KGZ" ? "AC" : p.nationality == "KAZ" ? "N" : "";
  std::string number = prefix;
  while (number.size() < 9) number += static_cast<char>('0' + Uniform(0, 10));
  if (p.nationality == "CHN") number = "E" + number.substr(1, 8);
  p.document_number = number;
  return p;
}

std::string Scenario::MrzOf(const Person& p, Vehicle* v) {
  std::string text = EncodeMrz(p);
  const size_t line2 = text.find('\n') + 1;
  if (Chance(options_.ocr_damage_rate)) {
    // A '0', '1', '5' or '8' of a date read as its look-alike letter: the reader repairs it
    // because the check digit then validates.
    const size_t birth = p.id_card ? line2 : line2 + 13;
    for (size_t i = birth; i < birth + 6; ++i) {
      const char c = text[i];
      const char look = c == '0' ? 'O' : c == '1' ? 'I' : c == '5' ? 'S' : c == '8' ? 'B' : 0;
      if (look) {
        text[i] = look;
        v->notes.push_back("OCR damage in " + p.surname + "'s birth date ('" +
                           std::string(1, c) + "' read as '" + std::string(1, look) + "')");
        break;
      }
    }
  } else if (Chance(options_.mrz_check_wrong_rate)) {
    // An altered document: the document-number check digit is off by one.
    const size_t pos = p.id_card ? 14 : line2 + 9;
    text[pos] = static_cast<char>('0' + (text[pos] - '0' + 1) % 10);
    v->notes.push_back(p.surname + "'s document number check digit is wrong");
  }
  return text;
}

void Scenario::NewPlate(Vehicle* v) {
  auto letters = [&](int n, const char* alphabet) {
    std::string s;
    const size_t size = std::char_traits<char>::length(alphabet);
    for (int i = 0; i < n; ++i) s += alphabet[static_cast<size_t>(Uniform(0, size))];
    return s;
  };
  auto digits = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>('0' + Uniform(0, 10));
    return s;
  };
  auto cyrillic = [](const std::string& latin) {
    std::string s;
    for (char c : latin) {
      const char* twin = CyrillicLookAlike(c);
      s += twin ? twin : std::string(1, c);
    }
    return s;
  };
  if (Chance(options_.watchlist_rate / 2)) {
    const bool kg = Chance(0.5);
    v->plate = kWatchlistPlates[kg ? 0 : 1];
    v->plate_raw = kg ? "01 KG 777 AAA" : cyrillic("777 AEK") + " 05";  // the camera saw Cyrillic
    v->plate_country = kg ? "KG" : "KZ";
    v->plate_region = kg ? "01" : "05";
    v->plate_watchlisted = true;
    v->notes.push_back("plate " + v->plate + " is on the demo watchlist");
  } else {
    const double r = Uniform(0, 1);
    if (r < 0.45) {  // Kyrgyzstan: 01 KG 123 ABC
      const std::string region = "0" + std::to_string(static_cast<int>(Uniform(1, 10)));
      const std::string d = digits(3), l = letters(3, kLatinLetters);
      v->plate = region + "KG" + d + l;
      v->plate_raw = Chance(0.2) ? region + "-KG-" + d + "-" + l : region + " KG " + d + " " + l;
      v->plate_country = "KG";
      v->plate_region = region;
    } else if (r < 0.8) {  // Kazakhstan: 123 ABC 02 (often read with Cyrillic twins)
      const std::string d = digits(3), l = letters(3, kTwinLetters);
      const std::string region = "0" + std::to_string(static_cast<int>(Uniform(1, 10)));
      v->plate = d + l + region;
      v->plate_raw = d + " " + (Chance(0.4) ? cyrillic(l) : l) + " " + region;
      v->plate_country = "KZ";
      v->plate_region = region;
    } else if (r < 0.92) {  // Russia: А123ВС 77, in Cyrillic
      const std::string l1 = letters(1, kTwinLetters), d = digits(3), l2 = letters(2, kTwinLetters);
      const std::string region = std::to_string(static_cast<int>(Uniform(10, 200)));
      v->plate = l1 + d + l2 + region;
      v->plate_raw = cyrillic(l1) + d + cyrillic(l2) + " " + region;
      v->plate_country = "RU";
      v->plate_region = region;
    } else {  // Uzbekistan: 01 A 123 BC
      const std::string region = "1" + std::to_string(static_cast<int>(Uniform(0, 10)));
      const std::string l1 = letters(1, kLatinLetters), d = digits(3), l2 = letters(2, kLatinLetters);
      v->plate = region + l1 + d + l2;
      v->plate_raw = region + " " + l1 + " " + d + " " + l2;
      v->plate_country = "UZ";
      v->plate_region = region;
    }
  }
  if (Chance(options_.low_confidence_rate)) {
    v->plate_confidence = Uniform(0.35, 0.6);
    v->notes.push_back("plate read with low confidence");
  } else {
    v->plate_confidence = Uniform(0.82, 0.99);
  }
  v->plate_confidence = std::round(v->plate_confidence * 100) / 100;
}

Container Scenario::NewContainer(Vehicle* v) {
  Container c;
  std::string code = Pick(kOwners);
  for (int i = 0; i < 6; ++i) code += static_cast<char>('0' + Uniform(0, 10));
  char check = *kordon::iso6346::CheckDigit(code);  // 4 letters, 6 digits: always shaped
  c.registered_code = code + check;
  if (Chance(options_.container_check_wrong_rate)) {
    check = static_cast<char>('0' + (check - '0' + 3) % 10);
    c.check_digit_wrong = true;
    v->notes.push_back("container " + code + check + " has a wrong check digit");
  }
  c.code = code + check;
  c.size_type = Pick(kSizeTypes);
  return c;
}

Vehicle Scenario::Next(VehicleKind kind) {
  Vehicle v;
  v.seq = ++seq_;
  v.kind = kind;
  NewPlate(&v);
  v.driver = NewPerson(true);
  if (v.driver.watchlisted)
    v.notes.push_back("driver " + v.driver.surname + " is on the demo watchlist");
  const int passengers = kind == VehicleKind::kCar ? static_cast<int>(Uniform(0, 4)) : 0;
  for (int i = 0; i < passengers; ++i) {
    v.passengers.push_back(NewPerson(false));
    if (v.passengers.back().watchlisted)
      v.notes.push_back("passenger " + v.passengers.back().surname + " is on the demo watchlist");
  }
  v.documents.push_back(MrzOf(v.driver, &v));
  for (const Person& p : v.passengers) v.documents.push_back(MrzOf(p, &v));

  if (kind == VehicleKind::kTruck) {
    const double r = Uniform(0, 1);
    const int containers = r < 0.35 ? 0 : r < 0.85 ? 1 : 2;
    for (int i = 0; i < containers; ++i) v.containers.push_back(NewContainer(&v));
    const Goods& goods = Pick(kGoods);
    const auto& route = Pick(kRoutes);
    v.has_manifest = true;
    char number[32];
    std::snprintf(number, sizeof number, "%s-2026-%06llu", route.first.c_str(),
                  static_cast<unsigned long long>(++manifest_seq_));
    v.manifest.number = number;
    v.manifest.consignor = Pick(kCompanies);
    v.manifest.consignee = Pick(kCompanies);
    v.manifest.origin = route.first;
    v.manifest.destination = route.second;
    v.manifest.hs_code = goods.hs;
    v.manifest.goods = goods.text;
    v.manifest.declared_gross_kg =
        std::round((Uniform(goods.min_kg, goods.max_kg) - kTruckTareKg) / 10) * 10;
    double actual = v.manifest.declared_gross_kg * Uniform(0.985, 1.015);  // the cargo
    if (Chance(options_.weight_discrepancy_rate)) {
      const double factor = Uniform(0.08, 0.25) * (Chance(0.8) ? 1 : -1);
      actual = v.manifest.declared_gross_kg * (1 + factor);
      char note[96];
      std::snprintf(note, sizeof note, "weighs %+.0f %% against the declared %.0f kg",
                    factor * 100, v.manifest.declared_gross_kg);
      v.notes.push_back(note);
    }
    v.gross_kg = std::round((kTruckTareKg + actual) / 10) * 10;  // a weighbridge: 10 kg steps
  }
  return v;
}

}  // namespace kordon::sim
