// stamp-mta's config file and tenants.d/. See mta_config_loader.h.
#include "mta/mta_config_loader.h"

#include <algorithm>
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

void read_delivery(MapReader& root, DeliveryConfig& delivery) {
  MapReader block = root.read_map("delivery");
  // DeliveryMode::Smtp exists in the config struct, but this build cannot deliver
  // over SMTP yet; accepting the word would silently drop mail into nowhere.
  block.read_enum("mode", delivery.mode, {{"sandbox", DeliveryMode::Sandbox}}, Need::Optional,
                  "SMTP delivery arrives with the outbound engine");
  block.read_path("sandbox_directory", delivery.sandbox_directory,
                  delivery.mode == DeliveryMode::Sandbox ? Need::Required : Need::Optional);
  Endpoint relay;
  if (block.read_endpoint("relay_host", relay, HostRule::IpOrDomain, kRemotePorts)) {
    delivery.relay_host = to_host_port(std::move(relay));
  }
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

  root.finish();
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
