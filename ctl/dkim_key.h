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

// rsa-sha256 (every verifier), or ed25519-sha256 (RFC 8463) as a second signature.
enum class DkimAlgorithm { Rsa, Ed25519 };

struct DkimKeyPair {
  std::string private_pem;    // PKCS#8 PEM; secret
  std::string public_base64;  // the p= value: base64 DER SubjectPublicKeyInfo (RSA), or the
                              // raw 32-byte key (Ed25519, RFC 8463 section 4.2)
};

common::Result<DkimKeyPair> generate_dkim_key(DkimAlgorithm algorithm = DkimAlgorithm::Rsa);

// The p= value for the PEM private key in `key_file` (either algorithm).
common::Result<std::string> dkim_public_key_of(const std::filesystem::path& key_file);

// "v=DKIM1; k=rsa; p=<public_base64>" (k=ed25519 for Ed25519)
std::string dkim_txt_value(std::string_view public_base64, DkimAlgorithm algorithm = DkimAlgorithm::Rsa);

}  // namespace ctl
