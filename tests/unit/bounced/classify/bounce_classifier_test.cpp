// classify_message on small hand-written reports: a DSN naming two recipients,
// a delayed DSN, an ARF complaint, an RFC 3834 auto-reply, plain-text bounces
// in the Postfix, qmail and Exim styles, an SES notification in its SNS
// envelope, an mbox file with two bounces, a forwarded bounce, the returned
// original's headers, and hostile input that must come back "unknown" without
// crashing.
#include "bounced/classify/bounce_classifier.h"

#include <boost/test/unit_test.hpp>
#include <ostream>
#include <string>
#include <string_view>

namespace bounced {
// For Boost.Test's messages.
std::ostream& operator<<(std::ostream& out, BounceClass klass) {
  return out << bounce_class_name(klass);
}
std::ostream& operator<<(std::ostream& out, Reason reason) { return out << reason_name(reason); }
std::ostream& operator<<(std::ostream& out, ReportKind kind) {
  return out << report_kind_name(kind);
}
}  // namespace bounced

using bounced::BounceClass;
using bounced::BounceReport;
using bounced::BounceResult;
using bounced::classify_message;
using bounced::Reason;
using bounced::ReportKind;

namespace {

// Test messages are written with "\n"; real ones come with CRLF too.
std::string crlf(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

const BounceResult& result_for(const BounceReport& report, std::string_view recipient) {
  for (const BounceResult& result : report.results) {
    if (result.recipient == recipient) return result;
  }
  BOOST_FAIL("no result for " << recipient);
  return report.results.front();
}

constexpr std::string_view kTwoRecipientDsn = R"(Return-Path: <>
From: MAILER-DAEMON@mta.example.net (Mail Delivery System)
To: bounces+tok@rp.example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<gone@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1
    <gone@example.org>: Recipient address rejected: User unknown in local
    recipient table (in reply to RCPT TO command)

<full@example.org>: host mx.example.org[192.0.2.1] said: 552 5.2.2 Mailbox
    full (in reply to RCPT TO command)

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.net

Final-Recipient: rfc822; gone@example.org
Original-Recipient: rfc822;gone@example.org
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 550 5.1.1 <gone@example.org>: Recipient address
    rejected: User unknown in local recipient table

Final-Recipient: rfc822; full@example.org
Action: failed
Status: 5.2.2
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

--b1
Content-Type: text/rfc822-headers

From: app@example.com
To: gone@example.org, full@example.org
Subject: Your invoice
Message-ID: <invoice-42@example.com>
X-Stamp-Queue-Id: 0a1b2c3d4e5f

--b1--
)";

BOOST_AUTO_TEST_CASE(dsn_gives_one_result_per_recipient_group) {
  BounceReport report = classify_message(crlf(kTwoRecipientDsn));
  BOOST_TEST(report.kind == ReportKind::Dsn);
  BOOST_REQUIRE_EQUAL(report.results.size(), 2u);

  const BounceResult& gone = result_for(report, "gone@example.org");
  BOOST_TEST(gone.bounce_class == BounceClass::Hard);
  BOOST_TEST(gone.reason == Reason::UserUnknown);
  BOOST_TEST(gone.status == "5.1.1");
  BOOST_TEST(gone.type == "HardBounce");
  BOOST_TEST(gone.type_code == 1);
  BOOST_TEST(gone.action == "failed");
  BOOST_TEST(gone.remote_mta == "mx.example.org");
  BOOST_TEST(gone.diagnostic.find("User unknown in local recipient table") != std::string::npos);

  const BounceResult& full = result_for(report, "full@example.org");
  BOOST_TEST(full.bounce_class == BounceClass::Soft);
  BOOST_TEST(full.reason == Reason::MailboxFull);
  BOOST_TEST(full.type == "SoftBounce");
  BOOST_TEST(full.type_code == 4096);
}

BOOST_AUTO_TEST_CASE(dsn_returns_the_original_message_headers) {
  BounceReport report = classify_message(kTwoRecipientDsn);
  BOOST_TEST(report.original.message_id == "invoice-42@example.com");
  BOOST_TEST(report.original.stamp_queue_id == "0a1b2c3d4e5f");
  BOOST_TEST(report.original.subject == "Your invoice");
}

BOOST_AUTO_TEST_CASE(delayed_dsn_is_soft_even_for_an_address_problem) {
  constexpr std::string_view kDelayed =
      R"(From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.net>
To: sender@example.com
Subject: Warning: could not send message for past 4 hours
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="d"

--d
Content-Type: text/plain

    **********************************************
    **      THIS IS A WARNING MESSAGE ONLY      **
    **  YOU DO NOT NEED TO RESEND YOUR MESSAGE  **
    **********************************************

--d
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.net

Final-Recipient: RFC822; slow@example.org
Action: delayed
Status: 4.1.1
Diagnostic-Code: SMTP; 450 4.1.1 <slow@example.org>... User unknown (temporary)

--d--
)";
  BounceReport report = classify_message(kDelayed);
  BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
  const BounceResult& result = report.results.front();
  BOOST_TEST(result.recipient == "slow@example.org");
  BOOST_TEST(result.action == "delayed");
  BOOST_TEST(result.bounce_class == BounceClass::Soft);
  BOOST_TEST(result.status == "4.1.1");
}

