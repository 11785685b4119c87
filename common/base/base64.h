// Base64 (RFC 4648) through OpenSSL's EVP encoder, strict on input: used for SMTP
// AUTH exchanges (RFC 4954) and stored hashes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace common {

std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not canonical base64 (bad characters, bad padding).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace common
