// Unit tests of the queue file format: round trip, and damage is detected.
#include <boost/test/unit_test.hpp>

#include "mta/queue/queue_file.h"

namespace {

mta::QueuedMessage sample() {
  mta::QueuedMessage meta;
  meta.id = "0193A4F2C1D0000A";
  meta.arrival = 1795000000;
  meta.tenant = "acme";
  meta.client_address = "192.0.2.7";
  meta.helo = "client with spaces+plus=eq";
  auto& mail = meta.envelope.mail_from;
  mail.sender = {"bounce+tag", "example.com"};
  mail.declared_size = 1234;
  mail.body = common::smtp::BodyType::EightBitMime;
  mail.smtputf8 = true;
  mail.ret = common::smtp::DsnRet::Headers;
  mail.envid = "env id\x01";
  common::smtp::Recipient a;
  a.address = {"J\xc3\xbcrgen", "example.net"};
  a.notify.given = true;
  a.notify.success = a.notify.failure = true;
  a.orcpt_type = "rfc822";
  a.orcpt = "j@example.net";
  common::smtp::Recipient b;
  b.address = {"postmaster", ""};
  meta.envelope.recipients = {a, b};
  return meta;
}

std::string whole_file(const mta::QueuedMessage& meta, std::string_view message) {
  return mta::encode_queue_header(meta) + std::string(message) + mta::encode_queue_tail(meta.late, message.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(queue_file)

BOOST_AUTO_TEST_CASE(round_trips_envelope_and_message) {
  auto meta = sample();
  std::string message = "Subject: x\r\n\r\nbody\r\n\r\n\r\nSTAMP-END lookalike\r\n";
  std::string file = whole_file(meta, message);
  auto parsed = mta::parse_queue_file(file);
  BOOST_REQUIRE_MESSAGE(parsed.has_value(), (parsed ? std::string() : parsed.error().message));
  BOOST_TEST(parsed->message == message);
  BOOST_TEST(parsed->meta.id == meta.id);
  BOOST_TEST(parsed->meta.arrival == meta.arrival);
  BOOST_TEST(parsed->meta.tenant == "acme");
  BOOST_TEST(parsed->meta.helo == meta.helo);
  const auto& mail = parsed->meta.envelope.mail_from;
  BOOST_TEST(mail.sender.to_string() == "bounce+tag@example.com");
  BOOST_TEST(*mail.declared_size == 1234u);
  BOOST_TEST((mail.body == common::smtp::BodyType::EightBitMime));
  BOOST_TEST(mail.smtputf8);
  BOOST_TEST((mail.ret == common::smtp::DsnRet::Headers));
  BOOST_TEST(mail.envid == "env id\x01");
  const auto& rcpts = parsed->meta.envelope.recipients;
  BOOST_REQUIRE(rcpts.size() == 2u);
  BOOST_TEST(rcpts[0].address.local_part == "J\xc3\xbcrgen");
  BOOST_TEST(rcpts[0].notify.to_string() == "SUCCESS,FAILURE");
  BOOST_TEST(rcpts[0].orcpt == "j@example.net");
  BOOST_TEST(!rcpts[1].notify.given);
  BOOST_TEST(rcpts[1].address.to_string() == "postmaster");
}

BOOST_AUTO_TEST_CASE(late_fields_round_trip) {
  auto meta = sample();
  meta.late.sender_mode = "aligned";
  meta.late.return_path_domain = "pm-bounces.acme.test";
  meta.late.stream = "news";
  meta.late.tag = "welcome mail";
  meta.late.metadata = {{"customer-id", "42"}, {"plan", "gold plus"}};
  meta.late.prepend = "DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc\r\n";
  std::string message = "Subject: x\r\n\r\nbody\r\n\r\n";
  const std::string file = whole_file(meta, message);  // parsed.message points into it
  auto parsed = mta::parse_queue_file(file);
  BOOST_REQUIRE(parsed.has_value());
  BOOST_TEST(parsed->message == message);
  BOOST_TEST(parsed->meta.late.sender_mode == "aligned");
  BOOST_TEST(parsed->meta.late.return_path_domain == "pm-bounces.acme.test");
  BOOST_TEST(parsed->meta.late.stream == "news");
  BOOST_TEST(parsed->meta.late.tag == "welcome mail");
  BOOST_TEST(parsed->meta.late.metadata.size() == 2u);
  BOOST_TEST(parsed->meta.late.metadata[1].second == "gold plus");
  BOOST_TEST(parsed->meta.late.prepend == meta.late.prepend);
  BOOST_TEST(parsed->wire_message() == meta.late.prepend + message);
}

BOOST_AUTO_TEST_CASE(null_sender_round_trips) {
  auto meta = sample();
  meta.envelope.mail_from.sender = {};
  meta.helo = "-";  // the token for "empty" must not swallow a real "-"
  auto parsed = mta::parse_queue_file(whole_file(meta, "x\r\n"));
  BOOST_REQUIRE(parsed);
  BOOST_TEST(parsed->meta.envelope.mail_from.sender.is_null());
  BOOST_TEST(parsed->meta.helo == "-");
}

BOOST_AUTO_TEST_CASE(every_truncation_is_detected) {
  std::string file = whole_file(sample(), "Subject: x\r\n\r\nbody\r\n");
  for (std::size_t len = 0; len < file.size(); ++len) {
    BOOST_TEST(!mta::parse_queue_file(std::string_view(file).substr(0, len)).has_value(), "length " << len);
  }
  std::string longer = file;
  longer.insert(longer.size() - 30, "extra");
  BOOST_TEST(!mta::parse_queue_file(longer).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
