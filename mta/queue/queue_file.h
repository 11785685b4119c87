// QueueFile: the on-disk form of one accepted message, envelope first, then the
// message exactly as received (CRLF lines, dot-stuffing undone), then a trailer
// that records the message length, so a truncated or damaged file is detected:
//
//   STAMP-QUEUE 1
//   id: 0193A4F2C1D0000A
//   arrival: 1795000000
//   tenant: dev
//   ...one "key: value" line per field, values xtext-encoded (RFC 3461)...
//   rcpt: <address> <notify> <orcpt-type> <orcpt>
//   <empty line>
//   <message bytes>
//   STAMP-END 0000000000001234
//
// This file owns the format only; FsSpool owns where and how durably it is written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/result.h"
#include "common/smtp/envelope.h"

namespace mta {

struct QueuedMessage {
  std::string id;
  std::int64_t arrival = 0;  // unix seconds
  std::string tenant;
  std::string client_address;
  std::string helo;
  common::smtp::Envelope envelope;
};

// The text before the message bytes.
std::string encode_queue_header(const QueuedMessage& meta);
// The text after the message bytes.
std::string encode_queue_trailer(std::uint64_t message_length);

struct ParsedQueueFile {
  QueuedMessage meta;
  std::string_view message;  // points into the buffer given to parse_queue_file
};

// Parses a whole queue file; an error says what is wrong (truncated, bad field).
common::Result<ParsedQueueFile> parse_queue_file(std::string_view contents);

}  // namespace mta
