// DkimSigner: DKIM signatures (RFC 6376) with libopendkim, one per message,
// streamed: the message passes through chunk() as it is spooled, and finish()
// returns the DKIM-Signature header to put in front of it.
//
// relaxed/relaxed, rsa-sha256. Signed headers: From (oversigned, so another
// From cannot be added after signing), To, Cc, Subject, Date, Message-ID,
// Reply-To, In-Reply-To, References, MIME-Version, Content-Type, List-Unsubscribe,
// List-Unsubscribe-Post (signed_headers.h; every oversigned name is also in the
// sign list: see dependencies.md on libopendkim's mis-signing otherwise).
// Ed25519 is signed by ed25519_signing.h, not here: the packaged libopendkim
// leaks its key on every Ed25519 signature.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace mta {

struct DkimKey {
  std::string domain;           // d=
  std::string selector;         // s=
  std::string private_key_pem;  // PEM: RSA (PKCS#1 or PKCS#8) here, Ed25519 (PKCS#8) for ed25519_signing.h
};

class DkimSigning {  // one message in progress
 public:
  virtual ~DkimSigning() = default;
  // CRLF text, no dot-stuffing. Fails on a header field (with its folded lines)
  // longer than libopendkim can sign correctly: 65000 bytes here.
  virtual common::Status chunk(std::string_view bytes) = 0;
  // "DKIM-Signature: v=1; a=rsa-sha256; ...\r\n" (folded, CRLF line ends). A
  // message not ending in CRLF is signed as if it did, as RFC 6376 section 3.4.4
  // canonicalizes it. After finish() or any error, further calls fail.
  virtual common::Result<std::string> finish() = 0;
};

class DkimSigner {
 public:
  static common::Result<std::unique_ptr<DkimSigner>> create();
  // Whether `key` can sign: a domain, a selector, and an unencrypted PEM RSA private
  // key of at least 1024 bits (RFC 8301 section 3.2). For configuration loading, so
  // a bad key is reported at startup; begin() checks too (once per distinct key),
  // because libopendkim leaks memory on every message signed with a bad key.
  static common::Status check_key(const DkimKey& key);
  virtual ~DkimSigner() = default;
  // Fails on a key check_key() rejects; safe to call from several threads.
  virtual common::Result<std::unique_ptr<DkimSigning>> begin(const DkimKey& key) const = 0;
};

}  // namespace mta
