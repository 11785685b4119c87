// Unit tests of the SMTP command-line parser: verb splitting, MAIL FROM / RCPT TO
// paths with their ESMTP and DSN parameters (RFC 5321 4.1.2, 1870, 6152, 6531,
// 3461, 4954), xtext, and the printed forms of Mailbox and DsnNotify. Table-driven:
// one row per case. The state machine's use of the parser is in server_session_test.
#include "common/smtp/command_parser.h"

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;
using namespace common::smtp;

namespace {

std::string escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 32 && c < 127 && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// Descriptions for failure messages. Boost.Test evaluates message operands even
// when the check passes, so the wrong side of an expected is never touched there.
std::string describe(const std::expected<MailFrom, Reply>& m) {
  return m ? "accepted <" + m->sender.to_string() + ">" : "refused " + m.error().first_line();
}
std::string describe(const std::expected<Recipient, Reply>& r) {
  return r ? "accepted <" + r->address.to_string() + ">" : "refused " + r.error().first_line();
}

std::string code_of(const Reply& r) { return std::to_string(r.code) + " " + r.enhanced; }

// n labels of len characters, joined by dots.
std::string labels(int n, std::size_t len) {
  std::string out;
  for (int i = 0; i < n; ++i) out += (i ? "." : "") + std::string(len, 'd');
  return out;
}

const std::string kL64(64, 'l');
const std::string kLabel63(63, 'd');

}  // namespace

// =============================================================================
BOOST_AUTO_TEST_SUITE(split)

