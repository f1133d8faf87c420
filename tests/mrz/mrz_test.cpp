// Tests of the MRZ parser (plugins/mrz-reader/mrz.h) and of the mrz-reader message bodies.
// Every check digit in the data below was computed independently (weights 7, 3, 1) before it
// was written here; the specimens are those of ICAO Doc 9303.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mrz.h"
#include "mrz_message.h"
#include "specimens.h"

namespace {

namespace chrono = std::chrono;
using kordon::mrz::Check;
using kordon::mrz::Date;
using kordon::mrz::Document;
using kordon::mrz::Format;
using kordon::mrz::Parse;
using kordon::mrz::ParseResult;

constexpr chrono::year_month_day kToday{chrono::year(2024), chrono::month(6), chrono::day(15)};

// Doc 9303 part 7 (visas).
const std::string kMrvALine1 = "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
const std::string kMrvALine2 = "L8988901C4XXX4009078F96121096ZE184226B<<<<<<";
const std::string kMrvBLine1 = "V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<";
const std::string kMrvBLine2 = "L8988901C4XXX4009078F9612109<<<<<<<<";

std::string Td3(const std::string& line2) { return kTd3Line1 + "\n" + line2; }

Document MustParse(std::string_view text, chrono::year_month_day today = kToday) {
  ParseResult r = Parse(text, today);
  INFO("error: " << r.error);
  REQUIRE(r.ok());
  return *r.document;
}

std::string MustFail(std::string_view text) {
  ParseResult r = Parse(text, kToday);
  REQUIRE_FALSE(r.ok());
  CHECK_FALSE(r.error.empty());
  return r.error;
}

const Check& CheckOf(const Document& d, std::string_view field) {
  for (const Check& c : d.checks)
    if (c.field == field) return c;
  FAIL("no check for " << field);
  return d.checks.front();
}

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string Problems(const Document& d) {
  std::string s;
  for (const std::string& p : d.problems) s += p + "; ";
  return s;
}

std::string Ymd(std::optional<chrono::year_month_day> d) {
  if (!d) return "none";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d->year()),
                static_cast<unsigned>(d->month()), static_cast<unsigned>(d->day()));
  return buf;
}

chrono::year_month_day Day(int y, unsigned m, unsigned d) {
  return {chrono::year(y), chrono::month(m), chrono::day(d)};
}

}  // namespace

TEST_CASE("check digits: weights 7 3 1, letters 10-35, filler 0") {
  CHECK(kordon::mrz::CheckDigit("L898902C3") == '6');
  CHECK(kordon::mrz::CheckDigit("740812") == '2');
  CHECK(kordon::mrz::CheckDigit("120415") == '9');
  CHECK(kordon::mrz::CheckDigit("ZE184226B<<<<<") == '1');
  CHECK(kordon::mrz::CheckDigit("D23145890") == '7');
  CHECK(kordon::mrz::CheckDigit("D23145890734") == '9');
  CHECK(kordon::mrz::CheckDigit("<<<<<<") == '0');
  CHECK(kordon::mrz::CheckDigit("A") == '0');  // 10*7 = 70
  CHECK(kordon::mrz::CheckDigit("Z") == '5');  // 35*7 = 245
}

