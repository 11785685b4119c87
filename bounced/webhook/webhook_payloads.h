// Webhook payloads: the JSON bodies of the four events stamp-bounced reports,
// with Postmark's field names, order and value shapes (research/peers.md
// section 2), so code written for Postmark's webhooks reads ours unchanged:
//
//   Bounce              RecordType, MessageStream, ID, Type, TypeCode, Name, Tag, MessageID,
//                       Metadata, ServerID, Description, Details, Email, From, BouncedAt,
//                       DumpAvailable, Inactive, CanActivate, Subject[, Content]
//   SpamComplaint       the same shape; Type "SpamComplaint", TypeCode 100001, Inactive true,
//                       CanActivate false
//   Delivery            RecordType, ServerID, MessageStream, MessageID, Recipient, Tag,
//                       DeliveredAt, Details, Metadata
//   SubscriptionChange  RecordType, MessageID, ServerID, MessageStream, ChangedAt, Recipient,
//                       Origin, SuppressSending, SuppressionReason, Tag, Metadata
//
// Times are ISO 8601 UTC with whole seconds ("2026-11-26T16:33:54Z"). Every
// string is valid UTF-8 JSON whatever the input: text from bounces is hostile,
// so invalid UTF-8 becomes U+FFFD and control characters are escaped.
//
// This file builds bodies from plain facts. It does not decide which event a
// report is, which endpoints want it, or how it is sent (webhook_outbox.h,
// webhook_dispatcher.h).
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bounced::webhook {

// RecordType values; also the outbox's `event` column and the X-Stamp-Event header.
inline constexpr std::string_view kEventBounce = "Bounce";
inline constexpr std::string_view kEventSpamComplaint = "SpamComplaint";
inline constexpr std::string_view kEventDelivery = "Delivery";
inline constexpr std::string_view kEventSubscriptionChange = "SubscriptionChange";

// One row of Postmark's bounce type enum: Type, TypeCode, Name, Description.
struct BounceTypeInfo {
  std::string_view type;  // "HardBounce"
  int code;               // 1
  std::string_view name;  // "Hard bounce"
  std::string_view description;
};

// The row for a Postmark Type name, or nullptr when it is not one.
const BounceTypeInfo* find_bounce_type(std::string_view type);
// Every row, in Postmark's order.
const std::vector<BounceTypeInfo>& bounce_types();

using Metadata = std::vector<std::pair<std::string, std::string>>;  // in order; a repeated key
                                                                    // keeps its first value

struct BounceFacts {
  std::int64_t id = 0;           // the bounce row's id ("ID")
  std::string type = "Unknown";  // a Postmark Type; TypeCode, Name and Description follow from it
                                 // (an unknown name is reported as "Unknown", 2048)
  std::string tag;
  std::string message_id;  // of the message that bounced
  std::string stream = "outbound";
  std::string details;  // the remote server's words
  std::string email;    // the recipient that bounced
  std::string from;     // the original sender
  std::string subject;
  Metadata metadata;
  std::time_t bounced_at = 0;
  bool dump_available = false;
  bool inactive = false;       // the address is now suppressed
  bool can_activate = true;    // the tenant may reactivate it
  std::int64_t server_id = 0;  // Postmark's server number; stamp has none, so 0 unless mapped
  std::optional<std::string> content;  // the full bounce ("Content"), when the endpoint asks for it
};

struct DeliveryFacts {
  std::string message_id;
  std::string stream = "outbound";
  std::string recipient;
  std::string tag;
  std::string details;  // "smtp;250 2.0.0 OK ..."
  Metadata metadata;
  std::time_t delivered_at = 0;
  std::int64_t server_id = 0;
};

struct SubscriptionChangeFacts {
  std::optional<std::string> message_id;  // null for manual changes and reactivations
  std::string stream = "outbound";
  std::string recipient;
  std::string origin = "Recipient";               // "Recipient", "Customer", "Admin"
  bool suppress_sending = true;                   // false: the address was reactivated
  std::optional<std::string> suppression_reason;  // "HardBounce", "SpamComplaint",
                                                  // "ManualSuppression"; null on reactivation
  std::optional<std::string> tag;
  Metadata metadata;
  std::time_t changed_at = 0;
  std::int64_t server_id = 0;
};

std::string bounce_payload(const BounceFacts& facts);
// `facts.type`, `inactive` and `can_activate` are ignored: a complaint is always
// SpamComplaint/100001, inactive, and not reactivatable by the tenant.
std::string spam_complaint_payload(const BounceFacts& facts);
std::string delivery_payload(const DeliveryFacts& facts);
std::string subscription_change_payload(const SubscriptionChangeFacts& facts);

// "2026-11-26T16:33:54Z".
std::string iso8601_utc(std::time_t when);

// `text` with every invalid UTF-8 sequence (stray continuation bytes, overlong
// forms, surrogates, code points past U+10FFFF, truncated sequences) replaced
// by U+FFFD, so the JSON around it stays valid (RFC 8259 section 8.1).
std::string valid_utf8(std::string_view text);

}  // namespace bounced::webhook
