// Addresses in bounce prose: which lines open with one, and what is not an
// address (Message-IDs without dots, paths, IP literals).
#include "bounced/classify/address_scanner.h"

#include <boost/test/unit_test.hpp>
#include <string_view>

namespace {

struct OpeningCase {
  std::string_view line;
  std::string_view address;
};

const OpeningCase kOpeningCases[] = {
    {"<a@example.org>: host mx.example.org[192.0.2.1] said: 550", "a@example.org"},
    {"  b@example.org", "b@example.org"},
    {"> c@example.org", "c@example.org"},
    {"  * d@example.org", "d@example.org"},
    {"554 <e@example.org>... Remote protocol error", "e@example.org"},
    {"f@example.org - no such user here.", "f@example.org"},
    {"<g@example.org>へご連絡ください", ""},
    {"Remote host said: 550 <h@example.org>", ""},
    {"<<< 550 <i@example.org>... User unknown", ""},
    {"mailto:j@example.org", ""},
    {"", ""},
};

BOOST_AUTO_TEST_CASE(lines_that_open_with_an_address) {
  for (const OpeningCase& test : kOpeningCases) {
    BOOST_TEST_CONTEXT(test.line) {
      BOOST_TEST(bounced::address_opening_line(test.line) == test.address);
    }
  }
}

BOOST_AUTO_TEST_CASE(addresses_in_text) {
  auto found = bounced::find_addresses(
      "to <a.b+c@mail.example.org>, x@localhost and dda:SMTP=D@EXAMPLE.COM; done.");
  BOOST_REQUIRE_EQUAL(found.size(), 2u);
  BOOST_TEST(found[0].address == "a.b+c@mail.example.org");
  BOOST_TEST(found[1].address == "D@EXAMPLE.COM");
  BOOST_TEST(bounced::clean_address(" <Kijitora@Example.ORG> ") == "Kijitora@Example.ORG");
  BOOST_TEST(bounced::clean_address("/var/mail/u") == "");
  BOOST_TEST(bounced::same_address("A@Example.org", "a@example.ORG"));
}

BOOST_AUTO_TEST_CASE(scanning_is_bounded) {
  std::string many;
  for (int i = 0; i < 2000; ++i) many += "u" + std::to_string(i) + "@example.org ";
  BOOST_TEST(bounced::find_addresses(many, 100).size() == 100u);
  BOOST_TEST(bounced::find_addresses(std::string(100000, '@')).empty());
}

}  // namespace
