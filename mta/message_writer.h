// MessageWriter: the MessageSink of stamp-mta. It streams an incoming message
// into the spool, adding what RFC 5321/5322 expect of a submission server:
//  - a Received header first (RFC 5321 4.4), naming the protocol per RFC 3848;
//  - Message-ID and Date at the end of the header section when the client left
//    them out (RFC 6409 8.2, 8.3), and a blank line before a body that lacks one.
// It does not judge the content (sender policy and DKIM come with tenants).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/smtp/session_handler.h"
#include "mta/queue/fs_spool.h"

namespace mta {

class MessageWriter final : public common::smtp::MessageSink {
 public:
  // `on_queued` runs on the loop after the message is durable, before the 250.
  MessageWriter(std::unique_ptr<SpoolWriter> spool, std::string hostname, std::string received_header,
                std::function<void(const std::string& queue_id)> on_queued);

  void write(std::string_view bytes) override;
  void finish(std::function<void(common::smtp::Reply)> done) override;

  // How much of a header section we look through for Message-ID/Date before
  // treating the rest as body (a hostile client could send megabytes of headers).
  static constexpr std::size_t kMaxHeaderScan = 1024 * 1024;

 private:
  void scan_headers(bool at_end);
  void end_headers(std::size_t at, bool blank_line_follows);

  std::unique_ptr<SpoolWriter> spool_;
  std::string hostname_;
  std::function<void(const std::string&)> on_queued_;
  bool in_headers_ = true;
  std::string headers_;        // the header section while it is being scanned
  std::size_t scan_pos_ = 0;   // start of the first line not yet classified
  bool have_message_id_ = false;
  bool have_date_ = false;
  LateFields late_;
};

// The Received header stamp-mta puts on a submission (RFC 5321 4.4, RFC 3848).
std::string make_received_header(const common::smtp::SessionContext& ctx, const std::string& hostname,
                                 const std::string& queue_id, const common::smtp::Envelope& envelope,
                                 std::time_t now);

}  // namespace mta
