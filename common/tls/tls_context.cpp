// Server TLS context and self-signed certificate creation. See tls_context.h.
#include "common/tls/tls_context.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <system_error>

#include "common/base/log.h"

namespace common::tls {
namespace {

using OwnedPkey = Owned<EVP_PKEY, &EVP_PKEY_free>;
using OwnedX509 = Owned<X509, &X509_free>;
using OwnedBio = Owned<BIO, &BIO_free_all>;

// Writes `pem` to `path` through a temporary file and rename, with `mode`.
Status write_file_atomically(const std::filesystem::path& path, const std::string& data, mode_t mode) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  OwnedFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return fail_errno("open " + tmp.string());
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0) return fail_errno("write " + tmp.string());
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail_errno("fsync " + tmp.string());
  if (::close(fd.release()) != 0) return fail_errno("close " + tmp.string());
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail_errno("rename " + tmp.string());
  return {};
}

Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len < 0) return fail("BIO_get_mem_data failed");
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

std::string last_openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

Status create_self_signed(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                          const std::string& hostname) {
  std::error_code ec;
  std::filesystem::create_directories(cert_file.parent_path(), ec);
  std::filesystem::create_directories(key_file.parent_path(), ec);
  OwnedPkey key(EVP_EC_gen("P-256"));
  if (!key) return fail("EC key generation failed: " + last_openssl_error());
  OwnedX509 cert(X509_new());
  if (!cert) return fail("X509_new failed");
  X509_set_version(cert.get(), 2);
  std::uint64_t serial = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1) return fail("RAND_bytes failed");
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial >> 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(hostname.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::string san = "DNS:" + hostname;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
  if (ext) {
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);  // X509_add_ext copied it
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return fail("X509_sign failed: " + last_openssl_error());

  OwnedBio key_bio(BIO_new(BIO_s_mem()));
  OwnedBio cert_bio(BIO_new(BIO_s_mem()));
  if (!key_bio || !cert_bio || PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
    return fail("PEM encoding failed: " + last_openssl_error());
  }
  auto key_pem = bio_text(key_bio.get());
  auto cert_pem = bio_text(cert_bio.get());
  if (!key_pem || !cert_pem) return fail("PEM encoding failed");
  if (auto st = write_file_atomically(key_file, *key_pem, 0600); !st) return st;
  if (auto st = write_file_atomically(cert_file, *cert_pem, 0644); !st) return st;
  log::info("tls.self_signed_created").kv("certificate", cert_file.string()).kv("hostname", hostname);
  return {};
}

Result<OwnedSslCtx> make_server_context(const TlsConfig& config, const std::string& hostname) {
  std::error_code ec;
  bool have_cert = std::filesystem::exists(config.certificate_file, ec);
  bool have_key = std::filesystem::exists(config.private_key_file, ec);
  if (!have_cert && !have_key && config.create_self_signed) {
    if (auto st = create_self_signed(config.certificate_file, config.private_key_file, hostname); !st) {
      return std::unexpected(st.error());
    }
  }
  OwnedSslCtx ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return fail("SSL_CTX_new failed: " + last_openssl_error());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // No renegotiation, no compression; tolerate peers that close without
  // close_notify (common among SMTP clients; see dependencies.md, libevent + OpenSSL 3).
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                     SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), config.certificate_file.c_str()) != 1) {
    return fail("cannot load TLS certificate " + config.certificate_file + ": " + last_openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), config.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("cannot load TLS private key " + config.private_key_file + ": " + last_openssl_error());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return fail("TLS private key " + config.private_key_file + " does not match the certificate");
  }
  return ctx;
}

Result<OwnedSslCtx> make_client_context(bool verify, const std::string& ca_file) {
  OwnedSslCtx ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return fail("SSL_CTX_new failed: " + last_openssl_error());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (!verify) {
    // Opportunistic TLS (RFC 7435): encrypt whatever the certificate says.
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                           : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr);
  if (ok != 1) return fail("cannot load CA certificates " + (ca_file.empty() ? std::string("(system store)") : ca_file) +
                           ": " + last_openssl_error());
  return ctx;
}

std::string protocol_version(const SSL* ssl) { return SSL_get_version(ssl); }

std::string cipher_name(const SSL* ssl) {
  const char* name = SSL_get_cipher_name(ssl);
  return name ? name : "";
}

}  // namespace common::tls