BOOST_AUTO_TEST_CASE(failed_dsn_after_retries_is_expired) {
  constexpr std::string_view kExpired = R"(From: MAILER-DAEMON@relay.example.net
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="e"

--e
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.net

Final-Recipient: rfc822; far@example.org
Action: failed
Status: 4.4.7
Diagnostic-Code: X-Postfix; connect to mx.example.org[192.0.2.9]:25: Connection
    timed out

--e--
)";
  BounceReport report = classify_message(kExpired);
  BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
  BOOST_TEST(report.results.front().reason == Reason::Expired);
  BOOST_TEST(report.results.front().bounce_class == BounceClass::Undeliverable);
}

BOOST_AUTO_TEST_CASE(arf_report_is_a_complaint_about_original_rcpt_to) {
  constexpr std::string_view kArf = R"(From: feedback@fbl.example.net
To: abuse@example.com
Subject: FW: Weekly news
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="f"

--f
Content-Type: text/plain

This is an email abuse report for an email message received from IP 192.0.2.44.

--f
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Mail-From: <bounces+tok@rp.example.com>
Original-Rcpt-To: <reader@example.net>
Source-IP: 192.0.2.44

--f
Content-Type: message/rfc822

From: news@example.com
To: someone-else@example.net
Subject: Weekly news
Message-ID: <news-7@example.com>

Hello.
--f--
)";
  BounceReport report = classify_message(kArf);
  BOOST_TEST(report.kind == ReportKind::Feedback);
  BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
  const BounceResult& result = report.results.front();
  BOOST_TEST(result.recipient == "reader@example.net");
  BOOST_TEST(result.bounce_class == BounceClass::Complaint);
  BOOST_TEST(result.feedback_type == "abuse");
  BOOST_TEST(result.type == "SpamComplaint");
  BOOST_TEST(result.type_code == 100001);
  BOOST_TEST(report.original.message_id == "news-7@example.com");
}

BOOST_AUTO_TEST_CASE(redacted_arf_falls_back_to_the_reported_messages_to) {
  constexpr std::string_view kRedacted = R"(From: fbl@isp.example.net
Subject: Complaint
Content-Type: multipart/report; report-type=feedback-report; boundary="r"

--r
Content-Type: message/feedback-report

Feedback-Type: opt-out
Version: 1
Original-Rcpt-To: redacted

--r
Content-Type: text/rfc822-headers

From: news@example.com
To: Reader <reader@example.net>
Subject: Weekly news

--r--
)";
  BounceReport report = classify_message(kRedacted);
  BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
  BOOST_TEST(report.results.front().recipient == "reader@example.net");
  BOOST_TEST(report.results.front().type == "Unsubscribe");
}

BOOST_AUTO_TEST_CASE(auto_reply_names_its_sender_as_the_recipient) {
  constexpr std::string_view kVacation = R"(From: Pat Example <pat@example.org>
To: news@example.com
Subject: Out of Office: Weekly news
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8

I am away until Monday and will read your message when I am back.
)";
  BounceReport report = classify_message(kVacation);
  BOOST_TEST(report.kind == ReportKind::AutoReply);
  BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
  const BounceResult& result = report.results.front();
  BOOST_TEST(result.recipient == "pat@example.org");
  BOOST_TEST(result.bounce_class == BounceClass::AutoReply);
  BOOST_TEST(result.reason == Reason::Vacation);
  BOOST_TEST(result.type == "AutoResponder");
  BOOST_TEST(result.type_code == 64);
}

struct PlainCase {
  std::string_view name;
  std::string_view message;
  std::string_view recipient;
  BounceClass bounce_class;
  Reason reason;
};

