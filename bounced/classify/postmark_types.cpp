// The reason -> class and class/reason -> Postmark Type tables. See postmark_types.h.
//
// Postmark's enum (TypeCode): HardBounce 1, Transient 2, Unsubscribe 16,
// AutoResponder 64, DnsError 256, SpamNotification 512, Unknown 2048,
// SoftBounce 4096, VirusNotification 8192, BadEmailAddress 100000,
// SpamComplaint 100001, Blocked 100006, DMARCPolicy 100009.
#include "bounced/classify/postmark_types.h"

#include <array>

namespace bounced {
namespace {

constexpr PostmarkType kHardBounce{"HardBounce", 1};
constexpr PostmarkType kTransient{"Transient", 2};
constexpr PostmarkType kUnsubscribe{"Unsubscribe", 16};
constexpr PostmarkType kAutoResponder{"AutoResponder", 64};
constexpr PostmarkType kDnsError{"DnsError", 256};
constexpr PostmarkType kSpamNotification{"SpamNotification", 512};
constexpr PostmarkType kUnknown{"Unknown", 2048};
constexpr PostmarkType kSoftBounce{"SoftBounce", 4096};
constexpr PostmarkType kVirusNotification{"VirusNotification", 8192};
constexpr PostmarkType kBadEmailAddress{"BadEmailAddress", 100000};
constexpr PostmarkType kSpamComplaint{"SpamComplaint", 100001};
constexpr PostmarkType kBlocked{"Blocked", 100006};
constexpr PostmarkType kDmarcPolicy{"DMARCPolicy", 100009};
// Not a bounce type: Postmark reports deliveries with its Delivery webhook.
constexpr PostmarkType kDelivery{"Delivery", 0};

struct ReasonMapping {
  Reason reason;
  BounceClass klass;
  PostmarkType type;
};

// In the order of the Reason enum (checked below).
constexpr std::array kReasonMappings{
    ReasonMapping{Reason::UserUnknown, BounceClass::Hard, kHardBounce},
    ReasonMapping{Reason::HostUnknown, BounceClass::Hard, kHardBounce},
    ReasonMapping{Reason::HasMoved, BounceClass::Hard, kHardBounce},
    ReasonMapping{Reason::NotAccept, BounceClass::Hard, kHardBounce},
    ReasonMapping{Reason::Suppressed, BounceClass::Hard, kHardBounce},
    ReasonMapping{Reason::MailboxFull, BounceClass::Soft, kSoftBounce},
    ReasonMapping{Reason::Suspend, BounceClass::Soft, kSoftBounce},
    ReasonMapping{Reason::TooManyConn, BounceClass::Soft, kTransient},
    ReasonMapping{Reason::Speeding, BounceClass::Soft, kTransient},
    ReasonMapping{Reason::SystemError, BounceClass::Soft, kTransient},
    ReasonMapping{Reason::SystemFull, BounceClass::Soft, kSoftBounce},
    ReasonMapping{Reason::NetworkError, BounceClass::Soft, kTransient},
    ReasonMapping{Reason::Expired, BounceClass::Soft, kTransient},
    ReasonMapping{Reason::MailerError, BounceClass::Soft, kTransient},
    ReasonMapping{Reason::OnHold, BounceClass::Soft, kUnknown},
    ReasonMapping{Reason::Undefined, BounceClass::Soft, kUnknown},
    ReasonMapping{Reason::Filtered, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::Rejected, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::Blocked, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::BadReputation, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::RequirePtr, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::AuthFailure, BounceClass::Undeliverable, kDmarcPolicy},
    ReasonMapping{Reason::NoRelaying, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::PolicyViolation, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::SecurityError, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::SpamDetected, BounceClass::Undeliverable, kSpamNotification},
    ReasonMapping{Reason::VirusDetected, BounceClass::Undeliverable, kVirusNotification},
    ReasonMapping{Reason::ContentError, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::NotCompliantRfc, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::MesgTooBig, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::ExceedLimit, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::SyntaxError, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::FailedStartTls, BounceClass::Undeliverable, kBlocked},
    ReasonMapping{Reason::Feedback, BounceClass::Complaint, kSpamComplaint},
    ReasonMapping{Reason::Vacation, BounceClass::AutoReply, kAutoResponder},
    ReasonMapping{Reason::Delivered, BounceClass::Delivered, kDelivery},
};

constexpr bool mappings_in_enum_order() {
  for (std::size_t i = 0; i < kReasonMappings.size(); ++i) {
    if (static_cast<std::size_t>(kReasonMappings[i].reason) != i) return false;
  }
  return true;
}
static_assert(mappings_in_enum_order(), "kReasonMappings must follow the Reason enum");

const ReasonMapping& mapping_for(Reason reason) {
  std::size_t index = static_cast<std::size_t>(reason);
  return kReasonMappings[index < kReasonMappings.size()
                             ? index
                             : static_cast<std::size_t>(Reason::Undefined)];
}

// Feedback-Type values (RFC 5965 section 7.3, RFC 6591) that are not spam
// complaints.
PostmarkType complaint_type(std::string_view feedback_type) {
  if (feedback_type == "opt-out" || feedback_type == "unsubscribe") return kUnsubscribe;
  if (feedback_type == "auth-failure" || feedback_type == "dmarc") return kDmarcPolicy;
  if (feedback_type == "virus") return kVirusNotification;
  return kSpamComplaint;
}

}  // namespace

BounceClass class_for_reason(Reason reason, bool temporary) {
  switch (reason) {
    case Reason::Undefined:
    case Reason::OnHold:
      // Nothing more is known than whether the failure is final.
      return temporary ? BounceClass::Soft : BounceClass::Hard;
    case Reason::NotAccept:
    case Reason::Suspend:
    case Reason::MailerError:
      // A null-MX domain, a mailbox disabled or discontinued, the recipient's
      // delivery program failing: final when the server says so with a 5xx (most
      // senders suppress such addresses), soft when it may come back.
      return temporary ? BounceClass::Soft : BounceClass::Hard;
    case Reason::Expired:
      // The queue gave up after temporary failures. While the DSN says it is
      // still trying this is soft; once final, the message is dead but nothing
      // says the address is bad: undeliverable, not suppressed.
      return temporary ? BounceClass::Soft : BounceClass::Undeliverable;
    default:
      return mapping_for(reason).klass;
  }
}

PostmarkType postmark_type(BounceClass klass, Reason reason, std::string_view status,
                           bool dns_failure, std::string_view feedback_type) {
  switch (klass) {
    case BounceClass::Complaint:
      return complaint_type(feedback_type);
    case BounceClass::AutoReply:
      return kAutoResponder;
    case BounceClass::Delivered:
      return kDelivery;
    case BounceClass::Unknown:
      return kUnknown;
    case BounceClass::Hard:
      // RFC 3463 X.1.3: bad destination mailbox address syntax.
      if (status.size() >= 5 && status.substr(1) == ".1.3") return kBadEmailAddress;
      return kHardBounce;
    case BounceClass::Soft:
      if (dns_failure) return kDnsError;
      if (reason == Reason::Undefined || reason == Reason::OnHold) return kTransient;
      return mapping_for(reason).klass == BounceClass::Soft ? mapping_for(reason).type : kTransient;
    case BounceClass::Undeliverable:
      return mapping_for(reason).type;
  }
  return kUnknown;
}

}  // namespace bounced
