// Webhook signatures: the X-Stamp-Signature header every webhook request
// carries, so a tenant's endpoint can tell our requests from forgeries and
// replays.
//
//   X-Stamp-Signature: t=1795000000,v1=5f2c...e9 (64 lower-case hex digits)
//   v1 = HEX(HMAC-SHA256(secret, "<t>." + body))
//
// The timestamp is signed with the body so a captured request cannot be
// replayed later under a fresh timestamp; receivers should refuse a `t` too far
// from their clock (verify_signature takes that tolerance). The shape follows
// the scheme Stripe popularised, so existing receiver code adapts easily.
//
// This file owns computing and checking the header. It does not know where
// secrets live (the dispatcher asks the live config) and never logs them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/result.h"

namespace bounced::webhook {

inline constexpr std::string_view kSignatureHeader = "X-Stamp-Signature";
// A header with more parts than this is refused unparsed (hostile input).
inline constexpr std::size_t kMaxSignatureParts = 16;

// The lower-case hex HMAC-SHA256 of "<timestamp>." + body under `secret`.
std::string signature_v1(std::string_view secret, std::int64_t timestamp, std::string_view body);

// The header value: "t=<timestamp>,v1=<signature_v1>".
std::string signature_header_value(std::string_view secret, std::int64_t timestamp,
                                   std::string_view body);

// Checks a received header value: well-formed, |now - t| <= tolerance, and one
// of its v1 entries equal (constant time) to the HMAC of t and body. The error
// says which of those failed, never the expected value.
common::Status verify_signature(std::string_view header_value, std::string_view secret,
                                std::string_view body, std::int64_t now,
                                std::chrono::seconds tolerance);

}  // namespace bounced::webhook
