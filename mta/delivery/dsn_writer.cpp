// make_dsn: the text of a delivery status notification (RFC 3464) in a
// multipart/report (RFC 6522). See dsn_writer.h.
//
// Owns the report's layout and every escaping decision: remote replies and
// envelope values are untrusted text and never start a header or a MIME part of
// their own. It does not decide who gets a DSN (NOTIFY, null senders) or queue
// it; the caller does. Output invariants: CRLF line endings, no line over 998
// octets (RFC 5322 2.1.1), and a boundary that occurs in no part. The
// machine-readable part is always 7-bit; the text part and the returned message
// are 8-bit only when the addresses or the original are.
#include "mta/delivery/dsn_writer.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <initializer_list>
#include <random>

#include "common/base/time_format.h"

namespace mta {
namespace {

constexpr std::size_t kMaxLineLength = 998;  // RFC 5322 2.1.1, without the CRLF
constexpr std::size_t kFoldColumn = 78;      // RFC 5322 2.1.1 SHOULD
constexpr char32_t kReplacement = 0xFFFD;

bool is_8bit(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

std::string random_hex(std::size_t bytes) {
  std::array<unsigned char, 16> random{};
  bytes = std::min(bytes, random.size());
  if (RAND_bytes(random.data(), static_cast<int>(bytes)) != 1) {
    // Only uniqueness matters here (Message-ID, boundary), not secrecy, and the
    // boundary is checked against the content anyway.
    std::random_device device;
    for (std::size_t i = 0; i < bytes; ++i) random[i] = static_cast<unsigned char>(device());
  }
  std::string out;
  char hex[3];
  for (std::size_t i = 0; i < bytes; ++i) {
    std::snprintf(hex, sizeof hex, "%02x", random[i]);
    out += hex;
  }
  return out;
}

// One code point of well-formed UTF-8 starting at `at` (advanced past it), or
// U+FFFD for one byte of anything else: overlong forms, surrogates, > U+10FFFF.
char32_t next_code_point(std::string_view text, std::size_t& at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  auto malformed = [&] {
    ++at;
    return kReplacement;
  };
  unsigned char lead = byte(at);
  std::size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
  if (length == 1) return text[at++];
  if (length == 0 || lead > 0xF4 || at + length > text.size()) return malformed();
  char32_t value = lead & (0x7F >> length);
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xC0) != 0x80) return malformed();
    value = (value << 6) | (byte(at + i) & 0x3F);
  }
  constexpr std::array<char32_t, 5> kMinimum{0, 0, 0x80, 0x800, 0x10000};
  if (value < kMinimum[length] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return malformed();
  }
  at += length;
  return value;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// Untrusted text for one line: control characters (CR and LF above all) become
// spaces. `ascii`: everything else outside printable ASCII becomes '?';
// otherwise well-formed UTF-8 stays and malformed bytes become U+FFFD.
std::string one_line(std::string_view text, bool ascii) {
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    char32_t c = next_code_point(text, at);
    if (c < 0x20 || c == 0x7F) {
      out += ' ';
    } else if (c >= 0x80 && ascii) {
      out += '?';
    } else {
      append_utf8(out, c);
    }
  }
  return out;
}

// RFC 3461 4: xtext, for Original-Envelope-Id.
std::string xtext(std::string_view text) {
  std::string out;
  char hex[4];
  for (unsigned char c : text) {
    if (c >= 33 && c <= 126 && c != '+' && c != '=') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(hex, sizeof hex, "+%02X", c);
      out += hex;
    }
  }
  return out;
}

// RFC 6533 3: utf-8-addr-xtext, the 7-bit form of a "utf-8" address, so the
// delivery-status part stays 7-bit even for an SMTPUTF8 address. Everything but
// QCHAR becomes \x{HEX}. An ORCPT of type utf-8 already is utf-8-addr-unitext,
// whose '\' starts an EmbeddedUnicodeChar: `unitext` keeps those.
std::string utf8_addr_xtext(std::string_view address, bool unitext) {
  std::string out;
  char hex[16];
  for (std::size_t at = 0; at < address.size();) {
    char32_t c = next_code_point(address, at);
    bool qchar = c >= 0x21 && c <= 0x7E && c != '+' && c != '=' && (c != '\\' || unitext);
    if (qchar) {
      out += static_cast<char>(c);
    } else {
      std::snprintf(hex, sizeof hex, "\\x{%02X}", static_cast<unsigned>(c));
      out += hex;
    }
  }
  return out;
}

bool is_printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// "rfc822; addr" for a printable ASCII address, else "utf-8; <xtext form>"
// (RFC 3464 2.3.2, RFC 6533 3). `separator` is what follows the ';'.
std::string typed_address(std::string_view type, std::string_view address,
                          std::string_view separator) {
  std::string out;
  bool utf8_type = equals_ignoring_case(type, "utf-8");
  if (!utf8_type && is_printable_ascii(address)) {
    out = one_line(type, true);
    out += ';';
    out += separator;
    out += address;
  } else if (utf8_type || equals_ignoring_case(type, "rfc822")) {
    out = "utf-8;";
    out += separator;
    out += utf8_addr_xtext(address, utf8_type);
  } else {
    // An address type we do not know how to re-encode: keep what is printable.
    out = one_line(type, true) + ";" + std::string(separator) + one_line(address, true);
  }
  return out;
}