TEST_CASE("TD3 specimen: every field and every check digit") {
  const Document d = MustParse(Td3(kTd3Line2));
  INFO(Problems(d));
  CHECK(d.format == Format::kTD3);
  CHECK(kordon::mrz::FormatName(d.format) == "TD3");
  CHECK(d.document_code == "P");
  CHECK(d.issuing_state == "UTO");
  CHECK(d.primary_identifier == "ERIKSSON");
  CHECK(d.secondary_identifier == "ANNA MARIA");
  CHECK(d.document_number == "L898902C3");
  CHECK(d.nationality == "UTO");
  CHECK(d.birth_date.state == Date::State::kValid);
  CHECK(d.birth_date.iso == "1974-08-12");
  CHECK(d.sex == "F");
  CHECK(d.expiry_date.iso == "2012-04-15");
  CHECK(d.optional_data_1 == "ZE184226B");
  CHECK(d.optional_data_2.empty());
  REQUIRE(d.checks.size() == 5);
  const char* fields[] = {"document_number", "birth_date", "expiry_date", "personal_number",
                          "composite"};
  const char digits[] = {'6', '2', '9', '1', '0'};
  const int columns[] = {10, 20, 28, 43, 44};
  for (size_t i = 0; i < 5; ++i) {
    CAPTURE(i);
    CHECK(d.checks[i].field == fields[i]);
    CHECK(d.checks[i].present);
    CHECK(d.checks[i].valid);
    CHECK(d.checks[i].expected == digits[i]);
    CHECK(d.checks[i].found == digits[i]);
    CHECK(d.checks[i].line == 2);
    CHECK(d.checks[i].column == columns[i]);
  }
  CHECK(d.repairs.empty());
  CHECK(d.problems.empty());
  CHECK(d.valid());
}

TEST_CASE("TD1 specimen") {
  const Document d = MustParse(kTd1Line1 + "\n" + kTd1Line2 + "\n" + kTd1Line3);
  INFO(Problems(d));
  CHECK(d.format == Format::kTD1);
  CHECK(d.document_code == "I");
  CHECK(d.issuing_state == "UTO");
  CHECK(d.document_number == "D23145890");
  CHECK(d.birth_date.iso == "1974-08-12");
  CHECK(d.sex == "F");
  CHECK(d.expiry_date.iso == "2012-04-15");
  CHECK(d.nationality == "UTO");
  CHECK(d.optional_data_1.empty());
  CHECK(d.optional_data_2.empty());
  CHECK(d.primary_identifier == "ERIKSSON");
  CHECK(d.secondary_identifier == "ANNA MARIA");
  REQUIRE(d.checks.size() == 4);
  CHECK(CheckOf(d, "document_number").found == '7');
  CHECK(CheckOf(d, "document_number").line == 1);
  CHECK(CheckOf(d, "document_number").column == 15);
  CHECK(CheckOf(d, "birth_date").found == '2');
  CHECK(CheckOf(d, "expiry_date").found == '9');
  CHECK(CheckOf(d, "composite").found == '6');
  CHECK(CheckOf(d, "composite").line == 2);
  CHECK(CheckOf(d, "composite").column == 30);
  CHECK(d.valid());
}

TEST_CASE("TD2 specimen") {
  const Document d = MustParse(kTd2Line1 + "\n" + kTd2Line2);
  INFO(Problems(d));
  CHECK(d.format == Format::kTD2);
  CHECK(d.document_code == "I");
  CHECK(d.document_number == "D23145890");
  CHECK(d.birth_date.iso == "1974-08-12");
  CHECK(d.expiry_date.iso == "2012-04-15");
  CHECK(d.primary_identifier == "ERIKSSON");
  CHECK(d.secondary_identifier == "ANNA MARIA");
  REQUIRE(d.checks.size() == 4);
  CHECK(CheckOf(d, "composite").expected == '6');
  CHECK(CheckOf(d, "composite").column == 36);
  CHECK(d.valid());
}

TEST_CASE("visas: MRV-A and MRV-B have no composite check digit") {
  const Document a = MustParse(kMrvALine1 + "\n" + kMrvALine2);
  INFO(Problems(a));
  CHECK(a.format == Format::kMRVA);
  CHECK(a.document_code == "V");
  CHECK(a.document_number == "L8988901C");
  CHECK(a.nationality == "XXX");
  CHECK(a.birth_date.iso == "1940-09-07");
  CHECK(a.expiry_date.iso == "1996-12-10");
  CHECK(a.optional_data_1 == "6ZE184226B");
  CHECK(a.checks.size() == 3);
  CHECK(a.valid());

  const Document b = MustParse(kMrvBLine1 + "\n" + kMrvBLine2);
  INFO(Problems(b));
  CHECK(b.format == Format::kMRVB);
  CHECK(kordon::mrz::FormatName(b.format) == "MRV-B");
  CHECK(b.document_number == "L8988901C");
  CHECK(b.optional_data_1.empty());
  CHECK(b.checks.size() == 3);
  CHECK(b.valid());
}

