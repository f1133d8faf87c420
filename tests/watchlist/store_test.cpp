// The store and its imports (plugins/watchlist/store.h): CSV and UN XML, good and malformed
// files (the line and the reason, and nothing changed).
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "store.h"

namespace kordon::watchlist {
namespace {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/kordon-watchlist-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string Write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

const char kGoodCsv[] =
    "id,kind,names,birth_dates,nationalities,documents,plates,vins,reason\n"
    "P1,person,\"Токтогулов Нурлан; TOKTOGULOV NURLAN\",1981-02-14,KGZ,AC1234567/KGZ,,,"
    "\"wanted, Interpol notice\"\n"
    "D1,document,,,,N 555-01/KAZ,,,stolen passport\r\n"
    "\n"
    "V1,vehicle,,,,,777 АЕК 05/KZ,wvwzzz1jzxw000001,\"stolen \"\"Camry\"\"\n(two lines)\"\n";

TEST_CASE("a good CSV file imports every column") {
  ParseResult r = ParseCsv(kGoodCsv, "demo");
  REQUIRE_MESSAGE(r.ok, r.error);
  REQUIRE(r.entries.size() == 3);
  const Entry& p = r.entries[0];
  CHECK(p.list == "demo");
  CHECK(p.names == std::vector<std::string>{"Токтогулов Нурлан", "TOKTOGULOV NURLAN"});
  CHECK(p.birth_dates == std::vector<std::string>{"1981-02-14"});
  CHECK(p.nationalities == std::vector<std::string>{"KGZ"});
  REQUIRE(p.documents.size() == 1);
  CHECK(p.documents[0].number == "AC1234567");
  CHECK(p.documents[0].country == "KGZ");
  CHECK(p.reason == "wanted, Interpol notice");
  CHECK(r.entries[1].documents[0].number == "N55501");
  const Entry& v = r.entries[2];
  REQUIRE(v.plates.size() == 1);
  CHECK(v.plates[0].plate == "777AEK05");  // plate-reader's normaliser: Cyrillic look-alikes
  CHECK(v.plates[0].country == "KZ");
  CHECK(v.vins == std::vector<std::string>{"WVWZZZ1JZXW000001"});
  CHECK(v.reason == "stolen \"Camry\"\n(two lines)");
}

TEST_CASE("a malformed CSV file names the line and the reason") {
  const std::string header = "id,kind,names,birth_dates\n";
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"", "line 1: no header (the file is empty)"},
      {"id,kind,colour\n", "line 1: unknown column 'colour'"},
      {"names\nX\n", "line 1: the header has no 'id' column"},
      {header + "P1,person,A B,1981\nP2,person,C D\n", "line 3: 3 fields, the header has 4"},
      {header + "P1,person,A B,1981-13-01\n", "line 2: birth date '1981-13-01' is not"},
      {header + "P1,person,\"A B,1981\n", "line 2: a quoted field is not closed"},
      {header + "P1,person,A \"B\",1981\n", "line 2: a quote inside unquoted field 3"},
      {header + "P1,person,\"A\" B,1981\n", "line 2: text after the closing quote of field 3"},
      {header + "P1,ship,A B,1981\n", "line 2: kind 'ship' is not person"},
      {header + "P1,person,,1981\n", "line 2: a person needs a name"},
      {header + "P1,person,A B,\nP1,person,C D,\n", "line 3: id 'P1' already on line 2"},
      {header + "P1,person,A \xC3 B,\n", "line 2: column 'names' is not UTF-8"},
      {"id,kind,plates\nV1,vehicle,01-KG-777!\n", "line 2: plate '01-KG-777!'"},
      {"id,kind,vins\nV1,vehicle,ABC\n", "line 2: VIN 'ABC' does not have 17"},
      {header + "P1,person,\"A\nB\",1981\nP2,person,C D,19x1\n", "line 4: birth date"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    ParseResult r = ParseCsv(c.text, "x");
    CHECK_FALSE(r.ok);
    CHECK(r.entries.empty());
    CHECK_MESSAGE(r.error.rfind(c.error, 0) == 0, r.error);
  }
}

const char kUnXml[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" dateGenerated="2026-11-01T00:00:00">
  <INDIVIDUALS>
    <INDIVIDUAL>
      <DATAID>6908555</DATAID>
      <VERSIONNUM>1</VERSIONNUM>
      <FIRST_NAME>NURLAN</FIRST_NAME>
      <SECOND_NAME>TOKTOGULOV</SECOND_NAME>
      <THIRD_NAME/>
      <UN_LIST_TYPE>Al-Qaida</UN_LIST_TYPE>
      <REFERENCE_NUMBER>QDi.999</REFERENCE_NUMBER>
      <LISTED_ON>2020-01-01</LISTED_ON>
      <COMMENTS1>Test record.</COMMENTS1>
      <NATIONALITY><VALUE>Kyrgyzstan</VALUE></NATIONALITY>
      <INDIVIDUAL_ALIAS><QUALITY>Good</QUALITY><ALIAS_NAME>Токтогулов Нурлан</ALIAS_NAME></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_ALIAS><QUALITY>Low</QUALITY><ALIAS_NAME/></INDIVIDUAL_ALIAS>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>EXACT</TYPE_OF_DATE><DATE>1981-02-14</DATE></INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>APPROXIMATELY</TYPE_OF_DATE><YEAR>1980</YEAR></INDIVIDUAL_DATE_OF_BIRTH>
      <INDIVIDUAL_DOCUMENT><TYPE_OF_DOCUMENT>Passport</TYPE_OF_DOCUMENT><NUMBER>AC 1234567</NUMBER><ISSUING_COUNTRY>Kyrgyzstan</ISSUING_COUNTRY></INDIVIDUAL_DOCUMENT>
    </INDIVIDUAL>
    <INDIVIDUAL>
      <DATAID>6908556</DATAID>
      <FIRST_NAME>ABDUL</FIRST_NAME><SECOND_NAME>RAHMAN</SECOND_NAME>
      <REFERENCE_NUMBER>TAi.001</REFERENCE_NUMBER>
      <INDIVIDUAL_DATE_OF_BIRTH><TYPE_OF_DATE>BETWEEN</TYPE_OF_DATE><FROM_YEAR>1960</FROM_YEAR><TO_YEAR>1962</TO_YEAR></INDIVIDUAL_DATE_OF_BIRTH>
    </INDIVIDUAL>
  </INDIVIDUALS>
  <ENTITIES><ENTITY><DATAID>1</DATAID><FIRST_NAME>SOME FRONT COMPANY</FIRST_NAME></ENTITY></ENTITIES>
</CONSOLIDATED_LIST>
)";

TEST_CASE("the UN consolidated list XML imports individuals") {
  ParseResult r = ParseUnXml(kUnXml, "un");
  REQUIRE_MESSAGE(r.ok, r.error);
  REQUIRE(r.entries.size() == 2);
  CHECK(r.skipped == 1);
  const Entry& e = r.entries[0];
  CHECK(e.id == "QDi.999");
  CHECK(e.kind == "person");
  CHECK(e.names == std::vector<std::string>{"NURLAN TOKTOGULOV", "Токтогулов Нурлан"});
  CHECK(e.birth_dates == std::vector<std::string>{"1981-02-14", "1980"});
  CHECK(e.nationalities == std::vector<std::string>{"Kyrgyzstan"});
  REQUIRE(e.documents.size() == 1);
  CHECK(e.documents[0].number == "AC1234567");
  CHECK(e.reason == "UN Al-Qaida: Test record.");
  CHECK(r.entries[1].birth_dates.empty());

  auto s = Snapshot::Build(r.entries);
  Query q;
  q.name = "TOKTOGULOV<<NURLAN";
  q.birth_date = "1981-02-14";
  CHECK(s->Check(q, MatchOptions{}).size() == 1);
}

TEST_CASE("a malformed UN XML file names the line and the reason") {
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"", "line 1, column 1: the file is empty"},
      {"<LIST/>", "line 1, column 1: the root element is <LIST>"},
      {"<CONSOLIDATED_LIST>\n<INDIVIDUALS>\n<INDIVIDUAL>\n</INDIVIDUALS>",
       "line 4, column 3: mismatched tag"},
      {"<CONSOLIDATED_LIST><INDIVIDUALS>\n<INDIVIDUAL><REFERENCE_NUMBER>X1</REFERENCE_NUMBER>\n"
       "</INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>",
       "line 3, column 1: <INDIVIDUAL> X1 ending here: a person needs a name"},
      {"<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><FIRST_NAME>A B</FIRST_NAME>\n"
       "<INDIVIDUAL_DATE_OF_BIRTH><DATE>1981-02-31</DATE>",
       "line 2, column 43: <DATE> '1981-02-31' is not a date of birth"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    ParseResult r = ParseUnXml(c.text, "x");
    CHECK_FALSE(r.ok);
    CHECK(r.entries.empty());
    CHECK_MESSAGE(r.error.rfind(c.error, 0) == 0, r.error);
  }
}

