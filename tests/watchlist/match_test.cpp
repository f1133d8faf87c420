// Matching (plugins/watchlist/watchlist.h): pairs that must match and must not, scores,
// explanations, exact numbers and plates, and the atomic snapshot swap.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "watchlist.h"

namespace kordon::watchlist {
namespace {

Entry Person(std::string id, std::vector<std::string> names, std::vector<std::string> dob,
             std::string nationality = "") {
  Entry e;
  e.list = "test";
  e.id = std::move(id);
  e.kind = "person";
  e.names = std::move(names);
  e.birth_dates = std::move(dob);
  if (!nationality.empty()) e.nationalities = {nationality};
  e.reason = "test entry";
  return e;
}

std::shared_ptr<const Snapshot> Demo() {
  std::vector<Entry> entries = {
      Person("P1", {"Токтогулов Нурлан", "TOKTOGULOV NURLAN"}, {"1981-02-14"}, "KGZ"),
      Person("P2", {"Сулейменова Жанар"}, {"1990-07-07"}, "KAZ"),
      Person("P3", {"KARIMOV RUSTAM BAHODIROVICH"}, {"1976-03-30"}, "UZB"),
      Person("P4", {"IVANOV SERGEI"}, {"1970"}),
      Person("P5", {"LI WEI"}, {"1985-05-05"}),
      Person("P6", {"Алиев Руслан"}, {}),
  };
  Entry doc;
  doc.list = "test";
  doc.id = "D1";
  doc.kind = "document";
  doc.documents = {{"AC1234567", "KGZ"}};
  doc.reason = "stolen passport";
  entries.push_back(doc);
  Entry car;
  car.list = "test";
  car.id = "V1";
  car.kind = "vehicle";
  car.plates = {{"01KG777AAA", "KG"}};
  car.vins = {"WVWZZZ1JZXW000001"};
  entries.push_back(car);
  for (const Entry& e : entries) REQUIRE(ValidateEntry(e) == "");
  return Snapshot::Build(std::move(entries));
}

std::vector<Hit> Names(const Snapshot& s, const std::string& name, const std::string& dob = "") {
  Query q;
  q.name = name;
  q.birth_date = dob;
  return s.Check(q, MatchOptions{});
}

std::string FirstId(const std::vector<Hit>& hits) {
  return hits.empty() ? "(none)" : hits.front().entry->id;
}

TEST_CASE("the same person matches across scripts, spellings, orders, typos and the MRZ") {
  auto s = Demo();
  for (const char* name : {"Токтогулов Нурлан", "TOKTOGULOV NURLAN", "Nurlan Toktogulov",
                           "Toktogoulov Nourlan", "TOKTOGULOV<<NURLAN", "нурлан токтогулов",
                           "TOKTOGULOV NURLAN ASANOVICH", "TOKTGOULOV NURLAN",
                           "TOKTOGULOV NRULAN", "TOKTOGLUOV NURALN", "TOKTOGUOLV NURLAN"}) {
    CAPTURE(name);
    std::vector<Hit> hits = Names(*s, name, "1981-02-14");
    CHECK(FirstId(hits) == "P1");
  }
  CHECK(FirstId(Names(*s, "SULEIMENOVA<<ZHANAR", "1990-07-07")) == "P2");
  CHECK(FirstId(Names(*s, "Suleimenova Janar", "1990-07-07")) == "P2");
  CHECK(FirstId(Names(*s, "SULEYMENOVA ZHANAR", "1990-07-07")) == "P2");
  CHECK(FirstId(Names(*s, "KARIMOV<<RUSTAM", "1976-03-30")) == "P3");
  CHECK(FirstId(Names(*s, "Каримов Рустам Баходирович", "1976-03-30")) == "P3");
  CHECK(FirstId(Names(*s, "KARIMOV RUSTAM BAKHODIROVICH")) == "P3");
  CHECK(FirstId(Names(*s, "ALIYEV RUSLAN")) == "P6");
}

TEST_CASE("different people, different dates of birth and short names do not match") {
  auto s = Demo();
  CHECK(Names(*s, "TOKTOGULOV NURLAN", "1981-02-15").empty());   // another full date
  CHECK(Names(*s, "TOKTOGULOV NURLAN", "1982").empty());         // another year
  CHECK(Names(*s, "TOKTOSUNOV NURLAN", "1979-05-01").empty());   // similar, another date
  CHECK(Names(*s, "TOKTOMAMATOV NURLAN", "1981-02-14").empty()); // another surname
  CHECK(Names(*s, "NURLAN").empty());                            // one part only
  CHECK(Names(*s, "TOKTOGULOV").empty());
  CHECK(Names(*s, "LI WEN", "1985-05-05").empty());              // short parts: exact only
  CHECK(Names(*s, "LU WEI", "1985-05-05").empty());
  CHECK(Names(*s, "IVANOV SERGEI", "1971-01-01").empty());       // year-only entry, other year
  CHECK(Names(*s, "PETROV IVAN").empty());
  CHECK(Names(*s, "KARIMOV AZIZ", "1976-03-30").empty());
}

TEST_CASE("scores follow the date of birth, and explanations say why") {
  auto s = Demo();
  std::vector<Hit> full = Names(*s, "TOKTOGULOV NURLAN", "1981-02-14");
  REQUIRE(full.size() == 1);
  CHECK(full[0].score == doctest::Approx(1.0));
  CHECK(full[0].matched == "name");
  std::vector<Hit> none = Names(*s, "TOKTOGULOV NURLAN");
  REQUIRE(none.size() == 1);
  CHECK(none[0].score == doctest::Approx(0.9));
  CHECK(none[0].explanation.find("date of birth not compared") != std::string::npos);

  Query q;
  q.name = "TOKTOGULOV NURLAN";
  q.surname_parts = 1;
  q.birth_date = "1981-02-14";
  std::vector<Hit> hits = s->Check(q, MatchOptions{});
  REQUIRE(hits.size() == 1);
  // Both aliases match; the Latin one is exact, reported as such.
  CHECK(hits[0].explanation ==
        "surname TOKTOGULOV = TOKTOGULOV, given name NURLAN = NURLAN, date of birth 1981-02-14 "
        "equal (alias TOKTOGULOV NURLAN)");
  q.name = "Токтогулов Нурлан";
  q.name = "TOKTOGULOV NURLAN";

  Entry only_cyrillic = Person("C1", {"Токтогулов Нурлан"}, {"1981-02-14"});
  auto c = Snapshot::Build({only_cyrillic});
  hits = c->Check(q, MatchOptions{});
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].explanation ==
        "surname TOKTOGULOV = Токтогулов (transliteration), given name NURLAN = Нурлан "
        "(transliteration), date of birth 1981-02-14 equal");