TEST_CASE("line breaks, trailing spaces and a final line break are tolerated") {
  CHECK(MustParse(kTd3Line1 + "\r\n" + kTd3Line2 + "\r\n").valid());
  CHECK(MustParse(kTd3Line1 + "   \n" + kTd3Line2 + "  ").valid());
  CHECK(MustParse(kTd3Line1 + "\n" + kTd3Line2 + "\n").valid());
}

TEST_CASE("altered specimens fail their check digits") {
  SUBCASE("a changed digit in the document number") {
    std::string line2 = kTd3Line2;
    line2[3] = '7';  // L898902C3 -> L897902C3
    const Document d = MustParse(Td3(line2));
    CHECK_FALSE(CheckOf(d, "document_number").valid);
    CHECK(CheckOf(d, "document_number").found == '6');
    CHECK(CheckOf(d, "birth_date").valid);
    CHECK_FALSE(CheckOf(d, "composite").valid);
    CHECK(d.repairs.empty());
    CHECK_FALSE(d.valid());
  }
  SUBCASE("a changed digit in a TD1 document number") {
    std::string line1 = kTd1Line1;
    line1[6] = '4';
    const Document d = MustParse(line1 + "\n" + kTd1Line2 + "\n" + kTd1Line3);
    CHECK_FALSE(CheckOf(d, "document_number").valid);
    CHECK_FALSE(CheckOf(d, "composite").valid);
    CHECK_FALSE(d.valid());
  }
  SUBCASE("a changed name passes: names carry no check digit") {
    std::string line1 = kTd3Line1;
    line1[18] = 'E';  // ANNA -> ANNE
    const Document d = MustParse(line1 + "\n" + kTd3Line2);
    CHECK(d.secondary_identifier == "ANNE MARIA");
    CHECK(d.valid());
  }
  SUBCASE("a changed birth date") {
    std::string line2 = kTd3Line2;
    line2[18] = '3';  // 740812 -> 740813
    const Document d = MustParse(Td3(line2));
    CHECK(d.birth_date.iso == "1974-08-13");
    CHECK_FALSE(CheckOf(d, "birth_date").valid);
    CHECK(CheckOf(d, "birth_date").expected == '3');
    CHECK(CheckOf(d, "birth_date").found == '2');
    CHECK_FALSE(CheckOf(d, "composite").valid);
    CHECK(CheckOf(d, "document_number").valid);
    CHECK_FALSE(d.valid());
  }
  SUBCASE("a changed expiry date in TD2") {
    std::string line2 = kTd2Line2;
    line2[26] = '6';  // 120415 -> 120416
    const Document d = MustParse(kTd2Line1 + "\n" + line2);
    CHECK_FALSE(CheckOf(d, "expiry_date").valid);
    CHECK_FALSE(CheckOf(d, "composite").valid);
    CHECK_FALSE(d.valid());
  }
  SUBCASE("a changed personal number") {
    std::string line2 = kTd3Line2;
    line2[30] = '5';
    const Document d = MustParse(Td3(line2));
    CHECK_FALSE(CheckOf(d, "personal_number").valid);
    CHECK_FALSE(d.valid());
  }
  SUBCASE("a changed composite digit") {
    std::string line2 = kTd3Line2;
    line2[43] = '1';
    const Document d = MustParse(Td3(line2));
    CHECK_FALSE(CheckOf(d, "composite").valid);
    CHECK(CheckOf(d, "composite").expected == '0');
    CHECK(CheckOf(d, "composite").found == '1');
    CHECK_FALSE(d.valid());
  }
}

