#include "cli_options.h"

#include <fmt/format.h>

#include <iostream>

namespace po = boost::program_options;

namespace kordon::host {

bool ParseCommandLine(int argc, char** argv, po::options_description& options,
                      const po::positional_options_description& positional, const char* usage,
                      po::variables_map* vm, int* exit_code, const char* command) {
  if (options.find_nothrow("help", false) == nullptr)
    options.add_options()("help,h", "show this help");
  try {
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(),
              *vm);
    po::notify(*vm);
  } catch (const std::exception& e) {  // po::error, and what a value's validator throws
    fmt::print(stderr, "{}: {}\n{}\n", command, e.what(), usage);
    *exit_code = 1;
    return false;
  }
  if (vm->count("help")) {
    std::cout << usage << "\n" << options;
    *exit_code = 0;
    return false;
  }
  return true;
}

}  // namespace kordon::host
