// The webhook outbox: a table in the state database holding every webhook
// request until it is delivered (a 2xx) or abandoned, so a webhook survives a
// crash, a restart or a day-long outage of the tenant's endpoint. Delivery is
// at least once: a crash between the endpoint's 2xx and our commit sends the
// request again (receivers deduplicate on X-Stamp-Delivery, the row id).
//
//   webhook_outbox(id INTEGER PRIMARY KEY AUTOINCREMENT (never reused), tenant,
//                  stream, event, url, body,
//                  created_at, attempts, next_attempt_at, last_error,
//                  state 'pending'|'delivered'|'abandoned', finished_at)
//
// Times are unix seconds. Producers (the bounce processor) call
// enqueue_webhook inside their own transaction on their own connection, so a
// suppression change and the webhooks announcing it commit together or not at
// all. The dispatcher uses a WebhookOutbox, with its own connection.
//
// Claiming a row takes a lease: attempts + 1 and next_attempt_at pushed to the
// lease's end, committed before the request starts. A crashed dispatcher's
// rows therefore come back when their lease runs out, and the attempt count
// includes attempts a crash interrupted.
//
// This file owns the table and its statements. It does not decide when to
// retry or give up (webhook_dispatcher.h) and does not know HTTP.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"
#include "common/store/state_database.h"

namespace bounced::webhook {

// What a producer puts in the outbox: one request to one endpoint.
struct WebhookEvent {
  std::string tenant;
  std::string stream;
  std::string event;  // "Bounce", "SpamComplaint", "Delivery", "SubscriptionChange"
  std::string url;    // the endpoint; its secret is looked up at send time, never stored here
  std::string body;   // the JSON payload (webhook_payloads.h)
};

enum class OutboxState { Pending, Delivered, Abandoned };
const char* outbox_state_name(OutboxState state);  // "pending", "delivered", "abandoned"

// A row the dispatcher claimed. `attempts` already counts this attempt.
struct ClaimedWebhook {
  std::int64_t id = 0;
  WebhookEvent event;
  std::int64_t created_at = 0;
  int attempts = 0;
};

// A whole row, for tests and operator tools.
struct OutboxRecord {
  std::int64_t id = 0;
  WebhookEvent event;
  std::int64_t created_at = 0;
  int attempts = 0;
  std::int64_t next_attempt_at = 0;
  std::string last_error;
  OutboxState state = OutboxState::Pending;
  std::optional<std::int64_t> finished_at;
};

// A last_error longer than this is cut (a hostile endpoint chooses its text).
inline constexpr std::size_t kMaxOutboxErrorLength = 1024;

// Creates the table and its indexes if missing. Safe inside a transaction.
common::Status create_outbox_schema(sqlite3* db);

// Inserts a pending row due at `now` (unix seconds) on the caller's connection
// and inside the caller's transaction, if any; returns the new row's id. The
// table must exist (create_outbox_schema).
common::Result<std::int64_t> enqueue_webhook(sqlite3* db, const WebhookEvent& event,
                                             std::int64_t now);

// The dispatcher's view of the outbox, on its own connection. Not thread-safe:
// one thread (the event loop) uses it.
class WebhookOutbox {
 public:
  // Opens the state database and creates the table if missing.
  static common::Result<std::unique_ptr<WebhookOutbox>> open(const std::filesystem::path& database);
  ~WebhookOutbox();
  WebhookOutbox(const WebhookOutbox&) = delete;
  WebhookOutbox& operator=(const WebhookOutbox&) = delete;

  // Up to `limit` pending rows due at `now`, oldest due first, leaving out the
  // ids in `exclude` (requests still in flight). Each is leased until
  // `lease_until` and its attempts counted, in one BEGIN IMMEDIATE transaction.
  common::Result<std::vector<ClaimedWebhook>> claim_due(std::int64_t now, std::size_t limit,
                                                        const std::set<std::int64_t>& exclude,
                                                        std::int64_t lease_until);
  // Final states. Rows no longer pending are left alone (false).
  common::Result<bool> mark_delivered(std::int64_t id, std::int64_t now);
  common::Result<bool> abandon(std::int64_t id, std::string_view reason, std::int64_t now);
  // Pending again, due at `next_attempt_at`, with the reason the attempt failed.
  common::Result<bool> reschedule(std::int64_t id, std::int64_t next_attempt_at,
                                  std::string_view error);

  common::Result<std::int64_t> count_pending();
  // The earliest next_attempt_at of a pending row, if any (for sleeping until it).
  common::Result<std::optional<std::int64_t>> next_due();
  common::Result<std::optional<OutboxRecord>> find(std::int64_t id);
  // Operator tools: the newest `limit` rows, of one tenant and state when given.
  common::Result<std::vector<OutboxRecord>> list(const std::optional<std::string>& tenant,
                                                 std::optional<OutboxState> state, std::size_t limit);
  // A second chance for a finished (or pending) row: pending, due at `now`, with
  // a fresh retry window from `now`. False when there is no such row.
  common::Result<bool> retry(std::int64_t id, std::int64_t now);
  // Deletes up to `limit` delivered or abandoned rows finished before `before`;
  // returns how many went. Pending rows are never deleted.
  common::Result<std::int64_t> purge_finished(std::int64_t before, std::size_t limit);

  sqlite3* connection() const { return db_.get(); }

 private:
  explicit WebhookOutbox(common::store::OwnedSqlite db) : db_(std::move(db)) {}
  common::Result<bool> finish(std::int64_t id, const char* sql, std::string_view text,
                              std::int64_t number);

  common::store::OwnedSqlite db_;
};

}  // namespace bounced::webhook