const PlainCase kPlainCases[] = {
    {"postfix notice without a DSN part",
     "From: MAILER-DAEMON@mta.example.net (Mail Delivery System)\n"
     "Subject: Undelivered Mail Returned to Sender\n\n"
     "This is the mail system at host mta.example.net.\n\n"
     "<nobody@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1\n"
     "    <nobody@example.org>: Recipient address rejected: User unknown (in reply to\n"
     "    RCPT TO command)\n",
     "nobody@example.org", BounceClass::Hard, Reason::UserUnknown},
    {"qmail failure notice",
     "From: MAILER-DAEMON@mx.example.net\nSubject: failure notice\n\n"
     "Hi. This is the qmail-send program at mx.example.net.\n"
     "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
     "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
     "<over@example.org>:\n192.0.2.7 does not like recipient.\n"
     "Remote host said: 552 5.2.2 Mailbox quota exceeded\n\n"
     "--- Below this line is a copy of the message.\n\n"
     "Return-Path: <app@example.com>\nTo: over@example.org\nSubject: hi\n\nhello\n",
     "over@example.org", BounceClass::Soft, Reason::MailboxFull},
    {"exim with X-Failed-Recipients and a blocklist",
     "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
     "Subject: Mail delivery failed: returning message to sender\n"
     "X-Failed-Recipients: listed@example.org\n\n"
     "A message that you sent could not be delivered to one or more of its\n"
     "recipients. This is a permanent error. The following address(es) failed:\n\n"
     "  listed@example.org\n"
     "    host mx.example.org [192.0.2.8]\n"
     "    SMTP error from remote mail server after RCPT TO:<listed@example.org>:\n"
     "    554 5.7.1 Service unavailable; Client host [192.0.2.44] blocked using zen.spamhaus.org\n",
     "listed@example.org", BounceClass::Undeliverable, Reason::Blocked},
    {"sender refused at MAIL FROM",
     "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
     "Subject: Mail delivery failed: returning message to sender\n\n"
     "The following address(es) failed:\n\n"
     "  someone@example.org\n"
     "    SMTP error from remote mail server after MAIL FROM:<app@example.com>:\n"
     "    550 5.1.8 No such domain\n",
     "someone@example.org", BounceClass::Undeliverable, Reason::Rejected},
};

BOOST_AUTO_TEST_CASE(plain_text_bounces) {
  for (const PlainCase& test : kPlainCases) {
    BOOST_TEST_CONTEXT(test.name) {
      BounceReport report = classify_message(test.message);
      BOOST_TEST(report.kind == ReportKind::Plain);
      BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
      BOOST_TEST(report.results.front().recipient == test.recipient);
      BOOST_TEST(report.results.front().bounce_class == test.bounce_class);
      BOOST_TEST(report.results.front().reason == test.reason);
    }
  }
}

BOOST_AUTO_TEST_CASE(ses_bounce_in_an_sns_envelope) {
  constexpr std::string_view kSes =
      "From: AWS Notifications <no-reply@sns.amazonaws.com>\n"
      "Subject: AWS Notification Message\n"
      "Content-Type: text/plain; charset=UTF-8\n\n"
      R"({"Type":"Notification","MessageId":"m-1","Message":"{\"notificationType\":\"Bounce\",)"
      R"(\"bounce\":{\"bounceType\":\"Permanent\",\"bounceSubType\":\"General\",\"bouncedRecipients\":[)"
      R"({\"emailAddress\":\"a@example.org\",\"action\":\"failed\",\"status\":\"5.1.1\",)"
      R"(\"diagnosticCode\":\"smtp; 550 5.1.1 user unknown\"},)"
      R"({\"emailAddress\":\"b@example.org\",\"action\":\"failed\",\"status\":\"5.7.1\",)"
      R"(\"diagnosticCode\":\"smtp; 554 5.7.1 Message rejected as spam\"}]},)"
      R"(\"mail\":{\"messageId\":\"ses-1\",\"headers\":[{\"name\":\"Message-ID\",\"value\":\"<o-1@example.com>\"}]}}"})"
      "\n";
  BounceReport report = classify_message(kSes);
  BOOST_TEST(report.kind == ReportKind::SesJson);
  BOOST_REQUIRE_EQUAL(report.results.size(), 2u);
  BOOST_TEST(result_for(report, "a@example.org").bounce_class == BounceClass::Hard);
  BOOST_TEST(result_for(report, "b@example.org").reason == Reason::SpamDetected);
  BOOST_TEST(report.original.message_id == "o-1@example.com");
}

