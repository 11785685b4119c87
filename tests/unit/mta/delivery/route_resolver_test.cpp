// Unit tests of RouteResolver (RFC 5321 5.1, RFC 7505) against a scripted resolver.
#include <boost/test/unit_test.hpp>
#include <map>
#include <set>

#include "mta/delivery/route_resolver.h"

namespace {

using common::dns::Outcome;

class ScriptedResolver final : public common::dns::Resolver {
 public:
  std::map<std::string, common::dns::MxAnswer> mx;
  std::map<std::string, common::dns::AddressAnswer> addresses;
  int queries = 0;

  void resolve_mx(const std::string& domain, std::function<void(common::dns::MxAnswer)> done) override {
    ++queries;
    auto it = mx.find(domain);
    done(it != mx.end() ? it->second : common::dns::MxAnswer{Outcome::NxDomain, {}, "NXDOMAIN"});
  }
  void resolve_addresses(const std::string& host, std::function<void(common::dns::AddressAnswer)> done) override {
    ++queries;
    auto it = addresses.find(host);
    done(it != addresses.end() ? it->second : common::dns::AddressAnswer{Outcome::NxDomain, {}, "NXDOMAIN"});
  }
};

common::dns::AddressAnswer ips(std::vector<std::string> list) { return {Outcome::Ok, std::move(list), ""}; }

mta::Route resolve(mta::RouteResolver& routes, const std::string& domain) {
  std::optional<mta::Route> out;
  routes.resolve(domain, [&](mta::Route r) { out = std::move(r); });
  BOOST_REQUIRE(out.has_value());
  return *out;
}

std::vector<std::string> hosts(const mta::Route& route) {
  std::vector<std::string> out;
  for (const auto& t : route.targets) out.push_back(t.host + "/" + t.address);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(route_resolver)

BOOST_AUTO_TEST_CASE(mx_hosts_in_preference_order_with_all_their_addresses) {
  ScriptedResolver dns;
  dns.mx["example.test"] = {Outcome::Ok, {{20, "mx2.example.test"}, {10, "mx1.example.test"}}, ""};
  dns.addresses["mx1.example.test"] = ips({"192.0.2.1", "2001:db8::1"});
  dns.addresses["mx2.example.test"] = ips({"192.0.2.2"});
  mta::RouteResolver routes(dns, std::nullopt, 2525);
  auto route = resolve(routes, "example.test");
  BOOST_TEST((route.kind == mta::Route::Kind::Targets));
  BOOST_TEST(hosts(route) == (std::vector<std::string>{"mx1.example.test/192.0.2.1", "mx1.example.test/2001:db8::1",
                                                         "mx2.example.test/192.0.2.2"}));
  BOOST_TEST(route.targets.front().port == 2525);
  BOOST_TEST(route.targets.front().label() == "mx1.example.test[192.0.2.1]:2525");
}

BOOST_AUTO_TEST_CASE(equal_preferences_are_shuffled) {
  ScriptedResolver dns;
  dns.mx["example.test"] = {Outcome::Ok, {{10, "a.test"}, {10, "b.test"}, {5, "first.test"}}, ""};
  for (const char* h : {"a.test", "b.test", "first.test"}) dns.addresses[h] = ips({"192.0.2.9"});
  mta::RouteResolver routes(dns, std::nullopt, 25);
  std::set<std::string> seconds;
  for (int i = 0; i < 200; ++i) {
    auto route = resolve(routes, "example.test");
    BOOST_REQUIRE(route.targets.size() == 3u);
    BOOST_REQUIRE(route.targets[0].host == "first.test");
    seconds.insert(route.targets[1].host);
  }
  BOOST_TEST(seconds.size() == 2u);  // both a and b came second at some point
}

BOOST_AUTO_TEST_CASE(failures_are_classified) {
  ScriptedResolver dns;
  dns.mx["nullmx.test"] = {Outcome::Ok, {{0, ""}}, ""};
  dns.mx["servfail.test"] = {Outcome::TempFail, {}, "SERVFAIL"};
  dns.mx["implicit.test"] = {Outcome::NoData, {}, "no MX records"};
  dns.addresses["implicit.test"] = ips({"192.0.2.5"});
  dns.mx["nothing.test"] = {Outcome::NoData, {}, "no MX records"};
  dns.addresses["nothing.test"] = {Outcome::NoData, {}, "no A or AAAA records"};
  dns.mx["dangling.test"] = {Outcome::Ok, {{10, "missing.test"}}, ""};
  dns.mx["flaky.test"] = {Outcome::NoData, {}, ""};
  dns.addresses["flaky.test"] = {Outcome::TempFail, {}, "timeout"};
  mta::RouteResolver routes(dns, std::nullopt, 25);

  struct Case {
    const char* domain;
    mta::Route::Kind kind;
    const char* status;
  };
  const Case cases[] = {
      {"nullmx.test", mta::Route::Kind::PermanentFailure, "5.1.10"},
      {"nxdomain.test", mta::Route::Kind::PermanentFailure, "5.1.2"},
      {"servfail.test", mta::Route::Kind::TemporaryFailure, "4.4.3"},
      {"nothing.test", mta::Route::Kind::PermanentFailure, "5.1.2"},
      {"dangling.test", mta::Route::Kind::TemporaryFailure, "4.4.3"},
      {"flaky.test", mta::Route::Kind::TemporaryFailure, "4.4.3"},
      {"implicit.test", mta::Route::Kind::Targets, ""},
      {"[192.0.2.77]", mta::Route::Kind::Targets, ""},
      {"[IPv6:2001:db8::7]", mta::Route::Kind::Targets, ""},
      {"[not-an-ip]", mta::Route::Kind::PermanentFailure, "5.1.2"},
  };
  for (const auto& c : cases) {
    auto route = resolve(routes, c.domain);
    BOOST_TEST((route.kind == c.kind), c.domain);
    BOOST_TEST(route.status == c.status, c.domain);
  }
  BOOST_TEST(resolve(routes, "implicit.test").targets.front().address == "192.0.2.5");
  BOOST_TEST(resolve(routes, "[IPv6:2001:db8::7]").targets.front().address == "2001:db8::7");
}

BOOST_AUTO_TEST_CASE(a_relay_host_takes_everything_without_mx_lookups) {
  ScriptedResolver dns;
  dns.addresses["relay.test"] = ips({"192.0.2.50"});
  mta::RouteResolver by_name(dns, mta::HostPort{"relay.test", 587}, 25);
  auto route = resolve(by_name, "anything.example");
  BOOST_TEST(hosts(route) == std::vector<std::string>{"relay.test/192.0.2.50"});
  BOOST_TEST(route.targets.front().port == 587);

  ScriptedResolver silent;
  mta::RouteResolver by_ip(silent, mta::HostPort{"192.0.2.60", 2525}, 25);
  BOOST_TEST(resolve(by_ip, "x.example").targets.front().address == "192.0.2.60");
  BOOST_TEST(silent.queries == 0);

  mta::RouteResolver unknown(silent, mta::HostPort{"gone.test", 25}, 25);
  // Our own relay host missing from DNS is a configuration problem: defer, never bounce.
  BOOST_TEST((resolve(unknown, "x.example").kind == mta::Route::Kind::TemporaryFailure));
}

BOOST_AUTO_TEST_CASE(return_path_domains_go_to_the_bounce_handoff_before_any_relay) {
  ScriptedResolver dns;
  dns.mx["example.net"] = {Outcome::Ok, {{10, "mx.example.net"}}, ""};
  dns.addresses["mx.example.net"] = ips({"192.0.2.7"});
  mta::RouteResolver routes(dns, std::nullopt, 25);
  routes.set_bounce_handoff(mta::HostPort{"127.0.0.1", 2525}, {"pm-bounces.acme.test", "bounces.vendor.test"});
  auto handed = resolve(routes, "PM-Bounces.Acme.test");  // domains compare case-insensitively
  BOOST_TEST(hosts(handed) == std::vector<std::string>{"127.0.0.1/127.0.0.1"});
  BOOST_TEST(handed.targets.front().port == 2525);
  BOOST_TEST(hosts(resolve(routes, "example.net")) == std::vector<std::string>{"mx.example.net/192.0.2.7"});

  mta::RouteResolver relayed(dns, mta::HostPort{"192.0.2.60", 587}, 25);
  relayed.set_bounce_handoff(mta::HostPort{"127.0.0.1", 2525}, {"bounces.vendor.test"});
  BOOST_TEST(resolve(relayed, "bounces.vendor.test").targets.front().port == 2525);
  BOOST_TEST(resolve(relayed, "example.net").targets.front().address == "192.0.2.60");
}

BOOST_AUTO_TEST_SUITE_END()
