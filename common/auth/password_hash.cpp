// scrypt password hashes. See password_hash.h.
#include "common/auth/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstdint>
#include <vector>

#include "common/base/base64.h"

namespace common::auth {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kKeyBytes = 32;
// Bounds on parameters read back from a file, so a hostile or mistyped hash
// cannot make verification allocate gigabytes.
constexpr int kMaxLog2N = 20;
constexpr int kMaxR = 32;
constexpr int kMaxP = 16;

struct ParsedHash {
  ScryptParams params;
  std::vector<std::uint8_t> salt;
  std::vector<std::uint8_t> key;
};

bool parse_int(std::string_view text, int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

Result<ParsedHash> parse(std::string_view encoded) {
  constexpr std::string_view kPrefix = "$scrypt$";
  if (!encoded.starts_with(kPrefix)) return fail("not a \"$scrypt$...\" hash from `stampctl passwd`");
  encoded.remove_prefix(kPrefix.size());
  auto dollar1 = encoded.find('$');
  if (dollar1 == std::string_view::npos) return fail("scrypt hash has no salt");
  auto dollar2 = encoded.find('$', dollar1 + 1);
  if (dollar2 == std::string_view::npos) return fail("scrypt hash has no key");
  std::string_view params = encoded.substr(0, dollar1);
  ParsedHash parsed;
  int seen = 0;
  while (!params.empty()) {
    auto comma = params.find(',');
    std::string_view item = params.substr(0, comma);
    params = comma == std::string_view::npos ? std::string_view() : params.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) return fail("scrypt parameter without '='");
    std::string_view name = item.substr(0, eq);
    int value = 0;
    if (!parse_int(item.substr(eq + 1), value)) return fail("scrypt parameter is not a number");
    if (name == "ln") parsed.params.log2_n = value, seen |= 1;
    else if (name == "r") parsed.params.r = value, seen |= 2;
    else if (name == "p") parsed.params.p = value, seen |= 4;
    else return fail("unknown scrypt parameter");
  }
  if (seen != 7) return fail("scrypt hash needs ln, r and p");
  if (parsed.params.log2_n < 10 || parsed.params.log2_n > kMaxLog2N || parsed.params.r < 1 ||
      parsed.params.r > kMaxR || parsed.params.p < 1 || parsed.params.p > kMaxP) {
    return fail("scrypt parameters out of range (ln 10..20, r 1..32, p 1..16)");
  }
  auto salt = base64_decode(encoded.substr(dollar1 + 1, dollar2 - dollar1 - 1));
  auto key = base64_decode(encoded.substr(dollar2 + 1));
  if (!salt || salt->size() < 8) return fail("scrypt salt is not valid base64 of 8+ bytes");
  if (!key || key->size() != kKeyBytes) return fail("scrypt key is not valid base64 of 32 bytes");
  parsed.salt.assign(salt->begin(), salt->end());
  parsed.key.assign(key->begin(), key->end());
  return parsed;
}

bool derive(std::string_view password, const std::vector<std::uint8_t>& salt,
            const ScryptParams& params, std::uint8_t* out) {
  std::uint64_t n = std::uint64_t{1} << params.log2_n;
  // maxmem: scrypt needs 128 * r * N bytes (+ p * 128 * r); allow that plus slack.
  std::uint64_t maxmem = 128ull * params.r * (n + params.p + 2) + (1u << 20);
  return EVP_PBE_scrypt(password.data(), password.size(), salt.data(), salt.size(), n,
                        static_cast<std::uint64_t>(params.r), static_cast<std::uint64_t>(params.p),
                        maxmem, out, kKeyBytes) == 1;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, ScryptParams params) {
  std::vector<std::uint8_t> salt(kSaltBytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
    return fail("no randomness for the salt (RAND_bytes failed)");
  }
  std::uint8_t key[kKeyBytes];
  if (!derive(password, salt, params, key)) return fail("scrypt failed (EVP_PBE_scrypt)");
  std::string out = "$scrypt$ln=" + std::to_string(params.log2_n) +
                    ",r=" + std::to_string(params.r) + ",p=" + std::to_string(params.p) + "$";
  out += base64_encode(std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()));
  out += '$';
  out += base64_encode(std::string_view(reinterpret_cast<const char*>(key), kKeyBytes));
  OPENSSL_cleanse(key, sizeof key);
  return out;
}

bool verify_password(std::string_view password, std::string_view encoded) {
  auto parsed = parse(encoded);
  if (!parsed) return false;
  std::uint8_t key[kKeyBytes];
  if (!derive(password, parsed->salt, parsed->params, key)) return false;
  bool match = CRYPTO_memcmp(key, parsed->key.data(), kKeyBytes) == 0;
  OPENSSL_cleanse(key, sizeof key);
  return match;
}

Status check_password_hash_format(std::string_view encoded) {
  auto parsed = parse(encoded);
  if (!parsed) return std::unexpected(parsed.error());
  return {};
}

}  // namespace common::auth
