#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include "topic.h"

using namespace kordon::host;

TEST_CASE("valid topics") {
  for (const char* t : {"scanner", "scanner.plate.read", "db.watchlist.hit", "a-b_c.9", "x"})
    CHECK_MESSAGE(ValidateTopic(t).ok(), t);
}

TEST_CASE("invalid topics say what is wrong") {
  CHECK(ValidateTopic("").message() == "topic is empty");
  CHECK(ValidateTopic("scanner..read").message().find("empty segment at byte 8") != std::string::npos);
  CHECK(ValidateTopic(".scanner").message().find("empty segment at byte 0") != std::string::npos);
  CHECK(ValidateTopic("scanner.").message().find("empty segment") != std::string::npos);
  CHECK(ValidateTopic("Scanner").message().find("byte 0") != std::string::npos);
  CHECK(ValidateTopic("scanner plate").message().find("byte 7") != std::string::npos);
  CHECK(ValidateTopic("$ctl.marker").message().find("reserved") != std::string::npos);
  CHECK(ValidateTopic("сканер").message().find("\\xd1") != std::string::npos);  // shown escaped
  CHECK(ValidateTopic(std::string(201, 'a')).message().find("201 bytes") != std::string::npos);
  CHECK(ValidateTopic(std::string(200, 'a')).ok());
  CHECK(ValidateTopic(std::string("a\0b", 3)).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("prefixes: empty means everything") {
  CHECK(ValidateTopicPrefix("").ok());
  CHECK(ValidateTopicPrefix("scanner").ok());
  CHECK_FALSE(ValidateTopicPrefix("scanner.").ok());
}

TEST_CASE("matching is by whole segments") {
  CHECK(TopicMatches("", "anything.at.all"));
  CHECK(TopicMatches("scanner", "scanner"));
  CHECK(TopicMatches("scanner", "scanner.plate.read"));
  CHECK(TopicMatches("scanner.plate", "scanner.plate.read"));
  CHECK_FALSE(TopicMatches("scanner", "scanners.plate"));
  CHECK_FALSE(TopicMatches("scanner.plate.read", "scanner.plate"));
  CHECK_FALSE(TopicMatches("scale", "scanner"));
  CHECK_FALSE(TopicMatches("rpc.echo", "rpc.echo2"));
  CHECK(TopicMatches("rpc.echo", "rpc.echo"));
}

TEST_CASE("reserved topics") {
  CHECK(IsReservedTopic("$ctl.marker"));
  CHECK_FALSE(IsReservedTopic("scanner"));
  CHECK_FALSE(IsReservedTopic(""));
}
