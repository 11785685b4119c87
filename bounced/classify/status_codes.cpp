// Finding reply and enhanced status codes in text; the RFC 3463 meaning table.
// See status_codes.h.
#include "bounced/classify/status_codes.h"

#include <array>
#include <cstddef>

namespace bounced {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads "C.S.D" at `pos` (class one digit, subject one to three digits, detail one
// to three). Returns its length, or 0.
std::size_t enhanced_code_length(std::string_view text, std::size_t pos) {
  if (pos >= text.size()) return 0;
  char klass = text[pos];
  if (klass != '2' && klass != '4' && klass != '5') return 0;
  if (pos > 0) {
    char before = text[pos - 1];
    // Not the tail of a longer number, a version string or an IP address.
    if (is_digit(before) || before == '.' || (before >= 'a' && before <= 'z') ||
        (before >= 'A' && before <= 'Z'))
      return 0;
  }
  std::size_t i = pos + 1;
  if (i >= text.size() || text[i] != '.') return 0;
  ++i;
  std::size_t subject_start = i;
  while (i < text.size() && is_digit(text[i]) && i - subject_start < 3) ++i;
  if (i == subject_start || i >= text.size() || text[i] != '.') return 0;
  // RFC 3463 subjects run 0..7.
  if (i - subject_start != 1 || text[subject_start] > '7') return 0;
  ++i;
  std::size_t detail_start = i;
  while (i < text.size() && is_digit(text[i]) && i - detail_start < 3) ++i;
  if (i == detail_start) return 0;
  if (i < text.size()) {
    char after = text[i];
    if (is_digit(after)) return 0;
    if (after == '.' && i + 1 < text.size() && is_digit(text[i + 1])) return 0;  // a.b.c.d
  }
  return i - pos;
}

// A three-digit 4xx/5xx reply code standing alone at `pos`.
bool is_reply_code_at(std::string_view text, std::size_t pos) {
  if (pos + 3 > text.size()) return false;
  if (text[pos] != '4' && text[pos] != '5') return false;
  if (!is_digit(text[pos + 1]) || !is_digit(text[pos + 2])) return false;
  if (text[pos + 1] > '5') return false;
  if (pos > 0) {
    char before = text[pos - 1];
    if (!(before == ' ' || before == '\t' || before == '\n' || before == '(' || before == '<' ||
          before == '#' || before == '"' || before == ':' || before == '[' || before == '='))
      return false;
  }
  if (pos + 3 < text.size()) {
    char after = text[pos + 3];
    if (!(after == ' ' || after == '-' || after == '\t' || after == '\n' || after == '\r' ||
          after == ')' || after == ']' || after == ','))
      return false;
  }
  return true;
}

// Skips the separator between a reply code and what follows: "550 5.1.1",
// "550-5.1.1", "550 550 5.1.1" (Gmail repeats the code).
std::size_t after_reply_code(std::string_view text, std::size_t pos) {
  std::size_t i = pos + 3;
  // Amazon SES quotes the remote reply: "550-'5.2.2 ...'".
  while (i < text.size() &&
         (text[i] == ' ' || text[i] == '-' || text[i] == '\t' || text[i] == '\'' || text[i] == '"'))
    ++i;
  if (is_reply_code_at(text, i)) return after_reply_code(text, i);
  return i;
}

struct StatusMeaning {
  std::string_view subject_detail;  // "1.1" for x.1.1
  Reason reason;
};

// RFC 3463 section 3 (subjects 1-7) and the IANA registry's later codes
// (RFC 3886, 4468, 4865, 4954, 5248, 6710, 7293, 7372, 7505, 8689). Codes that
// say only "other" or "undefined" are left out on purpose: the text decides.
constexpr std::array kStatusMeanings{
    // X.1 addressing
    StatusMeaning{"1.1", Reason::UserUnknown},  // bad destination mailbox address
    StatusMeaning{"1.2", Reason::HostUnknown},  // bad destination system address
    StatusMeaning{"1.3", Reason::UserUnknown},  // bad destination mailbox address syntax
    StatusMeaning{"1.4", Reason::UserUnknown},  // destination mailbox address ambiguous
    StatusMeaning{"1.6", Reason::HasMoved},     // destination mailbox has moved, no forwarding
    StatusMeaning{"1.7", Reason::Rejected},     // bad sender's mailbox address syntax
    StatusMeaning{"1.8", Reason::Rejected},     // bad sender's system address
    StatusMeaning{"1.10", Reason::NotAccept},   // recipient address has null MX (RFC 7505)
    // X.2 mailbox
    StatusMeaning{"2.1", Reason::Suspend},      // mailbox disabled, not accepting messages
    StatusMeaning{"2.2", Reason::MailboxFull},  // mailbox full
    StatusMeaning{"2.3", Reason::ExceedLimit},  // message length exceeds administrative limit
    StatusMeaning{"2.4", Reason::SystemError},  // mailing list expansion problem
    // X.3 mail system
    StatusMeaning{"3.0", Reason::SystemError},  // other or undefined mail system status
    StatusMeaning{"3.1", Reason::SystemFull},   // mail system full
    StatusMeaning{"3.2", Reason::NotAccept},    // system not accepting network messages
    StatusMeaning{"3.3", Reason::SystemError},  // system not capable of selected features
    StatusMeaning{"3.4", Reason::MesgTooBig},   // message too big for system
    StatusMeaning{"3.5", Reason::SystemError},  // system incorrectly configured
    // X.4 network and routing
    StatusMeaning{"4.0", Reason::NetworkError},  // other or undefined network or routing status
    StatusMeaning{"4.1", Reason::NetworkError},  // no answer from host
    StatusMeaning{"4.2", Reason::NetworkError},  // bad connection
    StatusMeaning{"4.3", Reason::SystemError},   // directory server failure
    StatusMeaning{"4.4", Reason::HostUnknown},   // unable to route
    StatusMeaning{"4.5", Reason::TooManyConn},   // mail system congestion
    StatusMeaning{"4.6", Reason::NetworkError},  // routing loop detected
    StatusMeaning{"4.7", Reason::Expired},       // delivery time expired
    // X.5 mail delivery protocol
    StatusMeaning{"5.1", Reason::SyntaxError},  // invalid command
    StatusMeaning{"5.2", Reason::SyntaxError},  // syntax error
    StatusMeaning{"5.3", Reason::TooManyConn},  // too many recipients
    StatusMeaning{"5.4", Reason::SyntaxError},  // invalid command arguments
    StatusMeaning{"5.5", Reason::SyntaxError},  // wrong protocol version
    StatusMeaning{"5.6", Reason::SyntaxError},  // authentication exchange line too long
    // X.6 message content or media
    StatusMeaning{"6.0", Reason::ContentError},  // other or undefined media error
    StatusMeaning{"6.1", Reason::ContentError},  // media not supported
    StatusMeaning{"6.2", Reason::ContentError},  // conversion required and prohibited
    StatusMeaning{"6.3", Reason::ContentError},  // conversion required but not supported
    StatusMeaning{"6.4", Reason::ContentError},  // conversion with loss performed
    StatusMeaning{"6.5", Reason::ContentError},  // conversion failed
    StatusMeaning{"6.6", Reason::ContentError},  // message content not available
    StatusMeaning{"6.7", Reason::ContentError},  // non-ASCII addresses not permitted
    StatusMeaning{"6.8", Reason::ContentError},  // UTF-8 string reply required
    StatusMeaning{"6.9", Reason::ContentError},  // UTF-8 header message cannot be transferred
    // X.7 security or policy
    StatusMeaning{"7.0", Reason::SecurityError},     // other or undefined security status
    StatusMeaning{"7.1", Reason::Rejected},          // delivery not authorized, message refused
    StatusMeaning{"7.2", Reason::PolicyViolation},   // mailing list expansion prohibited
    StatusMeaning{"7.3", Reason::SecurityError},     // security conversion required
    StatusMeaning{"7.4", Reason::SecurityError},     // security features not supported
    StatusMeaning{"7.5", Reason::SecurityError},     // cryptographic failure
    StatusMeaning{"7.6", Reason::SecurityError},     // cryptographic algorithm not supported
    StatusMeaning{"7.7", Reason::SecurityError},     // message integrity failure
    StatusMeaning{"7.8", Reason::SecurityError},     // authentication credentials invalid
    StatusMeaning{"7.9", Reason::SecurityError},     // authentication mechanism too weak
    StatusMeaning{"7.10", Reason::FailedStartTls},   // encryption needed
    StatusMeaning{"7.11", Reason::FailedStartTls},   // encryption required for mechanism
    StatusMeaning{"7.12", Reason::SecurityError},    // password transition needed
    StatusMeaning{"7.13", Reason::Suspend},          // user account disabled
    StatusMeaning{"7.14", Reason::SecurityError},    // trust relationship required
    StatusMeaning{"7.15", Reason::PolicyViolation},  // priority level too low
    StatusMeaning{"7.16", Reason::MesgTooBig},       // message too big for specified priority
    StatusMeaning{"7.17", Reason::HasMoved},         // mailbox owner has changed
    StatusMeaning{"7.18", Reason::HasMoved},         // domain owner has changed
    StatusMeaning{"7.19", Reason::PolicyViolation},  // RRVS test cannot be completed
    StatusMeaning{"7.20", Reason::AuthFailure},      // no passing DKIM signature found
    StatusMeaning{"7.21", Reason::AuthFailure},      // no acceptable DKIM signature found
    StatusMeaning{"7.22", Reason::AuthFailure},      // no valid author-matched DKIM signature
    StatusMeaning{"7.23", Reason::AuthFailure},      // SPF validation failed
    StatusMeaning{"7.24", Reason::AuthFailure},      // SPF validation error
    StatusMeaning{"7.25", Reason::RequirePtr},       // reverse DNS validation failed
    StatusMeaning{"7.26", Reason::AuthFailure},      // multiple authentication checks failed
    StatusMeaning{"7.27", Reason::NotAccept},        // sender address has null MX
    StatusMeaning{"7.28", Reason::Speeding},         // mail flood detected
    StatusMeaning{"7.29", Reason::AuthFailure},      // ARC validation failure
    StatusMeaning{"7.30", Reason::FailedStartTls},   // REQUIRETLS support required
    // Exchange Online / Office 365 codes with a documented meaning of their own
    StatusMeaning{"1.90", Reason::Speeding},         // daily recipient limit reached
    StatusMeaning{"2.121", Reason::Speeding},        // recipient's hourly receive limit
    StatusMeaning{"2.122", Reason::Speeding},        // recipient's hourly receive limit
    StatusMeaning{"4.14", Reason::SystemError},      // hop count exceeded, mail loop
    StatusMeaning{"4.310", Reason::HostUnknown},     // DNS domain does not exist
    StatusMeaning{"6.11", Reason::NotCompliantRfc},  // bare line feeds
    StatusMeaning{"7.57", Reason::SecurityError},    // anonymous client not allowed to send
    StatusMeaning{"7.64", Reason::NoRelaying},       // relay access denied (tenant attribution)
    StatusMeaning{"7.124", Reason::Rejected},        // sender not in the allowed-senders list
    StatusMeaning{"7.133", Reason::SecurityError},   // group accepts authenticated senders only
    StatusMeaning{"7.134", Reason::SecurityError},   // mailbox accepts authenticated senders only
    StatusMeaning{"7.509", Reason::AuthFailure},     // sending domain fails DMARC
    StatusMeaning{"7.511", Reason::Blocked},         // banned sender
    StatusMeaning{"7.606", Reason::Blocked},         // banned sending IP
    StatusMeaning{"7.708", Reason::Blocked},         // traffic not accepted from this IP
    StatusMeaning{"7.750", Reason::Blocked},         // unregistered domains blocked
};

}  // namespace

bool is_enhanced_status(std::string_view status) {
  return !status.empty() && enhanced_code_length(status, 0) == status.size();
}

std::string find_enhanced_status(std::string_view text) {
  std::string first;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    if (is_reply_code_at(text, pos)) {
      std::size_t next = after_reply_code(text, pos);
      if (std::size_t length = enhanced_code_length(text, next)) {
        return std::string(text.substr(next, length));
      }
    }
    if (first.empty()) {
      if (std::size_t length = enhanced_code_length(text, pos)) first = text.substr(pos, length);
    }
  }
  return first;
}

std::string find_reply_code(std::string_view text) {
  std::string first;
  for (std::size_t pos = 0; pos < text.size(); ++pos) {
    if (!is_reply_code_at(text, pos)) continue;
    if (enhanced_code_length(text, after_reply_code(text, pos))) {
      return std::string(text.substr(pos, 3));
    }
    if (first.empty()) first = text.substr(pos, 3);
  }
  return first;
}

std::optional<Reason> reason_for_status(std::string_view status) {
  if (!is_enhanced_status(status)) return std::nullopt;
  std::string_view subject_detail = status.substr(2);
  for (const StatusMeaning& meaning : kStatusMeanings) {
    if (meaning.subject_detail == subject_detail) return meaning.reason;
  }
  return std::nullopt;
}

}  // namespace bounced