  std::vector<Hit> year = Names(*s, "IVANOV SERGEI", "1970-04-01");
  REQUIRE(year.size() == 1);
  CHECK(year[0].score == doctest::Approx(0.95));
  CHECK(year[0].explanation.find("year of birth 1970 equal") != std::string::npos);

  std::vector<Hit> typo = Names(*s, "TOKTOGULOV NRULAN", "1981-02-14");
  REQUIRE(typo.size() == 1);
  CHECK(typo[0].score < 1.0);
  CHECK(typo[0].score > 0.85);
  CHECK(typo[0].explanation.find("NRULAN = NURLAN (1 letter differs)") != std::string::npos);

  MatchOptions strict;
  strict.min_score = 0.95;
  q.name = "TOKTOGULOV NURLAN";
  q.birth_date = "";
  CHECK(s->Check(q, strict).empty());  // 0.9 without a date
}

TEST_CASE("document numbers, plates and VINs match exactly, with the country when known") {
  auto s = Demo();
  Query q;
  q.document_number = "ac 123-4567";
  q.document_country = "KGZ";
  std::vector<Hit> hits = s->Check(q, MatchOptions{});
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].entry->id == "D1");
  CHECK(hits[0].matched == "document");
  CHECK(hits[0].explanation == "document number AC1234567 listed, issued by KGZ");
  q.document_country = "KAZ";
  CHECK(s->Check(q, MatchOptions{}).empty());  // the same number from another country
  q.document_country = "";
  CHECK(s->Check(q, MatchOptions{}).size() == 1);

  Query p;
  p.plate = "01KG777AAA";
  hits = s->Check(p, MatchOptions{});
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].entry->id == "V1");
  p.plate_country = "KZ";
  CHECK(s->Check(p, MatchOptions{}).empty());
  p.plate = "01KG777AAB";
  p.plate_country = "";
  CHECK(s->Check(p, MatchOptions{}).empty());

  Query v;
  v.vin = "wvwzzz1jzxw000001";
  hits = s->Check(v, MatchOptions{});
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].matched == "vin");
}

TEST_CASE("max_hits keeps the best hits, best first") {
  std::vector<Entry> entries;
  for (int i = 0; i < 8; ++i)
    entries.push_back(Person("X" + std::to_string(i), {"ASANOV BOLOT"}, {}));
  entries.push_back(Person("BEST", {"ASANOV BOLOT"}, {"1980-01-01"}));
  auto s = Snapshot::Build(std::move(entries));
  Query q;
  q.name = "ASANOV BOLOT";
  q.birth_date = "1980-01-01";
  MatchOptions o;
  o.max_hits = 3;
  std::vector<Hit> hits = s->Check(q, o);
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].entry->id == "BEST");
  CHECK(hits[0].score >= hits[1].score);
}

TEST_CASE("entries are validated") {
  CHECK(ValidateEntry(Person("", {"A B"}, {})) == "the id is empty");
  CHECK(ValidateEntry(Person("x", {"A B"}, {"1981-02-30"})).find("birth date") == 0);
  Entry e = Person("x", {"A B"}, {});
  e.kind = "ship";
  CHECK(ValidateEntry(e).find("kind 'ship'") == 0);
  CHECK(IsValidBirthDate("1981"));
  CHECK(IsValidBirthDate("2000-02-29"));
  CHECK_FALSE(IsValidBirthDate("1900-02-29"));
  CHECK_FALSE(IsValidBirthDate("81-02-14"));
}

TEST_CASE("readers see the old list or the new one whole, never half") {
  Watchlist w;
  auto make = [](int n, const std::string& tag) {
    std::vector<Entry> entries;
    for (int i = 0; i < n; ++i)
      entries.push_back(Person(tag + std::to_string(i), {"ASANOV " + tag}, {}));
    return Snapshot::Build(std::move(entries));
  };
  w.Replace(make(100, "A"));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      while (!stop) {
        std::shared_ptr<const Snapshot> s = w.Current();
        const size_t n = s->size();
        const std::string tag = s->entries().front().id.substr(0, 1);
        for (const Entry& e : s->entries())
          if (e.id.substr(0, 1) != tag) ++bad;
        if (n != (tag == "A" ? 100u : 300u)) ++bad;
        ++reads;
      }
    });
  for (int i = 0; i < 50; ++i) w.Replace(make(i % 2 ? 100 : 300, i % 2 ? "A" : "B"));
  while (reads < 100) std::this_thread::yield();
  stop = true;
  for (std::thread& t : readers) t.join();
  CHECK(bad == 0);
}

}  // namespace
}  // namespace kordon::watchlist
