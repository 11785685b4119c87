// sha256_hex: the SHA-256 of some bytes in lower-case hex (OpenSSL EVP), for
// stored token hashes and report fingerprints; hex_lower: any bytes so written
// (HMAC signatures).
#pragma once

#include <string>
#include <string_view>

namespace common {

std::string sha256_hex(std::string_view bytes);
std::string hex_lower(std::string_view bytes);

}  // namespace common
