// stamp-mta's config file and tenants.d/. See mta_config_loader.h.
#include "mta/mta_config_loader.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/auth/password_hash.h"
#include "common/config/listener_reader.h"
#include "common/config/map_reader.h"
#include "common/config/smtp_limits_reader.h"
#include "common/config/tls_reader.h"
#include "common/config/yaml_document.h"

namespace mta {
namespace {

using common::config::Diagnostics;
using common::config::Endpoint;
using common::config::EnumName;
using common::config::HostRule;
using common::config::MapReader;
using common::config::Need;
using common::config::quote_text;
using common::config::Range;
using common::config::SourcePosition;
using common::config::YamlDocument;

constexpr std::string_view kTenantsDirectory = "tenants.d";
constexpr std::string_view kTenantSuffix = ".yaml";
constexpr std::size_t kMaxTenantNameLength = 63;
constexpr Range<std::uint64_t> kSyncWorkers{1, 64};
constexpr Range<std::uint16_t> kRemotePorts{1, 65535};
constexpr Range<std::size_t> kUsernameLength{1, 256};
constexpr Range<std::uint64_t> kMaxConnections{1, 100000};
constexpr Range<std::uint64_t> kDestinationConnections{1, 1000};
constexpr Range<std::uint64_t> kMessagesPerConnection{1, 100000};
constexpr Range<std::uint64_t> kMessagesPerMinute{0, 1000000};  // 0: unlimited
constexpr Range<std::chrono::seconds> kFirstDelay{std::chrono::seconds{1}, std::chrono::days{1}};
constexpr Range<std::chrono::seconds> kMaxDelay{std::chrono::seconds{1}, std::chrono::days{7}};
constexpr Range<std::chrono::seconds> kQueueLifetime{std::chrono::seconds{1},
                                                     std::chrono::days{30}};
constexpr Range<std::chrono::seconds> kConnectTimeout{std::chrono::seconds{1},
                                                      std::chrono::seconds{600}};
constexpr Range<std::chrono::seconds> kClientTimeout{std::chrono::seconds{1},
                                                     std::chrono::seconds{3600}};

// [a-z0-9][a-z0-9_-]{0,62}: safe in paths, log lines and metric labels.
bool is_tenant_name(std::string_view name) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return !name.empty() && name.size() <= kMaxTenantNameLength && lower_or_digit(name.front()) &&
         std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; });
}

