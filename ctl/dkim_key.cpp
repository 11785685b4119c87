// RSA key generation and public-key extraction with OpenSSL 3 EVP. See dkim_key.h.
#include "ctl/dkim_key.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdio>

#include "common/base/base64.h"
#include "common/base/owned.h"
#include "common/tls/tls_context.h"

namespace ctl {
namespace {

using OwnedPkey = common::Owned<EVP_PKEY, &EVP_PKEY_free>;
using OwnedPkeyCtx = common::Owned<EVP_PKEY_CTX, &EVP_PKEY_CTX_free>;
using OwnedBio = common::Owned<BIO, &BIO_free_all>;
void free_openssl_bytes(unsigned char* bytes) { OPENSSL_free(bytes); }  // a macro, not a function
using OwnedOpensslBytes = common::Owned<unsigned char, &free_openssl_bytes>;

common::Result<std::string> public_base64_of(EVP_PKEY* key) {
  if (EVP_PKEY_get_id(key) == EVP_PKEY_ED25519) {
    // RFC 8463 section 4.2: p= is the bare 32-byte public key, not SubjectPublicKeyInfo.
    unsigned char bytes[32];
    std::size_t length = sizeof bytes;
    if (EVP_PKEY_get_raw_public_key(key, bytes, &length) != 1 || length != sizeof bytes) {
      return common::fail("cannot read the Ed25519 public key: " + common::tls::last_openssl_error());
    }
    return common::base64_encode(std::string_view(reinterpret_cast<const char*>(bytes), length));
  }
  unsigned char* raw = nullptr;
  int length = i2d_PUBKEY(key, &raw);
  OwnedOpensslBytes der(raw);
  if (length <= 0) return common::fail("cannot encode the public key: " + common::tls::last_openssl_error());
  return common::base64_encode(
      std::string_view(reinterpret_cast<const char*>(der.get()), static_cast<std::size_t>(length)));
}

}  // namespace

common::Result<DkimKeyPair> generate_dkim_key(DkimAlgorithm algorithm) {
  const bool rsa = algorithm == DkimAlgorithm::Rsa;
  const char* name = rsa ? "RSA" : "ED25519";
  OwnedPkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, name, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
      (rsa && EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), kDkimRsaBits) <= 0)) {
    return common::fail(std::string("cannot set up ") + name + " key generation: " + common::tls::last_openssl_error());
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &raw) <= 0) {
    return common::fail(std::string("cannot generate an ") + name + " key: " + common::tls::last_openssl_error());
  }
  OwnedPkey key(raw);

  OwnedBio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return common::fail("cannot encode the private key: " + common::tls::last_openssl_error());
  }
  char* pem = nullptr;
  long pem_length = BIO_get_mem_data(bio.get(), &pem);
  if (pem_length <= 0) return common::fail("cannot encode the private key: empty PEM");

  auto public_base64 = public_base64_of(key.get());
  if (!public_base64) return std::unexpected(public_base64.error());
  DkimKeyPair pair;
  pair.private_pem.assign(pem, static_cast<std::size_t>(pem_length));
  pair.public_base64 = std::move(*public_base64);
  // The memory BIO's copy of the secret goes away with it; OpenSSL does not
  // scrub freed BIO memory, so clear it first.
  OPENSSL_cleanse(pem, static_cast<std::size_t>(pem_length));
  return pair;
}

common::Result<std::string> dkim_public_key_of(const std::filesystem::path& key_file) {
  OwnedBio bio(BIO_new_file(key_file.c_str(), "r"));
  if (!bio) return common::fail("cannot read " + key_file.string() + ": " + common::tls::last_openssl_error());
  OwnedPkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return common::fail(key_file.string() + " is not a PEM private key: " + common::tls::last_openssl_error());
  }
  return public_base64_of(key.get());
}

std::string dkim_txt_value(std::string_view public_base64, DkimAlgorithm algorithm) {
  return std::string("v=DKIM1; k=") + (algorithm == DkimAlgorithm::Rsa ? "rsa" : "ed25519") +
         "; p=" + std::string(public_base64);
}

}  // namespace ctl
