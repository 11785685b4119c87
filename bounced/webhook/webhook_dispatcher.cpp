// WebhookDispatcher. See webhook_dispatcher.h.
//
// Durability: a row's state only changes in the outbox, and only after the
// outcome is known; the lease taken at claim time means a crash at any moment
// leaves the row pending, due again when its lease ends. The price is the
// usual one of at-least-once: a crash between the endpoint's 2xx and our
// commit sends the webhook again.
//
// The outbox's statements run on the loop thread. They are small indexed
// statements on a WAL database (milliseconds); only a writer in another
// process holding the lock for long could stall the loop, up to the state
// database's busy timeout.
#include "bounced/webhook/webhook_dispatcher.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "bounced/webhook/webhook_signature.h"
#include "common/base/log.h"

namespace bounced::webhook {
namespace {

constexpr double kJitterLow = 0.8;
constexpr double kJitterHigh = 1.2;

std::int64_t unix_now() { return static_cast<std::int64_t>(std::time(nullptr)); }

timeval to_timeval(std::chrono::milliseconds duration) {
  return timeval{static_cast<time_t>(duration.count() / 1000),
                 static_cast<suseconds_t>((duration.count() % 1000) * 1000)};
}

std::int64_t whole_seconds_up(std::chrono::milliseconds duration) {
  return (duration.count() + 999) / 1000;
}

}  // namespace

std::chrono::seconds retry_delay(const WebhookSettings& settings, int attempts,
                                 std::mt19937& random) {
  const double cap = static_cast<double>(settings.max_retry_delay.count());
  double delay = static_cast<double>(settings.first_retry_delay.count());
  for (int i = 1; i < attempts && delay < cap; ++i) delay *= 2;
  delay *= std::uniform_real_distribution<double>(kJitterLow, kJitterHigh)(random);
  delay = std::min(delay, cap);
  return std::chrono::seconds(
      std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(delay))));
}

WebhookDispatcher::WebhookDispatcher(common::event::EventLoop& loop, WebhookOutbox& outbox,
                                     WebhookSender& sender, SecretLookup secrets,
                                     WebhookSettings settings)
    : loop_(loop),
      outbox_(outbox),
      sender_(sender),
      secrets_(std::move(secrets)),
      settings_(std::move(settings)) {}

WebhookDispatcher::~WebhookDispatcher() {
  *alive_ = false;
  poll_timer_.reset();
  grace_timer_.reset();
  cancel_all("dispatcher shut down");
}

void WebhookDispatcher::start() {
  if (stopping_ || poll_timer_) return;
  poll_timer_.reset(
      event_new(loop_.base(), -1, EV_PERSIST, &WebhookDispatcher::on_poll_timer, this));
  const timeval interval = to_timeval(settings_.poll_interval);
  if (!poll_timer_ || event_add(poll_timer_.get(), &interval) != 0) {
    common::log::error("webhook.poll_timer_failed");
  }
  common::log::info("webhook.dispatcher_started")
      .kv("max_in_flight", static_cast<unsigned long long>(settings_.max_in_flight))
      .kv("retry_for_s", static_cast<long long>(settings_.retry_for.count()));
  loop_.post([this, alive = alive_] {
    if (*alive) poll();
  });
}

void WebhookDispatcher::wake() {
  if (wake_pending_.exchange(true)) return;  // one look covers every wake() before it
  loop_.post([this, alive = alive_] {
    if (!*alive) return;
    wake_pending_ = false;
    poll();
  });
}

void WebhookDispatcher::on_poll_timer(evutil_socket_t, short, void* arg) noexcept {
  static_cast<WebhookDispatcher*>(arg)->poll();
}

void WebhookDispatcher::poll() {
  if (stopping_ || !poll_timer_) return;
  const std::int64_t now = unix_now();
  purge_if_due(now);
  if (in_flight_.size() >= settings_.max_in_flight) return;
  // A read first, so an idle outbox never takes the write lock.
  auto due = outbox_.next_due();
  if (!due) {
    common::log::error("webhook.outbox_error").kv("error", due.error().message);
    return;
  }
  if (!*due || **due > now) return;
  std::set<std::int64_t> exclude;
  for (const auto& [id, entry] : in_flight_) exclude.insert(id);
  const std::int64_t lease_until =
      now + whole_seconds_up(settings_.request_timeout) + kLeaseMargin.count();
  auto claimed =
      outbox_.claim_due(now, settings_.max_in_flight - in_flight_.size(), exclude, lease_until);
  if (!claimed) {
    common::log::error("webhook.outbox_error").kv("error", claimed.error().message);
    return;
  }
  for (auto& row : *claimed) dispatch(std::move(row), now);
}

void WebhookDispatcher::purge_if_due(std::int64_t now) {
  if (now < next_purge_at_) return;
  auto purged = outbox_.purge_finished(now - settings_.keep_finished.count(), kPurgeBatch);
  if (!purged) {
    common::log::error("webhook.outbox_error").kv("error", purged.error().message);
  } else if (*purged > 0) {
    common::log::info("webhook.purged").kv("rows", static_cast<long long>(*purged));
  }
  // A full batch means more are waiting: come back at the next poll.
  const bool more = purged && *purged >= static_cast<std::int64_t>(kPurgeBatch);
  next_purge_at_ = more ? now : now + kPurgeInterval.count();
}

