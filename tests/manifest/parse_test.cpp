// The manifest parsers (plugins/manifest/manifest.h): JSON Lines and CSV, good files with
// Cyrillic text, and every kind of error with its line number.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "manifest.h"

namespace kordon::manifest {
namespace {

std::string Fixture(const std::string& name) {
  return std::string(KORDON_SOURCE_DIR) + "/tests/manifest/fixtures/" + name;
}

// The site simulator's line (plugins/site-sim WriteManifest), with a valid container.
const char kSiteSimLine[] =
    R"({"manifest":"KG-2026-000123","lane":"lane-1","carrier":"Ак-Жол","plates":["01KG123ABC"],)"
    R"("plate_country":"KG","containers":[{"code":"CSQU3054383","size_type":"45G1"}],)"
    R"("consignor":"Ош Жибек","consignee":"ТОО Сауда","origin":"CN","destination":"KZ",)"
    R"("goods":[{"hs_code":"8471","description":"ноутбуки"}],"declared_gross_kg":24870})";

// kSiteSimLine with `from` replaced by `to`: the error it gives ("" when it parses).
std::string ErrorWith(const std::string& from, const std::string& to) {
  std::string line = kSiteSimLine;
  const size_t at = line.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, from);
  line.replace(at, from.size(), to);
  std::string error;
  return ParseJsonLine(line, &error) ? "" : error;
}

TEST_CASE("a site simulator line parses, with Cyrillic text, and round-trips through ToJson") {
  std::string error;
  auto m = ParseJsonLine(kSiteSimLine, &error);
  REQUIRE_MESSAGE(m.has_value(), error);
  CHECK(m->number == "KG-2026-000123");
  CHECK(m->lane == "lane-1");
  CHECK(m->carrier == "Ак-Жол");
  CHECK(m->consignor == "Ош Жибек");
  CHECK(m->plates == std::vector<std::string>{"01KG123ABC"});
  REQUIRE(m->containers.size() == 1);
  CHECK(m->containers[0].code == "CSQU3054383");
  CHECK(m->containers[0].size_type == "45G1");
  REQUIRE(m->goods.size() == 1);
  CHECK(m->goods[0].hs_code == "8471");
  CHECK(m->goods[0].description == "ноутбуки");
  CHECK_FALSE(m->goods[0].gross_kg.has_value());
  CHECK(m->declared_gross_kg == 24870);
  auto again = ParseJsonLine(ToJson(*m), &error);
  REQUIRE_MESSAGE(again.has_value(), error);
  CHECK(*again == *m);
}

TEST_CASE("plates are normalised as plate-reader does, containers and HS codes too") {
  CHECK(ErrorWith(R"("01KG123ABC")", R"("01 kg 123-abc")") == "");
  std::string error;
  std::string line = kSiteSimLine;
  line.replace(line.find(R"("01KG123ABC")"), 12, R"("777 АЕК 05")");  // Cyrillic look-alikes
  line.replace(line.find("CSQU3054383"), 11, "csqu 305438-3");
  line.replace(line.find(R"("8471")"), 6, R"("0808.10")");
  auto m = ParseJsonLine(line, &error);
  REQUIRE_MESSAGE(m.has_value(), error);
  CHECK(m->plates[0] == "777AEK05");
  CHECK(m->containers[0].code == "CSQU3054383");
  CHECK(m->goods[0].hs_code == "080810");
}

TEST_CASE("every kind of bad manifest is refused with its reason") {
  CHECK(ErrorWith("CSQU3054383", "MSCU1234565") ==
        "container 'MSCU1234565': wrong check digit 5, expected 6 (ISO 6346)");
  CHECK(ErrorWith("CSQU3054383", "CSQ3054383").find("container 'CSQ3054383' is not an ISO "
                                                    "6346 code") == 0);
  CHECK(ErrorWith(R"("45G1")", R"("45G")") ==
        "container CSQU3054383: size_type '45G' is not 4 letters or digits (45G1)");
  CHECK(ErrorWith(R"("carrier":"Ак-Жол",)", "") == "carrier is required");
  CHECK(ErrorWith(R"("consignee":"ТОО Сауда")", R"("consignee":"  ")") == "consignee is required");
  CHECK(ErrorWith(R"("manifest":"KG-2026-000123")", R"("manifest":"KG 1")") ==
        "manifest number 'KG 1' may hold only letters A-Z, digits and - / _ .");
  CHECK(ErrorWith(R"("01KG123ABC")", R"("01KG#1")").find("plate '01KG#1': ") == 0);
  CHECK(ErrorWith(R"("8471")", R"("847")") == "goods line 1: hs_code '847' is not 4 to 10 digits");
  CHECK(ErrorWith(R"("8471")", R"("84711234567")") ==
        "goods line 1: hs_code '84711234567' is not 4 to 10 digits");
  CHECK(ErrorWith(R"("8471")", R"(8471)") ==
        "'hs_code' must be a string of digits in goods line 1");
  CHECK(ErrorWith("24870", "-1") == "declared_gross_kg must be positive, got -1");
  CHECK(ErrorWith("24870", "0") == "declared_gross_kg must be positive, got 0");
  CHECK(ErrorWith("24870", "248700") ==
        "declared_gross_kg 248700 kg is not plausible (more than 100000 kg)");
  CHECK(ErrorWith("24870", R"("24870")") == "'declared_gross_kg' must be a number");
  CHECK(ErrorWith(R"("description":"ноутбуки")",
                  R"("description":"x","gross_kg":9000,"net_kg":9500)") ==
        "goods line 1: net_kg 9500 is more than gross_kg 9000");
  CHECK(ErrorWith(R"("description":"ноутбуки")", R"("gross_kg":30000)") ==
        "the goods lines weigh 30000 kg gross, more than the declared 24870 kg");
  CHECK(ErrorWith(R"("description":"ноутбуки")", R"("packages":2.5)") ==
        "packages must be a whole number from 1 to 1000000, got 2.5 in goods line 1");
  CHECK(ErrorWith(R"("description":"ноутбуки")", R"("weight":1)").find(
            "unknown member 'weight' in goods line 1") == 0);
  CHECK(ErrorWith(R"("lane":"lane-1",)", R"("lane":"lane-1","colour":"red",)")
            .find("unknown member 'colour' (manifest, lane,") == 0);
  CHECK(ErrorWith(R"("origin":"CN")", R"("origin":"CHN")") ==
        "origin 'CHN' is not an ISO 3166 alpha-2 code");
  CHECK(ErrorWith(R"("origin":"CN",)", "") == "origin is required");
  CHECK(ErrorWith(R"("lane":"lane-1",)", R"("lane":"lane-1","date":"2026-02-30",)") ==
        "date '2026-02-30' is not a date YYYY-MM-DD");
  CHECK(ErrorWith(R"("goods":[{"hs_code":"8471","description":"ноутбуки"}])", R"("goods":[])") ==
        "goods is required (at least one goods line)");
  CHECK(ErrorWith(R"("plates":["01KG123ABC"],)", R"("plates":[],)")
            .empty());  // a container is enough
  CHECK(ErrorWith(R"(["01KG123ABC"],"plate_country":"KG","containers":[{"code":"CSQU3054383",)"
                  R"("size_type":"45G1"}])",
                  R"([],"plate_country":"KG","containers":[])") ==
        "neither a plate nor a container: the manifest could never be matched");
  CHECK(ErrorWith("{", "[").find("not JSON") == 0);
  CHECK(ErrorWith("Ак-Жол", "\xC0\xAF").find("not JSON") == 0);  // invalid UTF-8
}

TEST_CASE("a JSON Lines file reports every bad line with its number and imports nothing") {
  ParseResult r = ParseFile(Fixture("bad.jsonl"));
  CHECK_FALSE(r.ok());
  CHECK(r.manifests.empty());
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].reason == "declared_gross_kg 250000 kg is not plausible (more than 100000 kg)");
  CHECK(r.errors[1].line == 3);
  CHECK(r.errors[1].reason.find("not JSON") == 0);
  CHECK(FormatErrors("bad.jsonl", r).find("bad.jsonl: line 2: declared_gross_kg 250000") == 0);

  const std::string twice = std::string(kSiteSimLine) + "\n\n" + kSiteSimLine + "\n";
  r = ParseJsonLines(twice);
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 3);
  CHECK(r.errors[0].reason == "manifest KG-2026-000123 already on line 1");
  CHECK(ParseJsonLines("").errors.at(0).reason == "the file is empty");
}

