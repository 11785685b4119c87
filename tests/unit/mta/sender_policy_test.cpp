// Unit tests of the sender-mode decision and of display-name encoding.
#include <boost/test/unit_test.hpp>

#include "common/mime/address_header.h"
#include "mta/sender_policy.h"

namespace {

mta::TenantConfig tenant() {
  mta::TenantConfig t;
  t.name = "acme";
  mta::TenantDomain verified;
  verified.name = "acme.test";
  verified.return_path = "pm-bounces.acme.test";
  verified.dkim = {"s1", "/keys/acme.pem"};
  mta::TenantDomain pending;
  pending.name = "new.test";
  pending.return_path = "pm-bounces.new.test";
  pending.dkim = {"s1", "/keys/new.pem"};
  t.domains = {verified, pending};
  t.verified_senders = {"Jane@Gmail.example"};
  return t;
}

mta::OperatorConfig op() {
  mta::OperatorConfig o;
  o.domain = "vendor.test";
  o.name = "Vendor";
  o.from_address = "notify@vendor.test";
  o.bounce_domain = "pm-bounces.vendor.test";
  o.dkim = mta::DkimKeyRef{"op1", "/keys/vendor.pem"};
  return o;
}

bool only_acme_verified(const std::string& domain) { return domain == "acme.test"; }

}  // namespace

BOOST_AUTO_TEST_SUITE(sender_policy)

BOOST_AUTO_TEST_CASE(the_mode_matrix) {
  struct Case {
    const char* from;
    bool ask_display_name;
    bool fallback;
    bool require_verified;
    const char* mode;  // "" = refused
    const char* return_path;
    const char* signing_domain;
  };
  const Case cases[] = {
      {"Bob <bob@acme.test>", false, false, true, "aligned", "pm-bounces.acme.test", "acme.test"},
      {"bob@ACME.test", false, false, true, "aligned", "pm-bounces.acme.test", "acme.test"},
      {"bob@new.test", false, false, true, "", "", ""},  // domain not verified
      {"bob@new.test", false, false, false, "aligned", "pm-bounces.new.test", "new.test"},  // dev switch
      {"\"Jane\" <jane@gmail.example>", false, false, true, "verified-address", "pm-bounces.vendor.test", "vendor.test"},
      {"someone@elsewhere.test", false, false, true, "", "", ""},
      {"someone@elsewhere.test", false, true, true, "display-name", "pm-bounces.vendor.test", "vendor.test"},
      {"Ann <ann@elsewhere.test>", true, false, true, "display-name", "pm-bounces.vendor.test", "vendor.test"},
      {"a@acme.test, b@acme.test", false, false, true, "", "", ""},  // two authors
      {"", false, false, true, "", "", ""},
      {"not an address", false, false, true, "", "", ""},
  };
  for (const auto& c : cases) {
    auto t = tenant();
    t.fallback_to_display_name = c.fallback;
    auto o = op();
    o.require_verified_domains = c.require_verified;
    auto decision = mta::decide_sender(t, o, only_acme_verified, {c.from, c.ask_display_name});
    if (std::string(c.mode).empty()) {
      BOOST_TEST(!decision.has_value(), c.from);
      if (!decision) BOOST_TEST(decision.error().code == 550, c.from);
      continue;
    }
    BOOST_REQUIRE_MESSAGE(decision.has_value(), c.from);
    BOOST_TEST(mta::sender_mode_name(decision->mode) == std::string(c.mode), c.from);
    BOOST_TEST(decision->return_path_domain == c.return_path, c.from);
    BOOST_TEST(decision->signing_domain == c.signing_domain, c.from);
  }
}