TEST_CASE("texts that are not an MRZ are rejected with a reason") {
  SUBCASE("empty") { CHECK(Contains(MustFail(""), "empty")); }
  SUBCASE("a line one character short") {
    const std::string why = MustFail(kTd3Line1 + "\n" + kTd3Line2.substr(0, 43));
    CHECK(Contains(why, "2 lines of 44, 43 characters"));
  }
  SUBCASE("a line one character long") {
    CHECK(Contains(MustFail(kTd1Line1 + "<\n" + kTd1Line2 + "\n" + kTd1Line3), "31"));
  }
  SUBCASE("TD1 line lengths on two lines") {
    CHECK(Contains(MustFail(kTd1Line1 + "\n" + kTd1Line2), "2 lines of 30, 30"));
  }
  SUBCASE("one line") { CHECK(Contains(MustFail(kTd3Line1), "1 line of 44")); }
  SUBCASE("three lines of 44") {
    CHECK(Contains(MustFail(Td3(kTd3Line2) + "\n" + kTd3Line2), "3 lines"));
  }
  SUBCASE("an empty line between the lines") {
    CHECK(Contains(MustFail(kTd3Line1 + "\n\n" + kTd3Line2), "3 lines of 44, 0, 44"));
  }
  SUBCASE("mixed line lengths (TD2 and TD3)") {
    CHECK(Contains(MustFail(kTd2Line1 + "\n" + kTd3Line2), "36, 44"));
  }
  SUBCASE("lower case") {
    std::string line1 = kTd3Line1;
    line1[6] = 'r';
    const std::string why = MustFail(line1 + "\n" + kTd3Line2);
    CHECK(Contains(why, "line 1, column 7"));
    CHECK(Contains(why, "lower-case 'r'"));
  }
  SUBCASE("an illegal character") {
    std::string line2 = kTd3Line2;
    line2[40] = '#';
    const std::string why = MustFail(Td3(line2));
    CHECK(Contains(why, "line 2, column 41"));
    CHECK(Contains(why, "'#'"));
  }
  SUBCASE("a space inside a line") {
    std::string line1 = kTd3Line1;
    line1[13] = ' ';
    CHECK(Contains(MustFail(line1 + "\n" + kTd3Line2), "a space"));
  }
  SUBCASE("a tab") {
    CHECK(Contains(MustFail(kTd3Line1 + "\t\n" + kTd3Line2), "control character 0x09"));
  }
  SUBCASE("a carriage return alone") {
    CHECK(Contains(MustFail(kTd3Line1 + "\r" + kTd3Line2), "carriage return"));
  }
  SUBCASE("a Cyrillic letter that looks Latin") {
    // ANNA with a Cyrillic А (U+0410) as its first letter.
    const std::string line1 = "P<UTOERIKSSON<<\xD0\x90NNA<MARIA<<<<<<<<<<<<<<<<<<<";
    const std::string why = MustFail(line1 + "\n" + kTd3Line2);
    CHECK(Contains(why, "line 1, column 16"));
    CHECK(Contains(why, "U+0410"));
    CHECK(Contains(why, "Cyrillic"));
  }
  SUBCASE("another non-ASCII letter") {
    const std::string line1 = "P<UTOERIKSSON<<ANN\xC3\x84<MARIA<<<<<<<<<<<<<<<<<<<";  // Ä
    const std::string why = MustFail(line1 + "\n" + kTd3Line2);
    CHECK(Contains(why, "U+00C4"));
    CHECK(Contains(why, "column 19"));
  }
  SUBCASE("bytes that are not UTF-8") {
    CHECK(Contains(MustFail(kTd3Line1 + "\n\xFF" + kTd3Line2.substr(1)), "not valid UTF-8"));
  }
}

