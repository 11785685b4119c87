// Ed25519 DKIM signatures (RFC 6376 with RFC 8463's ed25519-sha256), done by stamp
// itself with OpenSSL: the packaged libopendkim leaks its key on every Ed25519
// signature (dependencies.md, libopendkim pitfall 5), which a daemon that runs for
// months cannot afford. relaxed/relaxed only, the same header list as the RSA
// signer (signed_headers.h). It does not choose the key, look anything up in DNS,
// or write the header into the spool file.
#pragma once

#include <cstddef>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "mta/signing/dkim_signer.h"

namespace mta {

// A header section (with its blank line) longer than this is refused: the section
// is kept in memory until finish(), the body is not. Not a policy setting: real
// header sections are a few KB, and RFC 5322 gives no limit to follow.
inline constexpr std::size_t kEd25519MaxHeaderSectionBytes = std::size_t{1} << 20;  // 1 MiB

// Whether `key` can sign with ed25519-sha256: a domain, a selector (both plain DNS
// labels), an unencrypted PEM Ed25519 private key (PKCS#8). The message never
// repeats key material.
common::Status check_ed25519_key(const DkimKey& key);

// The public key as it goes in the DNS TXT record's p= tag: the raw 32 bytes,
// base64 (RFC 8463 section 4.2: NOT the SubjectPublicKeyInfo an RSA p= holds).
common::Result<std::string> ed25519_dns_public_key(std::string_view private_key_pem);

// A signing of one message: c=relaxed/relaxed, a=ed25519-sha256, t=`now`, h= the
// names from kDkimSignedHeaders that occur (once per instance, in message order)
// plus one more "from" (oversigning). Fails on a key check_ed25519_key() refuses.
// chunk() refuses a header section over kEd25519MaxHeaderSectionBytes; finish()
// fails on a message without From or with a malformed header line. The signing
// copies what it needs: `key` may go away before finish().
common::Result<std::unique_ptr<DkimSigning>> begin_ed25519_signing(const DkimKey& key,
                                                                   std::time_t now);

}  // namespace mta
