// sha256_hex: the SHA-256 of some bytes in lower-case hex (OpenSSL EVP), for
// stored token hashes and report fingerprints.
#pragma once

#include <string>
#include <string_view>

namespace common {

std::string sha256_hex(std::string_view bytes);

}  // namespace common
