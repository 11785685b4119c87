// MtaConfig: everything stamp-mta reads from its YAML file and tenants.d/.
// Loading and validation live in mta_config_loader.cpp; this header is data only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/base/log.h"
#include "common/smtp/listener_config.h"
#include "common/smtp/smtp_limits.h"
#include "common/tls/tls_config.h"

namespace mta {

struct SmtpUser {
  std::string username;
  std::string password_hash;  // "$scrypt$..." or "$pbkdf2-sha256$..." from `stampctl passwd`
};

struct TenantConfig {
  std::string name;  // from the file name: tenants.d/NAME.yaml
  std::filesystem::path file;
  std::vector<SmtpUser> smtp_users;
};

struct QueueConfig {
  std::filesystem::path directory;  // holds tmp/, queue/, corrupt/
  std::size_t sync_workers = 4;     // threads that fsync accepted messages (group commit)
};

enum class DeliveryMode { Sandbox, Smtp };

struct HostPort {
  std::string host;
  std::uint16_t port = 25;
};

struct DeliveryConfig {
  DeliveryMode mode = DeliveryMode::Sandbox;
  std::filesystem::path sandbox_directory;  // one .eml per recipient, as it would go on the wire
  std::optional<HostPort> relay_host;       // send everything here instead of MX lookups
};

struct DnsConfig {
  std::optional<HostPort> resolver;  // unset: the system resolver (/etc/resolv.conf)
};

struct MtaConfig {
  std::filesystem::path file;  // the server config file, for messages and tenants.d/
  std::string hostname;        // EHLO name, Received headers, Message-IDs
  common::log::Level log_level = common::log::Level::Info;
  std::vector<common::smtp::ListenerConfig> listeners;
  common::smtp::SmtpLimits limits;
  common::tls::TlsConfig tls;
  QueueConfig queue;
  DeliveryConfig delivery;
  DnsConfig dns;
  std::vector<TenantConfig> tenants;
};

}  // namespace mta