BOOST_AUTO_TEST_CASE(split_command_table) {
  struct Row {
    std::string line;
    std::string verb;
    std::string args;
  };
  const std::vector<Row> rows = {
      {"mail FROM:<a@b>", "MAIL", "FROM:<a@b>"},
      {"QUIT", "QUIT", ""},
      {"noop ", "NOOP", ""},
      {"EhLo host name", "EHLO", "host name"},
      {"RCPT  TO:<a@b>", "RCPT", " TO:<a@b>"},  // only one space is taken
      {"", "", ""},
      {" NOOP", "", "NOOP"},
      {"starttls", "STARTTLS", ""},
      {"x\xff y", "X\xff", "y"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(escape(row.line)) {
      CommandLine cmd = split_command(row.line);
      BOOST_TEST(cmd.verb == row.verb);
      BOOST_TEST(std::string(cmd.args) == row.args);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(mail_from)

BOOST_AUTO_TEST_CASE(valid_table) {
  struct Row {
    std::string args;
    std::string local;
    std::string domain;
    std::optional<std::uint64_t> size = std::nullopt;
    BodyType body = BodyType::SevenBit;
    bool smtputf8 = false;
    DsnRet ret = DsnRet::Unset;
    std::string envid = "";
    std::string auth = "";
  };
  const std::vector<Row> rows = {
      {"FROM:<a@b.example>", "a", "b.example"},
      {"from:<A.B@Example.ORG>", "A.B", "Example.ORG"},  // case kept (RFC 5321 2.4)
      {"FROM: <a@b.example>", "a", "b.example"},         // tolerated client deviation
      {"FROM:<>", "", ""},
      {"FROM:<> SIZE=0", "", "", 0},
      {"FROM:<a@b.example> SIZE=12345 BODY=8BITMIME", "a", "b.example", 12345,
       BodyType::EightBitMime},
      {"FROM:<a@b.example> body=7bit ret=full", "a", "b.example", std::nullopt, BodyType::SevenBit,
       false, DsnRet::Full},
      {"FROM:<a@b.example> ENVID=abc+2Bdef RET=HDRS", "a", "b.example", std::nullopt,
       BodyType::SevenBit, false, DsnRet::Headers, "abc+def"},
      {"FROM:<a@b> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef SMTPUTF8", "a", "b", 100,
       BodyType::EightBitMime, true, DsnRet::Headers, "abc+def"},
      {"FROM:<a@b.example> ENVID=" + std::string(100, 'e'), "a", "b.example", std::nullopt,
       BodyType::SevenBit, false, DsnRet::Unset, std::string(100, 'e')},
      {"FROM:<a@b.example> AUTH=<>", "a", "b.example", std::nullopt, BodyType::SevenBit, false,
       DsnRet::Unset, "", "<>"},
      {"FROM:<a@b.example> AUTH=alice+40example.org", "a", "b.example", std::nullopt,
       BodyType::SevenBit, false, DsnRet::Unset, "", "alice@example.org"},
      {"FROM:<@r1.example,@r2.example:a@b.example>", "a", "b.example"},
      {"FROM:<\"a b\"@b.example>", "a b", "b.example"},
      {"FROM:<\"a\\\"q\"@b.example>", "a\"q", "b.example"},
      {"FROM:<\"a\\\\q\"@b.example>", "a\\q", "b.example"},
      {"FROM:<\"a>b\"@b.example>", "a>b", "b.example"},
      {"FROM:<\"a@b\"@b.example>", "a@b", "b.example"},
      {"FROM:<a@[192.0.2.1]>", "a", "[192.0.2.1]"},
      {"FROM:<a@[IPv6:2001:db8::1]>", "a", "[IPv6:2001:db8::1]"},
      {"FROM:<j\xc3\xb6rg@b\xc3\xbc"
       "cher.example> SMTPUTF8",
       "j\xc3\xb6rg",
       "b\xc3\xbc"
       "cher.example",
       std::nullopt, BodyType::SevenBit, true},
      {"FROM:<a@b.example>  SIZE=1 ", "a", "b.example", 1},
      {"FROM:<" + kL64 + "@b.example>", kL64, "b.example"},
      {"FROM:<a@b_c.example>", "a", "b_c.example"},
      {"FROM:<a@" + kLabel63 + ".example>", "a", kLabel63 + ".example"},
      {"FROM:<" + kL64 + "@" + labels(3, 63) + ">", kL64, labels(3, 63)},  // path of 256
      {"FROM:<a@x-y.example>", "a", "x-y.example"},
      {"FROM:<a!#$%&'*+-/=?^_`{|}~@b.example>", "a!#$%&'*+-/=?^_`{|}~", "b.example"},
      {"FROM:<a@localhost>", "a", "localhost"},
      {"FROM:<a@b.example> SIZE=18446744073709551615", "a", "b.example", 18446744073709551615ull},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(escape(row.args)) {
      auto mail = parse_mail_from(row.args);
      BOOST_CHECK_MESSAGE(mail.has_value(), describe(mail));
      if (!mail) continue;
      BOOST_TEST(mail->sender.local_part == row.local);
      BOOST_TEST(mail->sender.domain == row.domain);
      BOOST_TEST(mail->declared_size.has_value() == row.size.has_value());
      if (row.size) BOOST_TEST(*mail->declared_size == *row.size);
      BOOST_TEST((mail->body == row.body));
      BOOST_TEST(mail->smtputf8 == row.smtputf8);
      BOOST_TEST((mail->ret == row.ret));
      BOOST_TEST(mail->envid == row.envid);
      BOOST_TEST(mail->auth == row.auth);
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_table) {
  struct Row {
    std::string args;
    std::string code;
  };
  const std::vector<Row> rows = {
      {"<a@b.example>", "501 5.5.4"},
      {"TO:<a@b.example>", "501 5.5.4"},
      {"", "501 5.5.4"},
      {"FROM", "501 5.5.4"},
      {"FROM:", "501 5.1.7"},
      {"FROM:a@b.example", "501 5.1.7"},
      {"FROM:<a@b.example", "501 5.1.7"},
      {"FROM:<a>", "501 5.1.7"},
      {"FROM:<postmaster>", "501 5.1.7"},  // <postmaster> alone is only a recipient
      {"FROM:<a@b.example>SIZE=1", "501 5.5.4"},
      {"FROM:<a@b.example> FOO=1", "555 5.5.4"},
      {"FROM:<a@b.example> NOTIFY=NEVER", "555 5.5.4"},  // a RCPT parameter
      {"FROM:<a@b.example> SIZE=abc", "501 5.5.4"},
      {"FROM:<a@b.example> SIZE", "501 5.5.4"},
      {"FROM:<a@b.example> SIZE=", "501 5.5.4"},
      {"FROM:<a@b.example> SIZE=-1", "501 5.5.4"},
      {"FROM:<a@b.example> SIZE=1x", "501 5.5.4"},
      {"FROM:<a@b.example> SIZE=1 SIZE=2", "501 5.5.4"},
      {"FROM:<a@b.example> size=1 SIZE=1", "501 5.5.4"},
      {"FROM:<a@b.example> BODY=BINARYMIME", "555 5.5.4"},
      {"FROM:<a@b.example> SMTPUTF8=yes", "501 5.5.4"},
      {"FROM:<a@b.example> SMTPUTF8 SMTPUTF8", "501 5.5.4"},
      {"FROM:<a@b.example> RET=ALL", "501 5.5.4"},
      {"FROM:<a@b.example> RET", "501 5.5.4"},
      {"FROM:<a@b.example> ENVID", "501 5.5.4"},
      {"FROM:<a@b.example> ENVID=a+2", "501 5.5.4"},
      {"FROM:<a@b.example> ENVID=a+2b", "501 5.5.4"},  // hex must be upper case
      {"FROM:<a@b.example> ENVID=a+", "501 5.5.4"},
      {"FROM:<a@b.example> ENVID=" + std::string(101, 'e'), "501 5.5.4"},
      {"FROM:<a@b.example> AUTH", "501 5.5.4"},
      {"FROM:<a@b.example> =x", "501 5.5.4"},
      {"FROM:<a@b.example> S_ZE=1", "501 5.5.4"},
      {"FROM:<j\xc3\xb6rg@example.org>", "553 5.6.7"},
      {"FROM:<a@b\xc3\xbc"
       "cher.example>",
       "553 5.6.7"},
      {"FROM:<a..b@b.example>", "501 5.1.7"},
      {"FROM:<.a@b.example>", "501 5.1.7"},
      {"FROM:<a.@b.example>", "501 5.1.7"},
      {"FROM:<a b@b.example>", "501 5.1.7"},
      {"FROM:<a(b)@b.example>", "501 5.1.7"},
      {"FROM:<a@-b.example>", "501 5.1.7"},
      {"FROM:<a@b-.example>", "501 5.1.7"},
      {"FROM:<a@b..example>", "501 5.1.7"},
      {"FROM:<a@.b.example>", "501 5.1.7"},
      {"FROM:<a@b.example.>", "501 5.1.7"},  // no trailing root dot in SMTP
      {"FROM:<a@b.example->", "501 5.1.7"},
      {"FROM:<a@>", "501 5.1.7"},
      {"FROM:<@b.example>", "501 5.1.7"},
      {"FROM:<@r1.example>", "501 5.1.7"},
      {"FROM:<a@[1.2.3.4>", "501 5.1.7"},
      {"FROM:<a@[]>", "501 5.1.7"},
      {"FROM:<a@[1 2]>", "501 5.1.7"},
      {"FROM:<a@b.example:25>", "501 5.1.7"},
      {"FROM:<" + kL64 + "x@b.example>", "501 5.1.7"},
      {"FROM:<a@" + kLabel63 + "d.example>", "501 5.1.7"},
      {"FROM:<a@" + labels(5, 60) + ">", "501 5.1.7"},              // domain over 255
      {"FROM:<" + kL64 + "@" + labels(3, 63) + "x>", "501 5.1.7"},  // path of 257
      {"FROM:<\"unterminated@b.example>", "501 5.1.7"},
      {"FROM:<\"a\"b@b.example>", "501 5.1.7"},
      {"FROM:<\"a\"@>", "501 5.1.7"},
      {"FROM:<\"a\x01\"@b.example>", "501 5.1.7"},
      {"FROM:<\"a\\\x7f\"@b.example>", "501 5.1.7"},
      {"FROM:<a\x01@b.example>", "501 5.1.7"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(escape(row.args)) {
      auto mail = parse_mail_from(row.args);
      BOOST_CHECK_MESSAGE(!mail.has_value(), describe(mail));
      if (mail) continue;
      BOOST_TEST(code_of(mail.error()) == row.code);
      BOOST_TEST(!mail.error().lines.empty());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(rcpt_to)

BOOST_AUTO_TEST_CASE(valid_table) {
  struct Row {
    std::string args;
    bool smtputf8;
    std::string address;  // Mailbox::to_string()
    std::string notify;   // DsnNotify::to_string()
    bool notify_given;
    std::string orcpt_type;
    std::string orcpt;
  };
  const std::vector<Row> rows = {
      {"TO:<c@d.example>", false, "c@d.example", "", false, "", ""},
      {"to: <c@d.example>", false, "c@d.example", "", false, "", ""},
      {"TO:<postmaster>", false, "postmaster", "", false, "", ""},
      {"TO:<PostMaster>", false, "PostMaster", "", false, "", ""},
      {"TO:<postmaster@d.example>", false, "postmaster@d.example", "", false, "", ""},
      {"TO:<c@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+40d", false, "c@d", "SUCCESS,FAILURE", true,
       "rfc822", "c@d"},
      {"TO:<c@d.example> notify=never", false, "c@d.example", "NEVER", true, "", ""},
      {"TO:<c@d.example> NOTIFY=DELAY,SUCCESS", false, "c@d.example", "SUCCESS,DELAY", true, "",
       ""},
      {"TO:<c@d.example> NOTIFY=failure,delay,success", false, "c@d.example",
       "SUCCESS,FAILURE,DELAY", true, "", ""},
      {"TO:<c@d.example> ORCPT=utf-8;c+40d.example", false, "c@d.example", "", false, "utf-8",
       "c@d.example"},
      {"TO:<c@d.example> ORCPT=rfc822;+3Cweird+20one+3E", false, "c@d.example", "", false, "rfc822",
       "<weird one>"},
      {"TO:<j\xc3\xb6rg@d.example>", true, "j\xc3\xb6rg@d.example", "", false, "", ""},
      {"TO:<@hop1.example,@hop2.example:c@d.example>", false, "c@d.example", "", false, "", ""},
      {"TO:<\"x y\"@d.example>", false, "\"x y\"@d.example", "", false, "", ""},
      {"TO:<\"a\\\"b\"@d.example>", false, "\"a\\\"b\"@d.example", "", false, "", ""},
      {"TO:<c@[192.0.2.1]>", false, "c@[192.0.2.1]", "", false, "", ""},
      {"TO:<" + kL64 + "@d.example>", false, kL64 + "@d.example", "", false, "", ""},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(escape(row.args)) {
      auto rcpt = parse_rcpt_to(row.args, row.smtputf8);
      BOOST_CHECK_MESSAGE(rcpt.has_value(), describe(rcpt));
      if (!rcpt) continue;
      BOOST_TEST(escape(rcpt->address.to_string()) == escape(row.address));
      BOOST_TEST(rcpt->notify.to_string() == row.notify);
      BOOST_TEST(rcpt->notify.given == row.notify_given);
      BOOST_TEST(rcpt->orcpt_type == row.orcpt_type);
      BOOST_TEST(rcpt->orcpt == row.orcpt);
    }
  }
}

BOOST_AUTO_TEST_CASE(invalid_table) {
  struct Row {
    std::string args;
    bool smtputf8;
    std::string code;
  };
  const std::vector<Row> rows = {
      {"TO:<>", false, "501 5.1.3"},
      {"FROM:<c@d.example>", false, "501 5.5.4"},
      {"<c@d.example>", false, "501 5.5.4"},
      {"TO:c@d.example", false, "501 5.1.3"},
      {"TO:<c>", false, "501 5.1.3"},
      {"TO:<postmaster@>", false, "501 5.1.3"},
      {"TO:<c@d.example>x", false, "501 5.5.4"},
      {"TO:<c@d.example> NOTIFY=NEVER,SUCCESS", false, "501 5.5.4"},
      {"TO:<c@d.example> NOTIFY=DELAY,NEVER", false, "501 5.5.4"},
      {"TO:<c@d.example> NOTIFY=", false, "501 5.5.4"},
      {"TO:<c@d.example> NOTIFY", false, "501 5.5.4"},
      {"TO:<c@d.example> NOTIFY=SUCCESS,", false, "501 5.5.4"},
      {"TO:<c@d.example> NOTIFY=,SUCCESS", false, "501 5.5.4"},
      {"TO:<c@d.example> NOTIFY=SOMETIMES", false, "501 5.5.4"},
      {"TO:<c@d.example> NOTIFY=SUCCESS NOTIFY=FAILURE", false, "501 5.5.4"},
      {"TO:<c@d.example> ORCPT=c@d", false, "501 5.5.4"},
      {"TO:<c@d.example> ORCPT=;c@d", false, "501 5.5.4"},
      {"TO:<c@d.example> ORCPT=rfc822;", false, "501 5.5.4"},
      {"TO:<c@d.example> ORCPT=rfc822;a+zz", false, "501 5.5.4"},
      {"TO:<c@d.example> ORCPT", false, "501 5.5.4"},
      {"TO:<c@d.example> ORCPT=rfc822;" + std::string(501, 'o'), false, "501 5.5.4"},
      {"TO:<c@d.example> SIZE=10", false, "555 5.5.4"},
      {"TO:<c@d.example> RET=FULL", false, "555 5.5.4"},
      {"TO:<j\xc3\xb6rg@example.org>", false, "553 5.6.7"},
      {"TO:<" + kL64 + "x@d.example>", false, "501 5.1.3"},
      {"TO:<c@d.example.>", false, "501 5.1.3"},
      {"TO:<c@@d.example>", false, "501 5.1.3"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(escape(row.args)) {
      auto rcpt = parse_rcpt_to(row.args, row.smtputf8);
      BOOST_CHECK_MESSAGE(!rcpt.has_value(), describe(rcpt));
      if (rcpt) continue;
      BOOST_TEST(code_of(rcpt.error()) == row.code);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(xtext)

BOOST_AUTO_TEST_CASE(decode_table) {
  struct Row {
    std::string in;
    std::optional<std::string> out;
  };
  const std::vector<Row> rows = {
      {"abc+2Bdef", "abc+def"},
      {"c+40d", "c@d"},
      {"", ""},
      {"+3D", "="},
      {"+2B+2B", "++"},
      {"+00", "\0"s},
      {"+FF", "\xff"},
      {"!~", "!~"},
      {"+", std::nullopt},
      {"+2", std::nullopt},
      {"a+2", std::nullopt},
      {"+2g", std::nullopt},
      {"+2b", std::nullopt},  // RFC 3461 4: upper-case hex only
      {"+G0", std::nullopt},
      {"a=b", std::nullopt},
      {"a b", std::nullopt},
      {"\x7f", std::nullopt},
      {"\x1f", std::nullopt},
      {"\xc3\xa9", std::nullopt},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(escape(row.in)) {
      auto decoded = decode_xtext(row.in);
      BOOST_TEST(decoded.has_value() == row.out.has_value());
      if (decoded && row.out) BOOST_TEST(escape(*decoded) == escape(*row.out));
    }
  }
}

BOOST_AUTO_TEST_CASE(encode_table_and_round_trip) {
  BOOST_TEST(encode_xtext("a+b=c d") == "a+2Bb+3Dc+20d");
  BOOST_TEST(encode_xtext("") == "");
  BOOST_TEST(encode_xtext("user@example.org") == "user@example.org");
  BOOST_TEST(encode_xtext("\x7f\n\xff") == "+7F+0A+FF");
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  const std::string encoded = encode_xtext(all);
  for (unsigned char c : encoded) BOOST_TEST((c >= 33 && c <= 126 && c != '='));
  auto decoded = decode_xtext(encoded);
  BOOST_REQUIRE(decoded.has_value());
  BOOST_TEST(*decoded == all);
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(printing)

BOOST_AUTO_TEST_CASE(mailbox_to_string_table) {
  struct Row {
    Mailbox box;
    std::string text;
  };
  const std::vector<Row> rows = {
      {{"a", "b.example"}, "a@b.example"},
      {{"A.B", "Example.ORG"}, "A.B@Example.ORG"},
      {{"john doe", "x.example"}, "\"john doe\"@x.example"},
      {{"a\"b", "x.example"}, "\"a\\\"b\"@x.example"},
      {{"a\\b", "x.example"}, "\"a\\\\b\"@x.example"},
      {{".a", "x.example"}, "\".a\"@x.example"},
      {{"a..b", "x.example"}, "\"a..b\"@x.example"},
      {{"", ""}, ""},
      {{"postmaster", ""}, "postmaster"},
      {{"j\xc3\xb6rg", "x.example"}, "j\xc3\xb6rg@x.example"},
      {{"a", "[192.0.2.1]"}, "a@[192.0.2.1]"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(escape(row.text)) {
      BOOST_TEST(escape(row.box.to_string()) == escape(row.text));
    }
  }
}

BOOST_AUTO_TEST_CASE(mailbox_round_trips_through_the_parser) {
  // What to_string() prints parses back to the same mailbox.
  const std::vector<Mailbox> boxes = {{"a", "b.example"},    {"john doe", "x.example"},
                                      {"a\"b", "x.example"}, {"a\\b", "x.example"},
                                      {"x>y", "x.example"},  {"a..b", "x.example"}};
  for (const auto& box : boxes) {
    BOOST_TEST_CONTEXT(escape(box.to_string())) {
      auto rcpt = parse_rcpt_to("TO:<" + box.to_string() + ">", false);
      BOOST_CHECK_MESSAGE(rcpt.has_value(), describe(rcpt));
      if (!rcpt) continue;
      BOOST_TEST(rcpt->address.local_part == box.local_part);
      BOOST_TEST(rcpt->address.domain == box.domain);
    }
  }
}

BOOST_AUTO_TEST_CASE(null_mailbox) {
  BOOST_TEST(Mailbox{}.is_null());
  BOOST_TEST(!(Mailbox{"postmaster", ""}.is_null()));
  auto mail = parse_mail_from("FROM:<>");
  BOOST_REQUIRE(mail.has_value());
  BOOST_TEST(mail->sender.is_null());
}

BOOST_AUTO_TEST_CASE(dsn_notify_to_string) {
  DsnNotify n;
  BOOST_TEST(n.to_string() == "");
  n.never = true;
  BOOST_TEST(n.to_string() == "NEVER");
  n = DsnNotify{};
  n.success = n.delay = true;
  BOOST_TEST(n.to_string() == "SUCCESS,DELAY");
  n.failure = true;
  BOOST_TEST(n.to_string() == "SUCCESS,FAILURE,DELAY");
}

BOOST_AUTO_TEST_SUITE_END()