TEST_CASE("OCR repair in numeric fields") {
  SUBCASE("an O in the birth date that validates only as 0 is repaired and reported") {
    std::string line2 = kTd3Line2;
    line2[15] = 'O';  // 740812 -> 74O812
    const Document d = MustParse(Td3(line2));
    INFO(Problems(d));
    CHECK(d.birth_date.iso == "1974-08-12");
    CHECK(d.birth_date.raw == "740812");
    REQUIRE(d.repairs.size() == 1);
    CHECK(d.repairs[0].field == "birth_date");
    CHECK(d.repairs[0].line == 2);
    CHECK(d.repairs[0].column == 16);
    CHECK(d.repairs[0].from == 'O');
    CHECK(d.repairs[0].to == '0');
    CHECK(CheckOf(d, "birth_date").valid);
    CHECK(CheckOf(d, "composite").valid);
    CHECK(d.lines[1] == kTd3Line2);
    CHECK(d.valid());
  }
  SUBCASE("two confusions in one field (O and I in the expiry date)") {
    std::string line2 = kTd3Line2;
    line2[23] = 'O';
    line2[25] = 'I';  // 120415 -> 12O4I5
    const Document d = MustParse(Td3(line2));
    CHECK(d.expiry_date.iso == "2012-04-15");
    REQUIRE(d.repairs.size() == 2);
    CHECK(d.repairs[0].column == 24);
    CHECK(d.repairs[1].column == 26);
    CHECK(d.repairs[1].from == 'I');
    CHECK(d.repairs[1].to == '1');
    CHECK(d.valid());
  }
  SUBCASE("a check digit read as a letter (2 as Z)") {
    std::string line2 = kTd3Line2;
    line2[19] = 'Z';
    const Document d = MustParse(Td3(line2));
    REQUIRE(d.repairs.size() == 1);
    CHECK(d.repairs[0].field == "birth_date");
    CHECK(d.repairs[0].column == 20);
    CHECK(d.valid());
  }
  SUBCASE("O, B, I and S in both dates of a TD1 card") {
    // 740812 read as 74OBI2, 120415 as I2O4IS.
    const Document d =
        MustParse(kTd1Line1 + "\n" + "74OBI22FI2O4IS9UTO<<<<<<<<<<<6" + "\n" + kTd1Line3);
    INFO(Problems(d));
    CHECK(d.birth_date.iso == "1974-08-12");
    CHECK(d.expiry_date.iso == "2012-04-15");
    CHECK(d.repairs.size() == 7);
    CHECK(d.lines[1] == kTd1Line2);
    CHECK(d.valid());
  }
  SUBCASE("a confusion whose repair does not validate is left alone and the check fails") {
    std::string line2 = kTd3Line2;
    line2[15] = 'O';
    line2[18] = '3';  // 74O813: as 740813 its check digit would be 3, the MRZ says 2
    const Document d = MustParse(Td3(line2));
    CHECK(d.repairs.empty());
    CHECK(d.birth_date.state == Date::State::kInvalid);
    CHECK(d.birth_date.raw == "74O813");
    CHECK(d.birth_date.iso.empty());
    CHECK_FALSE(CheckOf(d, "birth_date").valid);
    CHECK_FALSE(CheckOf(d, "composite").valid);
    CHECK(Contains(Problems(d), "birth date '74O813'"));
    CHECK(Contains(Problems(d), "not numeric"));
    CHECK_FALSE(d.valid());
  }
  SUBCASE("a letter with no digit look-alike is not repaired") {
    std::string line2 = kTd3Line2;
    line2[15] = 'X';
    const Document d = MustParse(Td3(line2));
    CHECK(d.repairs.empty());
    CHECK_FALSE(d.valid());
  }
  SUBCASE("a composite check digit read as a letter") {
    std::string line2 = kTd3Line2;
    line2[43] = 'O';
    const Document d = MustParse(Td3(line2));
    REQUIRE(d.repairs.size() == 1);
    CHECK(d.repairs[0].field == "composite");
    CHECK(d.repairs[0].column == 44);
    CHECK(d.valid());
  }
  SUBCASE("names are never repaired") {
    std::string line1 = kTd3Line1;
    line1[11] = '0';  // ERIKSS0N
    const Document d = MustParse(line1 + "\n" + kTd3Line2);
    CHECK(d.repairs.empty());
    CHECK(d.primary_identifier == "ERIKSS0N");
    CHECK(Contains(Problems(d), "line 1, column 12"));
    CHECK_FALSE(d.valid());
  }
}

