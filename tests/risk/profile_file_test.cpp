// Hot reload (plugins/risk-rules/profile_file.h): a changed file is re-read; a broken edit is
// refused with FILE:LINE and the previous profile stays in force, reported once until the
// file changes again; a fixed edit is picked up; a file being replaced is not an error.
#include <doctest/doctest.h>

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "profile_file.h"

namespace kordon::risk {
namespace {

std::string Profile(const std::string& version, const std::string& extra = "") {
  return "[profile]\nid = site\nversion = " + version + "\n[criterion hit]\n"
         "when = watchlist_hits > 0\nchannel = red\ntext = Hit\n" + extra;
}

void Write(const std::string& path, const std::string& text) {
  // Through a temporary file and rename, as editors and deployment tools do.
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
  REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0);
}

TEST_CASE("hot reload keeps the previous profile when an edit is broken") {
  char dir_template[] = "/tmp/risk-profile-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/risk.ini";
  Write(path, Profile("1"));

  ProfileFile f(path);
  std::string error;
  REQUIRE_MESSAGE(f.Load(&error), error);
  CHECK(f.profile()->version == "1");
  CHECK(f.Poll(false, &error) == ProfileFile::Change::kNone);  // unchanged

  // A broken edit: refused with its line, version 1 stays.
  Write(path, Profile("2", "[criterion typo]\nwhen = watchlist_hit > 0\nweight = 5\ntext = x\n"));
  CHECK(f.Poll(false, &error) == ProfileFile::Change::kFailed);
  CHECK(error == path + ":9: criterion 'typo': when, column 8: unknown fact 'watchlist_hit' "
                        "(did you mean 'watchlist_hits'?)");
  CHECK(f.profile()->version == "1");
  CHECK(f.Describe() == "'site' version 1 (" + path + ", 1 criteria)");
  // Reported once: the same broken file is not a new change.
  CHECK(f.Poll(false, &error) == ProfileFile::Change::kNone);
  CHECK(f.profile()->version == "1");

  // A broken [facts] setting is refused the same way.
  Write(path, Profile("3", "[facts]\nutc_offset = six\n"));
  CHECK(f.Poll(false, &error) == ProfileFile::Change::kFailed);
  CHECK(error == path + ":9: [facts] 'utc_offset' must look like +06:00, -03:30 or Z");
  CHECK(f.profile()->version == "1");

  // The file missing for a moment (being replaced) is no change; forced, it is an error.
  REQUIRE(std::remove(path.c_str()) == 0);
  CHECK(f.Poll(false, &error) == ProfileFile::Change::kNone);
  CHECK(f.Poll(true, &error) == ProfileFile::Change::kFailed);
  CHECK(error == path + ": cannot be read");
  CHECK(f.profile()->version == "1");

  // A good edit is picked up.
  Write(path, Profile("4", "[facts]\nutc_offset = +06:00\n"));
  CHECK(f.Poll(false, &error) == ProfileFile::Change::kReloaded);
  CHECK(f.profile()->version == "4");
  CHECK(f.options().utc_offset_minutes == 360);
  // Forced: read again even though unchanged.
  CHECK(f.Poll(true, &error) == ProfileFile::Change::kReloaded);

  std::remove(path.c_str());
  rmdir(dir.c_str());
}

TEST_CASE("a broken profile at first load is an error and nothing is in force") {
  char dir_template[] = "/tmp/risk-profile-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string path = std::string(dir_template) + "/risk.ini";
  Write(path, "[profile]\nid = site\n");
  ProfileFile f(path);
  std::string error;
  CHECK_FALSE(f.Load(&error));
  CHECK(error == path + ":1: [profile] needs 'version' (recorded in every assessment)");
  CHECK_FALSE(f.loaded());
  std::remove(path.c_str());
  rmdir(dir_template);
}

}  // namespace
}  // namespace kordon::risk
