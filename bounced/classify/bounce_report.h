// What the bounce classifier says about one incoming report: the kinds of report,
// the classes and reasons, and one result per recipient the report speaks of.
// Plain data and the names the JSON output, the webhooks and the suppression list
// use; deciding lives in bounce_classifier.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bounced {

// What the message is, before anything is said about its recipients.
enum class ReportKind {
  Dsn,        // RFC 3464 delivery status notification (also written inline in a text notice)
  Feedback,   // RFC 5965 ARF feedback report (spam complaint, opt-out, auth failure)
  AutoReply,  // RFC 3834 automatic response (vacation, out of office)
  SesJson,    // Amazon SES / SNS JSON notification
  Plain,      // a human-readable bounce without a machine-readable part
  Unknown,    // nothing recognisable
};

// Our classes (see the corpus README): what the daemon does with the recipient.
enum class BounceClass {
  Hard,           // the address does not exist or is permanently unusable: suppress it
  Soft,           // temporary: mailbox full, try again later, delayed, expired
  Undeliverable,  // the address may exist, this message or sender was refused (policy,
                  // blocklist, spam filter, content, authentication): do not suppress
  Complaint,      // the recipient reported the message (ARF, feedback loop)
  AutoReply,      // an automatic answer; nothing failed
  Delivered,      // a positive DSN
  Unknown,        // nothing can be said
};

// Fine-grained reasons, named as Sisimai names them.
enum class Reason {
  UserUnknown,
  HostUnknown,
  HasMoved,
  NotAccept,
  Suppressed,
  MailboxFull,
  Suspend,
  TooManyConn,
  Speeding,
  SystemError,
  SystemFull,
  NetworkError,
  Expired,
  MailerError,
  OnHold,
  Undefined,
  Filtered,
  Rejected,
  Blocked,
  BadReputation,
  RequirePtr,
  AuthFailure,
  NoRelaying,
  PolicyViolation,
  SecurityError,
  SpamDetected,
  VirusDetected,
  ContentError,
  NotCompliantRfc,
  MesgTooBig,
  ExceedLimit,
  SyntaxError,
  FailedStartTls,
  Feedback,
  Vacation,
  Delivered,
};

std::string_view report_kind_name(ReportKind kind);     // "dsn", "arf", "autoreply", ...
std::string_view bounce_class_name(BounceClass klass);  // "hard", "soft", "undeliverable", ...
std::string_view reason_name(Reason reason);            // "userunknown", "mailboxfull", ...

struct BounceResult {
  std::string recipient;  // the address the report speaks of; empty when it could not be found
  BounceClass bounce_class = BounceClass::Unknown;
  Reason reason = Reason::Undefined;
  std::string type;           // Postmark bounce Type ("HardBounce", "Blocked", ...)
  int type_code = 2048;       // Postmark TypeCode (2048 = Unknown)
  std::string status;         // RFC 3463 enhanced status code ("5.1.1"); empty when none was given
  std::string reply_code;     // SMTP reply code ("550"); empty when none was given
  std::string diagnostic;     // the remote server's words, whitespace folded, bounded
  std::string remote_mta;     // DSN Remote-MTA, without its type
  std::string action;         // DSN Action (failed, delayed, delivered, relayed, expanded)
  std::string feedback_type;  // ARF Feedback-Type for complaints ("abuse", "opt-out", ...)
};

// The message that bounced, as far as the report returns it (message/rfc822,
// text/rfc822-headers, or the headers quoted after a plain notice).
struct OriginalMessage {
  std::string message_id;      // Message-ID, without the angle brackets
  std::string stamp_queue_id;  // X-Stamp-Queue-Id, when stamp-mta sent it
  std::string from;
  std::string to;
  std::string subject;
};

struct BounceReport {
  ReportKind kind = ReportKind::Unknown;
  std::vector<BounceResult> results;  // one per recipient the report speaks of
  OriginalMessage original;
};

}  // namespace bounced
