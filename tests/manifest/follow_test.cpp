// The follower (plugins/manifest/follow.h) on real files: a file that does not exist yet,
// partial lines that wait for their newline, truncation, replacement by another file,
// removal, over-long lines and CRLF.
#include <stdio.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "follow.h"

namespace kordon::manifest {
namespace {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/kordon-follow-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::app) << text;
}

std::vector<std::string> Texts(const FollowPoll& p) {
  std::vector<std::string> out;
  for (const FollowedLine& l : p.lines) out.push_back(std::to_string(l.line) + ":" + l.text);
  return out;
}

TEST_CASE("a file that appears later, partial lines, CRLF") {
  TempDir dir;
  const std::string f = dir.File("m.jsonl");
  Follower follower(f);
  FollowPoll p = follower.Poll();
  CHECK(p.lines.empty());
  CHECK_FALSE(p.appeared);
  CHECK(p.error.empty());

  Append(f, "one\ntw");
  p = follower.Poll();
  CHECK(p.appeared);
  CHECK(Texts(p) == std::vector<std::string>{"1:one"});
  CHECK(follower.pending_bytes() == 2);
  CHECK(follower.Poll().lines.empty());  // still no newline
  Append(f, "o\r\nthree");
  p = follower.Poll();
  CHECK_FALSE(p.appeared);
  CHECK(Texts(p) == std::vector<std::string>{"2:two"});
  Append(f, "\n\n");
  CHECK(Texts(follower.Poll()) == std::vector<std::string>{"3:three", "4:"});
}

TEST_CASE("truncation reads the file again from the start") {
  TempDir dir;
  const std::string f = dir.File("m.jsonl");
  Append(f, "a\nb\n");
  Follower follower(f);
  CHECK(Texts(follower.Poll()) == std::vector<std::string>{"1:a", "2:b"});
  std::ofstream(f, std::ios::binary | std::ios::trunc) << "c\n";
  FollowPoll p = follower.Poll();
  CHECK(p.truncated);
  CHECK(Texts(p) == std::vector<std::string>{"1:c"});
}

TEST_CASE("replacement: the rest of the old file, then the new one from its start") {
  TempDir dir;
  const std::string f = dir.File("m.jsonl");
  Append(f, "a\n");
  Follower follower(f);
  CHECK(Texts(follower.Poll()) == std::vector<std::string>{"1:a"});
  Append(f, "b\n");  // written to the old file before it is rotated away
  REQUIRE(::rename(f.c_str(), dir.File("old.jsonl").c_str()) == 0);
  Append(dir.File("new.jsonl"), "x\ny\n");
  REQUIRE(::rename(dir.File("new.jsonl").c_str(), f.c_str()) == 0);
  FollowPoll p = follower.Poll();
  CHECK(p.replaced);
  CHECK(Texts(p) == std::vector<std::string>{"2:b", "1:x", "2:y"});
  Append(f, "z\n");
  CHECK(Texts(follower.Poll()) == std::vector<std::string>{"3:z"});
}

TEST_CASE("removal, then the file appears again") {
  TempDir dir;
  const std::string f = dir.File("m.jsonl");
  Append(f, "a\n");
  Follower follower(f);
  CHECK(follower.Poll().lines.size() == 1);
  REQUIRE(::unlink(f.c_str()) == 0);
  FollowPoll p = follower.Poll();
  CHECK(p.vanished);
  Append(f, "b\n");
  p = follower.Poll();
  CHECK(p.appeared);
  CHECK(Texts(p) == std::vector<std::string>{"1:b"});
}

TEST_CASE("an over-long line is reported once and skipped; reading goes on") {
  TempDir dir;
  const std::string f = dir.File("m.jsonl");
  Follower follower(f, /*max_line_bytes=*/16, /*max_bytes_per_poll=*/8);
  Append(f, std::string(40, 'x') + "\nok\n");
  std::vector<FollowedLine> lines;
  for (int i = 0; i < 10; ++i)
    for (FollowedLine& l : follower.Poll().lines) lines.push_back(l);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].too_long);
  CHECK(lines[0].line == 1);
  CHECK(lines[1].text == "ok");
  CHECK(lines[1].line == 2);
}

}  // namespace
}  // namespace kordon::manifest
