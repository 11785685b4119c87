// ascii_lower: case folding for the protocol names stamp compares (domains,
// header field names, SMTP keywords). ASCII only, on purpose: the result must
// not depend on the locale, and UTF-8 bytes pass through unchanged.
#pragma once

#include <string>
#include <string_view>

namespace common {

inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace common
