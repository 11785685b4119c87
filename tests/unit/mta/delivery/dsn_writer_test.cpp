// make_dsn: the multipart/report it writes, taken apart by its boundary and
// checked part by part and field by field, plus the line invariants (CRLF only,
// nothing over 998 octets) under hostile input.
#include "mta/delivery/dsn_writer.h"

#include <boost/test/unit_test.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/time_format.h"

namespace mta {
namespace {

using common::smtp::DsnRet;

constexpr std::time_t kArrival = 1767225600;  // Thu, 01 Jan 2026 00:00:00 +0000
constexpr std::time_t kNow = kArrival + 3 * 86400;
constexpr std::time_t kLastAttempt = kNow - 60;

constexpr std::string_view kOriginalHeaders =
    "Received: from client.example.org ([192.0.2.1])\r\n"
    "\tby mta.example.net (stamp) with ESMTPSA id 0190A1B2C3D40001; Thu, 01 Jan 2026 00:00:00 "
    "+0000\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob@example.com\r\n"
    "Subject: Quarterly report\r\n"
    "Message-ID: <q1@example.org>\r\n";
constexpr std::string_view kOriginalBody = "Hello Bob,\r\n\r\nthe numbers are attached.\r\n";

std::string original() {
  return std::string(kOriginalHeaders) + "\r\n" + std::string(kOriginalBody);
}

DsnRecipient failed(std::string local, std::string domain) {
  DsnRecipient r;
  r.recipient.address = {std::move(local), std::move(domain)};
  r.action = "failed";
  r.status = "5.1.1";
  r.remote_mta = "mx1.example.com";
  r.diagnostic = "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown";
  r.last_attempt = kLastAttempt;
  return r;
}

DsnRecipient delayed(std::string local, std::string domain) {
  DsnRecipient r;
  r.recipient.address = {std::move(local), std::move(domain)};
  r.action = "delayed";
  r.status = "4.4.1";
  r.remote_mta = "";
  r.diagnostic = "";
  r.last_attempt = kLastAttempt;
  return r;
}

// A DSN input the tests below vary one thing of; `message` owns the original.
struct Fixture {
  std::string message = original();
  DsnInput input;
  Fixture() {
    input.reporting_mta = "mta.example.net";
    input.queue_id = "0190A1B2C3D40001";
    input.original_sender = {"alice", "example.org"};
    input.arrival = kArrival;
    input.now = kNow;
    input.recipients = {failed("bob", "example.com")};
    input.original_message = message;
  }
};

// ---- A small MIME reader, just enough to hold the writer to its layout. ----

struct Field {
  std::string name;
  std::string value;  // unfolded (CRLF removed before each continuation line)
  bool operator==(const Field&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Field& f) {
  return out << f.name << ": " << f.value;
}

struct Entity {
  std::vector<Field> fields;
  std::string body;

  const std::string* field(std::string_view name) const {
    for (const Field& f : fields) {
      if (f.name == name) return &f.value;
    }
    return nullptr;
  }
  std::string get(std::string_view name) const {
    const std::string* v = field(name);
    return v != nullptr ? *v : "<absent>";
  }
};

std::vector<std::string_view> split(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    std::size_t end = text.find(separator, start);
    out.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return out;
    start = end + separator.size();
  }
}

// Header fields (unfolded) then the body after the first empty line.
std::vector<Field> read_fields(std::string_view block) {
  std::vector<Field> fields;
  for (std::string_view line : split(block, "\r\n")) {
    if (line.empty()) continue;
    if (line.front() == ' ' || line.front() == '\t') {
      BOOST_REQUIRE(!fields.empty());
      fields.back().value += line;
      continue;
    }
    std::size_t colon = line.find(": ");
    BOOST_REQUIRE_MESSAGE(colon != std::string_view::npos, "not a field: " << line);
    fields.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 2))});
  }
  return fields;
}

Entity read_entity(std::string_view text) {
  std::size_t end = text.find("\r\n\r\n");
  BOOST_REQUIRE(end != std::string_view::npos);
  return Entity{read_fields(text.substr(0, end + 2)), std::string(text.substr(end + 4))};
}

struct Report {
  Entity top;
  std::string boundary;
  std::string preamble;
  std::vector<Entity> parts;
};

