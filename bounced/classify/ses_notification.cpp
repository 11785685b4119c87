// Reading SES notifications. See ses_notification.h.
#include "bounced/classify/ses_notification.h"

#include <nlohmann/json.hpp>

#include <array>
#include <sstream>
#include "common/base/ascii.h"

namespace bounced {
namespace {

// JSON through nlohmann/json (Debian's nlohmann-json3-dev): its parser is
// iterative, so hostile nesting cannot exhaust the stack, and reading one value
// from a stream stops where the value ends (SES JSON is often followed by text).
using Json = nlohmann::json;

const Json& member(const Json& object, std::string_view name) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto found = object.find(name);
  return found == object.end() ? kNull : *found;
}

std::string text(const Json& value) { return value.is_string() ? value.get<std::string>() : std::string(); }

// The elements of an array; nothing for anything else.
const Json::array_t& elements(const Json& value) {
  static const Json::array_t kNone;
  return value.is_array() ? value.get_ref<const Json::array_t&>() : kNone;
}

// The first JSON value in `text`; what follows it is ignored.
std::optional<Json> parse_json_prefix(const std::string& text) {
  std::istringstream in(text);
  Json value;
  try {
    in >> value;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
  return value;
}

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
std::optional<Json> notification_object(std::string_view raw_text) {
  std::size_t brace = raw_text.find('{');
  if (brace == std::string_view::npos || brace > 256) return std::nullopt;
  std::optional<Json> value = parse_json_prefix(join_broken_lines(raw_text.substr(brace)));
  if (!value || !value->is_object()) return std::nullopt;
  // SNS wraps the SES notification as a string in its own envelope.
  if (text(member(*value, "Type")) == "Notification" && member(*value, "Message").is_string()) {
    return parse_json_prefix(text(member(*value, "Message")));
  }
  return value;
}

void read_original_headers(const Json& mail, SesNotification& out) {
  out.message_id = text(member(mail, "messageId"));
  for (const Json& header : elements(member(mail, "headers"))) {
    std::string name = common::ascii_lower(text(member(header, "name")));
    if (name == "message-id") out.original_message_id = text(member(header, "value"));
    if (name == "x-stamp-queue-id") out.stamp_queue_id = text(member(header, "value"));
  }
}

}  // namespace

std::optional<SesNotification> read_ses_notification(std::string_view raw_text) {
  std::optional<Json> object = notification_object(raw_text);
  if (!object || !object->is_object()) return std::nullopt;
  // notificationType for SES feedback notifications, eventType for event publishing.
  std::string type = text(member(*object, "notificationType"));
  if (type.empty()) type = text(member(*object, "eventType"));

  SesNotification notification;
  read_original_headers(member(*object, "mail"), notification);
  if (type == "Bounce") {
    const Json& bounce = member(*object, "bounce");
    notification.type = SesNotification::Type::Bounce;
    notification.temporary = text(member(bounce, "bounceType")) == "Transient";
    std::optional<Reason> reason = reason_for_sub_type(text(member(bounce, "bounceSubType")));
    for (const Json& recipient : elements(member(bounce, "bouncedRecipients"))) {
      notification.recipients.push_back({text(member(recipient, "emailAddress")), text(member(recipient, "action")),
                                         text(member(recipient, "status")),
                                         text(member(recipient, "diagnosticCode")), reason});
    }
  } else if (type == "Complaint") {
    const Json& complaint = member(*object, "complaint");
    notification.type = SesNotification::Type::Complaint;
    notification.feedback_type = common::ascii_lower(text(member(complaint, "complaintFeedbackType")));
    for (const Json& recipient : elements(member(complaint, "complainedRecipients"))) {
      notification.recipients.push_back({text(member(recipient, "emailAddress")), {}, {}, {}, Reason::Feedback});
    }
  } else if (type == "Delivery") {
    const Json& delivery = member(*object, "delivery");
    notification.type = SesNotification::Type::Delivery;
    for (const Json& recipient : elements(member(delivery, "recipients"))) {
      notification.recipients.push_back(
          {text(recipient), "delivered", {}, text(member(delivery, "smtpResponse")), Reason::Delivered});
    }
  } else {
    return std::nullopt;
  }
  return notification;
}

}  // namespace bounced
