// Webhook JSON bodies with Postmark's field names. See webhook_payloads.h.
//
// Written by hand rather than through a JSON library: the shapes are flat and
// fixed, and common::json_quote already escapes strings (quote, backslash,
// control characters as \u00XX). What json_quote does not do is repair invalid
// UTF-8 (it passes bytes >= 0x80 through), and bounce text from the network is
// often Latin-1 or worse, so every string goes through valid_utf8 first.
#include "bounced/webhook/webhook_payloads.h"

#include <set>

#include "common/base/json.h"

namespace bounced::webhook {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// Postmark's bounce type enum, names and descriptions as Postmark publishes
// them (research/peers.md section 2.3; "Typcial" is theirs).
const std::vector<BounceTypeInfo> kBounceTypes = {
    {"HardBounce", 1, "Hard bounce",
     "The server was unable to deliver your message (ex: unknown user, mailbox not found)."},
    {"Transient", 2, "Message delayed",
     "The server could not temporarily deliver your message (ex: Message is delayed due to network "
     "troubles)."},
    {"Unsubscribe", 16, "Unsubscribe request", "Unsubscribe or Remove request."},
    {"Subscribe", 32, "Subscribe request",
     "Subscribe request from someone wanting to get added to the mailing list."},
    {"AutoResponder", 64, "Auto responder",
     "Automatic email responder (ex: \"Out of Office\" or \"On Vacation\")."},
    {"AddressChange", 128, "Address change", "The recipient has requested an address change."},
    {"DnsError", 256, "DNS error", "A temporary DNS error."},
    {"SpamNotification", 512, "Spam notification",
     "The message was delivered, but was either blocked by the user, or classified as spam, bulk "
     "mail, or had "
     "rejected content."},
    {"OpenRelayTest", 1024, "Open relay test",
     "The NDR is actually a test email message to see if the mail server is an open relay."},
    {"Unknown", 2048, "Unknown", "Unable to classify the NDR."},
    {"SoftBounce", 4096, "Soft bounce",
     "Unable to temporarily deliver message (i.e. mailbox full, account disabled, exceeds quota, "
     "out of disk "
     "space)."},
    {"VirusNotification", 8192, "Virus notification",
     "The bounce is actually a virus notification warning about a virus/code infected message."},
    {"ChallengeVerification", 16384, "Spam challenge verification",
     "The bounce is a challenge asking for verification you actually sent the email. Typcial "
     "challenges are made "
     "by Spam Arrest, or MailFrontier Matador."},
    {"BadEmailAddress", 100000, "Invalid email address",
     "The address is not a valid email address."},
    {"SpamComplaint", 100001, "Spam complaint",
     "The subscriber explicitly marked this message as spam."},
    {"ManuallyDeactivated", 100002, "Manually deactivated", "The email was manually deactivated."},
    {"Unconfirmed", 100003, "Registration not confirmed",
     "The subscriber has not clicked on the confirmation link upon registration or import."},
    {"Blocked", 100006, "ISP block", "Blocked from this ISP due to content or blacklisting."},
    {"SMTPApiError", 100007, "SMTP API error",
     "An error occurred while accepting an email through the SMTP API."},
    {"InboundError", 100008, "Processing failed",
     "Unable to deliver inbound message to destination inbound hook."},
    {"DMARCPolicy", 100009, "DMARC Policy", "Email rejected due to DMARC Policy."},
    {"TemplateRenderingFailed", 100010, "Template rendering failed",
     "An error occurred while attempting to render your template."},
};

// A flat JSON object, written in the order fields are added.
class JsonObject {
 public:
  JsonObject() { text_ = "{"; }

  JsonObject& string(std::string_view key, std::string_view value) {
    start(key);
    text_ += common::json_quote(valid_utf8(value));
    return *this;
  }
  JsonObject& nullable(std::string_view key, const std::optional<std::string>& value) {
    if (value) return string(key, *value);
    start(key);
    text_ += "null";
    return *this;
  }
  JsonObject& integer(std::string_view key, std::int64_t value) {
    start(key);
    text_ += std::to_string(value);
    return *this;
  }
  JsonObject& boolean(std::string_view key, bool value) {
    start(key);
    text_ += value ? "true" : "false";
    return *this;
  }
  JsonObject& time(std::string_view key, std::time_t value) {
    return string(key, iso8601_utc(value));
  }
  // A repeated key keeps its first value: JSON objects with duplicate names
  // parse differently in different libraries (RFC 8259 section 4).
  JsonObject& metadata(std::string_view key, const Metadata& metadata) {
    start(key);
    JsonObject inner;
    std::set<std::string> seen;
    for (const auto& [name, value] : metadata) {
      if (seen.insert(valid_utf8(name)).second) inner.string(name, value);
    }
    text_ += inner.finish();
    return *this;
  }
  std::string finish() {
    text_ += '}';
    return std::move(text_);
  }