Report read_report(std::string_view dsn) {
  Report report;
  report.top = read_entity(dsn);
  std::smatch m;
  std::string content_type = report.top.get("Content-Type");
  BOOST_REQUIRE(std::regex_match(
      content_type, m,
      std::regex(R"re(multipart/report; report-type=delivery-status; boundary="([^"]+)")re")));
  report.boundary = m[1];
  BOOST_TEST(report.boundary.size() <= 70u);  // RFC 2046 5.1.1
  // The body is preamble, "--B" delimiters each after a CRLF, and "--B--" CRLF.
  std::vector<std::string_view> pieces = split(report.top.body, "\r\n--" + report.boundary);
  BOOST_REQUIRE(pieces.size() >= 2u);
  report.preamble = pieces.front();
  BOOST_TEST(pieces.back() == "--\r\n");  // the close delimiter ends the message
  for (std::size_t i = 1; i + 1 < pieces.size(); ++i) {
    BOOST_REQUIRE(pieces[i].starts_with("\r\n"));
    report.parts.push_back(read_entity(pieces[i].substr(2)));
  }
  return report;
}

// One group of delivery-status fields, looked up like a header.
Entity as_entity(const std::vector<Field>& fields) { return Entity{fields, {}}; }

// message/delivery-status: blank-line-separated groups of fields (RFC 3464 2.1).
std::vector<std::vector<Field>> status_groups(const Entity& part) {
  std::vector<std::vector<Field>> groups;
  std::string_view body = part.body;
  BOOST_REQUIRE(body.ends_with("\r\n"));
  body.remove_suffix(2);
  for (std::string_view group : split(body, "\r\n\r\n")) {
    groups.push_back(read_fields(std::string(group) + "\r\n"));
  }
  return groups;
}

void check_lines(std::string_view dsn) {
  BOOST_TEST(dsn.ends_with("\r\n"));
  std::size_t longest = 0;
  for (std::size_t at = 0; at < dsn.size(); ++at) {
    if (dsn[at] == '\n') {
      BOOST_REQUIRE_MESSAGE(at > 0 && dsn[at - 1] == '\r', "bare LF at offset " << at);
    } else if (dsn[at] == '\r') {
      BOOST_REQUIRE_MESSAGE(at + 1 < dsn.size() && dsn[at + 1] == '\n', "bare CR at " << at);
    }
  }
  for (std::string_view line : split(dsn, "\r\n")) longest = std::max(longest, line.size());
  BOOST_TEST(longest <= 998u);
}

bool is_7bit(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// ---- The layout. ----

BOOST_AUTO_TEST_CASE(a_failed_recipient_gives_the_three_part_report) {
  Fixture f;
  std::string dsn = make_dsn(f.input);
  check_lines(dsn);
  BOOST_TEST(is_7bit(dsn));
  Report r = read_report(dsn);

  const Entity& top = r.top;
  BOOST_TEST(top.get("From") == "Mail Delivery System <MAILER-DAEMON@mta.example.net>");
  BOOST_TEST(top.get("To") == "<alice@example.org>");
  BOOST_TEST(top.get("Subject") == "Undelivered Mail Returned to Sender");
  BOOST_TEST(top.get("Date") == common::rfc5322_date(kNow));
  BOOST_TEST(
      std::regex_match(top.get("Message-ID"),
                       std::regex(R"(<0190A1B2C3D40001\.dsn\.[0-9a-f]+@mta\.example\.net>)")));
  BOOST_TEST(top.get("Auto-Submitted") == "auto-replied");
  BOOST_TEST(top.get("MIME-Version") == "1.0");
  BOOST_TEST(top.field("Content-Transfer-Encoding") == nullptr);
  BOOST_TEST(r.boundary.find("0190A1B2C3D40001") != std::string::npos);

  BOOST_REQUIRE(r.parts.size() == 3u);
  const Entity& text = r.parts[0];
  BOOST_TEST(text.get("Content-Type") == "text/plain; charset=utf-8");
  BOOST_TEST(text.field("Content-Transfer-Encoding") == nullptr);
  BOOST_TEST(text.body.find("<bob@example.com>: failed (5.1.1)\r\n") != std::string::npos);
  BOOST_TEST(text.body.find("mx1.example.com said: 550 5.1.1 <bob@example.com>: Recipient") !=
             std::string::npos);

  const Entity& status = r.parts[1];
  BOOST_TEST(status.get("Content-Type") == "message/delivery-status");
  auto groups = status_groups(status);
  std::vector<std::vector<Field>> expected = {
      {{"Reporting-MTA", "dns; mta.example.net"},
       {"X-Stamp-Queue-ID", "0190A1B2C3D40001"},
       {"Arrival-Date", "Thu, 01 Jan 2026 00:00:00 +0000"}},
      {{"Final-Recipient", "rfc822; bob@example.com"},
       {"Action", "failed"},
       {"Status", "5.1.1"},
       {"Remote-MTA", "dns; mx1.example.com"},
       {"Diagnostic-Code",
        "smtp; 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown"},
       {"Last-Attempt-Date", common::rfc5322_date(kLastAttempt)}},
  };
  BOOST_REQUIRE(groups.size() == expected.size());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    BOOST_TEST(groups[i] == expected[i], boost::test_tools::per_element());
  }

  // RET unset: the header section only (RFC 3461 4.3 leaves the choice to us).
  const Entity& returned = r.parts[2];
  BOOST_TEST(returned.get("Content-Type") == "text/rfc822-headers");
  BOOST_TEST(returned.body == kOriginalHeaders);
}

BOOST_AUTO_TEST_CASE(long_diagnostics_are_folded_not_cut) {
  Fixture f;
  std::string words;
  for (int i = 0; i < 60; ++i) words += " word" + std::to_string(i);
  f.input.recipients[0].diagnostic = "550 5.7.1" + words;
  std::string dsn = make_dsn(f.input);
  check_lines(dsn);
  Report r = read_report(dsn);
  BOOST_REQUIRE(r.parts.size() == 3u);
  auto groups = status_groups(r.parts[1]);
  BOOST_REQUIRE(groups.size() == 2u);
  std::string folded = std::string(r.parts[1].body);
  BOOST_TEST(folded.find("\r\n word") != std::string::npos);  // RFC 5322 2.2.3 folding
  for (std::string_view line : split(folded, "\r\n")) BOOST_TEST(line.size() <= 78u);
  // Unfolding gives the reply back exactly.
  const Field& diagnostic = groups[1][4];
  BOOST_TEST(diagnostic.name == "Diagnostic-Code");
  BOOST_TEST(diagnostic.value == "smtp; 550 5.7.1" + words);
}

BOOST_AUTO_TEST_CASE(each_recipient_gets_its_own_group) {
  Fixture f;
  DsnRecipient with_orcpt = failed("bob", "example.com");
  with_orcpt.recipient.orcpt_type = "rfc822";
  with_orcpt.recipient.orcpt = "Bob+list@Example.COM";
  DsnRecipient no_remote = failed("carol", "example.net");
  no_remote.status = "5.4.4";
  no_remote.remote_mta = "";
  no_remote.diagnostic = "";
  no_remote.last_attempt = 0;
  DsnRecipient expired = delayed("dave", "example.org");
  expired.action = "failed";
  expired.status = "4.4.7";
  expired.remote_mta = "mx.example.org";
  expired.diagnostic = "421 4.7.0 Try again later";
  f.input.recipients = {with_orcpt, no_remote, expired};

  std::string dsn = make_dsn(f.input);
  check_lines(dsn);
  Report r = read_report(dsn);
  BOOST_REQUIRE(r.parts.size() == 3u);
  auto groups = status_groups(r.parts[1]);
  std::vector<std::vector<Field>> expected = {
      {{"Reporting-MTA", "dns; mta.example.net"},
       {"X-Stamp-Queue-ID", "0190A1B2C3D40001"},
       {"Arrival-Date", "Thu, 01 Jan 2026 00:00:00 +0000"}},
      {{"Original-Recipient", "rfc822;Bob+list@Example.COM"},
       {"Final-Recipient", "rfc822; bob@example.com"},
       {"Action", "failed"},
       {"Status", "5.1.1"},
       {"Remote-MTA", "dns; mx1.example.com"},
       {"Diagnostic-Code",
        "smtp; 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown"},
       {"Last-Attempt-Date", common::rfc5322_date(kLastAttempt)}},
      {{"Final-Recipient", "rfc822; carol@example.net"}, {"Action", "failed"}, {"Status", "5.4.4"}},
      {{"Final-Recipient", "rfc822; dave@example.org"},
       {"Action", "failed"},
       {"Status", "4.4.7"},
       {"Remote-MTA", "dns; mx.example.org"},
       {"Diagnostic-Code", "smtp; 421 4.7.0 Try again later"},
       {"Last-Attempt-Date", common::rfc5322_date(kLastAttempt)}},
  };
  BOOST_REQUIRE(groups.size() == expected.size());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    BOOST_TEST_CONTEXT("group " << i) {
      BOOST_TEST(groups[i] == expected[i], boost::test_tools::per_element());
    }
  }
  const std::string& text = r.parts[0].body;
  BOOST_TEST(text.find("<bob@example.com>: failed (5.1.1)") != std::string::npos);
  BOOST_TEST(text.find("<carol@example.net>: failed (5.4.4)") != std::string::npos);
  BOOST_TEST(text.find("<dave@example.org>: failed (4.4.7)") != std::string::npos);
  BOOST_TEST(text.find("mx.example.org said: 421 4.7.0 Try again later") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(envid_is_present_only_when_given_and_xtext_encoded) {
  struct Case {
    std::string envid;
    std::string field;  // "<absent>" when there must be none
  };
  const std::vector<Case> cases = {
      {"", "<absent>"},
      {"QQ314159", "QQ314159"},
      {"a+b=c d\xC3\xA9", "a+2Bb+3Dc+20d+C3+A9"},  // RFC 3461 4: '+', '=', SP, 8-bit as +HH
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("envid " << c.envid) {
      Fixture f;
      f.input.envid = c.envid;
      std::string dsn = make_dsn(f.input);
      Report r = read_report(dsn);
      BOOST_REQUIRE(r.parts.size() == 3u);
      auto groups = status_groups(r.parts[1]);
      BOOST_REQUIRE(!groups.empty());
      Entity per_message = as_entity(groups[0]);
      BOOST_TEST(per_message.get("Original-Envelope-Id") == c.field);
      if (!c.envid.empty()) {  // RFC 3464 2.2: after Reporting-MTA, before Arrival-Date
        BOOST_TEST(groups[0][1].name == "Original-Envelope-Id");
      }
      BOOST_TEST(is_7bit(r.parts[1].body));
    }
  }
}

BOOST_AUTO_TEST_CASE(what_is_returned_follows_ret_and_size) {
  struct Case {
    std::string name;
    DsnRet ret;
    std::size_t max_returned_bytes;
    std::string type;
    bool whole;       // the whole original, else its header section
    bool cut_notice;  // the text says the message could not be returned in full
  };
  const std::size_t size = original().size();
  const std::vector<Case> cases = {
      {"unset", DsnRet::Unset, 1 << 20, "text/rfc822-headers", false, false},
      {"HDRS", DsnRet::Headers, 1 << 20, "text/rfc822-headers", false, false},
      {"FULL", DsnRet::Full, 1 << 20, "message/rfc822", true, false},
      {"FULL at exactly the limit", DsnRet::Full, size, "message/rfc822", true, false},
      {"FULL one byte over the limit", DsnRet::Full, size - 1, "text/rfc822-headers", false, true},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Fixture f;
      f.input.ret = c.ret;
      f.input.max_returned_bytes = c.max_returned_bytes;
      std::string dsn = make_dsn(f.input);
      check_lines(dsn);
      Report r = read_report(dsn);
      BOOST_REQUIRE(r.parts.size() == 3u);
      BOOST_TEST(r.parts[2].get("Content-Type") == c.type);
      BOOST_TEST(r.parts[2].body == (c.whole ? original() : std::string(kOriginalHeaders)));
      BOOST_TEST((r.parts[0].body.find("could not be returned in full") != std::string::npos) ==
                 c.cut_notice);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_full_original_with_an_overlong_line_goes_back_as_headers) {
  Fixture f;
  f.message = std::string(kOriginalHeaders) + "\r\n" + std::string(1500, 'x') + "\r\n";
  f.input.original_message = f.message;
  f.input.ret = DsnRet::Full;
  std::string dsn = make_dsn(f.input);
  check_lines(dsn);
  Report r = read_report(dsn);
  BOOST_REQUIRE(r.parts.size() == 3u);
  BOOST_TEST(r.parts[2].get("Content-Type") == "text/rfc822-headers");
  BOOST_TEST(r.parts[2].body == kOriginalHeaders);
  BOOST_TEST(r.parts[0].body.find("could not be returned in full") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_subject_says_delayed_only_when_every_recipient_is) {
  struct Case {
    std::string name;
    std::vector<DsnRecipient> recipients;
    std::string subject;
  };
  const std::vector<Case> cases = {
      {"one failed", {failed("a", "example.com")}, "Undelivered Mail Returned to Sender"},
      {"one delayed", {delayed("a", "example.com")}, "Delayed Mail (still being retried)"},
      {"all delayed",
       {delayed("a", "example.com"), delayed("b", "example.com")},
       "Delayed Mail (still being retried)"},
      {"delayed and failed",
       {delayed("a", "example.com"), failed("b", "example.com")},
       "Undelivered Mail Returned to Sender"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      Fixture f;
      f.input.recipients = c.recipients;
      std::string dsn = make_dsn(f.input);
      check_lines(dsn);
      Report r = read_report(dsn);
      BOOST_TEST(r.top.get("Subject") == c.subject);
      BOOST_REQUIRE(r.parts.size() == 3u);
      auto groups = status_groups(r.parts[1]);
      BOOST_REQUIRE(groups.size() == c.recipients.size() + 1);
      for (std::size_t i = 0; i < c.recipients.size(); ++i) {
        Entity group = as_entity(groups[i + 1]);
        BOOST_TEST(group.get("Action") == c.recipients[i].action);
        BOOST_TEST(group.get("Status") == c.recipients[i].status);
        BOOST_TEST(group.field("Will-Retry-Until") == nullptr);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(non_ascii_addresses_use_the_utf8_address_type) {
  Fixture f;
  f.input.original_sender = {"j\xC3\xB6rg", "example.de"};
  DsnRecipient r1 = failed(
      "b\xC3\xBC"
      "cher+x",
      "example.de");  // büscher+x
  r1.recipient.orcpt_type = "utf-8";
  r1.recipient.orcpt =
      "b\xC3\xBC"
      "cher\\x{2B}x@example.de";  // utf-8-addr-unitext
  DsnRecipient r2 = failed("ascii", "example.de");
  r2.recipient.orcpt_type = "rfc822";
  r2.recipient.orcpt = "\xE2\x82\xAC@example.de";  // "€": not ASCII, so re-typed
  f.input.recipients = {r1, r2};
  std::string dsn = make_dsn(f.input);
  check_lines(dsn);
  Report r = read_report(dsn);
  BOOST_TEST(r.top.get("To") == "<j\xC3\xB6rg@example.de>");
  BOOST_TEST(r.top.get("Content-Transfer-Encoding") == "8bit");  // RFC 2045 6.4
  BOOST_REQUIRE(r.parts.size() == 3u);
  BOOST_TEST(r.parts[0].get("Content-Transfer-Encoding") == "8bit");
  BOOST_TEST(r.parts[0].body.find("<b\xC3\xBC"
                                  "cher+x@example.de>: failed") != std::string::npos);

  // RFC 6533 3: utf-8-addr-xtext keeps message/delivery-status 7-bit.
  BOOST_TEST(r.parts[1].get("Content-Type") == "message/delivery-status");
  BOOST_TEST(r.parts[1].field("Content-Transfer-Encoding") == nullptr);
  BOOST_TEST(is_7bit(r.parts[1].body));
  auto groups = status_groups(r.parts[1]);
  BOOST_REQUIRE(groups.size() == 3u);
  Entity g1 = as_entity(groups[1]);
  BOOST_TEST(g1.get("Original-Recipient") == "utf-8;b\\x{FC}cher\\x{2B}x@example.de");
  BOOST_TEST(g1.get("Final-Recipient") == "utf-8; b\\x{FC}cher\\x{2B}x@example.de");
  Entity g2 = as_entity(groups[2]);
  BOOST_TEST(g2.get("Original-Recipient") == "utf-8;\\x{20AC}@example.de");
  BOOST_TEST(g2.get("Final-Recipient") == "rfc822; ascii@example.de");

  BOOST_TEST(r.parts[2].field("Content-Transfer-Encoding") == nullptr);  // the original is ASCII
}

BOOST_AUTO_TEST_CASE(an_8bit_original_is_returned_as_8bit) {
  Fixture f;
  f.message = std::string(kOriginalHeaders) +
              "\r\nGr\xC3\xBC\xC3\x9F"
              "e\r\n";
  f.input.original_message = f.message;
  f.input.ret = DsnRet::Full;
  std::string dsn = make_dsn(f.input);
  check_lines(dsn);
  Report r = read_report(dsn);
  BOOST_TEST(r.top.get("Content-Transfer-Encoding") == "8bit");
  BOOST_REQUIRE(r.parts.size() == 3u);
  BOOST_TEST(r.parts[0].field("Content-Transfer-Encoding") == nullptr);
  BOOST_TEST(r.parts[2].get("Content-Type") == "message/rfc822");
  BOOST_TEST(r.parts[2].get("Content-Transfer-Encoding") == "8bit");
  BOOST_TEST(r.parts[2].body == f.message);
}

// ---- Untrusted text cannot break the report. ----

BOOST_AUTO_TEST_CASE(hostile_values_stay_inside_their_fields) {
  Fixture f;
  DsnRecipient& r = f.input.recipients[0];
  r.diagnostic = "550 5.1.1 bye\r\nX-Injected: yes\r\n\r\n--fake-boundary\r\n" +
                 std::string(3000, 'A') + " \xFF\xFE tail";
  r.remote_mta = "mx.example.com\r\nX-Injected: yes";
  r.recipient.orcpt_type = "rfc822";
  r.recipient.orcpt = "x\r\nX-Injected: yes";
  f.input.envid = "id\r\nX-Injected: yes";
  // The original's own lines: bare LF, bare CR, and one longer than a line may be.
  f.message = "Subject: a\nX-Long: " + std::string(2000, 'h') + "\r\nX-CR: a\rb\r\n\r\nbody\n";
  f.input.original_message = f.message;

  std::string dsn = make_dsn(f.input);
  check_lines(dsn);
  BOOST_TEST(dsn.find("\r\nX-Injected") == std::string::npos);
  Report report = read_report(dsn);
  BOOST_REQUIRE(report.parts.size() == 3u);
  auto groups = status_groups(report.parts[1]);
  BOOST_REQUIRE(groups.size() == 2u);
  Entity group = as_entity(groups[1]);
  BOOST_TEST(group.get("Remote-MTA") == "dns; mx.example.com  X-Injected: yes");
  BOOST_TEST(group.get("Original-Recipient") == "utf-8;x\\x{0D}\\x{0A}X-Injected:\\x{20}yes");
  const std::string& diagnostic = group.get("Diagnostic-Code");
  BOOST_TEST(
      diagnostic.starts_with("smtp; 550 5.1.1 bye  X-Injected: yes    --fake-boundary  AAA"));
  BOOST_TEST(diagnostic.ends_with(" ?? tail"));  // 7-bit part: 8-bit bytes become '?'
  BOOST_TEST(is_7bit(report.parts[1].body));
  BOOST_TEST(as_entity(groups[0]).get("Original-Envelope-Id") == "id+0D+0AX-Injected:+20yes");

  std::vector<std::string_view> returned = split(report.parts[2].body, "\r\n");
  BOOST_REQUIRE(returned.size() == 4u);  // three header lines and the final CRLF
  BOOST_TEST(returned[0] == "Subject: a");
  BOOST_TEST(returned[1].size() == 998u);
  BOOST_TEST(returned[2] == "X-CR: a b");
}

BOOST_AUTO_TEST_CASE(the_boundary_is_fresh_and_absent_from_the_content) {
  Fixture f;
  f.input.ret = DsnRet::Full;
  std::string first = make_dsn(f.input);
  Report a = read_report(first);
  // An original that quotes the first report's boundary, as a forwarded DSN would.
  f.message =
      std::string(kOriginalHeaders) + "\r\n--" + a.boundary + "\r\n--" + a.boundary + "--\r\n";
  f.input.original_message = f.message;
  std::string second = make_dsn(f.input);
  Report b = read_report(second);
  BOOST_TEST(a.boundary != b.boundary);
  BOOST_REQUIRE(b.parts.size() == 3u);
  BOOST_TEST(b.parts[2].body == f.message);
  for (const Entity& part : b.parts) BOOST_TEST(part.body.find(b.boundary) == std::string::npos);
  BOOST_TEST(a.top.get("Message-ID") != b.top.get("Message-ID"));
}

}  // namespace
}  // namespace mta
