// Who bounced, in the notice formats of the common MTA families: synthetic
// bounces written for this test (no sample corpus text), each with the
// recipients the classifier must report and the decoys it must not take
// (help and postmaster addresses, the original's From, Message-IDs, URLs).
#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "bounced/classify/address_scanner.h"
#include "bounced/classify/bounce_classifier.h"

namespace {

struct RecipientCase {
  std::string_view family;
  std::string_view message;
  std::vector<std::string_view> recipients;  // expected, in any order, case-insensitive
};

std::vector<std::string> recipients_of(std::string_view message) {
  std::vector<std::string> found;
  for (const bounced::BounceResult& result : bounced::classify_message(message).results)
    found.push_back(result.recipient);
  return found;
}

bool same_set(const std::vector<std::string>& found,
              const std::vector<std::string_view>& expected) {
  if (found.size() != expected.size()) return false;
  for (std::string_view want : expected) {
    bool present = false;
    for (const std::string& got : found) present = present || bounced::same_address(got, want);
    if (!present) return false;
  }
  return true;
}

std::string joined(const std::vector<std::string>& found) {
  std::string out;
  for (const std::string& address : found) out += (out.empty() ? "" : ", ") + address;
  return out;
}

// --- Structured evidence ------------------------------------------------------------------

constexpr std::string_view kDsnOddSpacing =
    R"(From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.com>
To: app@example.com
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Questions? Write to helpdesk@relay.example.com.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns;relay.example.com

Final-Recipient: RFC822 ;  <Dana.Lee@Example.ORG>
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp;550 5.1.1 unknown user

Original-Recipient: rfc822;<second@example.net>
Final-Recipient: rfc822;second@example.net
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 mailbox full

--b1
Content-Type: text/rfc822-headers

From: Sender Person <sender@example.com>
To: Dana.Lee@example.org, second@example.net
Message-ID: <abc.123@example.com>
Subject: hello

--b1--
)";

constexpr std::string_view kDsnLocalFinalRecipient = R"(From: MAILER-DAEMON@mx.example.org
To: app@example.com
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b2"

--b2
Content-Type: text/plain

The message could not be delivered.

--b2
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Original-Recipient: rfc822; pat@example.org
Final-Recipient: X-Local; |/usr/bin/procmail
Action: failed
Status: 5.0.0

--b2--
)";

constexpr std::string_view kXFailed = R"(From: Mail Delivery System <Mailer-Daemon@mx.example.com>
To: app@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: =?utf-8?q?robin=40example=2Eorg?=,
 kim@example.net

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  robin@example.org
    SMTP error from remote mail server after RCPT TO:<robin@example.org>:
    550 5.1.1 No such user
  kim@example.net
    SMTP error from remote mail server after RCPT TO:<kim@example.net>:
    550 5.1.1 No such user
)";

constexpr std::string_view kArf = R"(From: feedback@fbl.example.net
To: fbl@example.com
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b3"

--b3
Content-Type: text/plain

This is an email abuse report. Contact abuse@fbl.example.net with questions.

--b3
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1.0
Version: 1
Original-Mail-From: <bounce-77@example.com>
Original-Rcpt-To: < reporter@example.net >

--b3
Content-Type: message/rfc822

From: news@example.com
To: reporter@example.net
Subject: offer

buy
--b3--
)";

constexpr std::string_view kSesJson = R"(From: no-reply@sns.amazonaws.com
To: hooks@example.com
Subject: AWS Notification Message
Content-Type: text/plain; charset=UTF-8

{"Type":"Notification","MessageId":"n-9","Message":"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Permanent\",\"bounceSubType\":\"General\",\"bouncedRecipients\":[{\"emailAddress\":\"lee@example.org\",\"action\":\"failed\",\"status\":\"5.1.1\",\"diagnosticCode\":\"smtp; 550 5.1.1 user unknown\"}],\"reportingMTA\":\"dns; a1.example.com\"},\"mail\":{\"messageId\":\"m-9\",\"source\":\"sender@example.com\"}}"}
)";

constexpr std::string_view kDsnBareMailbox = R"(From: MAILER-DAEMON@mx.example.org
To: app@example.com
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b9"

--b9
Content-Type: text/plain

The message could not be delivered.

--b9
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; toni
Action: failed
Status: 5.1.1

--b9
Content-Type: text/rfc822-headers

From: app@example.com
To: Toni <toni@example.org>, other@example.org
Subject: hi

