// RouteResolver: where the mail for one recipient domain goes, per RFC 5321
// section 5.1: MX records in preference order (random among equals), each MX
// host's addresses in turn; the domain's own addresses when it has no MX
// (implicit MX); a permanent failure for NXDOMAIN and for a null MX (RFC 7505);
// a temporary one when DNS cannot answer now. With a relay host configured,
// every domain routes there. With a bounce hand-off configured, the local
// Return-Path domains route to it first (stamp-bounced on the same server).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/dns/resolver.h"
#include "mta/mta_config.h"

namespace mta {

struct RouteTarget {
  std::string host;     // MX host name (for SNI, certificate checks and logs)
  std::string address;  // IP literal to connect to
  std::uint16_t port = 25;
  std::string label() const;  // "mx1.example.net[192.0.2.7]:25"
};

struct Route {
  enum class Kind { Targets, PermanentFailure, TemporaryFailure };
  Kind kind = Kind::TemporaryFailure;
  std::vector<RouteTarget> targets;  // in the order to try
  std::string status;                // RFC 3463 code for failures: "5.1.10", "5.1.2", "4.4.3"
  std::string reason;
};

class RouteResolver {
 public:
  RouteResolver(common::dns::Resolver& resolver, std::optional<HostPort> relay_host, std::uint16_t mx_port);
  void resolve(const std::string& domain, std::function<void(Route)> done);

  // The Return-Path domains (lower case) whose mail goes to `handoff`; nullopt: none.
  void set_bounce_handoff(std::optional<HostPort> handoff, std::set<std::string, std::less<>> domains);

  static constexpr std::size_t kMaxMxHosts = 10;  // more are ignored, as in Postfix (smtp_mx_address_limit)

 private:
  void resolve_mx_hosts(const std::string& domain, std::vector<common::dns::MxRecord> records,
                        std::function<void(Route)> done);
  void resolve_single(const std::string& host, std::uint16_t port, bool implicit_mx, std::function<void(Route)> done);

  common::dns::Resolver& resolver_;
  std::optional<HostPort> relay_host_;
  std::optional<HostPort> bounce_handoff_;
  std::set<std::string, std::less<>> bounce_domains_;
  std::uint16_t mx_port_;
  std::mt19937 random_;
};

}  // namespace mta
