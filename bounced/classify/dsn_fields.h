// RFC 3464 delivery-status fields: the header-like "Name: value" groups of a
// message/delivery-status part (also RFC 5965 feedback reports, which use the
// same syntax), and the same fields written inline in a text notice, possibly
// quoted with "> " by a forwarding mail client.
//
// Only reads fields; what they mean for the result is bounce_classifier.cpp's job.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bounced {

struct Field {
  std::string name;   // as written; compare with field_named()
  std::string value;  // unfolded, trimmed
};
using FieldBlock = std::vector<Field>;

enum class FieldLayout {
  Report,  // a message/delivery-status or message/feedback-report body: groups split by blank lines
  Inline,  // free text that contains such fields between other lines, maybe "> " quoted
};

// The groups of fields in `text` (RFC 3464 section 2.1: per-message fields, then
// one group per recipient, separated by blank lines). A recipient field also
// starts a new group when the current one is complete: some MTAs leave the blank
// lines out, and quoting and re-wrapping lose them.
std::vector<FieldBlock> read_field_blocks(std::string_view text, FieldLayout layout);

// The value of the first field called `name` (case-insensitive), or empty.
std::string_view field_named(const FieldBlock& block, std::string_view name);
std::vector<std::string_view> fields_named(const FieldBlock& block, std::string_view name);

// One per-recipient group (RFC 3464 section 2.3).
struct DsnRecipientFields {
  std::string final_recipient;     // the address part of Final-Recipient
  std::string original_recipient;  // the address part of Original-Recipient
  std::string action;              // lower case: failed, delayed, delivered, relayed, expanded
  std::string status;              // the enhanced status code, without comments
  std::string diagnostic_type;     // the Diagnostic-Code's type ("smtp", "x-unix"), lower case
  std::string diagnostic_code;     // Diagnostic-Code without its type ("smtp;")
  std::string remote_mta;          // Remote-MTA without its type ("dns;")
};

struct DeliveryStatus {
  std::string reporting_mta;
  std::vector<DsnRecipientFields> recipients;
};

DeliveryStatus parse_delivery_status(std::string_view text, FieldLayout layout);

// The type before ';' of a typed field ("smtp; 550 ..." -> "smtp"), lower case,
// or empty when the value has none.
std::string type_prefix(std::string_view value);

// "rfc822; <a@b>" -> "a@b": drops the address/diagnostic/MTA type before ';'
// (RFC 3464 section 2.1.2) and the angle brackets around an address.
std::string strip_type_prefix(std::string_view value);

}  // namespace bounced
