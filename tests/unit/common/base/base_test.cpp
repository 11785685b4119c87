// Unit tests of common/base: base64, CIDR matching, log value quoting, JSON quoting.
#include <arpa/inet.h>

#include <boost/test/unit_test.hpp>

#include "common/base/base64.h"
#include "common/base/cidr.h"
#include "common/base/json.h"
#include "common/base/log.h"

BOOST_AUTO_TEST_SUITE(base)

BOOST_AUTO_TEST_CASE(base64_round_trips_and_rejects_malformed_input) {
  for (std::string_view text : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\0\x01\xff"}) {
    auto decoded = common::base64_decode(common::base64_encode(text));
    BOOST_REQUIRE(decoded);
    BOOST_TEST(*decoded == std::string(text));
  }
  BOOST_TEST(*common::base64_decode("AGRldgBzZWNyZXQ=") == std::string("\0dev\0secret", 11));
  for (std::string_view bad : {"A", "AB=C", "A===", "ab$d", "YQ==YQ==", "Zm9v\r\n"}) {
    BOOST_TEST(!common::base64_decode(bad).has_value(), "accepted " << bad);
  }
}

sockaddr_storage address(const char* text) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else {
    BOOST_REQUIRE(inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1);
    ss.ss_family = AF_INET6;
  }
  return ss;
}

BOOST_AUTO_TEST_CASE(cidr_matches_by_prefix) {
  struct Case {
    const char* network;
    const char* address;
    bool inside;
  };
  const Case cases[] = {
      {"127.0.0.1", "127.0.0.1", true},        {"127.0.0.1", "127.0.0.2", false},
      {"192.0.2.0/24", "192.0.2.200", true},   {"192.0.2.0/24", "192.0.3.1", false},
      {"10.0.0.0/9", "10.127.255.255", true},  {"10.0.0.0/9", "10.128.0.0", false},
      {"0.0.0.0/0", "203.0.113.9", true},      {"2001:db8::/32", "2001:db8:1::5", true},
      {"2001:db8::/32", "2001:db9::1", false}, {"127.0.0.0/8", "::ffff:127.0.0.5", true},
      {"::1", "127.0.0.1", false},
  };
  for (const auto& c : cases) {
    auto cidr = common::Cidr::parse(c.network);
    BOOST_REQUIRE(cidr);
    auto ss = address(c.address);
    BOOST_TEST(cidr->contains(reinterpret_cast<sockaddr*>(&ss)) == c.inside, c.network << " vs " << c.address);
  }
  for (const char* bad : {"", "127.0.0.1/33", "::1/129", "192.0.2.0/", "192.0.2.0/x", "example.com"}) {
    BOOST_TEST(!common::Cidr::parse(bad).has_value(), bad);
  }
}

BOOST_AUTO_TEST_CASE(log_values_cannot_forge_lines) {
  std::string out;
  common::log::append_value(out, "plain");
  BOOST_TEST(out == "plain");
  out.clear();
  common::log::append_value(out, "two words\r\nlevel=error event=forged");
  BOOST_TEST(out == "\"two words\\r\\nlevel=error event=forged\"");
  out.clear();
  common::log::append_value(out, std::string(2000, 'a'));
  BOOST_TEST(out.size() < 600u);
  BOOST_TEST(out.ends_with("...\""));
}

BOOST_AUTO_TEST_CASE(json_quote_escapes_controls) {
  BOOST_TEST(common::json_quote("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
  BOOST_TEST(common::json_quote("J\xc3\xbcrgen") == "\"J\xc3\xbcrgen\"");
}

BOOST_AUTO_TEST_SUITE_END()
