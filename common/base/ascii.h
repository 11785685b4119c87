// ascii_lower and equals_ignoring_ascii_case: case folding for the protocol names stamp compares (domains,
// header field names, SMTP keywords). ASCII only, on purpose: the result must
// not depend on the locale, and UTF-8 bytes pass through unchanged.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace common {

constexpr bool ascii_isalnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

constexpr char ascii_lower_char(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Case-insensitive (ASCII) equality without allocating: header and field names,
// mail addresses. Bytes outside ASCII compare as they are.
constexpr bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower_char(a[i]) != ascii_lower_char(b[i])) return false;
  }
  return true;
}

inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower_char(c);
  return out;
}

}  // namespace common
