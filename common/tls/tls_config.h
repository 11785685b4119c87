// TlsConfig: the server certificate and key a daemon offers with STARTTLS.
#pragma once

#include <string>

namespace common::tls {

struct TlsConfig {
  std::string certificate_file;  // PEM chain, leaf first
  std::string private_key_file;  // PEM
  // Dev/test convenience: when both files are missing, create a self-signed
  // certificate for the server's hostname (key mode 0600). Off in production.
  bool create_self_signed = false;
};

}  // namespace common::tls
