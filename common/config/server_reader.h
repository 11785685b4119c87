// Reads what every stamp daemon's server file starts with: `hostname`, `log`,
// `listeners`, `tls` (required when a listener uses STARTTLS) and `smtp`.
//
// Each daemon's loader calls it on its root mapping and reads its own keys
// after; the listener, TLS and limit schemas are those of the readers beside it.
#pragma once

#include <string>
#include <vector>

#include "common/base/log.h"
#include "common/config/listener_reader.h"
#include "common/config/map_reader.h"
#include "common/smtp/listener_config.h"
#include "common/smtp/smtp_limits.h"
#include "common/tls/tls_config.h"

namespace common::config {

struct ServerSettings {
  std::string hostname;  // greeting, EHLO, Received, Message-ID
  common::log::Level log_level = common::log::Level::Info;
  std::vector<common::smtp::ListenerConfig> listeners;
  common::tls::TlsConfig tls;
  common::smtp::SmtpLimits limits;
};

// Reads the five keys from `root` (hostname and listeners required).
ServerSettings read_server_settings(MapReader& root, const TenantCheck& check_tenant);

}  // namespace common::config