--b9--
)";

// --- Notice lines --------------------------------------------------------------------------

constexpr std::string_view kPostfix = R"(From: MAILER-DAEMON@smtp.example.com (Mail Delivery System)
To: sender@example.com
Subject: Undelivered Mail Returned to Sender

This is the mail system at host smtp.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster@smtp.example.com.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<alex@example.org>: host mx.example.org[192.0.2.4] said: 550 5.1.1
    <alex@example.org>: Recipient address rejected: User unknown (in reply
    to RCPT TO command)

--- Below this line is a copy of the message.

From: sender@example.com
To: alex@example.org
)";

constexpr std::string_view kSendmail =
    R"(From: Mail Delivery Subsystem <MAILER-DAEMON@gw.example.com>
To: sender@example.com
Subject: Returned mail: see transcript for details

The original message was received at Mon, 2 Mar 2026 10:00:00 GMT
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<chris@example.org>
    (reason: 550 5.1.1 User unknown)

   ----- Transcript of session follows -----
... while talking to mx.example.org.:
>>> RCPT To:<chris@example.org>
<<< 550 5.1.1 <chris@example.org>... User unknown
550 5.1.1 <chris@example.org>... User unknown
)";

constexpr std::string_view kSendmailContinuedReply =
    R"(From: Mail Delivery Subsystem <MAILER-DAEMON@gw.example.com>
To: sender@example.com
Subject: Returned mail: User unknown

   ----- Transcript of session follows -----
... while talking to mx.example.org.:
>>> DATA
550-5.1.1 <jo@example.org> mailbox unavailable
550 5.1.1 see https://help.example.org/?user=helper@example.org
)";

constexpr std::string_view kQmail = R"(From: MAILER-DAEMON@mail.example.com
To: sender@example.com
Subject: failure notice

Hi. This is the qmail-send program at mail.example.com.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<sam@example.org>:
192.0.2.9 does not like recipient.
Remote host said: 550 5.1.1 sorry, no mailbox here by that name
Giving up on 192.0.2.9.

--- Below this line is a copy of the message.

Return-Path: <sender@example.com>
From: sender@example.com
To: sam@example.org
)";

constexpr std::string_view kCourier = R"(From: Courier mail server at mx.example.com <@>
To: sender@example.com
Subject: NOTICE: mail delivery status.

This is a delivery status notification from mx.example.com,
running the Courier mail server.

                        UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<taylor@example.org>:
    mx.example.org [192.0.2.11]:
>>> RCPT TO:<taylor@example.org>
<<< 550 5.1.1 <taylor@example.org>... User unknown

If your message was also sent to additional recipients, their delivery
status is not included in this report.
)";

constexpr std::string_view kExchangeX400 =
    R"(From: System Administrator <postmaster@corp.example.com>
To: list-bounces@lists.example.net
Subject: Undeliverable: status report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b4"

--b4
Content-Type: text/plain; charset="iso-8859-1"

Your message

  To:      team@lists.example.net
  Subject: status report
  Sent:    Mon, 2 Mar 2026 10:00:00 -0500

did not reach the following recipient(s):

c=US;a= ;p=Corp;o=Main;dda:SMTP=MORGAN@CORP.EXAMPLE.COM; on Mon, 2 Mar 2026
10:00:05 -0500
    The recipient name is not recognized
    MSEXCH:IMS:Corp:Main:MX01 0 (000C05A6) Unknown Recipient

--b4
Content-Type: message/rfc822

From: Writer <writer@example.net>
To: team@lists.example.net
Subject: status report

text
--b4--
)";

constexpr std::string_view kExchangeGroups = R"(From: postmaster@corp.example.com
To: sender@example.com
Subject: Undeliverable: quarterly numbers
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b5"

--b5
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Delivery has failed to these recipients or groups:

Jamie Fox (jamie.fox@corp.example.com)
The e-mail address you entered couldn't be found. Please check the recipie=
nt's e-mail address and try to resend the message. If the problem continu=
es, please contact your helpdesk at it-helpdesk@corp.example.com.

Drew Park (drew.park@corp.example.com)
The recipient's mailbox is full and can't accept messages now.

--b5
Content-Type: message/rfc822

From: Sender <sender@example.com>
To: jamie.fox@corp.example.com, drew.park@corp.example.com
Subject: quarterly numbers

numbers
--b5--
)";

constexpr std::string_view kOffice365HtmlOnly =
    R"(From: Microsoft Outlook <postmaster@tenant.example.com>