TEST_CASE("a good JSON Lines file") {
  ParseResult r = ParseFile(Fixture("good.jsonl"));
  REQUIRE_MESSAGE(r.ok(), FormatErrors("good.jsonl", r));
  REQUIRE(r.manifests.size() == 2);
  CHECK(r.lines == std::vector<size_t>{1, 2});
  CHECK(r.manifests[0].goods[0].packages == 240);
  CHECK(r.manifests[1].plates[0] == "777AEK05");
  CHECK(r.manifests[1].date == "2026-11-27");
  CHECK(r.manifests[1].declared_gross_kg == 31000.5);
}

TEST_CASE("a good CSV file: rows with the same number are one manifest") {
  ParseResult r = ParseFile(Fixture("good.csv"));
  REQUIRE_MESSAGE(r.ok(), FormatErrors("good.csv", r));
  REQUIRE(r.manifests.size() == 2);
  const Manifest& a = r.manifests[0];
  CHECK(a.number == "KG-2026-000200");
  CHECK(a.consignor == "Ош Жибек, ЖЧК");
  REQUIRE(a.containers.size() == 2);
  CHECK(a.containers[0] == Container{"TGHU9876542", "22G1"});
  CHECK(a.containers[1] == Container{"MSKU0000011", ""});
  REQUIRE(a.goods.size() == 2);
  CHECK(a.goods[0].gross_kg == 10000);
  CHECK(a.goods[0].net_kg == 9500);
  CHECK(a.goods[0].packages == 200);
  CHECK(a.goods[1].description == "cotton trousers\n(two lines)");
  CHECK_FALSE(a.goods[1].packages.has_value());
  const Manifest& b = r.manifests[1];
  CHECK(b.plates == std::vector<std::string>{"A123BC", "01KG201BBB"});
  CHECK(r.lines == std::vector<size_t>{2, 5});
}

