// ParseCommandLine (host/src/cli_options): the one option parser of the `kordon` subcommands.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include "cli_options.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace po = boost::program_options;
using kordon::host::ParseCommandLine;

namespace {

// Runs ParseCommandLine on `args` (argv[0] = "cmd") with stderr and stdout captured.
struct Outcome {
  bool go_on = false;
  int exit_code = -1;
  std::string out, err;
  po::variables_map vm;
};

std::string Drain(std::FILE* f) {
  std::rewind(f);
  std::string text;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  return text;
}

Outcome Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "cmd");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  po::options_description d("options");
  d.add_options()("db", po::value<std::string>(), "the file")("limit", po::value<int>(), "n")(
      "file", po::value<std::string>(), "");
  po::positional_options_description pos;
  pos.add("file", 1);
  Outcome o;
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  std::fflush(stdout);
  std::fflush(stderr);
  const int saved_out = ::dup(1), saved_err = ::dup(2);
  ::dup2(::fileno(out), 1);
  ::dup2(::fileno(err), 2);
  o.go_on = ParseCommandLine(static_cast<int>(argv.size()), argv.data(), d, pos,
                             "Usage: cmd FILE [--db F]", &o.vm, &o.exit_code, "kordon thing");
  std::cout.flush();
  std::fflush(stdout);
  std::fflush(stderr);
  ::dup2(saved_out, 1);
  ::dup2(saved_err, 2);
  ::close(saved_out);
  ::close(saved_err);
  o.out = Drain(out);
  o.err = Drain(err);
  std::fclose(out);
  std::fclose(err);
  return o;
}

}  // namespace

TEST_CASE("options and a positional argument are parsed") {
  Outcome o = Parse({"x.db", "--db", "a", "--limit", "7"});
  CHECK(o.go_on);
  CHECK(o.vm["file"].as<std::string>() == "x.db");
  CHECK(o.vm["db"].as<std::string>() == "a");
  CHECK(o.vm["limit"].as<int>() == 7);
  CHECK(o.err.empty());
}

TEST_CASE("a bad option ends with exit code 1, the command's name, the error and the usage") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--nope"}, {"--limit", "many"}, {"--db"}, {"a", "b"}}) {
    CAPTURE(args.front());
    Outcome o = Parse(args);
    CHECK_FALSE(o.go_on);
    CHECK(o.exit_code == 1);
    CHECK(o.err.rfind("kordon thing: ", 0) == 0);
    CHECK(o.err.find("Usage: cmd FILE") != std::string::npos);
    CHECK(o.out.empty());
  }
}

TEST_CASE("--help prints the usage and the options and ends with exit code 0") {
  for (const char* flag : {"--help", "-h"}) {
    Outcome o = Parse({flag});
    CHECK_FALSE(o.go_on);
    CHECK(o.exit_code == 0);
    CHECK(o.out.find("Usage: cmd FILE") != std::string::npos);
    CHECK(o.out.find("--db") != std::string::npos);
    CHECK(o.err.empty());
  }
}

TEST_CASE("a value that holds a placeholder of Boost's message is named, and the parse ends") {
  // Boost 1.74's own what() never returns for this one (its placeholder loop).
  Outcome o = Parse({"--limit", "x%value%y"});
  CHECK_FALSE(o.go_on);
  CHECK(o.exit_code == 1);
  CHECK(o.err.find("the argument ('x%value%y') for option '--limit' is invalid") !=
        std::string::npos);
}

TEST_CASE("OptionErrorText keeps what what() says for ordinary errors") {
  try {
    throw po::invalid_option_value("12x");
  } catch (const po::error_with_option_name& e) {
    CHECK(kordon::host::OptionErrorText(e) == std::string(e.what()));
  }
  const std::runtime_error other("plain");
  CHECK(kordon::host::OptionErrorText(other) == "plain");
}
