// WebhookDispatcher: delivers the webhook outbox. On the event loop it claims
// due rows (a poll timer, and wake() when a producer has enqueued some), keeps
// at most max_in_flight requests open, signs each one with the endpoint's
// current secret and POSTs it through a WebhookSender:
//
//   Content-Type: application/json
//   User-Agent: stamp-bounced/0.1
//   X-Stamp-Event: Bounce                  (the row's event)
//   X-Stamp-Delivery: 42                   (the row id; the same on every retry)
//   X-Stamp-Signature: t=...,v1=...        (webhook_signature.h; fresh per attempt)
//
// A 2xx marks the row delivered. Anything else (another status, a connect,
// TLS or name error, the request timeout) reschedules it after an exponential
// backoff with jitter (first_retry_delay doubling up to max_retry_delay, the
// last retry at retry_for after creation); past retry_for the row is
// abandoned. So is a row whose endpoint has no secret in the live config or a
// URL that can never work. Log lines: webhook.delivered, webhook.failed,
// webhook.abandoned (ids first, key=value; secrets never).
//
// Secrets are not in the outbox: `secrets` is asked at each attempt, so a
// rotated secret applies to the next retry.
//
// This class owns scheduling. It does not build payloads, choose endpoints
// (the bounce processor does, when it enqueues) or speak HTTP.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "bounced/webhook/webhook_outbox.h"
#include "bounced/webhook/webhook_sender.h"
#include "bounced/webhook/webhook_settings.h"
#include "common/event/event_loop.h"

namespace bounced::webhook {

// A claimed row is leased for request_timeout plus this, so a crashed
// dispatcher's rows come back soon after their requests would have ended.
inline constexpr std::chrono::seconds kLeaseMargin{10};
// Finished rows deleted per purge, and how often the purge runs.
inline constexpr std::size_t kPurgeBatch = 1000;
inline constexpr std::chrono::seconds kPurgeInterval{std::chrono::hours(1)};

// The wait after the `attempts`-th failed attempt: first_retry_delay *
// 2^(attempts-1), times a random factor in [0.8, 1.2), capped at
// max_retry_delay, rounded up to whole seconds (outbox times are seconds).
std::chrono::seconds retry_delay(const WebhookSettings& settings, int attempts,
                                 std::mt19937& random);

class WebhookDispatcher {
 public:
  // The endpoint's current secret, or nullopt when it has none (any more).
  using SecretLookup =
      std::function<std::optional<std::string>(const std::string& tenant, const std::string& url)>;

  // `outbox` and `sender` must outlive the dispatcher.
  WebhookDispatcher(common::event::EventLoop& loop, WebhookOutbox& outbox, WebhookSender& sender,
                    SecretLookup secrets, WebhookSettings settings);
  // Cancels requests still open; their rows are due again at once, for the
  // next dispatcher on this database.
  ~WebhookDispatcher();
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // Loop thread: starts the poll timer and looks at the outbox at once.
  void start();
  // Any thread, while the dispatcher exists: rows were enqueued, look now.
  void wake();
  // Loop thread: stop claiming; requests still open may finish for
  // stop_grace, then are cancelled (rows due again at once); then `done` runs
  // on the loop.
  void stop(std::function<void()> done);

  std::size_t in_flight() const { return in_flight_.size(); }

 private:
  struct InFlight {
    WebhookSender::Handle handle = 0;
    ClaimedWebhook row;
    std::chrono::steady_clock::time_point started;
  };

  void poll();
  void purge_if_due(std::int64_t now);
  void dispatch(ClaimedWebhook row, std::int64_t now);
  void on_response(std::int64_t id, WebhookResponse response);
  void retry_or_abandon(const InFlight& entry, const WebhookResponse& response, std::int64_t now);
  void abandon(const ClaimedWebhook& row, const std::string& reason, std::int64_t now);
  void cancel_all(const char* reason);
  void finish_stop();
  static void on_poll_timer(evutil_socket_t, short, void* arg) noexcept;
  static void on_grace_timer(evutil_socket_t, short, void* arg) noexcept;

  common::event::EventLoop& loop_;
  WebhookOutbox& outbox_;
  WebhookSender& sender_;
  SecretLookup secrets_;
  WebhookSettings settings_;
  std::map<std::int64_t, InFlight> in_flight_;  // by outbox id
  common::event::OwnedEvent poll_timer_;
  common::event::OwnedEvent grace_timer_;
  bool stopping_ = false;
  std::function<void()> stop_done_;
  std::int64_t next_purge_at_ = 0;
  std::atomic<bool> wake_pending_{false};
  std::mt19937 random_{std::random_device{}()};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace bounced::webhook
