// fuzz_json.h — JSON checks for fuzz targets that only need to know a text's shape.
#ifndef KORDON_TESTS_FUZZ_FUZZ_JSON_H_
#define KORDON_TESTS_FUZZ_FUZZ_JSON_H_

#include <string_view>

#include <nlohmann/json.hpp>

// Whether `text` is one JSON object. accept() runs the parser without building the document:
// a target that checks every body it makes (several per input) spends a quarter of its time
// on that otherwise.
inline bool IsJsonObject(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' && nlohmann::json::accept(text);
}

#endif  // KORDON_TESTS_FUZZ_FUZZ_JSON_H_