TEST_CASE("OCR repair of the alphanumeric document number") {
  SUBCASE("repaired when exactly one combination makes the check digit match") {
    // XA3709K47, check digit 1, read with O for 0: the only confusable character.
    const Document d = MustParse(Td3("XA37O9K471UTO7408122F1204159ZE184226B<<<<<10"));
    INFO(Problems(d));
    CHECK(d.document_number == "XA3709K47");
    REQUIRE(d.repairs.size() == 1);
    CHECK(d.repairs[0].field == "document_number");
    CHECK(d.repairs[0].column == 5);
    CHECK(d.repairs[0].from == 'O');
    CHECK(d.repairs[0].to == '0');
    CHECK(d.valid());
  }
  SUBCASE("not repaired when several combinations would match") {
    // L898902C3 read as L8989O2C3: O->0, and also 8->B 8->B, 8->B 2->Z, match digit 6.
    std::string line2 = kTd3Line2;
    line2[5] = 'O';
    const Document d = MustParse(Td3(line2));
    CHECK(d.repairs.empty());
    CHECK(d.document_number == "L8989O2C3");
    CHECK_FALSE(CheckOf(d, "document_number").valid);
    CHECK(Contains(Problems(d), "3 different OCR repairs"));
    CHECK_FALSE(d.valid());
  }
  SUBCASE("not touched when its check digit matches") {
    // XA3709K47 with check digit 1 as read: a valid number keeps its letters and digits.
    const Document d = MustParse(Td3("XA3709K471UTO7408122F1204159ZE184226B<<<<<10"));
    CHECK(d.repairs.empty());
    CHECK(d.valid());
  }
  SUBCASE("its check digit read as a letter (6 as G)") {
    std::string line2 = kTd3Line2;
    line2[9] = 'G';
    const Document d = MustParse(Td3(line2));
    REQUIRE(d.repairs.size() == 1);
    CHECK(d.repairs[0].column == 10);
    CHECK(d.repairs[0].to == '6');
    CHECK(d.document_number == "L898902C3");
    CHECK(d.valid());
  }
}

TEST_CASE("TD1 document number longer than nine characters continues in optional data 1") {
  // D23145890734: nine characters, '<' in the check digit position, then 734, its check
  // digit 9 and a filler in optional data 1.
  const Document d = MustParse(std::string("I<UTOD23145890<7349<<<<<<<<<<<\n") + kTd1Line2 + "\n" +
                               kTd1Line3);
  INFO(Problems(d));
  CHECK(d.document_number == "D23145890734");
  const Check& c = CheckOf(d, "document_number");
  CHECK(c.valid);
  CHECK(c.found == '9');
  CHECK(c.line == 1);
  CHECK(c.column == 19);
  CHECK(d.optional_data_1.empty());
  CHECK(CheckOf(d, "composite").valid);
  CHECK(d.valid());

  SUBCASE("optional data after the overflow") {
    // The composite check digit covers optional data 1, so it is 4 here.
    const Document e = MustParse(std::string("I<UTOD23145890<7349<AB12<<<<<<\n") +
                                 "7408122F1204159UTO<<<<<<<<<<<4\n" + kTd1Line3);
    CHECK(e.document_number == "D23145890734");
    CHECK(e.optional_data_1 == "AB12");
    CHECK(CheckOf(e, "document_number").valid);
  }
  SUBCASE("a wrong overflow check digit fails") {
    const Document e = MustParse(std::string("I<UTOD23145890<7348<<<<<<<<<<<\n") + kTd1Line2 +
                                 "\n" + kTd1Line3);
    CHECK_FALSE(CheckOf(e, "document_number").valid);
    CHECK(CheckOf(e, "document_number").expected == '9');
    CHECK_FALSE(e.valid());
  }
}

