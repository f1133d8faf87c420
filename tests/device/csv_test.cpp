// Tests of plugins/common/csv: the RFC 4180 reader of the import files.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <string>

#include "csv.h"

using kordon::csv::ReadRecords;
using kordon::csv::Records;

TEST_CASE("records, quoted fields, CRLF, a BOM and blank lines") {
  const Records r = ReadRecords(
      "\xEF\xBB\xBFid,name\r\n1,\"Токтогулов, Нурлан\"\r\n\r\n2,\"say \"\"hi\"\"\nthere\"\n3,\n");
  REQUIRE(r.ok());
  REQUIRE(r.records.size() == 4);
  CHECK(r.records[0].fields == std::vector<std::string>{"id", "name"});
  CHECK(r.records[1].fields[1] == "Токтогулов, Нурлан");
  CHECK(r.records[2].line == 4);  // the blank line 3 is skipped
  CHECK(r.records[2].fields[1] == "say \"hi\"\nthere");
  CHECK(r.records[3].line == 6);  // the quoted line break counted
  CHECK(r.records[3].fields == std::vector<std::string>{"3", ""});
}

TEST_CASE("every malformed record is an error on its line; reading goes on") {
  const std::string text = std::string("a,b\nx\"y,1\n\"q\"z,2\nok,3\nnul") + '\0' +
                           "here,4\n\"nul in " + '\0' + " quotes\",5\nlast,6\n\"unclosed,7\nnever,8\n";
  const Records s = ReadRecords(text);
  REQUIRE(s.error_count == 5);
  CHECK(s.errors[0].line == 2);
  CHECK(s.errors[0].reason.find("quote inside unquoted field 1") != std::string::npos);
  CHECK(s.errors[1].line == 3);
  CHECK(s.errors[1].reason.find("after the closing quote") != std::string::npos);
  CHECK(s.errors[2].line == 5);
  CHECK(s.errors[2].reason == "a NUL byte");
  CHECK(s.errors[3].line == 6);
  CHECK(s.errors[3].reason == "a NUL byte");
  CHECK(s.errors[4].line == 8);
  CHECK(s.errors[4].reason.find("not closed") != std::string::npos);
  // The good records around them are kept; nothing after the unclosed quote.
  REQUIRE(s.records.size() == 3);
  CHECK(s.records[1].fields[0] == "ok");
  CHECK(s.records[2].fields[0] == "last");
}

TEST_CASE("limits: record length and the number of errors kept") {
  const Records r = ReadRecords("a," + std::string(100, 'x') + "\nb,1\n",
                                {.max_record_bytes = 50, .max_errors = 10});
  REQUIRE(r.error_count == 1);
  CHECK(r.errors[0].reason.find("longer than 50 bytes") != std::string::npos);
  REQUIRE(r.records.size() == 1);
  CHECK(r.records[0].line == 2);

  std::string many;
  for (int i = 0; i < 30; ++i) many += "x\"\n";
  const Records m = ReadRecords(many, {.max_errors = 4});
  CHECK(m.error_count == 30);
  CHECK(m.errors.size() == 4);
}
