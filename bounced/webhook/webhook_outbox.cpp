// The webhook outbox on SQLite. See webhook_outbox.h.
//
// WAL (research/dependencies.md section 5): the bounce processor inserts on
// its connection while the dispatcher claims and finishes rows on its own.
// Every read-then-write here runs in BEGIN IMMEDIATE, so a writer waiting for
// the lock gets the busy timeout instead of an instant "database is locked";
// single writes use it too, for the same reason. synchronous=NORMAL (the state
// database's policy): a power cut may lose the last commits; a lost "delivered"
// only means the webhook goes out again (at least once).
//
// AUTOINCREMENT: ids are never reused, even after purge_finished deleted the
// highest rows, because receivers deduplicate on the id (X-Stamp-Delivery).
#include "bounced/webhook/webhook_outbox.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "common/base/log.h"

namespace bounced::webhook {
namespace {

using common::fail;
using common::Result;
using common::Status;
using common::store::OwnedStatement;

constexpr std::string_view kWhat = "webhook outbox";

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS webhook_outbox("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tenant TEXT NOT NULL,"
    "  stream TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  last_error TEXT NOT NULL DEFAULT '',"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', "
    "'abandoned')),"
    "  finished_at INTEGER)",
    // The dispatcher's question: which pending rows are due?
    "CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox(state, next_attempt_at)",
    // The purge's question: which finished rows are old?
    "CREATE INDEX IF NOT EXISTS webhook_outbox_finished ON webhook_outbox(finished_at) WHERE state "
    "!= 'pending'",
};

constexpr const char* kInsert =
    "INSERT INTO webhook_outbox(tenant, stream, event, url, body, created_at, attempts, "
    "next_attempt_at, state) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?6, 'pending')";
constexpr const char* kSelectDue =
    "SELECT id, tenant, stream, event, url, body, created_at, attempts FROM webhook_outbox "
    "WHERE state = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2";
constexpr const char* kLease =
    "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = ?2 WHERE id = ?1 AND "
    "state = 'pending'";
constexpr const char* kDelivered =
    "UPDATE webhook_outbox SET state = 'delivered', finished_at = ?3, last_error = ?2 "
    "WHERE id = ?1 AND state = 'pending'";
constexpr const char* kAbandon =
    "UPDATE webhook_outbox SET state = 'abandoned', finished_at = ?3, last_error = ?2 "
    "WHERE id = ?1 AND state = 'pending'";
constexpr const char* kReschedule =
    "UPDATE webhook_outbox SET next_attempt_at = ?3, last_error = ?2 WHERE id = ?1 AND state = "
    "'pending'";
constexpr const char* kCountPending = "SELECT count(*) FROM webhook_outbox WHERE state = 'pending'";
constexpr const char* kNextDue =
    "SELECT min(next_attempt_at) FROM webhook_outbox WHERE state = 'pending'";
constexpr const char* kRecordColumns =
    "SELECT id, tenant, stream, event, url, body, created_at, attempts, next_attempt_at, "
    "last_error, state, finished_at FROM webhook_outbox ";
constexpr const char* kFindWhere = "WHERE id = ?1";
constexpr const char* kListWhere =
    "WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY id DESC LIMIT ?3";
constexpr const char* kRetry =
    "UPDATE webhook_outbox SET state = 'pending', next_attempt_at = ?2, created_at = ?2, finished_at = NULL "
    "WHERE id = ?1";
constexpr const char* kPurge =
    "DELETE FROM webhook_outbox WHERE id IN (SELECT id FROM webhook_outbox "
    "WHERE state != 'pending' AND finished_at < ?1 LIMIT ?2)";

std::unexpected<common::Error> sqlite_fail(sqlite3* db, std::string_view step) {
  return fail(std::string(kWhat) + ": " + std::string(step) + ": " + sqlite3_errmsg(db));
}

// A prepared statement with the few binds and steps the outbox needs.
class Statement {
 public:
  static Result<Statement> prepare(sqlite3* db, const char* sql) {
    auto statement = common::store::prepare(db, sql, kWhat);
    if (!statement) return std::unexpected(statement.error());
    return Statement(db, std::move(*statement));
  }
  Status text(int index, std::string_view value) {
    return common::store::bind_text(db_, get(), index, value, kWhat);
  }
  Status number(int index, std::int64_t value) {
    if (sqlite3_bind_int64(get(), index, value) != SQLITE_OK) return sqlite_fail(db_, "bind");
    return {};
  }
  // SQLITE_ROW -> true, SQLITE_DONE -> false, anything else an error.
  Result<bool> step() {
    const int rc = sqlite3_step(get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_fail(db_, "step");
  }
  std::string column_text(int column) { return common::store::column_text(get(), column); }
  std::int64_t column_int(int column) { return sqlite3_column_int64(get(), column); }
  bool column_null(int column) { return sqlite3_column_type(get(), column) == SQLITE_NULL; }
  sqlite3_stmt* get() { return statement_.get(); }

 private:
  Statement(sqlite3* db, OwnedStatement statement) : db_(db), statement_(std::move(statement)) {}
  sqlite3* db_;
  OwnedStatement statement_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back if the owner returns without commit().
class WriteTransaction {
 public:
  static Result<WriteTransaction> begin(sqlite3* db) {
    if (auto st = common::store::exec(db, "BEGIN IMMEDIATE"); !st) {
      return fail(std::string(kWhat) + ": " + st.error().message);
    }
    return WriteTransaction(db);
  }
  WriteTransaction(WriteTransaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  WriteTransaction& operator=(WriteTransaction&&) = delete;
  ~WriteTransaction() {
    if (db_ && sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) {
      common::log::error("webhook.outbox_rollback_failed").kv("error", sqlite3_errmsg(db_));
    }
  }
  Status commit() {
    sqlite3* db = std::exchange(db_, nullptr);
    if (auto st = common::store::exec(db, "COMMIT"); !st) {
      // A failed COMMIT (SQLITE_BUSY, I/O error) can leave the transaction open.
      if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return fail(std::string(kWhat) + ": " + st.error().message);
    }
    return {};
  }

 private:
  explicit WriteTransaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

std::string_view capped(std::string_view text) { return text.substr(0, kMaxOutboxErrorLength); }

std::optional<OutboxState> parse_state(std::string_view name) {
  for (OutboxState state : {OutboxState::Pending, OutboxState::Delivered, OutboxState::Abandoned}) {
    if (name == outbox_state_name(state)) return state;
  }
  return std::nullopt;
}

}  // namespace

const char* outbox_state_name(OutboxState state) {
  switch (state) {
    case OutboxState::Pending:
      return "pending";
    case OutboxState::Delivered:
      return "delivered";
    case OutboxState::Abandoned:
      return "abandoned";
  }
  return "pending";
}

Status create_outbox_schema(sqlite3* db) {
  for (const char* sql : kSchema) {
    if (auto st = common::store::exec(db, sql); !st)
      return fail(std::string(kWhat) + ": " + st.error().message);
  }
  return {};
}

Result<std::int64_t> enqueue_webhook(sqlite3* db, const WebhookEvent& event, std::int64_t now) {
  auto insert = Statement::prepare(db, kInsert);
  if (!insert) return std::unexpected(insert.error());
  for (auto st :
       {insert->text(1, event.tenant), insert->text(2, event.stream), insert->text(3, event.event),
        insert->text(4, event.url), insert->text(5, event.body), insert->number(6, now)}) {
    if (!st) return std::unexpected(st.error());
  }
  auto done = insert->step();
  if (!done) return std::unexpected(done.error());
  return sqlite3_last_insert_rowid(db);
}

Result<std::unique_ptr<WebhookOutbox>> WebhookOutbox::open(const std::filesystem::path& database) {
  auto db =
      common::store::open_state_database(database, std::string(kWhat) + " " + database.string());
  if (!db) return std::unexpected(db.error());
  std::unique_ptr<WebhookOutbox> outbox(new WebhookOutbox(std::move(*db)));
  if (auto st = create_outbox_schema(outbox->db_.get()); !st) return std::unexpected(st.error());
  return outbox;
}

WebhookOutbox::~WebhookOutbox() = default;

Result<std::vector<ClaimedWebhook>> WebhookOutbox::claim_due(std::int64_t now, std::size_t limit,
                                                             const std::set<std::int64_t>& exclude,
                                                             std::int64_t lease_until) {
  std::vector<ClaimedWebhook> claimed;
  if (limit == 0) return claimed;
  sqlite3* db = db_.get();
  auto transaction = WriteTransaction::begin(db);
  if (!transaction) return std::unexpected(transaction.error());
  {
    auto select = Statement::prepare(db, kSelectDue);
    if (!select) return std::unexpected(select.error());
    // Ask for enough rows that skipping every excluded id still leaves `limit`.
    const auto wanted = static_cast<std::int64_t>(limit + exclude.size());
    if (auto st = select->number(1, now); !st) return std::unexpected(st.error());
    if (auto st = select->number(2, wanted); !st) return std::unexpected(st.error());
    while (claimed.size() < limit) {
      auto row = select->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      ClaimedWebhook item;
      item.id = select->column_int(0);
      if (exclude.contains(item.id)) continue;
      item.event = {select->column_text(1), select->column_text(2), select->column_text(3),
                    select->column_text(4), select->column_text(5)};
      item.created_at = select->column_int(6);
      item.attempts = static_cast<int>(select->column_int(7)) + 1;
      claimed.push_back(std::move(item));
    }
  }
  auto lease = Statement::prepare(db, kLease);
  if (!lease) return std::unexpected(lease.error());
  for (const auto& item : claimed) {
    if (sqlite3_reset(lease->get()) != SQLITE_OK) return sqlite_fail(db, "reset");
    if (auto st = lease->number(1, item.id); !st) return std::unexpected(st.error());
    if (auto st = lease->number(2, lease_until); !st) return std::unexpected(st.error());
    if (auto done = lease->step(); !done) return std::unexpected(done.error());
  }
  if (auto st = transaction->commit(); !st) return std::unexpected(st.error());
  return claimed;
}

Result<bool> WebhookOutbox::finish(std::int64_t id, const char* sql, std::string_view text,
                                   std::int64_t number) {
  sqlite3* db = db_.get();
  auto transaction = WriteTransaction::begin(db);
  if (!transaction) return std::unexpected(transaction.error());
  auto update = Statement::prepare(db, sql);
  if (!update) return std::unexpected(update.error());
  for (auto st :
       {update->number(1, id), update->text(2, capped(text)), update->number(3, number)}) {
    if (!st) return std::unexpected(st.error());
  }
  if (auto done = update->step(); !done) return std::unexpected(done.error());
  const bool changed = sqlite3_changes(db) > 0;
  if (auto st = transaction->commit(); !st) return std::unexpected(st.error());
  return changed;
}

Result<bool> WebhookOutbox::mark_delivered(std::int64_t id, std::int64_t now) {
  return finish(id, kDelivered, "", now);
}

Result<bool> WebhookOutbox::abandon(std::int64_t id, std::string_view reason, std::int64_t now) {
  return finish(id, kAbandon, reason, now);
}

Result<bool> WebhookOutbox::reschedule(std::int64_t id, std::int64_t next_attempt_at,
                                       std::string_view error) {
  return finish(id, kReschedule, error, next_attempt_at);
}

Result<std::int64_t> WebhookOutbox::count_pending() {
  auto count = Statement::prepare(db_.get(), kCountPending);
  if (!count) return std::unexpected(count.error());
  auto row = count->step();
  if (!row) return std::unexpected(row.error());
  return *row ? count->column_int(0) : 0;
}

Result<std::optional<std::int64_t>> WebhookOutbox::next_due() {
  auto next = Statement::prepare(db_.get(), kNextDue);
  if (!next) return std::unexpected(next.error());
  auto row = next->step();
  if (!row) return std::unexpected(row.error());
  if (!*row || next->column_null(0)) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(next->column_int(0));
}

namespace {

// The row `select` (kRecordColumns) is on.
Result<OutboxRecord> read_record(Statement& select) {
  OutboxRecord record;
  record.id = select.column_int(0);
  record.event = {select.column_text(1), select.column_text(2), select.column_text(3), select.column_text(4),
                  select.column_text(5)};
  record.created_at = select.column_int(6);
  record.attempts = static_cast<int>(select.column_int(7));
  record.next_attempt_at = select.column_int(8);
  record.last_error = select.column_text(9);
  const std::string state = select.column_text(10);
  auto parsed = parse_state(state);
  if (!parsed) {
    return fail(std::string(kWhat) + ": row " + std::to_string(record.id) + " has unknown state " + state);
  }
  record.state = *parsed;
  if (!select.column_null(11)) record.finished_at = select.column_int(11);
  return record;
}

}  // namespace

Result<std::optional<OutboxRecord>> WebhookOutbox::find(std::int64_t id) {
  auto select = Statement::prepare(db_.get(), (std::string(kRecordColumns) + kFindWhere).c_str());
  if (!select) return std::unexpected(select.error());
  if (auto st = select->number(1, id); !st) return std::unexpected(st.error());
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<OutboxRecord>();
  auto record = read_record(*select);
  if (!record) return std::unexpected(record.error());
  return std::optional<OutboxRecord>(std::move(*record));
}

Result<std::vector<OutboxRecord>> WebhookOutbox::list(const std::optional<std::string>& tenant,
                                                      std::optional<OutboxState> state, std::size_t limit) {
  auto select = Statement::prepare(db_.get(), (std::string(kRecordColumns) + kListWhere).c_str());
  if (!select) return std::unexpected(select.error());
  Status st;
  if (tenant) st = select->text(1, *tenant);
  if (st && state) st = select->text(2, outbox_state_name(*state));
  if (st) st = select->number(3, static_cast<std::int64_t>(limit));
  if (!st) return std::unexpected(st.error());
  std::vector<OutboxRecord> records;
  for (;;) {
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return records;
    auto record = read_record(*select);
    if (!record) return std::unexpected(record.error());
    records.push_back(std::move(*record));
  }
}

Result<bool> WebhookOutbox::retry(std::int64_t id, std::int64_t now) {
  auto update = Statement::prepare(db_.get(), kRetry);
  if (!update) return std::unexpected(update.error());
  Status st = update->number(1, id);
  if (st) st = update->number(2, now);
  if (!st) return std::unexpected(st.error());
  auto done = update->step();
  if (!done) return std::unexpected(done.error());
  return sqlite3_changes(db_.get()) > 0;
}

Result<std::int64_t> WebhookOutbox::purge_finished(std::int64_t before, std::size_t limit) {
  sqlite3* db = db_.get();
  auto transaction = WriteTransaction::begin(db);
  if (!transaction) return std::unexpected(transaction.error());
  auto purge = Statement::prepare(db, kPurge);
  if (!purge) return std::unexpected(purge.error());
  if (auto st = purge->number(1, before); !st) return std::unexpected(st.error());
  if (auto st = purge->number(2, static_cast<std::int64_t>(limit)); !st)
    return std::unexpected(st.error());
  if (auto done = purge->step(); !done) return std::unexpected(done.error());
  const std::int64_t deleted = sqlite3_changes(db);
  if (auto st = transaction->commit(); !st) return std::unexpected(st.error());
  return deleted;
}

}  // namespace bounced::webhook