TEST_CASE("unknown birth date and unused personal number") {
  const Document d = MustParse(Td3("L898902C36UTO<<<<<<<F1204159ZE184226B<<<<<10"));
  INFO(Problems(d));
  CHECK(d.birth_date.state == Date::State::kUnknown);
  CHECK(d.birth_date.iso.empty());
  CHECK_FALSE(CheckOf(d, "birth_date").present);
  CHECK(CheckOf(d, "birth_date").valid);
  CHECK(d.valid());

  const Document e = MustParse(Td3("L898902C36UTO7408122F1204159<<<<<<<<<<<<<<<8"));
  INFO(Problems(e));
  CHECK(e.optional_data_1.empty());
  CHECK_FALSE(CheckOf(e, "personal_number").present);
  CHECK(CheckOf(e, "personal_number").valid);
  CHECK(e.valid());
}

TEST_CASE("impossible dates and bad fields are problems") {
  std::string line2 = kTd3Line2;
  line2[15] = '1';
  line2[16] = '3';  // 741312
  const Document d = MustParse(Td3(line2));
  CHECK(d.birth_date.state == Date::State::kInvalid);
  CHECK(Contains(Problems(d), "month 13 does not exist"));
  CHECK_FALSE(d.valid());

  std::string sex = kTd3Line2;
  sex[20] = 'Q';
  CHECK(Contains(Problems(MustParse(Td3(sex))), "sex 'Q'"));
  std::string unspecified = kTd3Line2;
  unspecified[20] = '<';
  CHECK(MustParse(Td3(unspecified)).sex == "X");
}

TEST_CASE("century of a birth date: the latest date not after today") {
  using kordon::mrz::ResolveBirthDate;
  CHECK(Ymd(ResolveBirthDate("740812", kToday)) == "1974-08-12");
  CHECK(Ymd(ResolveBirthDate("240615", kToday)) == "2024-06-15");  // born today
  CHECK(Ymd(ResolveBirthDate("240616", kToday)) == "1924-06-16");  // tomorrow: a century ago
  CHECK(Ymd(ResolveBirthDate("991231", kToday)) == "1999-12-31");
  CHECK(Ymd(ResolveBirthDate("000101", kToday)) == "2000-01-01");
  CHECK(Ymd(ResolveBirthDate("741312", kToday)) == "none");
  CHECK(Ymd(ResolveBirthDate("740431", kToday)) == "none");
  CHECK(Ymd(ResolveBirthDate("74O812", kToday)) == "none");
}

TEST_CASE("century of an expiry date: the closest to today") {
  using kordon::mrz::ResolveExpiryDate;
  CHECK(Ymd(ResolveExpiryDate("120415", kToday)) == "2012-04-15");
  CHECK(Ymd(ResolveExpiryDate("340101", kToday)) == "2034-01-01");
  CHECK(Ymd(ResolveExpiryDate("900101", kToday)) == "1990-01-01");
  // 2074-01-01 is 49.5 years ahead, 1974-01-01 50.5 years back.
  CHECK(Ymd(ResolveExpiryDate("740101", kToday)) == "2074-01-01");
  // 2075-01-01 is 50.5 years ahead, 1975-01-01 49.5 years back.
  CHECK(Ymd(ResolveExpiryDate("750101", kToday)) == "1975-01-01");
  // Around today + 50 years: 2074-06-15 is 18262 days ahead, 1974-06-15 18263 back;
  // 2074-06-16 is 18263 ahead, 1974-06-16 18262 back.
  CHECK(Ymd(ResolveExpiryDate("740615", kToday)) == "2074-06-15");
  CHECK(Ymd(ResolveExpiryDate("740616", kToday)) == "1974-06-16");
  CHECK(Ymd(ResolveExpiryDate("991231", Day(2001, 1, 1))) == "1999-12-31");
  CHECK(Ymd(ResolveExpiryDate("010101", Day(1999, 12, 31))) == "2001-01-01");
}

