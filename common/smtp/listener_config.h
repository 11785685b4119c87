// ListenerConfig: what one SMTP listening socket offers and whom it trusts.
// Both daemons build their listeners from this; the loader is in common/config.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/cidr.h"

namespace common::smtp {

enum class TlsMode { None, StartTls };

// How a data line that ends in a bare LF is treated (Postfix 3.9's
// smtpd_forbid_bare_newline). Either way, it is never part of an end-of-data
// marker: only CRLF.CRLF ends the data (SMTP smuggling defence).
enum class BareLfPolicy { Normalize, Reject };

struct TrustedNetwork {
  Cidr network;
  std::string tenant;  // the tenant a client from this network submits as, without AUTH
};

struct ListenerConfig {
  std::string name;
  std::string address;  // IP literal to bind
  std::uint16_t port = 0;  // 0 picks a free port (tests); the log says which
  TlsMode tls = TlsMode::StartTls;
  bool auth = true;                  // offer AUTH PLAIN/LOGIN
  bool allow_plaintext_auth = false; // AUTH before STARTTLS (never on a public port)
  BareLfPolicy bare_lf = BareLfPolicy::Normalize;
  std::vector<TrustedNetwork> trusted_networks;
};

}  // namespace common::smtp
