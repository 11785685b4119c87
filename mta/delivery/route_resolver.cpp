// RouteResolver implementation. See route_resolver.h.
#include "mta/delivery/route_resolver.h"

#include "common/base/ascii.h"

#include <arpa/inet.h>

#include <algorithm>
#include <memory>

namespace mta {
namespace {

using common::dns::Outcome;

bool is_ip_literal(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

Route failure(Route::Kind kind, std::string status, std::string reason) {
  Route route;
  route.kind = kind;
  route.status = std::move(status);
  route.reason = std::move(reason);
  return route;
}

}  // namespace

std::string RouteTarget::label() const {
  return host + "[" + address + "]:" + std::to_string(port);
}

RouteResolver::RouteResolver(common::dns::Resolver& resolver, std::optional<HostPort> relay_host,
                             std::uint16_t mx_port)
    : resolver_(resolver), relay_host_(std::move(relay_host)), mx_port_(mx_port), random_(std::random_device{}()) {}

void RouteResolver::set_bounce_handoff(std::optional<HostPort> handoff, std::set<std::string, std::less<>> domains) {
  bounce_handoff_ = std::move(handoff);
  bounce_domains_ = std::move(domains);
}

void RouteResolver::resolve(const std::string& domain, std::function<void(Route)> done) {
  if (bounce_handoff_ && bounce_domains_.contains(common::ascii_lower(domain))) {
    resolve_single(bounce_handoff_->host, bounce_handoff_->port, false, std::move(done));
    return;
  }
  if (relay_host_) {
    resolve_single(relay_host_->host, relay_host_->port, false, std::move(done));
    return;
  }
  // A domain literal names the host itself (RFC 5321 4.1.3).
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    std::string literal = domain.substr(1, domain.size() - 2);
    if (literal.rfind("IPv6:", 0) == 0) literal = literal.substr(5);
    if (!is_ip_literal(literal)) {
      done(failure(Route::Kind::PermanentFailure, "5.1.2", "bad address literal " + domain));
      return;
    }
    Route route;
    route.kind = Route::Kind::Targets;
    route.targets.push_back({literal, literal, mx_port_});
    done(std::move(route));
    return;
  }
  resolver_.resolve_mx(domain, [this, domain, done = std::move(done)](common::dns::MxAnswer answer) mutable {
    switch (answer.outcome) {
      case Outcome::NxDomain:
        done(failure(Route::Kind::PermanentFailure, "5.1.2", "domain " + domain + " does not exist (NXDOMAIN)"));
        return;
      case Outcome::TempFail:
        done(failure(Route::Kind::TemporaryFailure, "4.4.3", "MX lookup for " + domain + " failed: " + answer.error));
        return;
      case Outcome::NoData:
        // RFC 5321 5.1: no MX, so the domain itself is the implicit MX.
        resolve_single(domain, mx_port_, true, std::move(done));
        return;
      case Outcome::Ok:
        break;
    }
    // RFC 7505: a single MX with preference 0 and the root as host: no mail.
    if (answer.records.size() == 1 && answer.records.front().host.empty()) {
      done(failure(Route::Kind::PermanentFailure, "5.1.10", "domain " + domain + " accepts no mail (null MX)"));
      return;
    }
    resolve_mx_hosts(domain, std::move(answer.records), std::move(done));
  });
}

void RouteResolver::resolve_mx_hosts(const std::string& domain, std::vector<common::dns::MxRecord> records,
                                     std::function<void(Route)> done) {
  std::erase_if(records, [](const auto& r) { return r.host.empty(); });
  // RFC 5321 5.1: lower preference first; among equal preferences, random order
  // spreads the load. Shuffle, then stable-sort by preference.
  std::shuffle(records.begin(), records.end(), random_);
  std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.preference < b.preference; });
  if (records.size() > kMaxMxHosts) records.resize(kMaxMxHosts);

  struct Pending {
    std::vector<common::dns::MxRecord> records;
    std::vector<common::dns::AddressAnswer> answers;
    std::size_t waiting = 0;
    std::function<void(Route)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->records = std::move(records);
  pending->answers.resize(pending->records.size());
  pending->waiting = pending->records.size();
  pending->done = std::move(done);
  for (std::size_t i = 0; i < pending->records.size(); ++i) {
    const std::string host = pending->records[i].host;
    auto on_answer = [this, pending, i, domain](common::dns::AddressAnswer answer) {
      pending->answers[i] = std::move(answer);
      if (--pending->waiting > 0) return;
      Route route;
      route.kind = Route::Kind::Targets;
      std::string errors;
      for (std::size_t j = 0; j < pending->records.size(); ++j) {
        const auto& a = pending->answers[j];
        for (const auto& address : a.addresses) route.targets.push_back({pending->records[j].host, address, mx_port_});
        if (a.addresses.empty()) errors += (errors.empty() ? "" : "; ") + pending->records[j].host + ": " + a.error;
      }
      if (route.targets.empty()) {
        // MX hosts without addresses are usually a passing misconfiguration: retry.
        route = failure(Route::Kind::TemporaryFailure, "4.4.3", "no address for any MX host of " + domain + " (" + errors + ")");
      }
      pending->done(std::move(route));
    };
    if (is_ip_literal(host)) {
      // Not allowed by RFC 5321, but seen; use it as given.
      common::dns::AddressAnswer literal;
      literal.outcome = Outcome::Ok;
      literal.addresses.push_back(host);
      on_answer(std::move(literal));
    } else {
      resolver_.resolve_addresses(host, on_answer);
    }
  }
}

void RouteResolver::resolve_single(const std::string& host, std::uint16_t port, bool implicit_mx,
                                   std::function<void(Route)> done) {
  if (is_ip_literal(host)) {
    Route route;
    route.kind = Route::Kind::Targets;
    route.targets.push_back({host, host, port});
    done(std::move(route));
    return;
  }
  resolver_.resolve_addresses(host, [host, port, implicit_mx, done = std::move(done)](common::dns::AddressAnswer a) {
    if (a.outcome == Outcome::Ok) {
      Route route;
      route.kind = Route::Kind::Targets;
      for (const auto& address : a.addresses) route.targets.push_back({host, address, port});
      done(std::move(route));
    } else if (a.outcome == Outcome::TempFail) {
      done(failure(Route::Kind::TemporaryFailure, "4.4.3", "address lookup for " + host + " failed: " + a.error));
    } else if (implicit_mx) {
      done(failure(Route::Kind::PermanentFailure, "5.1.2", "domain " + host + " has no MX and no address records"));
    } else {
      // The relay host is our own configuration: never bounce mail for it.
      done(failure(Route::Kind::TemporaryFailure, "4.4.3", "relay host " + host + " has no address: " + a.error));
    }
  });
}

}  // namespace mta
