// SandboxDelivery: the dev profile's "outside world". Each queued message is
// written as one .eml file per recipient, byte for byte what would follow DATA
// on the wire (CRLF lines, before dot-stuffing), with a .json envelope beside
// it; then the message leaves the queue. Files appear atomically (temp file,
// fsync, rename) and are named <queue id>-<recipient index>, so a redelivery
// after a crash rewrites the same files instead of duplicating them.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "common/base/worker_pool.h"
#include "common/event/event_loop.h"
#include "common/verp/verp_codec.h"
#include "mta/delivery/delivery_agent.h"
#include "mta/queue/fs_spool.h"
#include "mta/state/message_log.h"

namespace mta {

class SandboxDelivery final : public DeliveryAgent {
 public:
  // `log` (may be null) records each recipient as delivered, as the SMTP
  // scheduler does, so Delivery webhooks work in the sandbox too.
  SandboxDelivery(common::event::EventLoop& loop, FsSpool& spool, std::filesystem::path directory,
                  const common::verp::VerpCodec* verp, MessageLog* log = nullptr);
  ~SandboxDelivery() override;

  void enqueue(const std::string& queue_id) override;
  // Abandons queued work (it stays in the spool for the next start).
  void stop(std::function<void()> done) override;

  static constexpr std::chrono::seconds kRetryDelay{30};

 private:
  common::Status deliver(const std::string& queue_id);

  common::event::EventLoop& loop_;
  FsSpool& spool_;
  std::filesystem::path directory_;
  const common::verp::VerpCodec* verp_;
  MessageLog* log_;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<bool> alive_;
  std::unique_ptr<common::WorkerPool> pool_;
};

}  // namespace mta
