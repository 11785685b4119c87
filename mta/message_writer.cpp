// MessageWriter: streams a submission into the spool. See message_writer.h.
#include "mta/message_writer.h"

#include <cctype>
#include <cstdio>

#include "common/base/log.h"
#include "mta/signing/ed25519_signing.h"
#include "common/base/time_format.h"

namespace mta {
namespace {

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

MessageWriter::MessageWriter(std::unique_ptr<SpoolWriter> spool, HeaderContext header_context,
                             std::string received_header, const DkimSigner* signer, KeyLoader load_key,
                             std::function<void(const std::string&, const LateFields&, const HeaderSummary&)> on_queued)
    : spool_(std::move(spool)),
      header_context_(std::move(header_context)),
      received_(std::move(received_header)),
      signer_(signer),
      load_key_(std::move(load_key)),
      on_queued_(std::move(on_queued)) {
  spool_->write(received_);
}

void MessageWriter::emit(std::string_view bytes) {
  spool_->write(bytes);
  for (auto& signing : signings_) {
    if (auto st = signing->chunk(bytes); !st) {
      common::log::error("dkim.sign_failed").kv("queue_id", spool_->id()).kv("error", st.error().message);
      refusal_ = common::smtp::Reply::make(451, "4.3.0", "Temporary failure signing the message, try again later");
      signings_.clear();
      return;
    }
  }
}

void MessageWriter::start_signing(const SenderDecision& sender) {
  if (!signer_ || sender.signing_key.key_file.empty()) return;
  // rsa-sha256 (libopendkim) always; ed25519-sha256 (RFC 8463, our own signer)
  // as a second signature when the domain has that key too.
  std::vector<std::pair<const DkimKeyRef*, bool /*ed25519*/>> keys{{&sender.signing_key, false}};
  if (sender.ed25519_key) keys.emplace_back(&*sender.ed25519_key, true);
  for (const auto& [ref, ed25519] : keys) {
    auto pem = load_key_(ref->key_file);
    std::unique_ptr<DkimSigning> signing;
    if (pem) {
      const DkimKey key{sender.signing_domain, ref->selector, *pem};
      auto begun = ed25519 ? begin_ed25519_signing(key, std::time(nullptr)) : signer_->begin(key);
      if (begun) signing = std::move(*begun);
      else pem = std::unexpected(begun.error());
    }
    if (!signing || !signing->chunk(received_)) {
      // Unsigned aligned mail would fail DMARC at the receiver: better to wait.
      common::log::error("dkim.sign_failed").kv("queue_id", spool_->id()).kv("domain", sender.signing_domain)
          .kv("selector", ref->selector).kv("error", pem ? std::string("cannot start") : pem.error().message);
      refusal_ = common::smtp::Reply::make(451, "4.3.0", "Temporary failure signing the message, try again later");
      signings_.clear();
      return;
    }
    signings_.push_back(std::move(signing));
  }
}

void MessageWriter::write(std::string_view bytes) {
  if (refusal_) return;  // the answer is already known: nothing more to keep
  if (!in_headers_) {
    emit(bytes);
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
  header_context_.queue_id = spool_->id();
  auto rewritten = rewrite_headers(std::string_view(headers_).substr(0, at), header_context_);
  if (!rewritten) {
    refusal_ = rewritten.error();
    common::log::info("smtp.sender_refused").kv("queue_id", spool_->id()).kv("reply", refusal_->first_line());
  } else {
    late_ = std::move(rewritten->late);
    if (header_context_.check_stream_suppressions) {
      if (auto refused = header_context_.check_stream_suppressions(late_.stream)) {
        refusal_ = *refused;
        common::log::info("smtp.stream_suppressed").kv("queue_id", spool_->id()).kv("stream", late_.stream)
            .kv("reply", refusal_->first_line());
      }
    }
    summary_ = std::move(rewritten->summary);
    if (rewritten->sender) start_signing(*rewritten->sender);
    if (!refusal_) {
      emit(rewritten->text);
      if (!blank_line_follows) emit("\r\n");
      emit(std::string_view(headers_).substr(at));
    }
  }
  headers_.clear();
  headers_.shrink_to_fit();
}

void MessageWriter::finish(std::function<void(common::smtp::Reply)> done) {
  if (in_headers_) scan_headers(true);
  for (auto& signing : signings_) {
    if (refusal_) break;
    auto signature = signing->finish();
    if (signature) {
      late_.prepend += *signature;  // each DKIM-Signature field on top of the message
    } else {
      common::log::error("dkim.sign_failed").kv("queue_id", spool_->id()).kv("error", signature.error().message);
      refusal_ = common::smtp::Reply::make(451, "4.3.0", "Temporary failure signing the message, try again later");
    }
  }
  signings_.clear();
  if (refusal_) {
    done(*refusal_);  // the spool file is dropped with this writer
    return;
  }
  std::string id = spool_->id();
  spool_->commit(late_, [id, late = late_, summary = summary_, on_queued = on_queued_,
                         done = std::move(done)](common::Status status) {
    if (!status) {
      done(common::smtp::Reply::make(451, "4.3.0", "Temporary failure writing the queue, try again later"));
      return;
    }
    on_queued(id, late, summary);
    done(common::smtp::Reply::make(250, "2.0.0", "Ok: queued as " + id));
  });
}

}  // namespace mta