BOOST_AUTO_TEST_CASE(mbox_file_with_two_bounces_lists_both) {
  std::string mbox = "From MAILER-DAEMON Thu Jan  1 00:00:00 2025\n";
  mbox +=
      "From: MAILER-DAEMON@one.example.net\nSubject: failure notice\n\n"
      "<first@example.org>:\nRemote host said: 550 5.1.1 No such user\n\n";
  mbox += "From MAILER-DAEMON Thu Jan  1 00:00:01 2025\n";
  mbox +=
      "From: MAILER-DAEMON@two.example.net\nSubject: failure notice\n\n"
      "<second@example.org>:\nRemote host said: 552 5.2.2 Mailbox full\n";
  BounceReport report = classify_message(mbox);
  BOOST_REQUIRE_EQUAL(report.results.size(), 2u);
  BOOST_TEST(report.results[0].recipient == "first@example.org");
  BOOST_TEST(report.results[1].recipient == "second@example.org");
}

BOOST_AUTO_TEST_CASE(forwarded_bounce_is_read_from_the_attachment) {
  constexpr std::string_view kForwarded = R"(From: Helpdesk <help@example.com>
To: ops@example.com
Subject: Fwd: Returned mail
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

Could you look at this one?

--outer
Content-Type: message/rfc822

From: MAILER-DAEMON@mx.example.net
Subject: Returned mail: see transcript for details
Content-Type: multipart/report; report-type=delivery-status; boundary="inner"

--inner
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: RFC822; moved@example.org
Action: failed
Status: 5.1.6

--inner--

--outer--
)";
  BounceReport report = classify_message(kForwarded);
  BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
  BOOST_TEST(report.results.front().recipient == "moved@example.org");
  BOOST_TEST(report.results.front().reason == Reason::HasMoved);
}

BOOST_AUTO_TEST_CASE(ordinary_mail_is_unknown) {
  BounceReport report =
      classify_message("From: friend@example.org\nSubject: lunch?\n\nNoon at the usual place.\n");
  BOOST_TEST(report.kind == ReportKind::Unknown);
  BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
  BOOST_TEST(report.results.front().bounce_class == BounceClass::Unknown);
  BOOST_TEST(report.results.front().type == "Unknown");
  BOOST_TEST(report.results.front().type_code == 2048);
}

BOOST_AUTO_TEST_CASE(hostile_input_is_unknown_and_does_not_crash) {
  std::string garbage;
  unsigned state = 12345;
  for (int i = 0; i < 100000; ++i) {
    state = state * 1103515245u + 12345u;
    garbage += static_cast<char>(state >> 16);
  }
  std::string huge_header = "Subject: " + std::string(2 * 1024 * 1024, 'A') + "\n\nbody\n";
  std::string unterminated =
      "Content-Type: multipart/report; report-type=delivery-status; boundary=\"x\"\n\n--x\n"
      "Content-Type: text/plain\n\nnothing to see\n--x\nContent-Type: multipart/mixed; "
      "boundary=\"y\"\n\n--y\n";
  std::string deep;
  for (int i = 0; i < 500; ++i) deep += "Content-Type: message/rfc822\n\n";
  std::string too_big(bounced::kMaxClassifiedMessageBytes + 1, 'x');
  std::string nul_bytes("From: a@b.example\n\n\0\0\0<x@y.example>: 550\0", 42);
  // An SES-looking body nested a million levels deep: the JSON parser must not recurse.
  std::string deep_json = "Subject: AWS Notification Message\n\n{\"notificationType\":\"Bounce\",\"bounce\":" +
                          std::string(1000000, '[') + "\n";

  for (const std::string& input :
       {garbage, huge_header, unterminated, deep, too_big, nul_bytes, deep_json, std::string()}) {
    BounceReport report = classify_message(input);
    BOOST_REQUIRE(!report.results.empty());
    BOOST_TEST(report.results.front().bounce_class == BounceClass::Unknown);
  }
}

BOOST_AUTO_TEST_CASE(dsn_with_a_missing_closing_boundary_is_still_read) {
  std::string message =
      "From: MAILER-DAEMON@mx.example.net\n"
      "Content-Type: multipart/report; report-type=delivery-status; boundary=\"x\"\n\n"
      "--x\nContent-Type: message/delivery-status\n\n"
      "Final-Recipient: rfc822; cut@example.org\nAction: failed\nStatus: 5.1.1\n";
  BounceReport report = classify_message(message);
  BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
  BOOST_TEST(report.results.front().recipient == "cut@example.org");
  BOOST_TEST(report.results.front().bounce_class == BounceClass::Hard);
}

}  // namespace