To: sender@example.com
Subject: Undeliverable: invoice
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b6"

--b6
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

PGh0bWw+PGhlYWQ+PHN0eWxlPi5ib2R5IHsgZm9udDogMTJweCB9PC9zdHlsZT48L2hlYWQ+PGJv
ZHk+PHA+WW91ciBtZXNzYWdlIHRvIDxhIGhyZWY9Im1haWx0bzpyaXZlckB0ZW5hbnQuZXhhbXBs
ZS5jb20iPnJpdmVyJiM2NDt0ZW5hbnQuZXhhbXBsZS5jb208L2E+IGNvdWxkbid0IGJlIGRlbGl2
ZXJlZC48L3A+PHA+PGEgaHJlZj0iaHR0cHM6Ly9zdXBwb3J0LmV4YW1wbGUuY29tL2hlbHA/dT1z
dXBwb3J0LWRlc2tAZXhhbXBsZS5jb20iPk1vcmUgaGVscDwvYT48L3A+PHA+UmVtb3RlIFNlcnZl
ciByZXR1cm5lZCAnNTUwIDUuMS4xIFJFU09MVkVSLkFEUi5SZWNpcE5vdEZvdW5kOyBub3QgZm91
bmQnPC9wPjwvYm9keT48L2h0bWw+
--b6--
)";

constexpr std::string_view kGmailOwnLine =
    R"(From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: sender@example.com
Subject: Delivery Status Notification (Failure)

Delivery to the following recipient failed permanently:

     quinn@example.org

Technical details of permanent failure:
Google tried to deliver your message, but it was rejected by the server for
the recipient domain example.org by mx.example.org. [192.0.2.20].

The error that the other server returned was:
550-5.1.1 The email account that you tried to reach does not exist. Please try
550-5.1.1 double-checking the recipient's email address for typos or
550 5.1.1 unnecessary spaces. Learn more at https://support.google.com/mail/?p=NoSuchUser
)";

constexpr std::string_view kGmailNew =
    R"(From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: sender@example.com
Subject: Delivery Status Notification (Failure)
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b7"

--b7
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to reese@example.org because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.google.com/mail/answer/6596

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist.

--b7
Content-Type: message/rfc822

From: Sender <sender@example.com>
To: reese@example.org
Subject: hi

hi
--b7--
)";

constexpr std::string_view kYahoo = R"(From: MAILER-DAEMON@yahoo.example.com
To: sender@example.com
Subject: Failure Notice

Sorry, we were unable to deliver your message to the following address.

<blake@example.org>:
Remote host said: 550 5.1.1 <blake@example.org>: Recipient address rejected [RCPT_TO]

--- Below this line is a copy of the message.
)";

constexpr std::string_view kAolBareName =
    R"(From: "Mail Delivery Subsystem" <MAILER-DAEMON@mx1.mail.example.com>
To: <news-bounces@lists.example.net>
Subject: Mail Delivery Problem

Your mail to the following recipients could not be delivered because
they are not accepting mail from news@lists.example.net:
	skyler99
)";

constexpr std::string_view kSendGrid = R"(From: SendGrid <no-reply@sendgrid.example.net>
To: sender@example.com
Subject: Undelivered Mail Returned to Sender

This is an automatically generated message from SendGrid.

I'm sorry to have to tell you that your message was not able to be
delivered to one of its intended recipients.

If you require assistance with this, please contact SendGrid support.

casey@example.org: 550 5.1.1 The email account that you tried to reach does not exist
)";

constexpr std::string_view kDomino = R"(From: Postmaster@notes.example.com
To: sender@example.com
Subject: DELIVERY FAILURE: User jordan (jordan@notes.example.com) not listed in Domino Directory

Your message

  Subject: schedule

was not delivered to:

  jordan@notes.example.com

because:

  User jordan (jordan@notes.example.com) not listed in Domino Directory
)";

constexpr std::string_view kGroupWise = R"(From: Mail Delivery System <postmaster@gw.example.com>
To: sender@example.com
Subject: Undeliverable Mail

The message that you sent was undeliverable to the following:
	riley@gw.example.com (user not found)

Possibly truncated original addressee:
	riley@gw.example.com
)";

constexpr std::string_view kMessagingServer =
    R"(From: Internet Mail Delivery <postmaster@ms.example.com>
To: sender@example.com
Subject: Delivery Notification: Delivery has failed