TEST_CASE("a bad CSV file reports every bad line and imports nothing") {
  ParseResult r = ParseFile(Fixture("bad.csv"));
  CHECK(r.manifests.empty());
  REQUIRE(r.errors.size() == 4);
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].reason ==
        "manifest KG-1: container 'MSCU1234565': wrong check digit 5, expected 6 (ISO 6346)");
  CHECK(r.errors[1].line == 3);
  CHECK(r.errors[1].reason == "manifest KG-2: goods line 1: hs_code '84x1' is not 4 to 10 digits");
  CHECK(r.errors[2].line == 4);
  CHECK(r.errors[2].reason == "declared_gross_kg '-5' is not a number (digits and one '.')");
  CHECK(r.errors[3].line == 6);
  CHECK(r.errors[3].reason ==
        "manifest KG-4: carrier 'Other carrier' differs from 'Carrier' on line 5");
}

TEST_CASE("CSV structure errors name their line") {
  auto first = [](const std::string& text) {
    ParseResult r = ParseCsv(text);
    REQUIRE_FALSE(r.ok());
    return "line " + std::to_string(r.errors[0].line) + ": " + r.errors[0].reason;
  };
  const std::string header =
      "manifest,carrier,plates,consignor,consignee,origin,destination,declared_gross_kg,hs_code\n";
  const std::string row = "KG-1,C,01KG001AAA,A,B,CN,KZ,20000,8471\n";
  CHECK(ParseCsv(header + row).ok());
  CHECK(first("") == "line 1: the file is empty (a header line is required)");
  CHECK(first(header) == "line 1: no manifest after the header");
  CHECK(first("manifest,colour\n") == "line 1: unknown column 'colour'");
  CHECK(first("manifest,plates\n").find("line 1: column carrier is required") == 0);
  CHECK(first(header + row + "KG-2,C\n") == "line 3: 2 fields, the header has 9");
  CHECK(first(header + "KG-1,\"C,01KG001AAA,A,B,CN,KZ,20000,8471\n") ==
        "line 2: a quoted field is not closed before the end of the file");
  CHECK(first(header + "KG-1,C\"x\",01KG001AAA,A,B,CN,KZ,20000,8471\n") ==
        "line 2: a quote inside unquoted field 2 (quote the whole field)");
  CHECK(first(header + "KG-1,C,01KG001AAA,A,B,CN,KZ,20000,8471,\n").find("line 2: 10 fields") == 0);
  CHECK(first(header + "KG-1,\xff,01KG001AAA,A,B,CN,KZ,20000,8471\n") ==
        "line 2: carrier is not valid UTF-8");
  CHECK(first(header + "KG-1,C,01KG001AAA,A,B,CN,KZ,2e4,8471\n") ==
        "line 2: declared_gross_kg '2e4' is not a number (digits and one '.')");
  // Errors after a multi-line quoted field keep the physical line number.
  ParseResult r = ParseCsv(header + "KG-1,C,01KG001AAA,A,B,CN,KZ,20000,\"84\n71\"\nKG-2,C\n");
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[1].line == 4);
  CHECK(r.errors[1].reason == "2 fields, the header has 9");
}

TEST_CASE("errors are capped, and counted past the cap") {
  std::string text =
      "manifest,carrier,plates,consignor,consignee,origin,destination,declared_gross_kg,hs_code\n";
  for (int i = 0; i < 250; ++i) text += "KG-" + std::to_string(i) + ",C\n";
  ParseResult r = ParseCsv(text);
  CHECK(r.errors.size() == kMaxErrors);
  CHECK(r.error_count == 250);
  CHECK(FormatErrors("f.csv", r).find("f.csv: ... and 150 more errors") != std::string::npos);
}

TEST_CASE("IsDate") {
  CHECK(IsDate("2024-02-29"));
  CHECK_FALSE(IsDate("2026-02-29"));
  CHECK_FALSE(IsDate("2026-13-01"));
  CHECK_FALSE(IsDate("2026-1-01"));
}

}  // namespace
}  // namespace kordon::manifest
