// Parsing of SMTP command lines: the verb, and the MAIL FROM / RCPT TO paths
// with their ESMTP parameters (RFC 5321 4.1.2, RFC 1870, 6152, 6531, 3461, 4954).
// Pure functions over one line; the state machine decides what is allowed when.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "common/smtp/envelope.h"
#include "common/smtp/reply.h"

namespace common::smtp {

struct CommandLine {
  std::string verb;       // upper-cased: "MAIL"
  std::string_view args;  // the rest after one space, not trimmed further
};

// Splits "mail FROM:<a@b>" into verb "MAIL" and args "FROM:<a@b>".
CommandLine split_command(std::string_view line);

// args is what follows the verb: "FROM:<a@b> SIZE=10".
std::expected<MailFrom, Reply> parse_mail_from(std::string_view args);
std::expected<Recipient, Reply> parse_rcpt_to(std::string_view args, bool smtputf8);

// RFC 3461 4: xtext is printable ASCII with "+XX" hex escapes.
std::expected<std::string, std::string> decode_xtext(std::string_view text);
std::string encode_xtext(std::string_view text);

// RFC 5321 4.5.3.1: size limits of the parts of a path.
inline constexpr std::size_t kMaxLocalPart = 64;
inline constexpr std::size_t kMaxDomain = 255;
inline constexpr std::size_t kMaxPath = 256;
// RFC 3461 4.4: ENVID is at most 100 characters.
inline constexpr std::size_t kMaxEnvid = 100;

}  // namespace common::smtp