This report relates to a message you sent with the following header fields:

  Message-id: <0123456789.abcdef@mail.example.com>
  Date: Mon, 02 Mar 2026 10:00:00 +0000
  From: Sender Person <sender@example.com>
  To: avery@ms.example.com

Your message cannot be delivered to the following recipients:

  Recipient address: avery@ms.example.com
  Reason: Remote SMTP server has rejected address
)";

constexpr std::string_view kOpenSmtpd = R"(From: Mailer Daemon <MAILER-DAEMON@smtpd.example.com>
To: sender@example.com
Subject: Delivery status notification: error

Hi!

This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail.

An error has occurred while attempting to deliver a message for
the following list of recipients:

parker@example.org: 550 5.1.1 Invalid recipient

Below is a copy of the original message:
)";

constexpr std::string_view kMessageLabs =
    R"(From: Mail Delivery System <MAILER-DAEMON@messagelabs.example.com>
To: sender@example.com
Subject: Mail Delivery Failure

This is an automatically generated Delivery Status Notification.

Delivery to the following recipients failed.

       harper@example.org

Visit https://www.example.com/support/?contact=support@messagelabs.example.com for help.
)";

constexpr std::string_view kMxLogic = R"(From: postmaster@mxlogic.example.net
To: sender@example.com
Subject: Delivery Status Notification (Failure)

--- The following addresses had delivery problems ---

<emerson@example.org>   (5.1.1 <emerson@example.org>... User unknown)
)";

constexpr std::string_view kBarracuda = R"(From: Barracuda <postmaster@barracuda.example.com>
To: sender@example.com
Subject: Message you sent blocked by our bulk email filter

Your message to: finley@example.org
was blocked by our Spam Firewall. The email you sent with the following subject has NOT BEEN DELIVERED:

Subject: offer
)";

constexpr std::string_view kJapaneseCarrier = R"(From: MAILER-DAEMON@ezweb.example.ne.jp
To: sender@example.com
Subject: =?ISO-2022-JP?B?GyRCJEgkSyQrJC8lYSE8JWsbKEI=?= Mail Delivery Failure
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

VGhlIG1haWwgd2FzIG5vdCBkZWxpdmVyZWQuCuS7peS4i+OBruWum+WFiOOBq+mFjeS/oeOBp+OB
jeOBvuOBm+OCk+OBp+OBl+OBn+OAggoKICBoaW5hdGFAZXp3ZWIuZXhhbXBsZS5uZS5qcAo=
)";

constexpr std::string_view kGermanNotice = R"(From: MAILER-DAEMON@mail.example.de
To: sender@example.com
Subject: Unzustellbar: Termin

Ihre Nachricht konnte nicht zugestellt werden an folgende Empfänger:

   Empfänger: kai.schmidt@example.de
   Grund: Postfach nicht vorhanden
)";

constexpr std::string_view kUrlAndMessageIdDecoys = R"(From: MAILER-DAEMON@relay.example.com
To: sender@example.com
Subject: Undeliverable message

Your message <20260302.55555@relay.example.com> could not be delivered.
Details: https://status.example.com/lookup?addr=lookup@status.example.com
Recipient: morgan.ray@example.org
)";

constexpr std::string_view kExchangeX400Rfc822 =
    R"(From: System Administrator <postmaster@corp.example.com>
To: sender@example.com
Subject: Undeliverable: plans

Your message

  To:      ops@corp.example.com
  Subject: plans

did not reach the following recipient(s):

c=US;a= ;p=Corp;o=Main;dda:RFC-822=lee.k(a)corp.example.com; on Mon, 2 Mar 2026
    The recipient name is not recognized
)";

constexpr std::string_view kExchange2007 = R"(From: postmaster@corp.example.com
To: sender@example.com
Subject: Undeliverable: plans

Delivery has failed to these recipients or distribution lists:

sage@corp.example.com<mailto:sage@corp.example.com>
The recipient's e-mail address was not found in the recipient's e-mail system.
Please check the e-mail address, or provide the following diagnostic text to
your system administrator, who can reach it-support@corp.example.com.

Diagnostic information for administrators:

Generating server: mx.corp.example.com

sage@corp.example.com
#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##
)";

constexpr std::string_view kSupportLine = R"(From: MAILER-DAEMON@relay.example.com
To: sender@example.com
Subject: Undelivered Mail Returned to Sender

If you need help with this report, write to:
   support@relay.example.com

