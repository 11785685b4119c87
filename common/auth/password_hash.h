// Password hashes for SMTP AUTH credentials, in a self-describing text form:
//
//   $scrypt$ln=15,r=8,p=1$<salt base64>$<key base64>
//
// scrypt (RFC 7914) through OpenSSL's EVP_PBE_scrypt: memory-hard, so a stolen
// tenants.d/ is expensive to brute-force. Verification compares in constant time.
// Hashing is deliberately slow (tens of milliseconds): callers keep it off the
// event loop (see mta/credential_checker).
#pragma once

#include <string>
#include <string_view>

#include "common/base/result.h"

namespace common::auth {

struct ScryptParams {
  int log2_n = 15;  // N = 32768: 32 MiB of memory with r=8
  int r = 8;
  int p = 1;
};

// Makes a new hash with a fresh random salt.
Result<std::string> hash_password(std::string_view password, ScryptParams params = {});

// True when `password` matches `encoded`. A malformed `encoded` never matches.
bool verify_password(std::string_view password, std::string_view encoded);

// Checks the form of a stored hash without the cost of verifying (config loading).
Status check_password_hash_format(std::string_view encoded);

}  // namespace common::auth