void WebhookDispatcher::dispatch(ClaimedWebhook row, std::int64_t now) {
  const std::optional<std::string> secret = secrets_(row.event.tenant, row.event.url);
  if (!secret || secret->empty()) {
    abandon(row, "no webhook secret configured for this endpoint (tenant " + row.event.tenant + ")",
            now);
    return;
  }
  WebhookRequest request;
  request.url = row.event.url;
  request.body = row.event.body;
  request.headers = {
      {"Content-Type", "application/json"},
      {"User-Agent", kUserAgent},
      {"X-Stamp-Event", row.event.event},
      {"X-Stamp-Delivery", std::to_string(row.id)},
      {std::string(kSignatureHeader), signature_header_value(*secret, now, row.event.body)},
  };
  const std::int64_t id = row.id;
  InFlight& entry = in_flight_[id];
  entry.row = std::move(row);
  entry.started = std::chrono::steady_clock::now();
  entry.handle =
      sender_.post(std::move(request), [this, alive = alive_, id](WebhookResponse response) {
        if (*alive) on_response(id, std::move(response));
      });
}

void WebhookDispatcher::on_response(std::int64_t id, WebhookResponse response) {
  auto it = in_flight_.find(id);
  if (it == in_flight_.end()) return;
  const InFlight entry = std::move(it->second);
  in_flight_.erase(it);
  const std::int64_t now = unix_now();
  const auto& row = entry.row;
  if (response.ok()) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - entry.started);
    if (auto marked = outbox_.mark_delivered(id, now); !marked) {
      // The row stays pending under its lease and goes out again later (at least once).
      common::log::error("webhook.outbox_error")
          .kv("id", static_cast<long long>(id))
          .kv("error", marked.error().message);
    }
    common::log::info("webhook.delivered")
        .kv("id", static_cast<long long>(id))
        .kv("tenant", row.event.tenant)
        .kv("event", row.event.event)
        .kv("url", loggable_url(row.event.url))
        .kv("status", response.status)
        .kv("attempt", row.attempts)
        .kv("ms", static_cast<long long>(ms.count()));
  } else if (response.permanent) {
    abandon(row, response.error, now);
  } else {
    retry_or_abandon(entry, response, now);
  }
  if (stopping_) {
    if (in_flight_.empty()) finish_stop();
    return;
  }
  poll();  // a slot is free
}

void WebhookDispatcher::retry_or_abandon(const InFlight& entry, const WebhookResponse& response,
                                         std::int64_t now) {
  const auto& row = entry.row;
  const std::int64_t deadline = row.created_at + settings_.retry_for.count();
  if (now >= deadline) {
    abandon(row,
            "still failing after " + std::to_string(row.attempts) + " attempts: " + response.error,
            now);
    return;
  }
  // The last retry happens at the deadline itself, not some backoff past it.
  const std::int64_t next =
      std::min(now + retry_delay(settings_, row.attempts, random_).count(), deadline);
  if (auto st = outbox_.reschedule(row.id, next, response.error); !st) {
    common::log::error("webhook.outbox_error")
        .kv("id", static_cast<long long>(row.id))
        .kv("error", st.error().message);
  }
  auto line = common::log::info("webhook.failed");
  line.kv("id", static_cast<long long>(row.id)).kv("url", loggable_url(row.event.url));
  if (response.status > 0) line.kv("status", response.status);
  line.kv("error", response.error)
      .kv("attempt", row.attempts)
      .kv("next_attempt_in", static_cast<long long>(next - now));
}

void WebhookDispatcher::abandon(const ClaimedWebhook& row, const std::string& reason,
                                std::int64_t now) {
  if (auto st = outbox_.abandon(row.id, reason, now); !st) {
    common::log::error("webhook.outbox_error")
        .kv("id", static_cast<long long>(row.id))
        .kv("error", st.error().message);
  }
  common::log::warning("webhook.abandoned")
      .kv("id", static_cast<long long>(row.id))
      .kv("tenant", row.event.tenant)
      .kv("event", row.event.event)
      .kv("url", loggable_url(row.event.url))
      .kv("attempts", row.attempts)
      .kv("reason", reason);
}

void WebhookDispatcher::stop(std::function<void()> done) {
  stopping_ = true;
  poll_timer_.reset();
  stop_done_ = std::move(done);
  if (in_flight_.empty()) {
    finish_stop();
    return;
  }
  grace_timer_.reset(evtimer_new(loop_.base(), &WebhookDispatcher::on_grace_timer, this));
  const timeval grace = to_timeval(settings_.stop_grace);
  if (!grace_timer_ || evtimer_add(grace_timer_.get(), &grace) != 0) {
    cancel_all("stopping");
    finish_stop();
  }
}

void WebhookDispatcher::on_grace_timer(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<WebhookDispatcher*>(arg);
  self->cancel_all("cancelled at shutdown after the grace period");
  self->finish_stop();
}

void WebhookDispatcher::cancel_all(const char* reason) {
  const std::int64_t now = unix_now();
  for (const auto& [id, entry] : in_flight_) {
    sender_.cancel(entry.handle);
    // Due again at once: the next dispatcher need not wait out the lease.
    if (auto st = outbox_.reschedule(id, now, reason); !st) {
      common::log::error("webhook.outbox_error")
          .kv("id", static_cast<long long>(id))
          .kv("error", st.error().message);
    }
    common::log::info("webhook.cancelled")
        .kv("id", static_cast<long long>(id))
        .kv("reason", reason);
  }
  in_flight_.clear();
}

void WebhookDispatcher::finish_stop() {
  if (!stop_done_) return;
  auto done = std::move(stop_done_);
  stop_done_ = nullptr;
  // Not from inside a sender or timer callback: the caller may destroy us in `done`.
  loop_.post([this, alive = alive_, done = std::move(done)] {
    if (*alive) grace_timer_.reset();
    done();
  });
}

}  // namespace bounced::webhook
