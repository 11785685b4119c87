// Amazon SES notifications (bounce, complaint, delivery), as SES sends them to
// an email feedback destination, or wrapped in an SNS "Notification" envelope
// whose "Message" is the same JSON as a string.
// https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bounced/classify/bounce_report.h"

namespace bounced {

struct SesRecipient {
  std::string address;
  std::string action;            // bounces: "failed" (SES writes the DSN Action)
  std::string status;            // bounces: the enhanced status code
  std::string diagnostic;        // bounces: diagnosticCode; deliveries: smtpResponse
  std::optional<Reason> reason;  // from bounceSubType, when it says
};

struct SesNotification {
  enum class Type { Bounce, Complaint, Delivery };
  Type type = Type::Bounce;
  bool temporary = false;     // bounceType Transient
  std::string feedback_type;  // complaintFeedbackType, lower case
  std::vector<SesRecipient> recipients;
  std::string message_id;           // mail.messageId (SES's id of the original)
  std::string original_message_id;  // the original's Message-ID header, when SES copied headers
  std::string stamp_queue_id;       // the original's X-Stamp-Queue-Id header, likewise
};

// The notification in `text` (a text part's body), if it is one.
std::optional<SesNotification> read_ses_notification(std::string_view text);

}  // namespace bounced
