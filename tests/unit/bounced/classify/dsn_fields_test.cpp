// RFC 3464 field groups: folding, types, groups without blank lines between
// them, fields in any order, and the same fields quoted in a forwarded notice.
#include "bounced/classify/dsn_fields.h"

#include <boost/test/unit_test.hpp>

using bounced::FieldLayout;
using bounced::parse_delivery_status;

BOOST_AUTO_TEST_CASE(groups_fields_and_their_types) {
  auto status = parse_delivery_status(
      "Reporting-MTA: dns; mta.example.net\n"
      "\n"
      "Final-Recipient: rfc822; <one@example.org>\n"
      "Action: Failed\n"
      "Status: 5.1.1 (user unknown)\n"
      "Remote-MTA: dns; mx.example.org\n"
      "Diagnostic-Code: smtp; 550 5.1.1 user\n"
      "    unknown\n"
      "\n"
      "Original-Recipient: rfc822;two@example.org\n"
      "Final-Recipient: rfc822; /var/mail/two\n"
      "Action: delayed\n"
      "Status: 4.2.2\n",
      FieldLayout::Report);
  BOOST_TEST(status.reporting_mta == "mta.example.net");
  BOOST_REQUIRE_EQUAL(status.recipients.size(), 2u);
  BOOST_TEST(status.recipients[0].final_recipient == "one@example.org");
  BOOST_TEST(status.recipients[0].action == "failed");
  BOOST_TEST(status.recipients[0].status == "5.1.1");
  BOOST_TEST(status.recipients[0].remote_mta == "mx.example.org");
  BOOST_TEST(status.recipients[0].diagnostic_type == "smtp");
  BOOST_TEST(status.recipients[0].diagnostic_code == "550 5.1.1 user unknown");
  BOOST_TEST(status.recipients[1].original_recipient == "two@example.org");
  BOOST_TEST(status.recipients[1].final_recipient == "/var/mail/two");
}

BOOST_AUTO_TEST_CASE(groups_without_blank_lines_and_in_any_order) {
  auto status = parse_delivery_status(
      "Reporting-MTA: dns; mta.example.net\n"
      "Final-Recipient: rfc822; a@example.org\n"
      "Action: failed\n"
      "Status: 5.2.2\n"
      "Final-Recipient: rfc822; b@example.org\n"
      "Action: failed\n"
      "Status: 5.1.1\n"
      "\n"
      "Status: 5.1.1\n"
      "Diagnostic-Code: smtp; 550 no such user\n"
      "Final-Recipient: rfc822; c@example.org\n"
      "\n"
      "Action: failed\n"
      "Final-Recipient: rfc822; d@example.org\n"
      "Original-Recipient: rfc822; d@example.org\n",
      FieldLayout::Report);
  BOOST_REQUIRE_EQUAL(status.recipients.size(), 4u);
  BOOST_TEST(status.recipients[0].final_recipient == "a@example.org");
  BOOST_TEST(status.recipients[1].final_recipient == "b@example.org");
  BOOST_TEST(status.recipients[1].status == "5.1.1");
  BOOST_TEST(status.recipients[2].final_recipient == "c@example.org");
  BOOST_TEST(status.recipients[2].diagnostic_code == "550 no such user");
  BOOST_TEST(status.recipients[3].original_recipient == "d@example.org");
}

BOOST_AUTO_TEST_CASE(inline_fields_in_a_quoted_notice) {
  auto status = parse_delivery_status(
      "Begin forwarded message:\n"
      "> The original message was received at ...\n"
      "> Final-Recipient: RFC822; q@example.org\n"
      "> Action: failed\n"
      "> Status: 5.1.1\n"
      "> Diagnostic-Code: SMTP; 550 5.1.1 <q@example.org>... User unknown\n"
      "The Final-Recipient: field is explained in RFC 3464.\n",
      FieldLayout::Inline);
  BOOST_REQUIRE_EQUAL(status.recipients.size(), 1u);
  BOOST_TEST(status.recipients[0].final_recipient == "q@example.org");
  BOOST_TEST(status.recipients[0].status == "5.1.1");
}

BOOST_AUTO_TEST_CASE(type_prefixes) {
  BOOST_TEST(bounced::strip_type_prefix("rfc822; <a@b.example>") == "a@b.example");
  BOOST_TEST(bounced::strip_type_prefix("smtp;550 no") == "550 no");
  BOOST_TEST(bounced::strip_type_prefix("550 no; really") == "550 no; really");
  BOOST_TEST(bounced::type_prefix("X-Unix; 71") == "x-unix");
  BOOST_TEST(bounced::type_prefix("no type here") == "");
}