<dakota@example.org>: host mx.example.org[192.0.2.4] said: 550 5.1.1 unknown
)";

constexpr std::string_view kMimecast = R"(From: Mimecast <postmaster@mimecast.example.com>
To: sender@example.com
Subject: Undeliverable message

Your message couldn't be delivered to the recipient(s) below:

  ellis@example.org

Reason: Recipient address rejected: Access denied
)";

constexpr std::string_view kReturnedFromOnly = R"(From: MAILER-DAEMON@relay.example.com
To: sender@example.com
Subject: Returned mail: User unknown

Your message could not be delivered: user unknown.
The message was written by original.author@example.com and sent on Monday.

----- Original message -----
From: original.author@example.com
To: jesse@example.org
Subject: report
)";

constexpr std::string_view kExchange2003Quoted =
    R"(From: System Administrator <postmaster@corp.example.com>
To: sender@example.com
Subject: Undeliverable: plans
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"

<html><body><p>Your message did not reach some or all of the intended recipients.</p>
<p>&nbsp;&nbsp;Subject: plans<br>&nbsp;&nbsp;Sent: 3/2/2026 10:00 AM</p>
<p>The following recipient(s) cannot be reached:</p>
<p>&nbsp;&nbsp;&nbsp;&nbsp;'quincy&#64;corp.example.com' on 3/2/2026 10:00 AM<br>
&nbsp;&nbsp;&nbsp;&nbsp;550 5.1.1 User unknown</p>
<p>For assistance, email us at service-desk@corp.example.com.</p>
</body></html>
)";

constexpr std::string_view kReplyLine = R"(From: Delivery Report <reports@esp.example.net>
To: sender@example.com
Subject: Undelivered Mail Returned to Sender

This is an automatically generated message.

Your message was not able to reach one of its intended recipients.

jules:000123:<jules@example.org> : 192.0.2.7 : mx.example.org:[192.0.2.8] : 550 5.1.1 <jules@example.org>... User Unknown
)";

constexpr std::string_view kListManagerRefusal = R"(From: club-admin@lists.example.org
To: sender@example.com
Subject: You sender@example.com are not member (club ML)
X-MLServer: list manager 4.0
X-ML-Info: If you have a question, please contact club-admin@lists.example.org

You are not a member of this mailing list <club@lists.example.org>.

If you know the general guide of this list, please send mail with
the mail body

	guide

to the address

	club-ctl@lists.example.org
)";

constexpr std::string_view kGSuite = R"(From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: sender@example.com
Subject: Delivery Status Notification (Delay)

** Message not delivered **

There was a problem delivering your message to morgan.lee@example.org. See the
technical details below, or try resending in a few minutes.

The response was:
452 4.2.2 The email account that you tried to reach is over quota.
)";

constexpr std::string_view kDocomo =
    R"(From: Mail Delivery Subsystem <MAILER-DAEMON@docomo.example.ne.jp>
To: sender@example.com
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: text/plain; charset="ISO-2022-JP"

The following recipients were not delivered.

  <tomo-77@docomo.example.ne.jp>
    550 Unknown user tomo-77@docomo.example.ne.jp
)";

constexpr std::string_view kQuotedIdFields = R"(From: MAILER-DAEMON@relay.example.com
To: sender@example.com
Subject: Undeliverable message

Message-ID:
  <20260302100000.77777@mail.example.com>
References: <older.1@mail.example.com>
  <older.2@mail.example.com>

<noel@example.org>: host mx.example.org said: 550 5.1.1 no such user
)";

// --- The returned original ---------------------------------------------------------------

constexpr std::string_view kOnlyReturnedTo = R"(From: MAILER-DAEMON@relay.example.com
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b8"

--b8
Content-Type: text/plain

Your message could not be delivered: the remote server refused it.

--b8
Content-Type: message/rfc822

From: Sender <sender@example.com>
Cc: rowan@example.org
Subject: hi

hi
--b8--
)";

constexpr std::string_view kAutoReply = R"(From: Lane Grey <lane@example.org>
To: sender@example.com
Subject: Out of Office: hi
Auto-Submitted: auto-replied

I am away until Monday. For urgent matters write to deputy@example.org.
)";

