// Webhook signatures with OpenSSL's EVP_MAC (HMAC, SHA-256). See webhook_signature.h.
#include "bounced/webhook/webhook_signature.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include "common/base/ascii.h"
#include "common/base/digest.h"
#include "common/base/owned.h"

namespace bounced::webhook {
namespace {

using OwnedMac = common::Owned<EVP_MAC, &EVP_MAC_free>;
using OwnedMacCtx = common::Owned<EVP_MAC_CTX, &EVP_MAC_CTX_free>;

constexpr std::size_t kSha256Bytes = 32;

// HMAC cannot fail on valid input short of a broken OpenSSL install; a webhook
// signed with garbage would be worse than stopping, so this aborts.
[[noreturn]] void hmac_broken(const char* step) {
  std::fprintf(stderr, "webhook signature: OpenSSL HMAC-SHA256 failed at %s\n", step);
  std::abort();
}

std::array<unsigned char, kSha256Bytes> hmac_sha256(std::string_view key, std::string_view prefix,
                                                    std::string_view body) {
  OwnedMac mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) hmac_broken("EVP_MAC_fetch");
  OwnedMacCtx ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) hmac_broken("EVP_MAC_CTX_new");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  // An empty key is legal HMAC; OpenSSL wants a non-null pointer for it.
  static const unsigned char kEmpty = 0;
  const auto* key_bytes =
      key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx.get(), key_bytes, key.size(), params) != 1) hmac_broken("EVP_MAC_init");
  if (EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(prefix.data()),
                     prefix.size()) != 1 ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(body.data()), body.size()) !=
          1) {
    hmac_broken("EVP_MAC_update");
  }
  std::array<unsigned char, kSha256Bytes> out{};
  std::size_t length = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) != 1 || length != out.size()) {
    hmac_broken("EVP_MAC_final");
  }
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string signature_v1(std::string_view secret, std::int64_t timestamp, std::string_view body) {
  const std::string prefix = std::to_string(timestamp) + ".";
  const auto mac = hmac_sha256(secret, prefix, body);
  return common::hex_lower(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

std::string signature_header_value(std::string_view secret, std::int64_t timestamp,
                                   std::string_view body) {
  return "t=" + std::to_string(timestamp) + ",v1=" + signature_v1(secret, timestamp, body);
}

common::Status verify_signature(std::string_view header_value, std::string_view secret,
                                std::string_view body, std::int64_t now,
                                std::chrono::seconds tolerance) {
  std::optional<std::int64_t> timestamp;
  std::vector<std::string_view> candidates;
  std::size_t parts = 0;
  while (!header_value.empty()) {
    if (++parts > kMaxSignatureParts) return common::fail("signature header has too many parts");
    const std::size_t comma = header_value.find(',');
    std::string_view part = trim(header_value.substr(0, comma));
    header_value =
        comma == std::string_view::npos ? std::string_view() : header_value.substr(comma + 1);
    const std::size_t equals = part.find('=');
    if (equals == std::string_view::npos) return common::fail("signature header part without '='");
    const std::string_view key = part.substr(0, equals);
    const std::string_view value = part.substr(equals + 1);
    if (key == "t") {
      std::int64_t t = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), t);
      if (ec != std::errc() || end != value.data() + value.size() || timestamp) {
        return common::fail("signature header has a bad or repeated timestamp");
      }
      timestamp = t;
    } else if (key == "v1") {
      candidates.push_back(value);
    }  // other schemes (v0, future versions) are ignored, as Stripe's receivers do
  }
  if (!timestamp) return common::fail("signature header has no timestamp");
  if (candidates.empty()) return common::fail("signature header has no v1 signature");
  const std::int64_t skew = now > *timestamp ? now - *timestamp : *timestamp - now;
  if (skew > tolerance.count()) return common::fail("signature timestamp is outside the tolerance");
  const std::string expected = signature_v1(secret, *timestamp, body);
  bool match = false;
  for (std::string_view candidate : candidates) {
    // Constant time over the digest, so the comparison leaks no prefix length.
    const std::string given = common::ascii_lower(candidate);
    if (given.size() == expected.size() &&
        CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0) {
      match = true;
    }
  }
  if (!match) return common::fail("signature does not match");
  return {};
}

}  // namespace bounced::webhook
