// MessageWriter: the MessageSink of stamp-mta. It streams an incoming message
// into the spool, and on the way:
//  - puts a Received header first (RFC 5321 4.4), naming the protocol per RFC 3848;
//  - holds the header section back until it is complete, then has it rewritten
//    once (HeaderRewriter: sender mode, X-Stamp-* instructions, unsubscribe
//    headers, Message-ID and Date), adding a blank line before a body that
//    lacks one;
//  - feeds everything spooled to the DKIM signer, and keeps the signature for
//    the queue file's late block, so the message is signed once, not per
//    recipient;
//  - refuses, at the end of DATA, what the sender policy does not allow.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/smtp/session_handler.h"
#include "mta/header_rewriter.h"
#include "mta/queue/fs_spool.h"
#include "mta/signing/dkim_signer.h"

namespace mta {

class MessageWriter final : public common::smtp::MessageSink {
 public:
  // `on_queued` runs on the loop after the message is durable, before the 250.
  using KeyLoader = std::function<common::Result<std::string>(const std::filesystem::path& key_file)>;

  MessageWriter(std::unique_ptr<SpoolWriter> spool, HeaderContext header_context, std::string received_header,
                const DkimSigner* signer, KeyLoader load_key,
                std::function<void(const std::string& queue_id, const LateFields& late,
                                   const HeaderSummary& summary)> on_queued);

  void write(std::string_view bytes) override;
  void finish(std::function<void(common::smtp::Reply)> done) override;

  // How much of a header section we look through for Message-ID/Date before
  // treating the rest as body (a hostile client could send megabytes of headers).
  static constexpr std::size_t kMaxHeaderScan = 1024 * 1024;

 private:
  void scan_headers(bool at_end);
  void end_headers(std::size_t at, bool blank_line_follows);
  void emit(std::string_view bytes);  // to the spool and the signer
  void start_signing(const SenderDecision& sender);

  std::unique_ptr<SpoolWriter> spool_;
  HeaderContext header_context_;
  std::string received_;
  const DkimSigner* signer_;
  KeyLoader load_key_;
  std::function<void(const std::string&, const LateFields&, const HeaderSummary&)> on_queued_;
  HeaderSummary summary_;
  bool in_headers_ = true;
  std::string headers_;        // the header section while it is being scanned
  std::size_t scan_pos_ = 0;   // start of the first line not yet classified
  LateFields late_;
  std::vector<std::unique_ptr<DkimSigning>> signings_;  // rsa-sha256, then ed25519-sha256 if configured
  std::optional<common::smtp::Reply> refusal_;  // the sender policy said no
};

// The Received header stamp-mta puts on a submission (RFC 5321 4.4, RFC 3848).
std::string make_received_header(const common::smtp::SessionContext& ctx, const std::string& hostname,
                                 const std::string& queue_id, const common::smtp::Envelope& envelope,
                                 std::time_t now);

}  // namespace mta
