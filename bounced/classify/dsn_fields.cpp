// Reading RFC 3464 / RFC 5965 field groups. See dsn_fields.h.
#include "bounced/classify/dsn_fields.h"

#include <cstddef>

#include "common/base/ascii.h"
#include "common/base/ascii.h"

namespace bounced {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view text) {
  while (!text.empty() && (is_blank(text.front()) || text.front() == '\n')) text.remove_prefix(1);
  while (!text.empty() && (is_blank(text.back()) || text.back() == '\n')) text.remove_suffix(1);
  return text;
}

// "> > Final-Recipient: ..." -> "Final-Recipient: ..."
std::string_view strip_quote_marks(std::string_view line) {
  while (!line.empty() &&
         (line.front() == '>' || (line.front() == ' ' && line.size() > 1 && line[1] == '>'))) {
    line.remove_prefix(1);
  }
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  return line;
}

// The length of "Name" when the line starts "Name:" (RFC 5322 field-name
// characters, as RFC 3464 section 2.1.1 uses them), else 0.
std::size_t field_name_length(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && i < 64) {
    char c = line[i];
    bool name_char = common::ascii_isalnum(c) ||
                     c == '-' || c == '_';
    if (!name_char) break;
    ++i;
  }
  if (i == 0 || i >= line.size() || line[i] != ':') return 0;
  return i;
}

bool is_recipient_field(std::string_view name) {
  return common::equals_ignoring_ascii_case(name, "Final-Recipient") ||
         common::equals_ignoring_ascii_case(name, "Original-Recipient");
}

bool block_has(const FieldBlock& block, std::string_view name) {
  for (const Field& field : block) {
    if (common::equals_ignoring_ascii_case(field.name, name)) return true;
  }
  return false;
}

// A recipient group is complete once it has named its recipient and said what
// happened (RFC 3464 does not fix the order of the fields within a group).
bool starts_new_recipient_group(const FieldBlock& block, std::string_view name) {
  if (!is_recipient_field(name)) return false;
  if (block_has(block, name)) return true;
  // Action or Status after the group's last recipient field closes it.
  for (std::size_t i = block.size(); i-- > 0;) {
    if (is_recipient_field(block[i].name)) return false;
    if (common::equals_ignoring_ascii_case(block[i].name, "Action") ||
        common::equals_ignoring_ascii_case(block[i].name, "Status")) {
      for (std::size_t j = i; j-- > 0;) {
        if (is_recipient_field(block[j].name)) return true;
      }
      return false;
    }
  }
  return false;
}

std::string first_token(std::string_view value) {
  value = trim(value);
  std::size_t end = 0;
  while (end < value.size() && !is_blank(value[end]) && value[end] != '(' && value[end] != ';')
    ++end;
  return std::string(value.substr(0, end));
}

// The length of the "type;" at the start of a typed value, or 0. The type is an
// atom ("rfc822", "utf-8", "smtp", "dns", "x-unix"); a ';' deep in a diagnostic
// sentence is not one.
std::size_t type_prefix_length(std::string_view value) {
  std::size_t semicolon = value.find(';');
  if (semicolon == std::string_view::npos || semicolon == 0 || semicolon > 32) return 0;
  if (value.substr(0, semicolon).find_first_of(" \t<@") != std::string_view::npos) return 0;
  return semicolon + 1;
}

}  // namespace

std::vector<FieldBlock> read_field_blocks(std::string_view text, FieldLayout layout) {
  std::vector<FieldBlock> blocks;
  FieldBlock current;
  bool in_field = false;  // the last line was a field, so an indented line continues it
  auto finish_block = [&] {
    if (!current.empty()) blocks.push_back(std::move(current));
    current.clear();
    in_field = false;
  };

  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (layout == FieldLayout::Inline) line = strip_quote_marks(line);

    if (trim(line).empty()) {
      finish_block();
    } else if (is_blank(line.front())) {
      // RFC 5322 section 2.2.3 folding: the line continues the field before it.
      if (in_field && !current.empty()) {
        std::string& value = current.back().value;
        if (value.size() < 4096) {
          if (!value.empty()) value += ' ';
          value += trim(line);
        }
      }
    } else if (std::size_t name_length = field_name_length(line)) {
      std::string_view name = line.substr(0, name_length);
      if (starts_new_recipient_group(current, name)) finish_block();
      current.push_back(Field{std::string(name), std::string(trim(line.substr(name_length + 1)))});
      in_field = true;
    } else {
      in_field = false;  // prose between fields (Inline), or garbage (Report): skipped
    }
    if (end == text.size()) break;
  }
  finish_block();
  return blocks;
}

std::string_view field_named(const FieldBlock& block, std::string_view name) {
  for (const Field& field : block) {
    if (common::equals_ignoring_ascii_case(field.name, name)) return field.value;
  }
  return {};
}

std::vector<std::string_view> fields_named(const FieldBlock& block, std::string_view name) {
  std::vector<std::string_view> values;
  for (const Field& field : block) {
    if (common::equals_ignoring_ascii_case(field.name, name)) values.push_back(field.value);
  }
  return values;
}

std::string type_prefix(std::string_view value) {
  value = trim(value);
  std::size_t length = type_prefix_length(value);
  return length ? common::ascii_lower(trim(value.substr(0, length - 1))) : std::string();
}

std::string strip_type_prefix(std::string_view value) {
  value = trim(value);
  value = trim(value.substr(type_prefix_length(value)));
  if (value.size() >= 2 && value.front() == '<' && value.back() == '>') {
    value = trim(value.substr(1, value.size() - 2));
  }
  return std::string(value);
}

DeliveryStatus parse_delivery_status(std::string_view text, FieldLayout layout) {
  DeliveryStatus status;
  for (const FieldBlock& block : read_field_blocks(text, layout)) {
    std::string_view final_recipient = field_named(block, "Final-Recipient");
    std::string_view original_recipient = field_named(block, "Original-Recipient");
    if (final_recipient.empty() && original_recipient.empty()) {
      // Per-message fields (RFC 3464 section 2.2).
      if (status.reporting_mta.empty())
        status.reporting_mta = strip_type_prefix(field_named(block, "Reporting-MTA"));
      continue;
    }
    DsnRecipientFields recipient;
    recipient.final_recipient = strip_type_prefix(final_recipient);
    recipient.original_recipient = strip_type_prefix(original_recipient);
    recipient.action = common::ascii_lower(first_token(field_named(block, "Action")));
    recipient.status = first_token(field_named(block, "Status"));
    recipient.diagnostic_type = type_prefix(field_named(block, "Diagnostic-Code"));
    recipient.diagnostic_code = strip_type_prefix(field_named(block, "Diagnostic-Code"));
    recipient.remote_mta = strip_type_prefix(field_named(block, "Remote-MTA"));
    // Inline text mentions "Final-Recipient:" in prose too; a group that says
    // nothing about the delivery is not a recipient group.
    if (layout == FieldLayout::Inline && recipient.action.empty() && recipient.status.empty() &&
        recipient.diagnostic_code.empty())
      continue;
    status.recipients.push_back(std::move(recipient));
  }
  return status;
}

}  // namespace bounced
