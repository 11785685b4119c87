// The sender confirmation mail and the control request that asks for it: the
// request is checked word by word (the control socket is input like any other),
// and the mail carries the token, the link when one is configured, and only
// ASCII lines with CRLF ends.
#include "mta/sender_confirmation_mail.h"

#include <boost/test/unit_test.hpp>
#include <ctime>
#include <string>
#include <vector>

namespace {

mta::MtaConfig config_with_operator() {
  mta::MtaConfig config;
  mta::TenantConfig tenant;
  tenant.name = "acme";
  config.tenants.push_back(tenant);
  config.operator_config.domain = "vendor.test";
  config.operator_config.name = "Vendor";
  config.operator_config.from_address = "notify@vendor.test";
  return config;
}

const std::string kToken = "jmYe41ICcqisYPiAzDjzUbp1CCBoEnjC";

std::vector<std::string> request(std::string tenant, std::string address, std::string token,
                                 std::int64_t expires) {
  return {std::move(tenant), std::move(address), std::move(token), std::to_string(expires)};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_well_formed_request_is_accepted) {
  auto config = config_with_operator();
  std::int64_t tomorrow = std::time(nullptr) + 86400;
  auto parsed = mta::parse_sender_confirmation_request(request("acme", "alice@customer.test", kToken, tomorrow), config);
  BOOST_REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error()));
  BOOST_TEST(parsed->address == "alice@customer.test");
  BOOST_TEST(parsed->expires_at == tomorrow);
}

BOOST_AUTO_TEST_CASE(hostile_or_wrong_requests_are_refused) {
  auto config = config_with_operator();
  std::int64_t tomorrow = std::time(nullptr) + 86400;
  const std::vector<std::vector<std::string>> bad = {
      request("nobody", "alice@customer.test", kToken, tomorrow),         // unknown tenant
      request("acme", "alice@customer.test\r\nBcc: x@evil.test", kToken, tomorrow),
      request("acme", "<alice@customer.test>", kToken, tomorrow),
      request("acme", std::string(400, 'a') + "@customer.test", kToken, tomorrow),
      request("acme", "alice@customer.test", "tok/en+with=padding", tomorrow),
      request("acme", "alice@customer.test", std::string(200, 'A'), tomorrow),
      request("acme", "alice@customer.test", kToken, std::time(nullptr) - 1),  // already expired
      {"acme", "alice@customer.test", kToken, "12x"},
      {"acme", "alice@customer.test", kToken},
  };
  for (const auto& words : bad) {
    BOOST_TEST(!mta::parse_sender_confirmation_request(words, config).has_value());
  }
  auto no_operator = config;
  no_operator.operator_config.from_address.clear();
  BOOST_TEST(!mta::parse_sender_confirmation_request(request("acme", "alice@customer.test", kToken, tomorrow),
                                                     no_operator)
                  .has_value());
}

BOOST_AUTO_TEST_CASE(the_mail_carries_the_token_and_the_link) {
  auto config = config_with_operator();
  config.operator_config.sender_confirmation_url = "https://vendor.test/confirm?token={token}";
  mta::SenderConfirmationRequest req{"acme", "alice@customer.test", kToken, 1'800'000'000};
  std::string mail = mta::sender_confirmation_mail(config.operator_config, req);
  BOOST_TEST(mail.starts_with("From: Vendor <notify@vendor.test>\r\nTo: <alice@customer.test>\r\n"));
  BOOST_TEST(mail.find("\r\n\r\n") != std::string::npos);
  BOOST_TEST(mail.find("https://vendor.test/confirm?token=" + kToken + "\r\n") != std::string::npos);
  BOOST_TEST(mail.find("stampctl sender confirm " + kToken) != std::string::npos);
  for (std::size_t i = 0; i < mail.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(mail[i]);
    BOOST_TEST_REQUIRE((c < 0x80 && (c != '\n' || (i > 0 && mail[i - 1] == '\r')) && (c != '\r' || mail[i + 1] == '\n')));
  }
  config.operator_config.sender_confirmation_url.clear();
  BOOST_TEST(mta::sender_confirmation_mail(config.operator_config, req).find("https://") == std::string::npos);
}
