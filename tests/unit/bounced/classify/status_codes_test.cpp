// Reply codes and enhanced status codes found in free text: the one after a
// reply code wins, IP addresses and version numbers are not codes.
#include "bounced/classify/status_codes.h"

#include <boost/test/unit_test.hpp>
#include <string_view>

namespace {

struct FindCase {
  std::string_view text;
  std::string_view status;
  std::string_view reply_code;
};

const FindCase kFindCases[] = {
    {"550 5.1.1 <a@b.example>... User unknown", "5.1.1", "550"},
    {"550-5.7.26 Unauthenticated email", "5.7.26", "550"},
    {"The error that the other server returned was: 450 450 4.2.2 Mailbox Full", "4.2.2", "450"},
    {"5.1.0 - Unknown address error 550-'5.2.2 <a@b.example>... Mailbox Full'", "5.2.2", "550"},
    {"host mx.example.org[192.0.2.153] said: 550 Unknown user", "", "550"},
    {"Exim 4.72 on 192.0.2.5 version 2.10.1", "", ""},
    {"Unable to contact LDAP server. (#4.4.3)", "4.4.3", ""},
    {"550 5.4.312 Message expired, DNS query failed", "5.4.312", "550"},
    {"", "", ""},
};

BOOST_AUTO_TEST_CASE(codes_are_found_in_diagnostics) {
  for (const FindCase& test : kFindCases) {
    BOOST_TEST_CONTEXT(test.text) {
      BOOST_TEST(bounced::find_enhanced_status(test.text) == test.status);
      BOOST_TEST(bounced::find_reply_code(test.text) == test.reply_code);
    }
  }
}

BOOST_AUTO_TEST_CASE(enhanced_status_syntax) {
  BOOST_TEST(bounced::is_enhanced_status("5.1.1"));
  BOOST_TEST(bounced::is_enhanced_status("4.7.26"));
  BOOST_TEST(!bounced::is_enhanced_status("5.1"));
  BOOST_TEST(!bounced::is_enhanced_status("3.1.1"));
  BOOST_TEST(!bounced::is_enhanced_status("5.1.1.1"));
  BOOST_TEST(!bounced::is_enhanced_status("5.9.1"));
}

}  // namespace
