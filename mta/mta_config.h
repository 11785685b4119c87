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

struct DkimKeyRef {
  std::string selector;
  std::filesystem::path key_file;  // PEM, readable only by stamp's user
};

// A domain a tenant sends from in aligned mode. Whether it is verified lives in
// the state database (stampctl domain verify), not here.
struct TenantDomain {
  std::string name;         // lower case
  std::string return_path;  // default "pm-bounces." + name
  DkimKeyRef dkim;
  std::optional<DkimKeyRef> previous_dkim;  // during a key rotation: signs until the new one verifies
  std::optional<DkimKeyRef> dkim_ed25519;   // a second signature, ed25519-sha256 (RFC 8463), own selector
};

enum class StreamType { Transactional, Broadcast };

struct MessageStream {
  std::string name;  // "outbound" is the default transactional stream
  StreamType type = StreamType::Transactional;
  std::string unsubscribe_mailto;  // broadcast: List-Unsubscribe mailto (RFC 2369)
  std::string unsubscribe_url;     // broadcast: https URL for one-click (RFC 8058)
};

struct WebhookEndpoint {
  std::string stream;  // "" = every stream
  std::string event;   // Bounce, SpamComplaint, Delivery, SubscriptionChange
  std::string url;
  std::string secret;  // HMAC key for the signature header
};

struct TenantConfig {
  std::string name;  // from the file name: tenants.d/NAME.yaml
  std::filesystem::path file;
  std::vector<SmtpUser> smtp_users;
  std::vector<TenantDomain> domains;
  std::vector<std::string> verified_senders;  // addresses confirmed with `stampctl sender confirm`
  bool display_name_mode = true;              // may send as "NAME via OPERATOR"
  bool fallback_to_display_name = false;      // an unknown From becomes display-name mode instead of a 5.7.x
  std::vector<MessageStream> streams;         // "outbound" (transactional) is always there
  std::vector<WebhookEndpoint> webhooks;
};

// The operator's own identity: used for verified-address and display-name
// modes, and as the target of tenants' Return-Path CNAMEs.
struct OperatorConfig {
  std::string domain;          // the operator's sending domain
  std::string from_address;    // display-name mode From: "notify@vendor.example"
  std::string bounce_domain;   // operator Return-Path domain, and the CNAME target for tenants
  std::string display_name_pattern = "{name} via {operator}";
  std::string name;            // {operator} in the pattern; default: domain
  std::optional<DkimKeyRef> dkim;               // signs verified-address and display-name mail
  std::optional<DkimKeyRef> dkim_ed25519;       // and a second signature with ed25519-sha256
  std::vector<std::string> sending_addresses;   // IPs SPF must authorize (domain verify)
  bool require_verified_domains = true;         // false in the dev profile
  std::string sender_confirmation_url;          // "https://.../confirm?token={token}", or "": code only
  std::filesystem::path verp_key_file;          // created on first start (32 random bytes, 0600)
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

// TLS towards a destination (RFC 3207). Opportunistic: STARTTLS whenever the
// peer offers it, any certificate. Require: STARTTLS with a certificate that
// verifies for the MX host name, else the recipients are deferred.
enum class OutboundTls { Opportunistic, Require };

struct DomainTlsPolicy {
  std::string domain;  // lower case; the recipient domain
  OutboundTls mode = OutboundTls::Opportunistic;
};

// Limits towards one destination domain (per recipient domain, or per relay host).
struct DestinationLimits {
  std::size_t max_connections = 10;                  // 1..1000
  std::size_t max_messages_per_connection = 100;     // 1..100000
  std::size_t max_messages_per_minute = 0;           // 0 = unlimited, ..1000000
};

struct DomainLimits {
  std::string domain;  // lower case
  DestinationLimits limits;
};

struct RetryPolicy {
  std::chrono::seconds first_delay{300};         // 1s..1d: after the first temporary failure
  std::chrono::seconds max_delay{3600};          // 1s..7d: the backoff's cap
  std::chrono::seconds max_queue_lifetime{3 * 24 * 3600};  // 1s..30d: then the message bounces
};

// RFC 5321 4.5.3.2 client timeouts.
struct ClientTimeouts {
  std::chrono::seconds connect{30};      // 1s..600s
  std::chrono::seconds greeting{300};    // 4.5.3.2.1: 5 minutes
  std::chrono::seconds command{300};     // EHLO, STARTTLS, MAIL (4.5.3.2.2), RCPT (4.5.3.2.3), RSET, QUIT
  std::chrono::seconds data_init{120};   // 4.5.3.2.4: 2 minutes for the 354
  std::chrono::seconds data_block{180};  // 4.5.3.2.5: 3 minutes per block sent
  std::chrono::seconds data_done{600};   // 4.5.3.2.6: 10 minutes for the final reply
};

struct DeliveryConfig {
  DeliveryMode mode = DeliveryMode::Sandbox;
  std::filesystem::path sandbox_directory;  // one .eml per recipient, as it would go on the wire
  std::optional<HostPort> relay_host;       // send everything here instead of MX lookups
  // Single-server installs: mail to a Return-Path domain (a tenant's return_path
  // or operator.bounce_domain), such as stamp-mta's own DSNs, goes straight to
  // stamp-bounced here instead of through DNS.
  std::optional<HostPort> bounce_handoff;
  std::string helo_name;                    // default: hostname
  std::uint16_t mx_port = 25;               // port of MX hosts (tests point it elsewhere)
  OutboundTls tls_default = OutboundTls::Opportunistic;
  std::filesystem::path tls_ca_file;        // CAs for `require`; empty: the system's store
  std::vector<DomainTlsPolicy> tls_policies;
  std::size_t max_connections = 200;        // 1..100000, all destinations together
  DestinationLimits destination_limits;     // default for every destination
  std::vector<DomainLimits> domain_limits;  // overrides for named destination domains
  RetryPolicy retry;
  ClientTimeouts timeouts;
};

struct DnsConfig {
  std::optional<HostPort> resolver;  // unset: the system resolver (/etc/resolv.conf)
};

struct StateConfig {
  std::filesystem::path database;  // SQLite (WAL): the message log; default QUEUE_DIR/state.db
  std::chrono::seconds retention{std::chrono::days{45}};  // 1d..3650d: message log rows are kept this long
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
  StateConfig state;
  OperatorConfig operator_config;  // YAML key "operator"
  std::vector<TenantConfig> tenants;
};

}  // namespace mta
