// iso6346.cpp — see iso6346.h.

#include "iso6346.h"

#include <string>
#include <string_view>

namespace kordon::iso6346 {
namespace {

bool IsLetter(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Empty when `code` has the ISO 6346 shape, else the first problem in words.
std::string ShapeProblem(std::string_view code) {
  for (size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (!IsLetter(c) && !IsDigit(c))
      return "character " + std::to_string(i + 1) + " is not a letter A-Z or a digit";
  }
  if (code.size() != kCodeLength)
    return "the code has " + std::to_string(code.size()) +
           " characters; ISO 6346 has 11 (owner code, category, 6-digit serial, check digit)";
  for (size_t i = 0; i < 3; ++i)
    if (!IsLetter(code[i]))
      return "character " + std::to_string(i + 1) + " ('" + code[i] +
             "') of the owner code must be a letter";
  if (code[3] != 'U' && code[3] != 'J' && code[3] != 'Z')
    return std::string("the category (character 4) must be U, J or Z, got '") + code[3] + "'";
  for (size_t i = 4; i < 10; ++i)
    if (!IsDigit(code[i]))
      return "character " + std::to_string(i + 1) + " ('" + code[i] +
             "') of the serial number must be a digit";
  if (!IsDigit(code[10]))
    return std::string("the check digit (character 11) must be a digit, got '") + code[10] + "'";
  return {};
}

// ShapeProblem() == "" without building the sentence: the repair search calls this for every
// candidate.
bool WellShaped(std::string_view code) {
  if (code.size() != kCodeLength) return false;
  for (size_t i = 0; i < 3; ++i)
    if (!IsLetter(code[i])) return false;
  if (code[3] != 'U' && code[3] != 'J' && code[3] != 'Z') return false;
  for (size_t i = 4; i < kCodeLength; ++i)
    if (!IsDigit(code[i])) return false;
  return true;
}

bool Validates(std::string_view code) {
  if (!WellShaped(code)) return false;
  const std::optional<char> expected = CheckDigit(code);
  return expected && *expected == code[10];
}

}  // namespace

const std::vector<Confusion>& DefaultConfusions() {
  static const std::vector<Confusion> kConfusions = {
      {'O', '0'}, {'I', '1'}, {'Z', '2'}, {'S', '5'}, {'B', '8'}, {'G', '6'}};
  return kConfusions;
}

int LetterValue(char c) {
  if (!IsLetter(c)) return -1;
  int value = 10;
  for (char l = 'A'; l < c; ++l) {
    ++value;
    if (value % 11 == 0) ++value;
  }
  return value;
}

std::optional<char> CheckDigit(std::string_view code) {
  if (code.size() < 10) return std::nullopt;
  int sum = 0;
  for (size_t i = 0; i < 10; ++i) {
    int value = 0;
    if (i < 4) {
      value = LetterValue(code[i]);
    } else if (IsDigit(code[i])) {
      value = code[i] - '0';
    } else {
      value = -1;
    }
    if (value < 0) return std::nullopt;
    sum += value << i;
  }
  return static_cast<char>('0' + sum % 11 % 10);
}

std::string Normalise(std::string_view raw) {
  std::string code;
  code.reserve(raw.size());
  for (char c : raw) {
    if (c == ' ' || c == '-' || c == '.' || c == '\t') continue;
    code.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return code;
}

Analysis Analyse(std::string_view raw, const std::vector<Confusion>& confusions) {
  Analysis a;
  a.code = Normalise(raw);
  const std::string problem = ShapeProblem(a.code);
  a.shape_ok = problem.empty();
  if (a.code.size() == kCodeLength) {
    if (static_cast<unsigned char>(a.code[10]) < 0x80) a.found = a.code[10];
    a.expected = CheckDigit(a.code);
  }
  if (a.shape_ok) {
    a.valid = *a.expected == *a.found;
    if (!a.valid)
      a.problem = std::string("check digit mismatch: expected ") + *a.expected + ", found " +
                  *a.found;
  } else {
    a.problem = problem;
  }
  if (a.valid || a.code.size() != kCodeLength) return a;

  // Single substitutions of the confusions, either way, at every position: only a candidate
  // that is then fully valid (shape and check digit) counts.
  std::string candidate = a.code;
  for (size_t i = 0; i < kCodeLength; ++i) {
    for (const Confusion& c : confusions) {
      for (const auto& [from, to] : {c, Confusion{c.second, c.first}}) {
        if (a.code[i] != from) continue;
        candidate[i] = to;
        if (Validates(candidate)) {
          if (++a.repair_candidates == 1) a.repair = Repair{i, from, to, candidate};
        }
        candidate[i] = from;
      }
    }
  }
  if (a.repair_candidates != 1) a.repair.reset();
  return a;
}

}  // namespace kordon::iso6346
