// VerpCodec: the envelope sender's local part that lets a bounce name the
// message and the recipient it is about (VERP), and proves it came from us.
//
//   MAIL FROM:<TOKEN@RETURN-PATH-DOMAIN>
//
// TOKEN carries the queue id, the recipient's index in the envelope and a
// truncated HMAC-SHA256 under a server secret, so stamp-bounced can reject a
// forged bounce without any lookup. It is at most 64 characters (RFC 5321
// 4.5.3.1.1) of lower-case letters and digits, so MTAs that fold the case of
// local parts do not break it: decoding ignores case. stamp-mta encodes,
// stamp-bounced decodes; both use this one codec.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace common::verp {

struct BounceToken {
  std::string queue_id;              // 16 upper-case hex digits
  std::uint32_t recipient_index = 0; // in the original envelope
};

class VerpCodec {
 public:
  // `secret` is the server's VERP key (at least 32 bytes of randomness).
  static Result<VerpCodec> create(std::string secret);

  std::string encode(const BounceToken& token) const;
  // nullopt for anything that is not a token we made (malformed or forged).
  std::optional<BounceToken> decode(std::string_view local_part) const;

  static constexpr std::size_t kMaxLocalPart = 64;
  static constexpr std::size_t kMinSecretBytes = 32;

 private:
  explicit VerpCodec(std::string secret) : secret_(std::move(secret)) {}
  std::string secret_;
};

}  // namespace common::verp