// Every *.yaml in `directory`, sorted by name. A missing directory means no tenants.
std::vector<std::filesystem::path> tenant_files(const std::filesystem::path& directory,
                                                Diagnostics& diagnostics) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  std::filesystem::directory_iterator it(directory, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (it->path().filename().string().ends_with(kTenantSuffix)) files.push_back(it->path());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    diagnostics.add(SourcePosition{directory.string(), 1, 1}, "cannot read: " + ec.message());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Usernames seen so far, across tenants, with the tenant that has each one.
using UsernameOwners = std::map<std::string, std::string, std::less<>>;

void read_smtp_user(MapReader& item, const std::string& tenant, UsernameOwners& owners,
                    std::vector<SmtpUser>& users) {
  SmtpUser user;
  bool ok = item.read_string("username", user.username, Need::Required, kUsernameLength);
  if (ok) {
    auto [owner, inserted] = owners.emplace(user.username, tenant);
    if (!inserted) {
      item.error("username", "duplicate username " + quote_text(user.username) +
                                 " (first in tenant " + quote_text(owner->second) + ")");
      ok = false;
    }
  }
  if (item.read_string("password_hash", user.password_hash, Need::Required)) {
    // The message names what is wrong with the hash but never repeats it.
    if (auto format = common::auth::check_password_hash_format(user.password_hash); !format) {
      item.error("password_hash", "invalid password hash: " + format.error().message);
      ok = false;
    }
  } else {
    ok = false;
  }
  item.finish();
  if (ok) users.push_back(std::move(user));
}

TenantConfig read_tenant(const std::filesystem::path& file, UsernameOwners& owners,
                         Diagnostics& diagnostics) {
  TenantConfig tenant;
  std::string filename = file.filename().string();
  tenant.name = filename.substr(0, filename.size() - kTenantSuffix.size());
  tenant.file = file;
  if (!is_tenant_name(tenant.name)) {
    diagnostics.add(SourcePosition{file.string(), 1, 1},
                    "tenant name " + quote_text(tenant.name) +
                        " (the file name without .yaml) must match [a-z0-9][a-z0-9_-]{0,62}");
  }
  auto document = YamlDocument::load(file, diagnostics);
  if (!document) return tenant;
  MapReader root(*document, diagnostics);
  for (MapReader& item : root.read_map_list("smtp_users")) {
    read_smtp_user(item, tenant.name, owners, tenant.smtp_users);
  }
  root.finish();
  return tenant;
}

HostPort to_host_port(Endpoint endpoint) {
  return HostPort{std::move(endpoint.host), endpoint.port};
}

// Remembers the domains of one list by the line of their first entry, so a
// second entry for the same domain is reported instead of silently shadowed.
using DomainLines = std::map<std::string, int, std::less<>>;

// Reads `item.domain` (required) in lower case; false if absent, invalid or a duplicate.
bool read_unique_domain(MapReader& item, DomainLines& seen, std::string& out) {
  std::string domain;
  if (!item.read_domain("domain", domain, Need::Required)) return false;
  // Domains are case-insensitive (RFC 4343); lookups compare the lower-case form.
  std::transform(domain.begin(), domain.end(), domain.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto [first, inserted] = seen.emplace(domain, item.position("domain").line);
  if (!inserted) {
    item.error("domain", "duplicate domain " + quote_text(domain) + " (first at line " +
                             std::to_string(first->second) + ")");
    return false;
  }
  out = std::move(domain);
  return true;
}

void read_outbound_tls(MapReader& delivery_block, DeliveryConfig& delivery) {
  const std::initializer_list<EnumName<OutboundTls>> modes = {
      {"opportunistic", OutboundTls::Opportunistic}, {"require", OutboundTls::Require}};
  MapReader tls = delivery_block.read_map("tls");
  tls.read_enum("default", delivery.tls_default, modes);
  tls.read_path("ca_file", delivery.tls_ca_file);
  DomainLines seen;
  for (MapReader& item : tls.read_map_list("domains")) {
    DomainTlsPolicy policy;
    bool ok = read_unique_domain(item, seen, policy.domain);
    ok = item.read_enum("mode", policy.mode, modes, Need::Required) && ok;
    item.finish();
    if (ok) delivery.tls_policies.push_back(std::move(policy));
  }
  tls.finish();
}

// The keys of `limits` and of each `domain_limits` entry; absent keys keep `out`.
void read_destination_limits(MapReader& block, DestinationLimits& out) {
  block.read_unsigned("max_connections", out.max_connections, kDestinationConnections);
  block.read_unsigned("max_messages_per_connection", out.max_messages_per_connection,
                      kMessagesPerConnection);
  block.read_unsigned("max_messages_per_minute", out.max_messages_per_minute, kMessagesPerMinute);
}

void read_limits(MapReader& delivery_block, DeliveryConfig& delivery) {
  MapReader limits = delivery_block.read_map("limits");
  read_destination_limits(limits, delivery.destination_limits);
  limits.finish();
  // After `limits`: an entry's unset keys take the values read there.
  DomainLines seen;
  for (MapReader& item : delivery_block.read_map_list("domain_limits")) {
    DomainLimits entry{.domain = {}, .limits = delivery.destination_limits};
    bool ok = read_unique_domain(item, seen, entry.domain);
    read_destination_limits(item, entry.limits);
    item.finish();
    if (ok) delivery.domain_limits.push_back(std::move(entry));
  }
}

// "300s" as the config reader would print it: the largest unit that divides it.
std::string duration_text(std::chrono::seconds value) {
  constexpr std::pair<long long, char> kUnits[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}};
  long long seconds = value.count();
  for (auto [factor, unit] : kUnits) {
    if (seconds != 0 && seconds % factor == 0) return std::to_string(seconds / factor) + unit;
  }
  return std::to_string(seconds) + "s";
}

void read_retry(MapReader& delivery_block, RetryPolicy& retry) {
  MapReader block = delivery_block.read_map("retry");
  // A key that is present but wrong was reported already; comparing against the
  // default it kept would only add a confusing second message. (Read first, test
  // presence second: every read names its key in the "allowed:" list.)
  bool first_ok = block.read_duration("first_delay", retry.first_delay, kFirstDelay) ||
                  !block.has("first_delay");
  bool max_ok =
      block.read_duration("max_delay", retry.max_delay, kMaxDelay) || !block.has("max_delay");
  block.read_duration("max_queue_lifetime", retry.max_queue_lifetime, kQueueLifetime);
  if (first_ok && max_ok && retry.max_delay < retry.first_delay) {
    block.error("max_delay", "must be at least first_delay (" + duration_text(retry.first_delay) +
                                 "), got " + duration_text(retry.max_delay) +
                                 (block.has("max_delay") ? "" : " (the default)"));
  }
  block.finish();
}

void read_client_timeouts(MapReader& delivery_block, ClientTimeouts& timeouts) {
  MapReader block = delivery_block.read_map("timeouts");
  block.read_duration("connect", timeouts.connect, kConnectTimeout);
  block.read_duration("greeting", timeouts.greeting, kClientTimeout);
  block.read_duration("command", timeouts.command, kClientTimeout);
  block.read_duration("data_init", timeouts.data_init, kClientTimeout);
  block.read_duration("data_block", timeouts.data_block, kClientTimeout);
  block.read_duration("data_done", timeouts.data_done, kClientTimeout);
  block.finish();
}

void read_delivery(MapReader& root, DeliveryConfig& delivery) {
  MapReader block = root.read_map("delivery");
  block.read_enum("mode", delivery.mode,
                  {{"sandbox", DeliveryMode::Sandbox}, {"smtp", DeliveryMode::Smtp}});
  // Only sandbox mode writes there; in smtp mode the key is accepted and unused.
  block.read_path("sandbox_directory", delivery.sandbox_directory,
                  delivery.mode == DeliveryMode::Sandbox ? Need::Required : Need::Optional);
  Endpoint relay;
  if (block.read_endpoint("relay_host", relay, HostRule::IpOrDomain, kRemotePorts)) {
    delivery.relay_host = to_host_port(std::move(relay));
  }
  block.read_domain("helo_name", delivery.helo_name);
  block.read_unsigned("mx_port", delivery.mx_port, {kRemotePorts.min, kRemotePorts.max});
  read_outbound_tls(block, delivery);
  block.read_unsigned("max_connections", delivery.max_connections, kMaxConnections);
  read_limits(block, delivery);
  read_retry(block, delivery.retry);
  read_client_timeouts(block, delivery.timeouts);
  block.finish();
}

void read_server_file(const YamlDocument& document,
                      const std::set<std::string, std::less<>>& tenants, MtaConfig& config,
                      Diagnostics& diagnostics) {
  MapReader root(document, diagnostics);
  root.read_domain("hostname", config.hostname, Need::Required);

  MapReader log = root.read_map("log");
  log.read_enum("level", config.log_level,
                {{"debug", common::log::Level::Debug},
                 {"info", common::log::Level::Info},
                 {"warning", common::log::Level::Warning},
                 {"error", common::log::Level::Error}});
  log.finish();

  auto check_tenant = [&](std::string_view tenant) -> std::optional<std::string> {
    if (tenants.contains(tenant)) return std::nullopt;
    return "unknown tenant " + quote_text(tenant) + " (there is no " +
           std::string(kTenantsDirectory) + "/" + std::string(tenant) + ".yaml)";
  };
  config.listeners = common::config::read_listeners(root, "listeners", check_tenant);

  MapReader tls = root.read_map("tls");
  if (root.has("tls")) {
    config.tls = common::config::read_tls(tls);
  } else {
    auto starttls =
        std::find_if(config.listeners.begin(), config.listeners.end(),
                     [](const auto& l) { return l.tls == common::smtp::TlsMode::StartTls; });
    if (starttls != config.listeners.end()) {
      root.error("missing required key \"tls\" (listener " + quote_text(starttls->name) +
                 " uses tls: starttls)");
    }
  }
  tls.finish();

  MapReader smtp = root.read_map("smtp");
  config.limits = common::config::read_smtp_limits(smtp);
  smtp.finish();

  MapReader queue = root.read_map("queue", Need::Required);
  queue.read_path("directory", config.queue.directory, Need::Required);
  queue.read_unsigned("sync_workers", config.queue.sync_workers, kSyncWorkers);
  queue.finish();

  read_delivery(root, config.delivery);

  MapReader dns = root.read_map("dns");
  Endpoint resolver;
  if (dns.read_endpoint("resolver", resolver, HostRule::IpLiteral, kRemotePorts)) {
    config.dns.resolver = to_host_port(std::move(resolver));
  }
  dns.finish();

  MapReader state = root.read_map("state");
  state.read_path("database", config.state.database);
  state.finish();

  root.finish();

  // Defaults that depend on other keys.
  if (config.delivery.helo_name.empty()) config.delivery.helo_name = config.hostname;
  if (config.state.database.empty() && !config.queue.directory.empty()) {
    config.state.database = config.queue.directory / "state.db";
  }
}

}  // namespace

MtaConfigLoad load_mta_config(const std::filesystem::path& file) {
  Diagnostics diagnostics;
  MtaConfig config;
  config.file = file;

  // Tenants first: the server file's trusted_networks refer to them.
  UsernameOwners owners;
  std::set<std::string, std::less<>> tenant_names;
  for (const auto& path : tenant_files(file.parent_path() / kTenantsDirectory, diagnostics)) {
    config.tenants.push_back(read_tenant(path, owners, diagnostics));
    tenant_names.insert(config.tenants.back().name);
  }

  if (auto document = YamlDocument::load(file, diagnostics)) {
    read_server_file(*document, tenant_names, config, diagnostics);
  }

  MtaConfigLoad load;
  load.problems = diagnostics.sorted();
  if (diagnostics.empty()) load.config = std::move(config);
  return load;
}

}  // namespace mta
