#include "cli_options.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>

namespace po = boost::program_options;

namespace kordon::host {
namespace {

// Reaches the template and the substitutions of a copy of the error.
class PlaceholderText : public po::error_with_option_name {
 public:
  explicit PlaceholderText(const po::error_with_option_name& e) : po::error_with_option_name(e) {}

  std::string Text() const {
    std::string text = m_error_template;
    std::map<std::string, std::string> values = m_substitutions;
    values["canonical_option"] = get_canonical_option_name();
    values["prefix"] = get_canonical_option_prefix();
    // A missing parameter's default replaces a part of the template (Boost's own strings).
    for (const auto& [name, from_to] : m_substitution_defaults) {
      auto it = values.find(name);
      if (it != values.end() && !it->second.empty()) continue;
      const auto& [from, to] = from_to;
      if (from.empty()) continue;
      std::string out;
      size_t at = 0;
      for (size_t hit; (hit = text.find(from, at)) != std::string::npos; at = hit + from.size())
        out.append(text, at, hit - at).append(to);
      text = out.append(text, at);
    }
    // Each %name% of the template once; what a value brings in is never scanned again.
    std::string out;
    size_t at = 0;
    while (at < text.size()) {
      const size_t open = text.find('%', at);
      const size_t close = open == std::string::npos ? open : text.find('%', open + 1);
      if (close == std::string::npos) break;
      auto it = values.find(text.substr(open + 1, close - open - 1));
      if (it == values.end()) {
        out.append(text, at, close - at);  // not a placeholder: keep it, look from its end
        at = close;
        continue;
      }
      out.append(text, at, open - at).append(it->second);
      at = close + 1;
    }
    return out.append(text, std::min(at, text.size()));
  }
};

}  // namespace

std::string OptionErrorText(const std::exception& e) {
  if (const auto* named = dynamic_cast<const po::error_with_option_name*>(&e))
    return PlaceholderText(*named).Text();
  return e.what();
}

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
    fmt::print(stderr, "{}: {}\n{}\n", command, OptionErrorText(e), usage);
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
