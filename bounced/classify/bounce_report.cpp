// The names of report kinds, classes and reasons. See bounce_report.h.
#include "bounced/classify/bounce_report.h"

#include <array>
#include <utility>

namespace bounced {
namespace {

// In the order of the Reason enum, checked at compile time below.
constexpr std::array<std::pair<Reason, std::string_view>, 36> kReasonNames{{
    {Reason::UserUnknown, "userunknown"},
    {Reason::HostUnknown, "hostunknown"},
    {Reason::HasMoved, "hasmoved"},
    {Reason::NotAccept, "notaccept"},
    {Reason::Suppressed, "suppressed"},
    {Reason::MailboxFull, "mailboxfull"},
    {Reason::Suspend, "suspend"},
    {Reason::TooManyConn, "toomanyconn"},
    {Reason::Speeding, "speeding"},
    {Reason::SystemError, "systemerror"},
    {Reason::SystemFull, "systemfull"},
    {Reason::NetworkError, "networkerror"},
    {Reason::Expired, "expired"},
    {Reason::MailerError, "mailererror"},
    {Reason::OnHold, "onhold"},
    {Reason::Undefined, "undefined"},
    {Reason::Filtered, "filtered"},
    {Reason::Rejected, "rejected"},
    {Reason::Blocked, "blocked"},
    {Reason::BadReputation, "badreputation"},
    {Reason::RequirePtr, "requireptr"},
    {Reason::AuthFailure, "authfailure"},
    {Reason::NoRelaying, "norelaying"},
    {Reason::PolicyViolation, "policyviolation"},
    {Reason::SecurityError, "securityerror"},
    {Reason::SpamDetected, "spamdetected"},
    {Reason::VirusDetected, "virusdetected"},
    {Reason::ContentError, "contenterror"},
    {Reason::NotCompliantRfc, "notcompliantrfc"},
    {Reason::MesgTooBig, "mesgtoobig"},
    {Reason::ExceedLimit, "exceedlimit"},
    {Reason::SyntaxError, "syntaxerror"},
    {Reason::FailedStartTls, "failedstarttls"},
    {Reason::Feedback, "feedback"},
    {Reason::Vacation, "vacation"},
    {Reason::Delivered, "delivered"},
}};

constexpr bool reason_names_in_enum_order() {
  for (std::size_t i = 0; i < kReasonNames.size(); ++i) {
    if (static_cast<std::size_t>(kReasonNames[i].first) != i) return false;
  }
  return true;
}
static_assert(reason_names_in_enum_order(), "kReasonNames must follow the Reason enum");

}  // namespace

std::string_view report_kind_name(ReportKind kind) {
  switch (kind) {
    case ReportKind::Dsn:
      return "dsn";
    case ReportKind::Feedback:
      return "arf";
    case ReportKind::AutoReply:
      return "autoreply";
    case ReportKind::SesJson:
      return "ses";
    case ReportKind::Plain:
      return "plain";
    case ReportKind::Unknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view bounce_class_name(BounceClass klass) {
  switch (klass) {
    case BounceClass::Hard:
      return "hard";
    case BounceClass::Soft:
      return "soft";
    case BounceClass::Undeliverable:
      return "undeliverable";
    case BounceClass::Complaint:
      return "complaint";
    case BounceClass::AutoReply:
      return "autoreply";
    case BounceClass::Delivered:
      return "delivered";
    case BounceClass::Unknown:
      return "unknown";
  }
  return "unknown";
}

std::string_view reason_name(Reason reason) {
  std::size_t index = static_cast<std::size_t>(reason);
  return index < kReasonNames.size() ? kReasonNames[index].second : "undefined";
}

}  // namespace bounced