const std::vector<RecipientCase> kCases{
    {"dsn-odd-spacing", kDsnOddSpacing, {"dana.lee@example.org", "second@example.net"}},
    {"dsn-local-final-recipient", kDsnLocalFinalRecipient, {"pat@example.org"}},
    {"dsn-bare-mailbox", kDsnBareMailbox, {"toni@example.org"}},
    {"exim-x-failed", kXFailed, {"robin@example.org", "kim@example.net"}},
    {"arf", kArf, {"reporter@example.net"}},
    {"ses-json", kSesJson, {"lee@example.org"}},
    {"postfix", kPostfix, {"alex@example.org"}},
    {"sendmail", kSendmail, {"chris@example.org"}},
    {"sendmail-continued-reply", kSendmailContinuedReply, {"jo@example.org"}},
    {"qmail", kQmail, {"sam@example.org"}},
    {"courier", kCourier, {"taylor@example.org"}},
    {"exchange-x400", kExchangeX400, {"morgan@corp.example.com"}},
    {"exchange-groups",
     kExchangeGroups,
     {"jamie.fox@corp.example.com", "drew.park@corp.example.com"}},
    {"office365-html", kOffice365HtmlOnly, {"river@tenant.example.com"}},
    {"gmail-own-line", kGmailOwnLine, {"quinn@example.org"}},
    {"gmail-new", kGmailNew, {"reese@example.org"}},
    {"yahoo", kYahoo, {"blake@example.org"}},
    {"aol-bare-name", kAolBareName, {"skyler99@example.com"}},
    {"sendgrid", kSendGrid, {"casey@example.org"}},
    {"domino", kDomino, {"jordan@notes.example.com"}},
    {"groupwise", kGroupWise, {"riley@gw.example.com"}},
    {"messagingserver", kMessagingServer, {"avery@ms.example.com"}},
    {"opensmtpd", kOpenSmtpd, {"parker@example.org"}},
    {"messagelabs", kMessageLabs, {"harper@example.org"}},
    {"mxlogic", kMxLogic, {"emerson@example.org"}},
    {"barracuda", kBarracuda, {"finley@example.org"}},
    {"japanese-carrier", kJapaneseCarrier, {"hinata@ezweb.example.ne.jp"}},
    {"german", kGermanNotice, {"kai.schmidt@example.de"}},
    {"url-and-message-id-decoys", kUrlAndMessageIdDecoys, {"morgan.ray@example.org"}},
    {"exchange-x400-rfc822", kExchangeX400Rfc822, {"lee.k@corp.example.com"}},
    {"exchange-2007", kExchange2007, {"sage@corp.example.com"}},
    {"support-line", kSupportLine, {"dakota@example.org"}},
    {"mimecast", kMimecast, {"ellis@example.org"}},
    {"returned-from-only", kReturnedFromOnly, {"jesse@example.org"}},
    {"exchange-2003-html-as-text", kExchange2003Quoted, {"quincy@corp.example.com"}},
    {"reply-line", kReplyLine, {"jules@example.org"}},
    {"list-manager-refusal", kListManagerRefusal, {"club@lists.example.org"}},
    {"gsuite", kGSuite, {"morgan.lee@example.org"}},
    {"docomo", kDocomo, {"tomo-77@docomo.example.ne.jp"}},
    {"quoted-id-fields", kQuotedIdFields, {"noel@example.org"}},
    {"returned-cc", kOnlyReturnedTo, {"rowan@example.org"}},
    {"autoreply", kAutoReply, {"lane@example.org"}},
};

}  // namespace

BOOST_AUTO_TEST_CASE(each_family_names_its_recipients) {
  for (const RecipientCase& test : kCases) {
    BOOST_TEST_CONTEXT(test.family) {
      std::vector<std::string> found = recipients_of(test.message);
      BOOST_TEST(same_set(found, test.recipients), "found [" << joined(found) << "]");
    }
  }
}

BOOST_AUTO_TEST_CASE(opening_lines_with_reply_codes_and_bullets) {
  BOOST_TEST(bounced::address_opening_line("550-5.1.1 <a@example.org> unknown") == "a@example.org");
  BOOST_TEST(bounced::address_opening_line("550 5.1.1 <a@example.org>: rejected") ==
             "a@example.org");
  BOOST_TEST(bounced::address_opening_line("- a@example.org (user unknown)") == "a@example.org");
  BOOST_TEST(bounced::address_opening_line("a@example.org<mailto:a@example.org>") ==
             "a@example.org");
  BOOST_TEST(bounced::address_opening_line("a@example.org<b").empty());
  BOOST_TEST(bounced::address_opening_line("550 5.1.1 unknown").empty());
}