// Writes `first` then the space-separated words of `text`, breaking lines at a
// space before kFoldColumn where possible; continuation lines start with
// `indent`. In a header field `indent` is " ", so each break is an RFC 5322 2.2.3
// fold and unfolding gives back `text` exactly. A single word too long for a
// line is cut: the 998-octet limit wins over the word.
void append_wrapped(std::string& out, std::string_view first, std::string_view text,
                    std::string_view indent) {
  out += first;
  std::size_t column = first.size();
  bool line_has_word = false;
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = std::min(text.find(' ', start), text.size());
    std::string_view word = text.substr(start, end - start);
    start = end + 1;
    if (line_has_word) {
      if (column + 1 + word.size() > kFoldColumn) {
        out += "\r\n";
        out += indent;
        column = indent.size();
      } else {
        out += ' ';
        ++column;
      }
    }
    while (column + word.size() > kMaxLineLength) {
      std::size_t room = kMaxLineLength - column;
      out += word.substr(0, room);
      out += "\r\n";
      out += indent;
      column = indent.size();
      word.remove_prefix(room);
    }
    out += word;
    column += word.size();
    line_has_word = true;
  }
  out += "\r\n";
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  append_wrapped(out, std::string(name) + ": ", value, " ");
}

// The original's header section: up to (not including) the first empty line.
std::string_view header_section(std::string_view message) {
  for (std::size_t start = 0; start < message.size();) {
    std::size_t end = message.find('\n', start);
    if (end == std::string_view::npos) break;
    std::string_view line = message.substr(start, end - start);
    if (line.empty() || line == "\r") return message.substr(0, start);
    start = end + 1;
  }
  return message;
}

bool lines_fit(std::string_view text) {
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = std::min(text.find('\n', start), text.size());
    std::size_t length = end - start;
    if (length > 0 && text[end - 1] == '\r') --length;
    if (length > kMaxLineLength) return false;
    start = end + 1;
  }
  return true;
}

// `text` with every line ending in CRLF (a bare CR becomes a space) and lines
// over 998 octets cut: a returned copy must not break the report around it.
void append_lines(std::string& out, std::string_view text) {
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = std::min(text.find('\n', start), text.size());
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    std::string copy(line.substr(0, kMaxLineLength));
    std::replace(copy.begin(), copy.end(), '\r', ' ');
    out += copy;
    out += "\r\n";
  }
}

bool all_delayed(const DsnInput& input) {
  return !input.recipients.empty() &&
         std::all_of(input.recipients.begin(), input.recipients.end(),
                     [](const DsnRecipient& r) { return r.action == "delayed"; });
}

// Part 3: the whole original for RET=FULL when it fits, else its header section.
struct ReturnedPart {
  std::string content_type;
  std::string description;
  std::string content;
  bool cut_to_headers = false;  // RET=FULL asked for more than we return
};

ReturnedPart returned_part(const DsnInput& input) {
  ReturnedPart part;
  bool full = input.ret == common::smtp::DsnRet::Full;
  // message/rfc822 allows no encoding that could shorten a long line (RFC 2046
  // 5.2.1), so an original with one goes back as headers only.
  if (full && input.original_message.size() <= input.max_returned_bytes &&
      lines_fit(input.original_message)) {
    part.content_type = "message/rfc822";
    part.description = "Undelivered Message";
    append_lines(part.content, input.original_message);
    return part;
  }
  part.cut_to_headers = full;
  part.content_type = "text/rfc822-headers";
  part.description = "Undelivered Message Headers";
  append_lines(part.content, header_section(input.original_message));
  return part;
}

// Part 1: for people.
std::string human_part(const DsnInput& input, const ReturnedPart& returned) {
  std::string out;
  append_wrapped(out, "", "This is the mail delivery system at " + input.reporting_mta + ".", "");
  out += "\r\n";
  if (all_delayed(input)) {
    append_wrapped(out, "",
                   "Your message has not been delivered yet to the recipients below. It is "
                   "still queued and delivery will be retried; you do not need to send it again.",
                   "");
  } else {
    append_wrapped(out, "",
                   "Your message could not be delivered to one or more of its recipients. The "
                   "reasons are given below.",
                   "");
  }
  out += "\r\n";
  for (const DsnRecipient& r : input.recipients) {
    std::string line = "<" + one_line(r.recipient.address.to_string(), false) +
                       ">: " + one_line(r.action, true) + " (" + one_line(r.status, true) + ")";
    append_wrapped(out, "", line, "    ");
    std::string said =
        r.remote_mta.empty() ? std::string("reason") : one_line(r.remote_mta, true) + " said";
    if (!r.diagnostic.empty()) {
      append_wrapped(out, "    ", said + ": " + one_line(r.diagnostic, false), "    ");
    }
  }
  out += "\r\n";
  append_wrapped(out, "",
                 returned.cut_to_headers
                     ? "Your message could not be returned in full (it is too large, or has "
                       "lines too long to attach); its header section is attached after the "
                       "delivery report."
                 : returned.content_type == "message/rfc822"
                     ? "The delivery report and your message are attached."
                     : "The delivery report and the header section of your message are attached.",
                 "");
  return out;
}

