// Delivery webhooks from the message log. See delivery_events.h.
#include "bounced/delivery_events.h"

#include <map>
#include <string>

#include "bounced/bounce_store.h"
#include "bounced/webhook/webhook_outbox.h"
#include "bounced/webhook/webhook_payloads.h"
#include "common/store/state_database.h"

namespace bounced {
namespace {

using common::store::column_text;
using common::store::exec;
using common::store::prepare;

constexpr std::string_view kWhat = "delivery events";

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS bounced_cursor(name TEXT PRIMARY KEY, value INTEGER NOT NULL)";

common::Status fail_sqlite(sqlite3* db, std::string_view what) {
  return common::fail(std::string(kWhat) + ": " + std::string(what) + ": " + sqlite3_errmsg(db));
}

common::Result<std::optional<std::int64_t>> single_int(sqlite3* db, const char* sql) {
  auto s = prepare(db, sql, kWhat);
  if (!s) return std::unexpected(s.error());
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE || sqlite3_column_type(s->get(), 0) == SQLITE_NULL) return std::optional<std::int64_t>();
  if (rc != SQLITE_ROW) return std::unexpected(fail_sqlite(db, sql).error());
  return std::optional<std::int64_t>(sqlite3_column_int64(s->get(), 0));
}

}  // namespace

common::Status create_delivery_cursor_schema(sqlite3* db) { return exec(db, kSchema); }

common::Result<std::size_t> queue_delivery_webhooks(sqlite3* db, const BouncedConfig& config, std::size_t max_rows,
                                                    std::int64_t started_at, std::int64_t now) {
  // Tenants with a Delivery endpoint; without any, there is nothing to read.
  std::map<std::string, const mta::TenantConfig*> wanted;
  for (const auto& tenant : config.mta.tenants) {
    for (const auto& endpoint : tenant.webhooks) {
      if (endpoint.event == webhook::kEventDelivery) wanted[tenant.name] = &tenant;
    }
  }
  auto log_exists = single_int(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'message_log'");
  if (!log_exists) return std::unexpected(log_exists.error());
  if (!*log_exists) return std::size_t{0};  // stamp-mta has not created its log yet

  common::store::ImmediateTransaction tx(db);
  if (auto st = tx.begin(); !st) return std::unexpected(st.error());
  auto cursor = single_int(db, "SELECT value FROM bounced_cursor WHERE name = 'delivery'");
  if (!cursor) return std::unexpected(cursor.error());
  auto last = single_int(db, "SELECT max(id) FROM message_log");
  if (!last) return std::unexpected(last.error());
  // First run: start after what was logged before this process started.
  auto before = single_int(db, ("SELECT max(id) FROM message_log WHERE at < " + std::to_string(started_at)).c_str());
  if (!before) return std::unexpected(before.error());
  std::int64_t from = cursor->value_or(before->value_or(0));
  std::int64_t to = wanted.empty() ? last->value_or(0) : from;  // nobody listens: skip to the end
  std::size_t queued = 0;

  auto rows = prepare(db,
                      "SELECT id, queue_id, tenant, recipient, reply, remote, at, status FROM message_log "
                      "WHERE id > ?1 ORDER BY id LIMIT ?2",
                      kWhat);
  if (!rows) return std::unexpected(rows.error());
  sqlite3_bind_int64(rows->get(), 1, from);
  sqlite3_bind_int64(rows->get(), 2, wanted.empty() ? 0 : static_cast<std::int64_t>(max_rows));
  int rc;
  while ((rc = sqlite3_step(rows->get())) == SQLITE_ROW) {
    sqlite3_stmt* r = rows->get();
    to = sqlite3_column_int64(r, 0);
    if (column_text(r, 7) != "delivered") continue;
    auto tenant = wanted.find(column_text(r, 2));
    if (tenant == wanted.end()) continue;
    auto message = find_message_by_queue_id(db, column_text(r, 1));
    if (!message) return std::unexpected(message.error());
    webhook::DeliveryFacts facts;
    facts.recipient = column_text(r, 3);
    facts.details = column_text(r, 4);
    facts.delivered_at = static_cast<std::time_t>(sqlite3_column_int64(r, 6));
    if (*message) {
      facts.message_id = (*message)->message_id;
      facts.stream = (*message)->stream.empty() ? "outbound" : (*message)->stream;
      facts.tag = (*message)->tag;
      facts.metadata = (*message)->metadata;
    }
    const std::string body = webhook::delivery_payload(facts);
    for (const auto& endpoint : tenant->second->webhooks) {
      if (endpoint.event != webhook::kEventDelivery || (!endpoint.stream.empty() && endpoint.stream != facts.stream)) {
        continue;
      }
      auto id = webhook::enqueue_webhook(
          db, webhook::WebhookEvent{tenant->first, facts.stream, std::string(webhook::kEventDelivery), endpoint.url, body},
          now);
      if (!id) return std::unexpected(id.error());
      ++queued;
    }
  }
  if (rc != SQLITE_DONE) return std::unexpected(fail_sqlite(db, "read message_log").error());
  if (!cursor->has_value() || to != from) {
    auto save = prepare(db, "INSERT INTO bounced_cursor(name, value) VALUES ('delivery', ?1) "
                            "ON CONFLICT(name) DO UPDATE SET value = excluded.value", kWhat);
    if (!save) return std::unexpected(save.error());
    sqlite3_bind_int64(save->get(), 1, to);
    if (sqlite3_step(save->get()) != SQLITE_DONE) return std::unexpected(fail_sqlite(db, "save cursor").error());
  }
  if (auto st = tx.commit(); !st) return std::unexpected(st.error());
  return queued;
}

}  // namespace bounced
