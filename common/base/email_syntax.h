// plausible_email: an address as an operator types it on a command line or a
// control request: local@domain, at most 320 octets (RFC 5321 4.5.3.1: 64 + 1 +
// 255), no spaces, control characters, angle brackets, quotes or backslashes.
// Not a full RFC 5321 parser: it keeps what cannot be one address out of
// tables, logs and generated headers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace common {

inline constexpr std::size_t kMaxEmailLength = 320;

inline bool plausible_email(std::string_view email) {
  auto at = email.rfind('@');
  if (email.size() > kMaxEmailLength || at == std::string_view::npos || at == 0 || at + 1 == email.size()) {
    return false;
  }
  return std::none_of(email.begin(), email.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == '\\';
  });
}

}  // namespace common
