// ASCII case-insensitive comparison for header and field names and for mail
// addresses, without allocating (common/base/ascii.h lowers a copy). Bytes
// outside ASCII compare as they are.
#pragma once

#include <cstddef>
#include <string_view>

namespace bounced {

constexpr char ascii_lower_char(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower_char(a[i]) != ascii_lower_char(b[i])) return false;
  }
  return true;
}

}  // namespace bounced
