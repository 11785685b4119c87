// DKIM keys for `stampctl domain`: a new RSA-2048 key pair, the public key of a
// key file, and the TXT record that publishes it (RFC 6376 3.6.1).
//
// Owns the key format: PEM (PKCS#8) private keys, which libopendkim reads, and
// base64 DER SubjectPublicKeyInfo in p=. It does not write files or choose
// selectors (domain_command.cpp does).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace ctl {

// RFC 8301 3.2: signers MUST use RSA keys of at least 1024 bits, SHOULD use 2048.
inline constexpr int kDkimRsaBits = 2048;

struct DkimKeyPair {
  std::string private_pem;    // PKCS#8 PEM; secret
  std::string public_base64;  // base64 of the DER SubjectPublicKeyInfo: the p= value
};

common::Result<DkimKeyPair> generate_dkim_key();

// The p= value for the PEM private key in `key_file`.
common::Result<std::string> dkim_public_key_of(const std::filesystem::path& key_file);

// "v=DKIM1; k=rsa; p=<public_base64>"
std::string dkim_txt_value(std::string_view public_base64);

}  // namespace ctl