// Part 2: message/delivery-status (RFC 3464 2.2, 2.3). 7-bit by construction.
std::string status_part(const DsnInput& input) {
  std::string out;
  append_field(out, "Reporting-MTA", "dns; " + one_line(input.reporting_mta, true));
  if (!input.envid.empty()) append_field(out, "Original-Envelope-Id", xtext(input.envid));
  append_field(out, "X-Stamp-Queue-ID", one_line(input.queue_id, true));
  append_field(out, "Arrival-Date", common::rfc5322_date(input.arrival));
  for (const DsnRecipient& r : input.recipients) {
    out += "\r\n";
    const common::smtp::Recipient& rcpt = r.recipient;
    if (!rcpt.orcpt.empty()) {
      std::string_view type = rcpt.orcpt_type;
      if (type.empty()) type = "rfc822";
      append_field(out, "Original-Recipient", typed_address(type, rcpt.orcpt, ""));
    }
    append_field(out, "Final-Recipient", typed_address("rfc822", rcpt.address.to_string(), " "));
    append_field(out, "Action", one_line(r.action, true));
    // A status is required (RFC 3464 2.3.4); fall back to the class alone.
    std::string status = one_line(r.status, true);
    if (status.empty()) status = r.action == "delayed" ? "4.0.0" : "5.0.0";
    append_field(out, "Status", status);
    if (!r.remote_mta.empty()) {
      append_field(out, "Remote-MTA", "dns; " + one_line(r.remote_mta, true));
    }
    if (!r.diagnostic.empty()) {
      append_field(out, "Diagnostic-Code", "smtp; " + one_line(r.diagnostic, true));
    }
    if (r.last_attempt != 0) {
      append_field(out, "Last-Attempt-Date", common::rfc5322_date(r.last_attempt));
    }
  }
  return out;
}

// RFC 2046 5.1.1: bchars only, at most 70, and found in no part. The random
// part makes a clash practically impossible; the check makes it impossible.
std::string choose_boundary(std::string_view queue_id,
                            std::initializer_list<std::string_view> parts) {
  std::string id;
  for (char c : queue_id.substr(0, 24)) {
    if (std::isalnum(static_cast<unsigned char>(c))) id += c;
  }
  while (true) {
    std::string boundary = "=_stamp." + id + "." + random_hex(12);
    bool clash = std::any_of(parts.begin(), parts.end(), [&](std::string_view part) {
      return part.find(boundary) != std::string_view::npos;
    });
    if (!clash) return boundary;
  }
}

void append_part_header(std::string& out, const std::string& boundary, std::string_view type,
                        std::string_view description, bool eight_bit) {
  out += "\r\n--" + boundary + "\r\n";
  append_field(out, "Content-Description", description);
  append_field(out, "Content-Type", type);
  if (eight_bit) append_field(out, "Content-Transfer-Encoding", "8bit");
  out += "\r\n";
}

}  // namespace

std::string make_dsn(const DsnInput& input) {
  ReturnedPart returned = returned_part(input);
  std::string human = human_part(input, returned);
  std::string status = status_part(input);
  std::string boundary = choose_boundary(input.queue_id, {human, status, returned.content});
  bool human_8bit = is_8bit(human);
  bool returned_8bit = is_8bit(returned.content);

  std::string out;
  append_field(out, "From", "Mail Delivery System <MAILER-DAEMON@" + input.reporting_mta + ">");
  append_field(out, "To", "<" + one_line(input.original_sender.to_string(), false) + ">");
  append_field(out, "Subject",
               all_delayed(input) ? "Delayed Mail (still being retried)"
                                  : "Undelivered Mail Returned to Sender");
  append_field(out, "Date", common::rfc5322_date(input.now));
  append_field(out, "Message-ID",
               "<" + one_line(input.queue_id, true) + ".dsn." + random_hex(8) + "@" +
                   input.reporting_mta + ">");
  // RFC 3834 5: an automatic reply; well-behaved software answers it with nothing.
  append_field(out, "Auto-Submitted", "auto-replied");
  append_field(out, "MIME-Version", "1.0");
  append_field(out, "Content-Type",
               "multipart/report; report-type=delivery-status; boundary=\"" + boundary + "\"");
  // RFC 2045 6.4: a multipart holding an 8bit part is itself 8bit.
  if (human_8bit || returned_8bit) append_field(out, "Content-Transfer-Encoding", "8bit");
  out += "\r\nThis is a MIME-encapsulated delivery status notification.\r\n";

  append_part_header(out, boundary, "text/plain; charset=utf-8", "Notification", human_8bit);
  out += human;
  append_part_header(out, boundary, "message/delivery-status", "Delivery report", false);
  out += status;
  append_part_header(out, boundary, returned.content_type, returned.description, returned_8bit);
  out += returned.content;
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

}  // namespace mta