 private:
  void start(std::string_view key) {
    if (text_.size() > 1) text_ += ',';
    text_ += common::json_quote(valid_utf8(key));
    text_ += ':';
  }

  std::string text_;
};

const BounceTypeInfo& bounce_type_or_unknown(std::string_view type) {
  const BounceTypeInfo* info = find_bounce_type(type);
  return info ? *info : *find_bounce_type("Unknown");
}

// The Bounce shape, shared by Bounce and SpamComplaint (Postmark's order).
std::string bounce_shaped(std::string_view record_type, const BounceTypeInfo& type,
                          const BounceFacts& facts, bool inactive, bool can_activate) {
  JsonObject json;
  json.string("RecordType", record_type)
      .string("MessageStream", facts.stream)
      .integer("ID", facts.id)
      .string("Type", type.type)
      .integer("TypeCode", type.code)
      .string("Name", type.name)
      .string("Tag", facts.tag)
      .string("MessageID", facts.message_id)
      .metadata("Metadata", facts.metadata)
      .integer("ServerID", facts.server_id)
      .string("Description", type.description)
      .string("Details", facts.details)
      .string("Email", facts.email)
      .string("From", facts.from)
      .time("BouncedAt", facts.bounced_at)
      .boolean("DumpAvailable", facts.dump_available)
      .boolean("Inactive", inactive)
      .boolean("CanActivate", can_activate)
      .string("Subject", facts.subject);
  if (facts.content) json.string("Content", *facts.content);
  return json.finish();
}

// The length of the valid UTF-8 sequence at the start of `text` (RFC 3629
// section 4), or 0 when it does not start with one. `*prefix` gets the number
// of bytes that began a valid sequence before it broke (the "maximal subpart"
// Unicode replaces with one U+FFFD).
std::size_t valid_sequence_length(std::string_view text, std::size_t* prefix) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  *prefix = 1;
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // no overlong forms
    if (lead == 0xF4) high = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;  // a continuation byte, C0/C1 (overlong) or F5..FF
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (i >= text.size()) return 0;
    const unsigned char b = byte(i);
    const bool ok = i == 1 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return 0;
    *prefix = i + 1;
  }
  return length;
}

}  // namespace

const BounceTypeInfo* find_bounce_type(std::string_view type) {
  for (const auto& info : kBounceTypes) {
    if (info.type == type) return &info;
  }
  return nullptr;
}

const std::vector<BounceTypeInfo>& bounce_types() { return kBounceTypes; }

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    std::size_t prefix = 0;
    const std::size_t length = valid_sequence_length(text, &prefix);
    if (length > 0) {
      out += text.substr(0, length);
      text.remove_prefix(length);
    } else {
      out += kReplacementCharacter;
      text.remove_prefix(std::min(prefix, text.size()));
    }
  }
  return out;
}

std::string iso8601_utc(std::time_t when) {
  std::tm parts{};
  if (gmtime_r(&when, &parts) == nullptr)
    return "1970-01-01T00:00:00Z";  // out of range for struct tm
  char text[32];
  if (std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts) == 0)
    return "1970-01-01T00:00:00Z";
  return text;
}

std::string bounce_payload(const BounceFacts& facts) {
  return bounce_shaped(kEventBounce, bounce_type_or_unknown(facts.type), facts, facts.inactive,
                       facts.can_activate);
}

std::string spam_complaint_payload(const BounceFacts& facts) {
  // Postmark documents 100001 for SpamComplaint but its own example sends 512
  // (peers.md 2.3); we follow the enum. Receivers should key on Type.
  return bounce_shaped(kEventSpamComplaint, *find_bounce_type("SpamComplaint"), facts,
                       /*inactive=*/true,
                       /*can_activate=*/false);
}

std::string delivery_payload(const DeliveryFacts& facts) {
  JsonObject json;
  json.string("RecordType", kEventDelivery)
      .integer("ServerID", facts.server_id)
      .string("MessageStream", facts.stream)
      .string("MessageID", facts.message_id)
      .string("Recipient", facts.recipient)
      .string("Tag", facts.tag)
      .time("DeliveredAt", facts.delivered_at)
      .string("Details", facts.details)
      .metadata("Metadata", facts.metadata);
  return json.finish();
}

std::string subscription_change_payload(const SubscriptionChangeFacts& facts) {
  JsonObject json;
  json.string("RecordType", kEventSubscriptionChange)
      .nullable("MessageID", facts.message_id)
      .integer("ServerID", facts.server_id)
      .string("MessageStream", facts.stream)
      .time("ChangedAt", facts.changed_at)
      .string("Recipient", facts.recipient)
      .string("Origin", facts.origin)
      .boolean("SuppressSending", facts.suppress_sending)
      .nullable("SuppressionReason", facts.suppression_reason)
      .nullable("Tag", facts.tag)
      .metadata("Metadata", facts.metadata);
  return json.finish();
}

}  // namespace bounced::webhook