TEST_CASE("an import replaces a list in one transaction; a malformed file changes nothing") {
  TempDir dir;
  Store store(dir.File("wl.db"));
  ImportOutcome r = ImportFile(store, Write(dir.File("a.csv"), kGoodCsv), "demo", "");
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.entries == 3);
  r = ImportFile(store, Write(dir.File("un.xml"), kUnXml), "un", "");
  REQUIRE_MESSAGE(r.ok, r.error);
  std::vector<Entry> all;
  std::string error;
  REQUIRE(store.LoadAll(&all, &error));
  CHECK(all.size() == 5);
  const int64_t version = store.DataVersion();

  // A bad row at the end: the error names it, and the list keeps its three entries.
  const std::string bad = std::string(kGoodCsv) + "P9,person,X Y,tomorrow,,,,,\n";
  r = ImportFile(store, Write(dir.File("bad.csv"), bad), "demo", "csv");
  CHECK_FALSE(r.ok);
  CHECK_MESSAGE(r.error.find("bad.csv: line 7: birth date 'tomorrow'") != std::string::npos,
                r.error);
  CHECK(r.error.find("nothing was imported") != std::string::npos);
  REQUIRE(store.LoadAll(&all, &error));
  CHECK(all.size() == 5);

  // Another connection sees the commit of a good import through data_version.
  Store other(dir.File("wl.db"));
  const int64_t before = other.DataVersion();
  r = ImportFile(store, Write(dir.File("b.csv"), "id,kind,names\nP1,person,A B\n"), "demo", "");
  REQUIRE(r.ok);
  CHECK(other.DataVersion() != before);
  REQUIRE(other.LoadAll(&all, &error));
  CHECK(all.size() == 3);  // demo now holds one, un two
  (void)version;

  r = ImportFile(store, dir.File("missing.csv"), "demo", "");
  CHECK_FALSE(r.ok);
  CHECK(r.error.find("cannot open") == 0);
  r = ImportFile(store, dir.File("b.csv"), "demo", "json");
  CHECK(r.error.find("format 'json'") == 0);
}

}  // namespace
}  // namespace kordon::watchlist
