// MessageWriter: streams a submission into the spool. See message_writer.h.
#include "mta/message_writer.h"

#include <openssl/rand.h>

#include <cctype>
#include <cstdio>

#include "common/base/log.h"
#include "common/base/time_format.h"

namespace mta {
namespace {

bool field_name_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  }
  return true;
}

// RFC 5322 2.2: field-name is printable ASCII except ':', then ':'.
bool is_header_field(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] != ':') {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (c < 33 || c > 126) return false;
    ++i;
  }
  return i > 0 && i < line.size();
}

// Text from the client placed in a header: printable ASCII only, no comment
// delimiters, so it cannot break out of the Received clause it sits in.
std::string header_safe(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 255)) {
    out += (c < 33 || c > 126 || c == '(' || c == ')' || c == '\\' || c == ';') ? '?' : static_cast<char>(c);
  }
  return out.empty() ? "unknown" : out;
}

std::string new_message_id(const std::string& queue_id, const std::string& hostname) {
  unsigned char random[6];
  RAND_bytes(random, sizeof random);
  char hex[13];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x%02x%02x", random[0], random[1], random[2], random[3],
                random[4], random[5]);
  return "<" + queue_id + "." + hex + "@" + hostname + ">";
}

}  // namespace

std::string make_received_header(const common::smtp::SessionContext& ctx, const std::string& hostname,
                                 const std::string& queue_id, const common::smtp::Envelope& envelope,
                                 std::time_t now) {
  // RFC 3848: ESMTP, plus S for TLS and A for an authenticated client.
  std::string with = ctx.esmtp ? "ESMTP" : "SMTP";
  if (ctx.tls) with += "S";
  if (!ctx.auth_user.empty()) with += "A";
  std::string out = "Received: from " + header_safe(ctx.helo) + " ([" + ctx.client_address + "])\r\n";
  out += "\tby " + hostname + " (stamp) with " + with + " id " + queue_id;
  if (ctx.tls) out += "\r\n\t(using " + header_safe(ctx.tls_version) + " with cipher " + header_safe(ctx.tls_cipher) + ")";
  // RFC 5321 4.4: "for" names a single recipient only, so a list is not disclosed.
  if (envelope.recipients.size() == 1) {
    out += "\r\n\tfor <" + header_safe(envelope.recipients.front().address.to_string()) + ">";
  }
  out += "; " + common::rfc5322_date(now) + "\r\n";
  return out;
}

MessageWriter::MessageWriter(std::unique_ptr<SpoolWriter> spool, std::string hostname,
                             std::string received_header, std::function<void(const std::string&)> on_queued)
    : spool_(std::move(spool)), hostname_(std::move(hostname)), on_queued_(std::move(on_queued)) {
  spool_->write(received_header);
}

void MessageWriter::write(std::string_view bytes) {
  if (!in_headers_) {
    spool_->write(bytes);
    return;
  }
  headers_.append(bytes);
  scan_headers(false);
}

// Classifies complete header lines until the header section ends. The session
// guarantees every line ends in CRLF.
void MessageWriter::scan_headers(bool at_end) {
  bool first_line = scan_pos_ == 0;
  while (in_headers_) {
    std::size_t eol = headers_.find("\r\n", scan_pos_);
    if (eol == std::string::npos) break;
    std::string_view line(headers_.data() + scan_pos_, eol - scan_pos_);
    if (line.empty()) {
      end_headers(scan_pos_, true);
      return;
    }
    bool continuation = line.front() == ' ' || line.front() == '\t';
    if ((continuation && first_line) || (!continuation && !is_header_field(line))) {
      end_headers(scan_pos_, false);  // the body starts without a blank line
      return;
    }
    if (!continuation) {
      have_message_id_ |= field_name_is(line, "message-id");
      have_date_ |= field_name_is(line, "date");
    }
    scan_pos_ = eol + 2;
    first_line = false;
  }
  if (at_end) {
    end_headers(scan_pos_, true);  // headers only, no body
  } else if (headers_.size() > kMaxHeaderScan) {
    end_headers(scan_pos_, true);  // give up looking; do not split what follows
  }
}

void MessageWriter::end_headers(std::size_t at, bool blank_line_follows) {
  in_headers_ = false;
  std::string added;
  if (!have_message_id_) added += "Message-ID: " + new_message_id(spool_->id(), hostname_) + "\r\n";
  if (!have_date_) added += "Date: " + common::rfc5322_date(std::time(nullptr)) + "\r\n";
  if (!blank_line_follows) added += "\r\n";
  spool_->write(std::string_view(headers_).substr(0, at));
  spool_->write(added);
  spool_->write(std::string_view(headers_).substr(at));
  headers_.clear();
  headers_.shrink_to_fit();
}

void MessageWriter::finish(std::function<void(common::smtp::Reply)> done) {
  if (in_headers_) scan_headers(true);
  std::string id = spool_->id();
  spool_->commit(late_, [id, on_queued = on_queued_, done = std::move(done)](common::Status status) {
    if (!status) {
      done(common::smtp::Reply::make(451, "4.3.0", "Temporary failure writing the queue, try again later"));
      return;
    }
    on_queued(id);
    done(common::smtp::Reply::make(250, "2.0.0", "Ok: queued as " + id));
  });
}

}  // namespace mta
