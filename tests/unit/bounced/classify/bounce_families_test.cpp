// Whole bounces in the shapes the common MTA families send, written for this
// test (no sample corpus text): the report layout of each family around a
// rejection the reason rules must read right, including DSNs whose Status says
// only 5.0.0 while the server's words say more, and a non-English notice.
#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>

#include "bounced/classify/bounce_classifier.h"

using bounced::BounceClass;
using bounced::Reason;
using bounced::ReportKind;

namespace {

struct FamilyCase {
  std::string_view family;
  std::string_view message;
  std::string_view recipient;
  ReportKind kind;
  BounceClass bounce_class;
  Reason reason;
  std::string_view status;
};

constexpr std::string_view kPostfixDmarc = R"(From: MAILER-DAEMON@out.example.com (Mail Delivery System)
To: app@example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="pf"

--pf
Content-Type: text/plain; charset=us-ascii

This is the mail system at host out.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<reader@example.net>: host mx.example.net[198.51.100.5] said: 550 5.7.26
    This mail has been blocked because the sender is unauthenticated. (in
    reply to end of DATA command)

--pf
Content-Type: message/delivery-status

Reporting-MTA: dns; out.example.com
Arrival-Date: Mon,  2 Mar 2026 10:00:00 +0000

Final-Recipient: rfc822; reader@example.net
Action: failed
Status: 5.7.26
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.7.26 This mail has been blocked because the sender
    is unauthenticated.

--pf--
)";

constexpr std::string_view kSendmailGenericStatus = R"(From: Mail Delivery Subsystem <MAILER-DAEMON@gw.example.com>
To: <app@example.com>
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="sm"

--sm
Content-Type: text/plain

The original message was received at Mon, 2 Mar 2026 10:00:00 GMT
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<buyer@example.org>
    (reason: 554 5.7.1 Rejected: message classified as spam)

   ----- Transcript of session follows -----
... while talking to mx.example.org.:
>>> DATA
<<< 554 5.7.1 Rejected: message classified as spam
554 5.0.0 Service unavailable

--sm
Content-Type: message/delivery-status

Reporting-MTA: dns; gw.example.com

Final-Recipient: RFC822; buyer@example.org
Action: failed
Status: 5.0.0
Remote-MTA: DNS; mx.example.org
Diagnostic-Code: SMTP; 554 5.7.1 Rejected: message classified as spam

--sm--
)";

constexpr std::string_view kEximQuota = R"(From: Mail Delivery System <Mailer-Daemon@mx.example.com>
To: app@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: hoarder@example.org
Auto-Submitted: auto-replied

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  hoarder@example.org
    host mx.example.org [203.0.113.9]
    SMTP error from remote mail server after RCPT TO:<hoarder@example.org>:
    552 5.2.2 The users mailfolder is over the allowed quota

------ This is a copy of the message, including all the headers. ------

Return-path: <app@example.com>
From: app@example.com
To: hoarder@example.org
Subject: Weekly report
)";

constexpr std::string_view kExchangeBannedIp = R"(From: postmaster@contoso.example
To: app@example.com
Subject: Undeliverable: Quarterly figures
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="ex"

--ex
Content-Type: text/plain; charset=us-ascii

Delivery has failed to these recipients or groups:

cfo@contoso.example
Your message wasn't delivered because the recipient's email provider rejected it.

--ex
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.protection.example.net

Final-Recipient: rfc822; cfo@contoso.example
Action: failed
Status: 5.7.606
Diagnostic-Code: smtp; 550 5.7.606 Access denied, banned sending IP [192.0.2.44]. To
    request removal from this list please visit the delist portal

--ex--
)";

constexpr std::string_view kGmailNoAccount = R"(From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: app@example.com
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="gm"

--gm
Content-Type: text/plain; charset=UTF-8

Address not found

Your message wasn't delivered to typo@example.com because the address couldn't
be found, or is unable to receive mail.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist. Please try
double-checking the recipient's email address for typos or unnecessary spaces.

--gm
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com

Final-Recipient: rfc822; typo@example.com
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.com. (192.0.2.8, the server for the domain example.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does
    not exist. Please try double-checking the recipient's email address for typos
    or unnecessary spaces.

--gm--
)";

constexpr std::string_view kQmailRcpthosts = R"(From: MAILER-DAEMON@mail.example.com
To: app@example.com
Subject: failure notice