BOOST_AUTO_TEST_CASE(a_refusal_names_the_choices) {
  auto decision = mta::decide_sender(tenant(), op(), only_acme_verified, {"x@elsewhere.test", false});
  BOOST_REQUIRE(!decision.has_value());
  const std::string text = decision.error().first_line();
  BOOST_TEST(text.starts_with("550 5.7.1 From <x@elsewhere.test> is not allowed"));
  BOOST_TEST(text.find("acme.test") != std::string::npos);
  BOOST_TEST(text.find("verified sender") != std::string::npos);
  BOOST_TEST(text.find("X-Stamp-Sender-Mode: display-name") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(display_names_are_encoded_and_cannot_inject_headers) {
  struct Case {
    const char* from;
    const char* must_contain;
  };
  const Case cases[] = {
      {"Ann <ann@elsewhere.test>", "Ann via Vendor"},
      {"=?UTF-8?B?SsO8cmdlbg==?= <j@elsewhere.test>", "=?"},  // Jürgen: encoded again on the way out
      {"\"Evil\\r\\nBcc: victim@x.test\" <e@elsewhere.test>", "via Vendor"},
      {"\"Quote \\\" <fake@x.test>\" <q@elsewhere.test>", "via Vendor"},
  };
  for (const auto& c : cases) {
    auto decision = mta::decide_sender(tenant(), op(), only_acme_verified, {c.from, true});
    BOOST_REQUIRE_MESSAGE(decision.has_value(), c.from);
    const std::string& from = decision->new_from;
    // Line breaks only as folds (CRLF then a space, RFC 5322 2.2.3), never a new field.
    for (std::size_t at = from.find_first_of("\r\n"); at != std::string::npos; at = from.find_first_of("\r\n", at + 3)) {
      BOOST_TEST(from.compare(at, 3, "\r\n ") == 0, c.from);
    }
    BOOST_TEST(from.find(c.must_contain) != std::string::npos, from);
    // Parsed back, it is exactly one mailbox: the operator's address.
    auto parsed = common::mime::parse_address_list(from);
    BOOST_REQUIRE_MESSAGE(parsed.size() == 1u, from);
    BOOST_TEST(parsed.front().address == "notify@vendor.test", from);
    BOOST_TEST(parsed.front().display_name.ends_with("via Vendor"), parsed.front().display_name);
    auto reply_to = common::mime::parse_address_list(decision->reply_to);
    BOOST_REQUIRE(reply_to.size() == 1u);
  }
  auto jurgen = mta::decide_sender(tenant(), op(), only_acme_verified,
                                   {"=?UTF-8?B?SsO8cmdlbg==?= <j@elsewhere.test>", true});
  BOOST_TEST(common::mime::parse_address_list(jurgen->new_from).front().display_name == "J\xc3\xbcrgen via Vendor");
}

BOOST_AUTO_TEST_CASE(long_names_are_cut_and_folded_into_short_encoded_words) {
  std::string name;
  for (int i = 0; i < 300; ++i) name += "\xe6\x97\xa5";  // 300 x U+65E5
  auto decision = mta::decide_sender(tenant(), op(), only_acme_verified, {"\"" + name + "\" <j@elsewhere.test>", true});
  BOOST_REQUIRE(decision.has_value());
  std::size_t line_start = 0;
  const std::string& from = decision->new_from;
  for (std::size_t at = 0; at <= from.size(); ++at) {
    if (at == from.size() || from[at] == '\r') {
      BOOST_TEST(at - line_start <= 76u, "line of " << (at - line_start) << " octets");
      line_start = at + 2;
    }
  }
  auto parsed = common::mime::parse_address_list(from);
  BOOST_REQUIRE(parsed.size() == 1u);
  BOOST_TEST(parsed.front().address == "notify@vendor.test");
  BOOST_TEST(parsed.front().display_name.ends_with(" via Vendor"), parsed.front().display_name.substr(parsed.front().display_name.size() - 40) << " in " << from);
  BOOST_TEST(parsed.front().display_name.size() <= common::mime::kMaxDisplayNameChars * 3 + 11);
}

BOOST_AUTO_TEST_CASE(adjacent_padded_encoded_words_decode_whole) {
  // Split by a mail program into words that each end in base64 padding.
  auto parsed = common::mime::parse_address_list(
      "=?utf-8?b?SsO2cg==?= =?utf-8?b?ZyDDnA==?=\r\n =?utf-8?q?n=C3=AFcode?= <j@elsewhere.test>");
  BOOST_REQUIRE(parsed.size() == 1u);
  BOOST_TEST(parsed.front().display_name == "J\xc3\xb6rg \xc3\x9cn\xc3\xaf" "code");
  BOOST_TEST(parsed.front().address == "j@elsewhere.test");
  // A quoted string stays as it is, encoded-looking text included.
  auto quoted = common::mime::parse_address_list("\"=?utf-8?b?SsO2cg==?= =?utf-8?b?ZyDDnA==?=\" <q@elsewhere.test>");
  BOOST_REQUIRE(quoted.size() == 1u);
  BOOST_TEST(quoted.front().address == "q@elsewhere.test");
}

BOOST_AUTO_TEST_CASE(a_name_cannot_pose_as_the_operator_through_the_pattern) {
  auto decision = mta::decide_sender(tenant(), op(), only_acme_verified, {"\"{operator}\" <j@elsewhere.test>", true});
  BOOST_REQUIRE(decision.has_value());
  BOOST_TEST(common::mime::parse_address_list(decision->new_from).front().display_name == "{operator} via Vendor");
}

BOOST_AUTO_TEST_SUITE_END()
