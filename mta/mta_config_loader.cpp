// stamp-mta's config file and tenants.d/. See mta_config_loader.h.
#include "mta/mta_config_loader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/base/ascii.h"
#include "common/auth/password_hash.h"
#include "common/config/listener_reader.h"
#include "common/config/server_reader.h"
#include "common/config/map_reader.h"
#include "common/config/yaml_document.h"

namespace mta {
namespace {

using common::config::Diagnostics;
using common::config::Endpoint;
using common::config::EnumName;
using common::config::HostRule;
using common::config::is_domain_name;
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
constexpr Range<std::chrono::seconds> kRetention{std::chrono::days{1}, std::chrono::days{3650}};
constexpr Range<std::uint16_t> kRemotePorts{1, 65535};
constexpr Range<std::size_t> kUsernameLength{1, 256};
constexpr Range<std::size_t> kSelectorLength{1, 253};
constexpr std::size_t kMaxStreamNameLength = 63;
constexpr std::size_t kMaxLocalPartLength = 64;  // RFC 5321 4.5.3.1.1
constexpr std::string_view kDefaultReturnPathLabel = "pm-bounces.";
constexpr std::string_view kDefaultStream = "outbound";
constexpr std::string_view kVerpKeyFile = "verp.key";
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

// Stream names share the tenant-name rule: they go into logs and webhook bodies.
bool is_stream_name(std::string_view name) { return is_tenant_name(name); }

// RFC 6376 3.1: a selector is one or more dot-separated sub-domains (RFC 5321
// Let-dig [Ldh-str]); it becomes part of SELECTOR._domainkey.DOMAIN.
bool is_dkim_selector(std::string_view selector) {
  if (selector.empty() || selector.size() > kSelectorLength.max) return false;
  for (std::size_t start = 0; start <= selector.size();) {
    std::size_t dot = std::min(selector.find('.', start), selector.size());
    std::string_view label = selector.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !std::all_of(label.begin(), label.end(), [](unsigned char c) {
          return std::isalnum(c) || c == '-';
        })) {
      return false;
    }
    start = dot + 1;
  }
  return true;
}

// RFC 5322 3.2.3 atext: what a dot-atom local part is made of.
bool is_atext(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
                                std::string_view::npos;
}

// "local@domain" with a dot-atom local part (no quoted strings) and a domain name.
// The domain is lower-cased in place (RFC 4343); the local part is kept as written.
std::optional<std::string> address_problem(std::string& address) {
  std::size_t at = address.rfind('@');
  bool ok = at != std::string::npos && at > 0 && at <= kMaxLocalPartLength &&
            is_domain_name(std::string_view(address).substr(at + 1));
  if (ok) {
    std::string_view local = std::string_view(address).substr(0, at);
    ok = local.front() != '.' && local.back() != '.' &&
         local.find("..") == std::string_view::npos &&
         std::all_of(local.begin(), local.end(),
                     [](unsigned char c) { return c == '.' || is_atext(c); });
  }
  if (!ok) return "must be an address like jane@example.org, got " + quote_text(address);
  address = address.substr(0, at + 1) + common::ascii_lower(address.substr(at + 1));
  return std::nullopt;
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

struct DomainOwner {
  std::string tenant;
  int line = 0;
};

// What the tenant files have claimed so far, and what they ask of the server file.
struct TenantsSeen {
  UsernameOwners usernames;
  std::map<std::string, DomainOwner, std::less<>> domains;  // unique across all tenants
  // Why operator.domain is required ("tenant \"acme\" lists verified_senders"), or "".
  std::string operator_domain_reason;
};

// A `{selector, key_file}` block. An absent optional block gives nullopt quietly.
std::optional<DkimKeyRef> read_dkim_ref(MapReader& parent, std::string_view key, Need need) {
  bool present = parent.has(key);
  MapReader block = parent.read_map(key, need);
  if (!present) return std::nullopt;  // a required one was reported missing by read_map
  DkimKeyRef ref;
  bool ok = block.read_string("selector", ref.selector, Need::Required, kSelectorLength);
  if (ok && !is_dkim_selector(ref.selector)) {
    block.error("selector", "must be a DKIM selector like s1 or stamp20261101 (letters, digits "
                            "and hyphens, dot-separated), got " +
                                quote_text(ref.selector));
    ok = false;
  }
  ok = block.read_path("key_file", ref.key_file, Need::Required) && ok;
  block.finish();
  if (!ok) return std::nullopt;
  return ref;
}

void read_tenant_domain(MapReader& item, const std::string& tenant, TenantsSeen& seen,
                        std::vector<TenantDomain>& domains) {
  TenantDomain domain;
  bool ok = item.read_domain("name", domain.name, Need::Required);
  if (ok) {
    // Domains are case-insensitive (RFC 4343); everything compares the lower-case form.
    domain.name = common::ascii_lower(std::move(domain.name));
    auto [owner, inserted] =
        seen.domains.emplace(domain.name, DomainOwner{tenant, item.position("name").line});
    if (!inserted) {
      item.error("name", "duplicate domain " + quote_text(domain.name) +
                             (owner->second.tenant == tenant
                                  ? " (first at line " + std::to_string(owner->second.line) + ")"
                                  : " (first in tenant " + quote_text(owner->second.tenant) + ")"));
      ok = false;
    }
  }
  if (item.read_domain("return_path", domain.return_path)) {
    domain.return_path = common::ascii_lower(std::move(domain.return_path));
    // The CNAME that makes SPF align lives under the tenant's domain (DMARC relaxed alignment).
    if (ok && !domain.return_path.ends_with("." + domain.name)) {
      item.error("return_path", "must be a subdomain of " + domain.name + ", like " +
                                    std::string(kDefaultReturnPathLabel) + domain.name + ", got " +
                                    quote_text(domain.return_path));
      ok = false;
    }
  } else if (item.has("return_path")) {
    ok = false;
  } else if (ok) {
    domain.return_path = std::string(kDefaultReturnPathLabel) + domain.name;
    if (!is_domain_name(domain.return_path)) {
      item.error("name", "too long for the default return_path " +
                             quote_text(domain.return_path) + ": set return_path");
      ok = false;
    }
  }
  auto dkim = read_dkim_ref(item, "dkim", Need::Required);
  domain.previous_dkim = read_dkim_ref(item, "previous_dkim", Need::Optional);
  domain.dkim_ed25519 = read_dkim_ref(item, "dkim_ed25519", Need::Optional);
  if (dkim && domain.dkim_ed25519 && dkim->selector == domain.dkim_ed25519->selector) {
    // Both keys sit under d= this domain: each needs its own selector record.
    item.error("dkim_ed25519", "selector must differ from dkim.selector (" + quote_text(dkim->selector) + ")");
    ok = false;
  }
  if (dkim && domain.previous_dkim && dkim->selector == domain.previous_dkim->selector) {
    item.error("previous_dkim", "selector must differ from dkim.selector (" +
                                    quote_text(dkim->selector) + ")");
    ok = false;
  }
  item.finish();
  if (ok && dkim && (domain.previous_dkim || !item.has("previous_dkim"))) {
    domain.dkim = std::move(*dkim);
    domains.push_back(std::move(domain));
  }
}

void read_streams(MapReader& root, std::vector<MessageStream>& streams) {
  std::map<std::string, int, std::less<>> lines;
  for (MapReader& item : root.read_map_list("streams")) {
    MessageStream stream;
    bool ok = item.read_string("name", stream.name, Need::Required, {1, kMaxStreamNameLength});
    if (ok && !is_stream_name(stream.name)) {
      item.error("name", "must match [a-z0-9][a-z0-9_-]{0,62}, got " + quote_text(stream.name));
      ok = false;
    }
    if (ok) {
      auto [first, inserted] = lines.emplace(stream.name, item.position("name").line);
      if (!inserted) {
        item.error("name", "duplicate stream " + quote_text(stream.name) + " (first at line " +
                               std::to_string(first->second) + ")");
        ok = false;
      }
    }
    ok = (item.read_enum("type", stream.type,
                         {{"transactional", StreamType::Transactional},
                          {"broadcast", StreamType::Broadcast}}) ||
          !item.has("type")) &&
         ok;
    if (item.read_string("unsubscribe_mailto", stream.unsubscribe_mailto)) {
      if (auto problem = address_problem(stream.unsubscribe_mailto)) {
        item.error("unsubscribe_mailto", *problem);
        ok = false;
      }
    } else if (item.has("unsubscribe_mailto")) {
      ok = false;
    }
    if (item.read_string("unsubscribe_url", stream.unsubscribe_url)) {
      // RFC 8058 one-click unsubscribe is a POST to an HTTPS URI.
      if (!stream.unsubscribe_url.starts_with("https://") ||
          stream.unsubscribe_url.size() == std::string_view("https://").size()) {
        item.error("unsubscribe_url",
                   "must be an https:// URL, got " + quote_text(stream.unsubscribe_url));
        ok = false;
      }
    } else if (item.has("unsubscribe_url")) {
      ok = false;
    }
    if (ok && stream.name == kDefaultStream && stream.type != StreamType::Transactional) {
      item.error("type", "the " + quote_text(kDefaultStream) + " stream is transactional");
      ok = false;
    }
    // Bulk mail without List-Unsubscribe (RFC 2369) is what receivers filter first.
    if (ok && stream.type == StreamType::Broadcast && !item.has("unsubscribe_mailto") &&
        !item.has("unsubscribe_url")) {
      item.error("a broadcast stream needs unsubscribe_mailto or unsubscribe_url");
      ok = false;
    }
    item.finish();
    if (ok) streams.push_back(std::move(stream));
  }
  bool has_default = std::any_of(streams.begin(), streams.end(),
                                 [](const MessageStream& s) { return s.name == kDefaultStream; });
  if (!has_default && !lines.contains(kDefaultStream)) {
    streams.insert(streams.begin(), MessageStream{.name = std::string(kDefaultStream),
                                                  .type = StreamType::Transactional,
                                                  .unsubscribe_mailto = {},
                                                  .unsubscribe_url = {}});
  }
}

void read_webhooks(MapReader& root, const std::vector<MessageStream>& streams,
                   std::vector<WebhookEndpoint>& webhooks) {
  for (MapReader& item : root.read_map_list("webhooks")) {
    WebhookEndpoint hook;
    bool ok = item.read_string("stream", hook.stream) || !item.has("stream");
    if (!hook.stream.empty() &&
        std::none_of(streams.begin(), streams.end(),
                     [&](const MessageStream& s) { return s.name == hook.stream; })) {
      std::string names;
      for (const MessageStream& s : streams) names += (names.empty() ? "" : ", ") + s.name;
      item.error("stream", "unknown stream " + quote_text(hook.stream) + " (streams: " + names + ")");
      ok = false;
    }
    std::string_view event;
    ok = item.read_enum<std::string_view>("event", event,
                                          {{"Bounce", "Bounce"},
                                           {"SpamComplaint", "SpamComplaint"},
                                           {"Delivery", "Delivery"},
                                           {"SubscriptionChange", "SubscriptionChange"}},
                                          Need::Required) &&
         ok;
    hook.event = std::string(event);
    if (item.read_string("url", hook.url, Need::Required)) {
      if (!(hook.url.starts_with("https://") && hook.url.size() > 8) &&
          !(hook.url.starts_with("http://") && hook.url.size() > 7)) {
        item.error("url", "must be an http:// or https:// URL, got " + quote_text(hook.url));
        ok = false;
      }
    } else {
      ok = false;
    }
    // The secret is an HMAC key; only its presence and form are checked here.
    ok = item.read_string("secret", hook.secret, Need::Required) && ok;
    item.finish();
    if (ok) webhooks.push_back(std::move(hook));
  }
}

// verified_senders: addresses, each once (the domain compared in lower case).
void read_verified_senders(MapReader& root, std::vector<std::string>& senders) {
  std::set<std::string, std::less<>> seen;
  root.read_string_list("verified_senders", senders, Need::Optional,
                        [&](std::string& address) -> std::optional<std::string> {
                          if (auto problem = address_problem(address)) return problem;
                          if (!seen.insert(address).second) {
                            return "duplicate address " + quote_text(address);
                          }
                          return std::nullopt;
                        });
}

TenantConfig read_tenant(const std::filesystem::path& file, TenantsSeen& seen,
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
    read_smtp_user(item, tenant.name, seen.usernames, tenant.smtp_users);
  }
  for (MapReader& item : root.read_map_list("domains")) {
    read_tenant_domain(item, tenant.name, seen, tenant.domains);
  }
  read_verified_senders(root, tenant.verified_senders);
  bool display_name_set = root.read_bool("display_name_mode", tenant.display_name_mode);
  bool fallback_ok = root.read_bool("fallback_to_display_name", tenant.fallback_to_display_name);
  if (fallback_ok && tenant.fallback_to_display_name && !tenant.display_name_mode) {
    root.error("fallback_to_display_name", "needs display_name_mode: true");
  }
  read_streams(root, tenant.streams);
  read_webhooks(root, tenant.streams, tenant.webhooks);
  root.finish();

  // display_name_mode defaults to true, but only a file that asks for the operator's
  // identity (by listing verified_senders or writing display_name_mode: true) makes
  // operator.domain required, so servers without an `operator` block keep working.
  if (seen.operator_domain_reason.empty()) {
    if (!tenant.verified_senders.empty()) {
      seen.operator_domain_reason = "tenant " + quote_text(tenant.name) + " lists verified_senders";
    } else if (display_name_set && tenant.display_name_mode) {
      seen.operator_domain_reason =
          "tenant " + quote_text(tenant.name) + " sets display_name_mode: true";
    }
  }
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
  Endpoint handoff;
  if (block.read_endpoint("bounce_handoff", handoff, HostRule::IpOrDomain, kRemotePorts)) {
    delivery.bounce_handoff = to_host_port(std::move(handoff));
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

// sending_addresses: IP literals, stored in inet_ntop's form, each once.
void read_sending_addresses(MapReader& block, std::vector<std::string>& addresses) {
  std::set<std::string, std::less<>> seen;
  block.read_string_list(
      "sending_addresses", addresses, Need::Optional,
      [&](std::string& text) -> std::optional<std::string> {
        in6_addr v6{};
        in_addr v4{};
        char canonical[INET6_ADDRSTRLEN] = {};
        bool ok = inet_pton(AF_INET, text.c_str(), &v4) == 1
                      ? inet_ntop(AF_INET, &v4, canonical, sizeof canonical) != nullptr
                      : inet_pton(AF_INET6, text.c_str(), &v6) == 1 &&
                            inet_ntop(AF_INET6, &v6, canonical, sizeof canonical) != nullptr;
        if (!ok) {
          return "must be an IP address like 192.0.2.10 or 2001:db8::10, got " + quote_text(text);
        }
        text = canonical;
        if (!seen.insert(text).second) return "duplicate address " + quote_text(text);
        return std::nullopt;
      });
}

void read_operator(MapReader& root, const std::string& domain_reason, OperatorConfig& op) {
  MapReader block = root.read_map("operator");
  if (block.read_domain("domain", op.domain)) {
    op.domain = common::ascii_lower(std::move(op.domain));
  } else if (!block.has("domain") && !domain_reason.empty()) {
    block.error("missing required key \"domain\" (" + domain_reason + ")");
  }
  if (block.read_string("from_address", op.from_address)) {
    if (auto problem = address_problem(op.from_address)) block.error("from_address", *problem);
  }
  if (block.read_domain("bounce_domain", op.bounce_domain)) {
    op.bounce_domain = common::ascii_lower(std::move(op.bounce_domain));
  }
  block.read_string("name", op.name);
  if (block.read_string("display_name_pattern", op.display_name_pattern) &&
      op.display_name_pattern.find("{name}") == std::string::npos) {
    block.error("display_name_pattern",
                "must contain {name}, got " + quote_text(op.display_name_pattern));
  }
  op.dkim = read_dkim_ref(block, "dkim", Need::Optional);
  op.dkim_ed25519 = read_dkim_ref(block, "dkim_ed25519", Need::Optional);
  if (op.dkim_ed25519 && !op.dkim) block.error("dkim_ed25519", "needs operator.dkim too (rsa-sha256 stays the signature every verifier knows)");
  if (block.has("dkim") && !block.has("domain")) {
    block.error("dkim", "needs operator.domain (the d= of the signature)");
  }
  read_sending_addresses(block, op.sending_addresses);
  block.read_bool("require_verified_domains", op.require_verified_domains);
  if (block.read_string("sender_confirmation_url", op.sender_confirmation_url)) {
    const std::string& url = op.sender_confirmation_url;
    if (!url.starts_with("https://") && !url.starts_with("http://")) {
      block.error("sender_confirmation_url", "must be an http(s) URL, got " + quote_text(url));
    } else if (url.find("{token}") == std::string::npos) {
      block.error("sender_confirmation_url", "must contain {token}, got " + quote_text(url));
    } else if (std::any_of(url.begin(), url.end(), [](unsigned char c) { return c <= ' ' || c >= 0x7f; })) {
      block.error("sender_confirmation_url", "must not contain spaces, control or non-ASCII characters");
    }
  }
  block.read_path("verp_key_file", op.verp_key_file);
  block.finish();
  if (op.name.empty()) op.name = op.domain;
}

void read_server_file(const YamlDocument& document,
                      const std::set<std::string, std::less<>>& tenants,
                      const TenantsSeen& seen, MtaConfig& config, Diagnostics& diagnostics) {
  MapReader root(document, diagnostics);
  auto check_tenant = [&](std::string_view tenant) -> std::optional<std::string> {
    if (tenants.contains(tenant)) return std::nullopt;
    return "unknown tenant " + quote_text(tenant) + " (there is no " +
           std::string(kTenantsDirectory) + "/" + std::string(tenant) + ".yaml)";
  };
  auto server = common::config::read_server_settings(root, check_tenant);
  config.hostname = std::move(server.hostname);
  config.log_level = server.log_level;
  config.listeners = std::move(server.listeners);
  config.tls = std::move(server.tls);
  config.limits = server.limits;

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
  state.read_duration("retention", config.state.retention, kRetention);
  state.finish();

  read_operator(root, seen.operator_domain_reason, config.operator_config);

  root.finish();

  // Defaults that depend on other keys.
  if (config.delivery.helo_name.empty()) config.delivery.helo_name = config.hostname;
  if (config.state.database.empty() && !config.queue.directory.empty()) {
    config.state.database = config.queue.directory / "state.db";
  }
  if (config.operator_config.verp_key_file.empty() && !config.queue.directory.empty()) {
    config.operator_config.verp_key_file = config.queue.directory / kVerpKeyFile;
  }
}

}  // namespace

MtaConfigLoad load_mta_config(const std::filesystem::path& file) {
  Diagnostics diagnostics;
  MtaConfig config;
  config.file = file;

  // Tenants first: the server file's trusted_networks refer to them, and whether
  // operator.domain is required depends on them.
  TenantsSeen seen;
  std::set<std::string, std::less<>> tenant_names;
  for (const auto& path : tenant_files(file.parent_path() / kTenantsDirectory, diagnostics)) {
    config.tenants.push_back(read_tenant(path, seen, diagnostics));
    tenant_names.insert(config.tenants.back().name);
  }

  if (auto document = YamlDocument::load(file, diagnostics)) {
    read_server_file(*document, tenant_names, seen, config, diagnostics);
  }

  MtaConfigLoad load;
  load.problems = diagnostics.sorted();
  if (diagnostics.empty()) load.config = std::move(config);
  return load;
}

std::set<std::string, std::less<>> return_path_domains(const MtaConfig& config) {
  std::set<std::string, std::less<>> domains;
  for (const auto& tenant : config.tenants) {
    for (const auto& domain : tenant.domains) domains.insert(common::ascii_lower(domain.return_path));
  }
  if (!config.operator_config.bounce_domain.empty()) {
    domains.insert(common::ascii_lower(config.operator_config.bounce_domain));
  }
  return domains;
}

}  // namespace mta
