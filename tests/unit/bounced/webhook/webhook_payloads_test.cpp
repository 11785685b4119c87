// Unit tests of the webhook payloads: each event's exact JSON (Postmark's
// field names, order and types), and hostile values (quotes, backslashes,
// newlines, control characters, valid and invalid UTF-8) coming out as valid
// JSON that decodes back to the input. The decoding is done by an independent
// parser: Python's json module (strict UTF-8, strict control characters).
#include "bounced/webhook/webhook_payloads.h"

#include <boost/test/unit_test.hpp>
#include <fstream>
#include <map>
#include <string>

#include "tests/unit/bounced/webhook/webhook_test_support.h"

using namespace bounced::webhook;

namespace {

constexpr std::time_t kWhen = 1795710834;  // 2026-11-26T16:33:54Z

BounceFacts sample_bounce() {
  BounceFacts f;
  f.id = 4323372036854775807;
  f.type = "HardBounce";
  f.tag = "welcome";
  f.message_id = "883953f4-6105-42a2-a16a-77a8eac79483";
  f.stream = "outbound";
  f.details = "smtp; 550 5.1.1 user unknown";
  f.email = "john@example.com";
  f.from = "sender@example.org";
  f.subject = "Hello";
  f.metadata = {{"a_key", "a_value"}, {"b_key", "b_value"}};
  f.bounced_at = kWhen;
  f.dump_available = true;
  f.inactive = true;
  f.can_activate = true;
  return f;
}

std::string hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Python decodes `json` (bytes must be UTF-8, strings must not hold raw
// control characters) and reports each top-level field as name -> hex of its
// UTF-8 value (strings) or its JSON text (others). Empty map: not valid JSON.
std::map<std::string, std::string> decode_with_python(const std::string& json) {
  webhook_test::TempDir dir("stamp-webhook-payload");
  const auto input = dir.path / "payload.json";
  const auto output = dir.path / "fields.txt";
  std::ofstream(input, std::ios::binary) << json;
  const std::string script =
      "import json, sys\n"
      "data = json.loads(open(sys.argv[1], 'rb').read().decode('utf-8'), strict=True)\n"
      "with open(sys.argv[2], 'w') as out:\n"
      "    for name, value in data.items():\n"
      "        if isinstance(value, str):\n"
      "            out.write(name + ' ' + value.encode('utf-8').hex() + '\\n')\n"
      "        else:\n"
      "            out.write(name + ' ' + json.dumps(value, sort_keys=True, ensure_ascii=True) + "
      "'\\n')\n";
  std::map<std::string, std::string> fields;
  if (webhook_test::run_program(
          {webhook_test::kPython, "-c", script, input.string(), output.string()}) != 0) {
    return fields;
  }
  std::ifstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    const auto space = line.find(' ');
    fields[line.substr(0, space)] = line.substr(space + 1);
  }
  return fields;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(webhook_payloads)

BOOST_AUTO_TEST_CASE(bounce_has_postmarks_shape) {
  BOOST_TEST(
      bounce_payload(sample_bounce()) ==
      R"({"RecordType":"Bounce","MessageStream":"outbound","ID":4323372036854775807,"Type":"HardBounce",)"
      R"("TypeCode":1,"Name":"Hard bounce","Tag":"welcome","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483",)"
      R"("Metadata":{"a_key":"a_value","b_key":"b_value"},"ServerID":0,)"
      R"("Description":"The server was unable to deliver your message (ex: unknown user, mailbox not found).",)"
      R"("Details":"smtp; 550 5.1.1 user unknown","Email":"john@example.com","From":"sender@example.org",)"
      R"("BouncedAt":"2026-11-26T16:33:54Z","DumpAvailable":true,"Inactive":true,"CanActivate":true,)"
      R"("Subject":"Hello"})");
}

BOOST_AUTO_TEST_CASE(bounce_type_decides_code_name_and_description) {
  for (const auto& info : bounce_types()) {
    BounceFacts f = sample_bounce();
    f.type = std::string(info.type);
    const auto fields = decode_with_python(bounce_payload(f));
    BOOST_TEST_CONTEXT(info.type) {
      BOOST_TEST(fields.at("Type") == hex(std::string(info.type)));
      BOOST_TEST(fields.at("TypeCode") == std::to_string(info.code));
      BOOST_TEST(fields.at("Name") == hex(std::string(info.name)));
      BOOST_TEST(fields.at("Description") == hex(std::string(info.description)));
    }
  }
  BOOST_TEST(bounce_types().size() == 22u);
  BOOST_TEST(find_bounce_type("SpamComplaint")->code == 100001);
  BOOST_TEST(find_bounce_type("SpamNotification")->code == 512);
  BOOST_TEST(find_bounce_type("Undeliverable") == nullptr);  // not a Postmark Type (peers.md 2.2)
  // A name Postmark does not have is reported as Unknown rather than invented.
  BounceFacts odd = sample_bounce();
  odd.type = "Undeliverable";
  const std::string json = bounce_payload(odd);
  BOOST_TEST(json.find(R"("Type":"Unknown","TypeCode":2048,"Name":"Unknown")") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(bounce_content_only_when_given) {
  BounceFacts f = sample_bounce();
  BOOST_TEST(bounce_payload(f).find("\"Content\"") == std::string::npos);
  f.content = "Return-Path: <>\r\n\r\nbody";
  BOOST_TEST(
      bounce_payload(f).ends_with(R"("Subject":"Hello","Content":"Return-Path: <>\r\n\r\nbody"})"));
}

BOOST_AUTO_TEST_CASE(spam_complaint_is_bounce_shaped_and_final) {
  BounceFacts f = sample_bounce();
  f.type = "HardBounce";  // ignored
  f.inactive = false;     // ignored
  f.can_activate = true;  // ignored
  BOOST_TEST(
      spam_complaint_payload(f) ==
      R"({"RecordType":"SpamComplaint","MessageStream":"outbound","ID":4323372036854775807,)"
      R"("Type":"SpamComplaint","TypeCode":100001,"Name":"Spam complaint","Tag":"welcome",)"
      R"("MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Metadata":{"a_key":"a_value","b_key":"b_value"},)"
      R"("ServerID":0,"Description":"The subscriber explicitly marked this message as spam.",)"
      R"("Details":"smtp; 550 5.1.1 user unknown","Email":"john@example.com","From":"sender@example.org",)"
      R"("BouncedAt":"2026-11-26T16:33:54Z","DumpAvailable":true,"Inactive":true,"CanActivate":false,)"
      R"("Subject":"Hello"})");
}

BOOST_AUTO_TEST_CASE(delivery_has_postmarks_shape) {
  DeliveryFacts f;
  f.message_id = "883953f4-6105-42a2-a16a-77a8eac79483";
  f.recipient = "john@example.com";
  f.tag = "welcome-email";
  f.details = "smtp;250 2.0.0 OK 1480624905 l186si10190883ite.73 - gsmtp";
  f.metadata = {{"a_key", "a_value"}};
  f.delivered_at = kWhen;
  f.server_id = 23;
  BOOST_TEST(
      delivery_payload(f) ==
      R"({"RecordType":"Delivery","ServerID":23,"MessageStream":"outbound",)"
      R"("MessageID":"883953f4-6105-42a2-a16a-77a8eac79483","Recipient":"john@example.com",)"
      R"("Tag":"welcome-email","DeliveredAt":"2026-11-26T16:33:54Z",)"
      R"("Details":"smtp;250 2.0.0 OK 1480624905 l186si10190883ite.73 - gsmtp","Metadata":{"a_key":"a_value"}})");
}

BOOST_AUTO_TEST_CASE(subscription_change_suppression_and_reactivation) {
  SubscriptionChangeFacts f;
  f.message_id = "883953f4-6105-42a2-a16a-77a8eac79483";
  f.stream = "broadcast";
  f.recipient = "bounced-address@example.com";
  f.origin = "Recipient";
  f.suppress_sending = true;
  f.suppression_reason = "HardBounce";
  f.tag = "my-tag";
  f.metadata = {{"example", "value"}};
  f.changed_at = kWhen;
  BOOST_TEST(
      subscription_change_payload(f) ==
      R"({"RecordType":"SubscriptionChange","MessageID":"883953f4-6105-42a2-a16a-77a8eac79483",)"
      R"("ServerID":0,"MessageStream":"broadcast","ChangedAt":"2026-11-26T16:33:54Z",)"
      R"("Recipient":"bounced-address@example.com","Origin":"Recipient","SuppressSending":true,)"
      R"("SuppressionReason":"HardBounce","Tag":"my-tag","Metadata":{"example":"value"}})");
  // Reactivation (peers.md 2.6): MessageID, SuppressionReason and Tag null, Metadata {}.
  SubscriptionChangeFacts r;
  r.recipient = "bounced-address@example.com";
  r.origin = "Customer";
  r.suppress_sending = false;
  r.changed_at = kWhen;
  BOOST_TEST(
      subscription_change_payload(r) ==
      R"({"RecordType":"SubscriptionChange","MessageID":null,"ServerID":0,"MessageStream":"outbound",)"
      R"("ChangedAt":"2026-11-26T16:33:54Z","Recipient":"bounced-address@example.com","Origin":"Customer",)"
      R"("SuppressSending":false,"SuppressionReason":null,"Tag":null,"Metadata":{}})");
}

BOOST_AUTO_TEST_CASE(hostile_values_stay_valid_json) {
  const std::string nasty_ascii =
      std::string("quote\" back\\slash\nnew\rline\ttab\x01\x1f\x7f nul:") + '\0' + "end";
  const std::string good_utf8 =
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7 \xe2\x80\xa8";  // é € 📧 U+2028
  struct Case {
    const char* what;
    std::string input;
    std::string decoded;  // what a JSON parser must give back
  } cases[] = {
      {"ascii controls", nasty_ascii, nasty_ascii},
      {"valid utf-8", good_utf8, good_utf8},
      {"latin-1 byte", "M\xfcller", "M\xef\xbf\xbdller"},
      {"stray continuation", "a\x80z", "a\xef\xbf\xbdz"},
      {"overlong slash", "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
      {"overlong 3-byte", "\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
      {"surrogate", "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
      {"past U+10FFFF", "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
      {"truncated at end", "ok\xe2\x82", "ok\xef\xbf\xbd"},
      {"truncated mid", "\xf0\x9f\x93z", "\xef\xbf\xbdz"},
      {"F5..FF", "\xf5\xff", "\xef\xbf\xbd\xef\xbf\xbd"},
      {"json injection", R"(x","Inactive":false,"y":")", R"(x","Inactive":false,"y":")"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      BounceFacts f = sample_bounce();
      f.details = c.input;
      f.subject = c.input;
      f.metadata = {{c.input, c.input}, {"plain", "v"}};
      const auto fields = decode_with_python(bounce_payload(f));
      BOOST_REQUIRE(!fields.empty());
      BOOST_TEST(fields.at("Details") == hex(c.decoded));
      BOOST_TEST(fields.at("Subject") == hex(c.decoded));
      BOOST_TEST(fields.at("Inactive") == "true");  // no injected field won
      BOOST_TEST(fields.size() == 19u);             // and none was added
      BOOST_TEST(valid_utf8(c.input) == c.decoded);
    }
  }
}

BOOST_AUTO_TEST_CASE(metadata_keeps_the_first_of_repeated_keys) {
  BounceFacts f = sample_bounce();
  f.metadata = {{"k", "first"}, {"k", "second"}, {"other", "x"}};
  BOOST_TEST(bounce_payload(f).find(R"("Metadata":{"k":"first","other":"x"})") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(iso8601_is_utc_with_z) {
  BOOST_TEST(iso8601_utc(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(iso8601_utc(kWhen) == "2026-11-26T16:33:54Z");
  BOOST_TEST(iso8601_utc(951782400) == "2000-02-29T00:00:00Z");
}

BOOST_AUTO_TEST_SUITE_END()
