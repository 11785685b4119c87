// Listener blocks and the checks across them. See listener_reader.h.
#include "common/config/listener_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <map>
#include <utility>

#include "common/base/cidr.h"

namespace common::config {
namespace {

using common::smtp::BareLfPolicy;
using common::smtp::ListenerConfig;
using common::smtp::TlsMode;

constexpr Range<std::size_t> kNameLength{1, 64};
constexpr Range<std::uint16_t> kPorts{0, 65535};  // 0: the kernel picks one (tests)

// "[::1]:25" and "127.0.0.1:25", with the address in its canonical form so that
// "::1" and "0:0::1" count as the same socket.
std::string socket_text(const std::string& host, std::uint16_t port) {
  unsigned char bytes[sizeof(in6_addr)];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(AF_INET6, host.c_str(), bytes) == 1 &&
      inet_ntop(AF_INET6, bytes, text, sizeof text) != nullptr) {
    return "[" + std::string(text) + "]:" + std::to_string(port);
  }
  return host + ":" + std::to_string(port);
}

std::vector<common::smtp::TrustedNetwork> read_trusted_networks(MapReader& listener,
                                                                const TenantCheck& check_tenant) {
  std::vector<common::smtp::TrustedNetwork> networks;
  for (MapReader& item : listener.read_map_list("trusted_networks")) {
    std::string network_text;
    std::string tenant;
    std::optional<Cidr> network;
    if (item.read_string("network", network_text, Need::Required)) {
      network = Cidr::parse(network_text);
      if (!network) {
        item.error("network", "must be a network like 192.0.2.0/24 or 2001:db8::/32, got " +
                                  quote_text(network_text));
      }
    }
    if (item.read_string("tenant", tenant, Need::Required) && check_tenant) {
      if (auto problem = check_tenant(tenant)) item.error("tenant", *problem);
    }
    item.finish();
    if (network) networks.push_back(common::smtp::TrustedNetwork{*network, std::move(tenant)});
  }
  return networks;
}

}  // namespace

ListenerConfig read_listener(MapReader& listener, const TenantCheck& check_tenant) {
  ListenerConfig config;
  listener.read_string("name", config.name, Need::Required, kNameLength);
  Endpoint address;
  if (listener.read_endpoint("address", address, HostRule::IpLiteral, kPorts, Need::Required)) {
    config.address = std::move(address.host);
    config.port = address.port;
  }
  // After a bad value the default stands in; a check built on it would be noise.
  bool tls_ok = listener.read_enum("tls", config.tls,
                                   {{"none", TlsMode::None}, {"starttls", TlsMode::StartTls}}) ||
                !listener.has("tls");
  bool auth_ok = listener.read_bool("auth", config.auth) || !listener.has("auth");
  bool plaintext_ok = listener.read_bool("allow_plaintext_auth", config.allow_plaintext_auth) ||
                      !listener.has("allow_plaintext_auth");
  listener.read_enum("bare_lf", config.bare_lf,
                     {{"normalize", BareLfPolicy::Normalize}, {"reject", BareLfPolicy::Reject}});
  config.trusted_networks = read_trusted_networks(listener, check_tenant);
  // PLAIN and LOGIN send the password in the clear (RFC 2595 section 6: PLAIN
  // MUST NOT be used without an encryption layer), so AUTH on a listener without
  // TLS must be asked for explicitly (a test rig, a loopback-only relay).
  if (tls_ok && auth_ok && plaintext_ok && config.auth && config.tls == TlsMode::None &&
      !config.allow_plaintext_auth) {
    listener.error("AUTH on a listener without TLS needs allow_plaintext_auth: true");
  }
  listener.finish();
  return config;
}

std::vector<ListenerConfig> read_listeners(MapReader& parent, std::string_view key,
                                           const TenantCheck& check_tenant) {
  std::vector<ListenerConfig> listeners;
  std::map<std::string, int> names;                              // name -> line
  std::map<std::string, std::pair<std::string, int>> addresses;  // socket -> (name, line)
  for (MapReader& item : parent.read_map_list(key, Need::Required, 1)) {
    ListenerConfig config = read_listener(item, check_tenant);
    if (!config.name.empty()) {
      auto [first, inserted] = names.emplace(config.name, item.position("name").line);
      if (!inserted) {
        item.error("name", "duplicate listener name " + quote_text(config.name) +
                               " (first at line " + std::to_string(first->second) + ")");
      }
    }
    if (!config.address.empty() && config.port != 0) {
      std::string socket = socket_text(config.address, config.port);
      auto [first, inserted] =
          addresses.emplace(socket, std::pair(config.name, item.position("address").line));
      if (!inserted) {
        item.error("address", socket + " is already the address of listener " +
                                  quote_text(first->second.first) + " (line " +
                                  std::to_string(first->second.second) + ")");
      }
    }
    listeners.push_back(std::move(config));
  }
  return listeners;
}

}  // namespace common::config
