// Server-side TLS: an SSL_CTX for STARTTLS (TLS 1.2 and later), and the dev
// profile's self-signed certificate made on first run.
#pragma once

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>

#include "common/base/owned.h"
#include "common/base/result.h"
#include "common/tls/tls_config.h"

namespace common::tls {

using OwnedSslCtx = Owned<SSL_CTX, &SSL_CTX_free>;
using OwnedSsl = Owned<SSL, &SSL_free>;

// Loads certificate and key (creating a self-signed pair first when the config
// allows it and both files are missing) into a server SSL_CTX.
Result<OwnedSslCtx> make_server_context(const TlsConfig& config, const std::string& hostname);

// A client SSL_CTX for outbound STARTTLS (TLS 1.2 and later). With `verify`,
// peers are checked against `ca_file` (or the system store when empty); the
// host name check is set per connection.
Result<OwnedSslCtx> make_client_context(bool verify, const std::string& ca_file);

// Writes a new P-256 key (mode 0600) and a self-signed certificate for
// `hostname`, valid for a year, atomically.
Status create_self_signed(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                          const std::string& hostname);

// "TLSv1.3" and the cipher name of an established connection.
std::string protocol_version(const SSL* ssl);
std::string cipher_name(const SSL* ssl);

// The first OpenSSL error on this thread's queue as text (and clears the queue).
std::string last_openssl_error();

}  // namespace common::tls
