// The MIME structure of a report, read with GMime and flattened into what the
// classifier looks at: the top-level headers, the machine-readable parts
// (message/delivery-status, message/feedback-report), the human-readable text
// (decoded to UTF-8), and the messages it carries (the returned original, or a
// forwarded bounce), each read the same way.
//
// Owns every GMime handle and the limits on how much of a hostile message is
// walked. Knows nothing about what a bounce says.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bounced {

// Bounds on the walk; past them the rest of the message is ignored.
inline constexpr std::size_t kMaxMessagesPerInput = 16;  // mbox files hold a few
inline constexpr std::size_t kMaxMimePartsPerMessage = 256;
inline constexpr int kMaxAttachedMessageDepth = 4;  // bounce of a forwarded bounce ...
inline constexpr std::size_t kMaxTextPartBytes = 1024 * 1024;

struct HeaderField {
  std::string name;
  std::string value;  // unfolded, RFC 2047 decoded
};

struct HeaderList {
  std::vector<HeaderField> fields;

  // The first field called `name` (case-insensitive), or empty.
  std::string_view get(std::string_view name) const;
};

struct MessageParts {
  HeaderList headers;
  std::string mime_type;    // lower case, of the top-level part ("multipart/report")
  std::string report_type;  // multipart/report's report-type parameter, lower case
  std::vector<std::string> delivery_status;   // message/(global-)delivery-status bodies
  std::vector<std::string> feedback_reports;  // message/feedback-report bodies
  std::vector<std::string> texts;  // text parts outside the carried messages, UTF-8, in order
  // message/rfc822 (and message/global) parts, and text/rfc822-headers as a
  // message with headers only, in order.
  std::vector<MessageParts> attached;
};

// Every message in `raw`: one, or several when it is an mbox file (it starts
// with a "From " line). Empty only when GMime finds no message at all.
std::vector<MessageParts> read_messages(std::string_view raw);

// The header block at the start of `text` (the original's headers quoted after
// a plain-text notice), read by GMime.
HeaderList read_header_block(std::string_view text);

}  // namespace bounced
