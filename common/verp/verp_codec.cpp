// VerpCodec: the bytes and the text of a VERP token. See verp_codec.h.
//
// Owns the token format and its MAC; it does not know return-path domains,
// queue files or what a bounce means (stamp-mta and stamp-bounced do).
//
// Token (37 characters, well under the 64 of RFC 5321 4.5.3.1.1):
//
//   "v" base32( queue id (8 bytes) || recipient index (4 bytes, big-endian)
//               || first 10 bytes of HMAC-SHA256(secret, "stamp-verp-v1" || those 12 bytes) )
//
// base32 is RFC 4648 section 6 with its alphabet lower-cased and no padding:
// 22 bytes make 36 characters, the last carrying 4 unused bits that must be 0,
// so every token has exactly one spelling (up to case) and no character can
// change without the decoder noticing. A fixed-width index keeps the length
// fixed, which is the first and cheapest check on an incoming local part.
//
// 80 bits of MAC: a forger needs about 2^79 tries per accepted bounce, and each
// try is an SMTP transaction against stamp-bounced. The domain string in the
// MAC input keeps these MACs from ever matching another use of the same key.
#include "common/verp/verp_codec.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

namespace common::verp {
namespace {

constexpr char kVersion = 'v';
constexpr std::string_view kMacDomain = "stamp-verp-v1";
constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz234567";

constexpr std::size_t kIdBytes = 8;
constexpr std::size_t kIndexBytes = 4;
constexpr std::size_t kPayloadBytes = kIdBytes + kIndexBytes;
constexpr std::size_t kMacBytes = 10;
constexpr std::size_t kTokenBytes = kPayloadBytes + kMacBytes;
constexpr std::size_t kBase32Chars = (kTokenBytes * 8 + 4) / 5;
constexpr std::size_t kTokenChars = 1 + kBase32Chars;
static_assert(kTokenChars <= VerpCodec::kMaxLocalPart);

using Payload = std::array<unsigned char, kPayloadBytes>;
using Mac = std::array<unsigned char, kMacBytes>;
using TokenBytes = std::array<unsigned char, kTokenBytes>;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base32_value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

std::string base32_encode(std::span<const unsigned char> bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  unsigned buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kAlphabet[(buffer >> bits) & 0x1f];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 0x1f];
  return out;
}

// Strict: every character in the alphabet (either case) and the unused low
// bits of the last character zero, so one token has one spelling.
bool base32_decode(std::string_view text, std::span<unsigned char> out) {
  unsigned buffer = 0;
  int bits = 0;
  std::size_t n = 0;
  for (char c : text) {
    int v = base32_value(c);
    if (v < 0) return false;
    buffer = (buffer << 5) | static_cast<unsigned>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (n == out.size()) return false;
      out[n++] = static_cast<unsigned char>(buffer >> bits);
    }
  }
  return n == out.size() && (buffer & ((1u << bits) - 1)) == 0;
}

Mac compute_mac(const std::string& secret, const Payload& payload) {
  std::array<unsigned char, kMacDomain.size() + kPayloadBytes> input{};
  std::memcpy(input.data(), kMacDomain.data(), kMacDomain.size());
  std::memcpy(input.data() + kMacDomain.size(), payload.data(), payload.size());
  std::array<unsigned char, EVP_MAX_MD_SIZE> full{};
  unsigned int full_size = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), input.data(),
           input.size(), full.data(), &full_size) == nullptr ||
      full_size < kMacBytes) {
    // Only an OpenSSL without SHA-256 or out of memory gets here; a token
    // without its MAC would be worthless, so this is a broken invariant.
    std::fprintf(stderr, "verp: HMAC-SHA256 failed\n");
    std::abort();
  }
  Mac mac{};
  std::memcpy(mac.data(), full.data(), mac.size());
  OPENSSL_cleanse(full.data(), full.size());
  return mac;
}

}  // namespace

Result<VerpCodec> VerpCodec::create(std::string secret) {
  if (secret.size() < kMinSecretBytes) {
    return fail("VERP secret too short: " + std::to_string(secret.size()) + " bytes, at least " +
                std::to_string(kMinSecretBytes) + " needed");
  }
  return VerpCodec(std::move(secret));
}

std::string VerpCodec::encode(const BounceToken& token) const {
  Payload payload{};
  bool id_ok = token.queue_id.size() == 2 * kIdBytes;
  for (std::size_t i = 0; id_ok && i < kIdBytes; ++i) {
    int hi = hex_value(token.queue_id[2 * i]);
    int lo = hex_value(token.queue_id[2 * i + 1]);
    id_ok = hi >= 0 && lo >= 0;
    payload[i] = static_cast<unsigned char>((hi << 4) | lo);
  }
  if (!id_ok) {
    // Queue ids are made by stamp-mta itself; anything else is a bug upstream.
    std::fprintf(stderr, "verp: not a queue id: %.40s\n", token.queue_id.c_str());
    std::abort();
  }
  for (std::size_t i = 0; i < kIndexBytes; ++i) {
    payload[kIdBytes + i] = static_cast<unsigned char>(token.recipient_index >> (8 * (3 - i)));
  }
  Mac mac = compute_mac(secret_, payload);
  TokenBytes bytes{};
  std::memcpy(bytes.data(), payload.data(), payload.size());
  std::memcpy(bytes.data() + payload.size(), mac.data(), mac.size());
  return kVersion + base32_encode(bytes);
}

std::optional<BounceToken> VerpCodec::decode(std::string_view local_part) const {
  if (local_part.size() != kTokenChars) return std::nullopt;
  if (local_part[0] != kVersion && local_part[0] != kVersion - 'a' + 'A') return std::nullopt;
  TokenBytes bytes{};
  if (!base32_decode(local_part.substr(1), bytes)) return std::nullopt;
  Payload payload{};
  std::memcpy(payload.data(), bytes.data(), payload.size());
  Mac expected = compute_mac(secret_, payload);
  // Constant time: how far a guess matched must not show in the timing.
  if (CRYPTO_memcmp(expected.data(), bytes.data() + kPayloadBytes, kMacBytes) != 0) {
    return std::nullopt;
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  BounceToken token;
  token.queue_id.reserve(2 * kIdBytes);
  for (std::size_t i = 0; i < kIdBytes; ++i) {
    token.queue_id += kHex[payload[i] >> 4];
    token.queue_id += kHex[payload[i] & 0x0f];
  }
  for (std::size_t i = 0; i < kIndexBytes; ++i) {
    token.recipient_index = (token.recipient_index << 8) | payload[kIdBytes + i];
  }
  return token;
}

}  // namespace common::verp
