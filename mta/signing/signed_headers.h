// The header fields stamp's DKIM signatures cover, for every algorithm
// (dkim_signer.cpp with libopendkim for rsa-sha256, ed25519_signing.cpp for
// ed25519-sha256), so both signatures of a message protect the same fields.
//
// RFC 6376 section 5.4.1: the fields that carry the message's meaning, plus the
// list fields (RFC 2369; RFC 8058 requires List-Unsubscribe-Post to be signed).
// Not listed, so not signed: Sender, Resent-*, Content-Transfer-Encoding.
// From is oversigned (named once more in h= than it occurs), so a From added
// after signing breaks the signature (RFC 6376 section 8.15).
#pragma once

#include <array>
#include <string_view>

namespace mta {

inline constexpr std::array<std::string_view, 13> kDkimSignedHeaders = {
    "from",       "to",          "cc",           "subject",      "date",
    "message-id", "reply-to",    "in-reply-to",  "references",   "mime-version",
    "content-type", "list-unsubscribe", "list-unsubscribe-post",
};

inline constexpr std::string_view kDkimOversignedHeader = "from";

}  // namespace mta
