// Reading SES notifications. See ses_notification.h.
#include "bounced/classify/ses_notification.h"

#include <array>

#include "bounced/classify/json_value.h"
#include "common/base/ascii.h"

namespace bounced {
namespace {

struct SubTypeReason {
  std::string_view sub_type;
  Reason reason;
};

// bounceSubType values, as SES documents them; "General" and "Undetermined"
// leave the reason to the status code and diagnostic.
constexpr std::array kSubTypeReasons{
    SubTypeReason{"NoEmail", Reason::UserUnknown},
    SubTypeReason{"Suppressed", Reason::Suppressed},
    SubTypeReason{"OnAccountSuppressionList", Reason::Suppressed},
    SubTypeReason{"MailboxFull", Reason::MailboxFull},
    SubTypeReason{"MessageTooLarge", Reason::MesgTooBig},
    SubTypeReason{"ContentRejected", Reason::ContentError},
    SubTypeReason{"AttachmentRejected", Reason::PolicyViolation},
};

std::optional<Reason> reason_for_sub_type(std::string_view sub_type) {
  for (const SubTypeReason& row : kSubTypeReasons) {
    if (row.sub_type == sub_type) return row.reason;
  }
  return std::nullopt;
}

// SES writes the notification on one line, longer than RFC 5322's 998 bytes;
// Sendmail splits such lines with "!" + newline + space. Undo that.
std::string join_broken_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '!') {
      std::size_t next = i + 1;
      if (next < text.size() && text[next] == '\r') ++next;
      if (next + 1 < text.size() && text[next] == '\n' && text[next + 1] == ' ') {
        i = next + 1;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// The notification object: the text itself, or the SNS envelope's Message.
std::optional<JsonValue> notification_object(std::string_view raw_text) {
  std::size_t brace = raw_text.find('{');
  if (brace == std::string_view::npos || brace > 256) return std::nullopt;
  std::string text = join_broken_lines(raw_text.substr(brace));
  std::optional<JsonValue> value = parse_json_prefix(text);
  if (!value || !value->is_object()) return std::nullopt;
  if ((*value)["Type"].text() == "Notification" && (*value)["Message"].is_string()) {
    std::string inner = (*value)["Message"].text();
    return parse_json_prefix(inner);
  }
  return value;
}

void read_original_headers(const JsonValue& mail, SesNotification& out) {
  out.message_id = mail["messageId"].text();
  for (const JsonValue& header : mail["headers"].elements()) {
    std::string name = common::ascii_lower(header["name"].text());
    if (name == "message-id") out.original_message_id = header["value"].text();
    if (name == "x-stamp-queue-id") out.stamp_queue_id = header["value"].text();
  }
}

}  // namespace

std::optional<SesNotification> read_ses_notification(std::string_view text) {
  std::optional<JsonValue> object = notification_object(text);
  if (!object || !object->is_object()) return std::nullopt;
  // notificationType for SES feedback notifications, eventType for event publishing.
  std::string type = (*object)["notificationType"].text();
  if (type.empty()) type = (*object)["eventType"].text();

  SesNotification notification;
  read_original_headers((*object)["mail"], notification);
  if (type == "Bounce") {
    const JsonValue& bounce = (*object)["bounce"];
    notification.type = SesNotification::Type::Bounce;
    notification.temporary = bounce["bounceType"].text() == "Transient";
    std::optional<Reason> reason = reason_for_sub_type(bounce["bounceSubType"].text());
    for (const JsonValue& recipient : bounce["bouncedRecipients"].elements()) {
      notification.recipients.push_back({recipient["emailAddress"].text(),
                                         recipient["action"].text(), recipient["status"].text(),
                                         recipient["diagnosticCode"].text(), reason});
    }
  } else if (type == "Complaint") {
    const JsonValue& complaint = (*object)["complaint"];
    notification.type = SesNotification::Type::Complaint;
    notification.feedback_type = common::ascii_lower(complaint["complaintFeedbackType"].text());
    for (const JsonValue& recipient : complaint["complainedRecipients"].elements()) {
      notification.recipients.push_back(
          {recipient["emailAddress"].text(), {}, {}, {}, Reason::Feedback});
    }
  } else if (type == "Delivery") {
    const JsonValue& delivery = (*object)["delivery"];
    notification.type = SesNotification::Type::Delivery;
    for (const JsonValue& recipient : delivery["recipients"].elements()) {
      notification.recipients.push_back(
          {recipient.text(), "delivered", {}, delivery["smtpResponse"].text(), Reason::Delivered});
    }
  } else {
    return std::nullopt;
  }
  return notification;
}

}  // namespace bounced