Hi. This is the qmail-send program at mail.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<partner@example.org>:
198.51.100.20 does not like recipient.
Remote host said: 553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)
Giving up on 198.51.100.20.

--- Below this line is a copy of the message.

Return-Path: <app@example.com>
To: partner@example.org
Subject: Invoice
)";

constexpr std::string_view kOrangeFrench = R"(From: Mail Delivery System <Mailer-Daemon@relay.example.com>
To: app@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: abonne@example.fr

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  abonne@example.fr
    host smtp-in.example.fr [192.0.2.70]
    SMTP error from remote mail server after RCPT TO:<abonne@example.fr>:
    552 5.2.2 Boite du destinataire pleine. Recipient overquota.
)";

constexpr std::string_view kMessageLabsRelay = R"(From: MAILER-DAEMON@out.example.com (Mail Delivery System)
To: app@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="ml"

--ml
Content-Type: message/delivery-status

Reporting-MTA: dns; out.example.com

Final-Recipient: rfc822; desk@example.co.uk
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 553-you are trying to use me [cluster-7.gw.example.net] as a
    relay, but I have not been configured to let you (192.0.2.44) do this.

--ml--
)";

const FamilyCase kFamilyCases[] = {
    {"postfix: unauthenticated sender", kPostfixDmarc, "reader@example.net", ReportKind::Dsn,
     BounceClass::Undeliverable, Reason::AuthFailure, "5.7.26"},
    {"sendmail: Status 5.0.0, the reply says spam", kSendmailGenericStatus, "buyer@example.org",
     ReportKind::Dsn, BounceClass::Undeliverable, Reason::SpamDetected, "5.7.1"},
    {"exim: qmail-style quota wording", kEximQuota, "hoarder@example.org", ReportKind::Plain,
     BounceClass::Soft, Reason::MailboxFull, "5.2.2"},
    {"office 365: banned sending IP", kExchangeBannedIp, "cfo@contoso.example", ReportKind::Dsn,
     BounceClass::Undeliverable, Reason::Blocked, "5.7.606"},
    {"gmail: no such account", kGmailNoAccount, "typo@example.com", ReportKind::Dsn,
     BounceClass::Hard, Reason::UserUnknown, "5.1.1"},
    {"qmail: not in rcpthosts", kQmailRcpthosts, "partner@example.org", ReportKind::Plain,
     BounceClass::Undeliverable, Reason::NoRelaying, "5.7.1"},
    {"orange via exim: French quota", kOrangeFrench, "abonne@example.fr", ReportKind::Plain,
     BounceClass::Soft, Reason::MailboxFull, "5.2.2"},
    {"messagelabs: used as a relay, Status 5.0.0", kMessageLabsRelay, "desk@example.co.uk",
     ReportKind::Dsn, BounceClass::Undeliverable, Reason::NoRelaying, "5.0.0"},
};

BOOST_AUTO_TEST_CASE(family_bounces_are_classified) {
  for (const FamilyCase& test : kFamilyCases) {
    BOOST_TEST_CONTEXT(test.family) {
      bounced::BounceReport report = bounced::classify_message(test.message);
      BOOST_TEST(bounced::report_kind_name(report.kind) == bounced::report_kind_name(test.kind));
      BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
      const bounced::BounceResult& result = report.results.front();
      BOOST_TEST(result.recipient == test.recipient);
      BOOST_TEST(bounced::bounce_class_name(result.bounce_class) ==
                 bounced::bounce_class_name(test.bounce_class));
      BOOST_TEST(bounced::reason_name(result.reason) == bounced::reason_name(test.reason));
      BOOST_TEST(result.status == test.status);
    }
  }
}

// A "user unknown" that comes only after the message was sent is the remote
// filter's answer, not its address book's (the corpus README's "filtered").
BOOST_AUTO_TEST_CASE(user_unknown_after_data_is_filtered) {
  constexpr std::string_view kAfterData = R"(From: Mail Delivery System <Mailer-Daemon@mx.example.com>
To: app@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: late@example.org

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  late@example.org
    host mx.example.org [203.0.113.9]
    SMTP error from remote mail server after end of data:
    550 5.1.1 User unknown
)";
  bounced::BounceReport report = bounced::classify_message(kAfterData);
  BOOST_REQUIRE_EQUAL(report.results.size(), 1u);
  BOOST_TEST(bounced::reason_name(report.results.front().reason) == "filtered");
  BOOST_TEST(bounced::bounce_class_name(report.results.front().bounce_class) == "undeliverable");
}

}  // namespace
