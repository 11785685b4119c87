// QueueFile: the on-disk form of one accepted message, envelope first, then the
// message exactly as received (CRLF lines, dot-stuffing undone), then what was
// only known once the message had streamed through (the "late" block: sender
// mode, Return-Path domain, stream, tag, metadata, and the DKIM-Signature to
// put in front of the message), then a trailer that records both lengths, so a
// truncated or damaged file is detected:
//
//   STAMP-QUEUE 1
//   id: 0193A4F2C1D0000A
//   arrival: 1795000000
//   tenant: dev
//   ...one "key: value" line per field, values xtext-encoded (RFC 3461)...
//   rcpt: <address> <notify> <orcpt-type> <orcpt>
//   <empty line>
//   <message bytes>
//   stream: outbound            <- the late block: "key: value" lines,
//   <empty line>                   an empty line,
//   DKIM-Signature: ...         <- then the bytes to prepend when sending
//   STAMP-END 0000000000001234 00000123   <- message length, late block length
//
// This file owns the format only; FsSpool owns where and how durably it is written.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/result.h"
#include "common/smtp/envelope.h"

namespace mta {

// What the submission learned from the message itself (see the file comment).
struct LateFields {
  std::string sender_mode;         // "aligned", "verified-address", "display-name", or "" (none applied)
  std::string return_path_domain;  // MAIL FROM is rewritten to TOKEN@this; "" keeps the sender as given
  std::string stream;              // message stream, "outbound" by default
  std::string tag;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string prepend;             // header lines sent in front of the message (DKIM-Signature)
};

struct QueuedMessage {
  std::string id;
  std::int64_t arrival = 0;  // unix seconds
  std::string tenant;
  std::string client_address;
  std::string helo;
  common::smtp::Envelope envelope;
  LateFields late;
};

// The text before the message bytes.
std::string encode_queue_header(const QueuedMessage& meta);
// The text after the message bytes: the late block and the trailer.
std::string encode_queue_tail(const LateFields& late, std::uint64_t message_length);

struct ParsedQueueFile {
  QueuedMessage meta;
  std::string_view message;  // points into the buffer given to parse_queue_file
  // The message as it goes out: prepend + message.
  std::string wire_message() const { return meta.late.prepend + std::string(message); }
};

// Parses a whole queue file; an error says what is wrong (truncated, bad field).
common::Result<ParsedQueueFile> parse_queue_file(std::string_view contents);

}  // namespace mta