TEST_CASE("leap days") {
  using kordon::mrz::ResolveBirthDate;
  using kordon::mrz::ResolveExpiryDate;
  CHECK(Ymd(ResolveBirthDate("000229", kToday)) == "2000-02-29");
  CHECK(Ymd(ResolveBirthDate("240229", kToday)) == "2024-02-29");
  CHECK(Ymd(ResolveBirthDate("010229", kToday)) == "none");
  // Before 29 February 2000 the year 00 is 1900, which was not a leap year.
  CHECK(Ymd(ResolveBirthDate("000229", Day(2000, 2, 28))) == "none");
  CHECK(Ymd(ResolveBirthDate("000229", Day(2000, 2, 29))) == "2000-02-29");
  CHECK(Ymd(ResolveExpiryDate("280229", kToday)) == "2028-02-29");
  CHECK(Ymd(ResolveExpiryDate("270229", kToday)) == "none");

  // In a document: born on a leap day (check digit of 000229 is 9, composite 8).
  const Document d = MustParse(Td3("L898902C36UTO0002299F1204159ZE184226B<<<<<18"));
  INFO(Problems(d));
  CHECK(d.birth_date.iso == "2000-02-29");
  CHECK(d.valid());
}

TEST_CASE("message bodies") {
  using kordon::mrz::HandleRawBody;
  using Json = nlohmann::json;
  SUBCASE("a read") {
    Json in = {{"mrz", Td3(kTd3Line2)}, {"reader", "desk-1"}};
    const kordon::mrz::Outcome out = HandleRawBody(in.dump(), kToday);
    CHECK(out.topic == "scanner.document.read");
    const Json body = Json::parse(out.body);
    CHECK(body["reader"] == "desk-1");
    CHECK(body["format"] == "TD3");
    CHECK(body["valid"] == true);
    CHECK(body["document_number"] == "L898902C3");
    CHECK(body["birth_date"] == "1974-08-12");
    CHECK(body["expiry_date"] == "2012-04-15");
    CHECK(body["primary_identifier"] == "ERIKSSON");
    CHECK(body["secondary_identifier"] == "ANNA MARIA");
    REQUIRE(body["checks"].size() == 5);
    CHECK(body["checks"][4]["field"] == "composite");
    CHECK(body["checks"][4]["expected"] == "0");
    CHECK(body["repairs"].empty());
    CHECK(body["mrz"] == Td3(kTd3Line2));
  }
  SUBCASE("a read with a repair and an unknown birth date") {
    std::string line2 = "L898902C36UTO<<<<<<<F1204159ZE184226B<<<<<1O";
    const Json body =
        Json::parse(HandleRawBody(Json{{"mrz", Td3(line2)}}.dump(), kToday).body);
    CHECK(body["birth_date"] == "unknown");
    REQUIRE(body["repairs"].size() == 1);
    CHECK(body["repairs"][0]["from"] == "O");
    CHECK(body["repairs"][0]["to"] == "0");
    CHECK(body["valid"] == true);
  }
  SUBCASE("a rejection carries the reason and the raw text") {
    const kordon::mrz::Outcome out =
        HandleRawBody(Json{{"mrz", "P<UTOeriksson"}, {"reader", "desk-2"}}.dump(), kToday);
    CHECK(out.topic == "scanner.document.rejected");
    const Json body = Json::parse(out.body);
    CHECK(body["reader"] == "desk-2");
    CHECK(body["raw"] == "P<UTOeriksson");
    CHECK(Contains(body["reason"].get<std::string>(), "lower-case"));
  }
  SUBCASE("a body without mrz") {
    const kordon::mrz::Outcome out = HandleRawBody(R"({"text": "x"})", kToday);
    CHECK(out.topic == "scanner.document.rejected");
    CHECK(Contains(Json::parse(out.body)["reason"].get<std::string>(), "'mrz'"));
    CHECK(HandleRawBody("not json", kToday).topic == "scanner.document.rejected");
  }
}
