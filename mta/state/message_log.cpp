// MessageLog: the SQLite side of the delivery record. See message_log.h.
//
// Owns the connection, the schema (and its version), and the writer thread's
// batching. It does not read the log back (the API and webhooks will), and it
// never throws or blocks its callers on the disk: a failed batch is logged and
// dropped, because the queue, not this log, decides what gets delivered.
//
// Durability: WAL with synchronous=NORMAL (research/dependencies.md section 5):
// a power cut may lose the last committed batches but never corrupts the file,
// which is what a record of this kind needs. Every write transaction starts
// with BEGIN IMMEDIATE, so a second process (stampctl, a future API) waiting on
// the lock gets busy_timeout rather than an instant "database is locked".
#include "mta/state/message_log.h"

#include "common/store/state_database.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <span>
#include <system_error>
#include <utility>

#include "common/base/json.h"
#include "common/base/log.h"
#include "common/base/owned.h"

namespace mta {
namespace {

constexpr int kSchemaVersion = 2;

using common::store::exec;
using common::store::OwnedSqlite;
using common::store::OwnedStatement;
using common::store::query_text;

// Version 1. Later versions add steps to migrate(), never edit this one.
constexpr const char* kSchemaV1 =
    "CREATE TABLE IF NOT EXISTS message_log("
    "  id INTEGER PRIMARY KEY,"
    "  queue_id TEXT NOT NULL,"
    "  tenant TEXT,"
    "  sender TEXT,"
    "  recipient TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  remote TEXT,"
    "  reply TEXT,"
    "  attempt INTEGER,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS message_log_queue_id ON message_log(queue_id);"
    "CREATE INDEX IF NOT EXISTS message_log_recipient_at ON message_log(recipient, at);";

// Version 2: the accepted messages, for stamp-bounced's webhooks.
constexpr const char* kSchemaV2 =
    "CREATE TABLE IF NOT EXISTS message("
    "  queue_id TEXT PRIMARY KEY,"
    "  tenant TEXT,"
    "  stream TEXT,"
    "  tag TEXT,"
    "  metadata TEXT,"  /* a JSON object */
    "  message_id TEXT,"
    "  from_header TEXT,"
    "  subject TEXT,"
    "  sender TEXT,"
    "  recipients TEXT,"  /* a JSON array, in envelope order */
    "  accepted_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS message_accepted_at ON message(accepted_at);"
    "CREATE INDEX IF NOT EXISTS message_message_id ON message(message_id);";

constexpr const char* kInsertMessage =
    "INSERT OR REPLACE INTO message(queue_id, tenant, stream, tag, metadata, message_id, from_header, subject, "
    "sender, recipients, accepted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

constexpr const char* kInsert =
    "INSERT INTO message_log(queue_id, tenant, sender, recipient, status, remote, reply, attempt, "
    "at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

std::unexpected<common::Error> sqlite_fail(sqlite3* db, const std::string& what) {
  return common::fail(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

void rollback(sqlite3* db) {
  if (sqlite3_get_autocommit(db)) return;  // no transaction left to undo
  if (auto st = exec(db, "ROLLBACK"); !st) {
    common::log::error("message_log.rollback_failed").kv("error", st.error().message);
  }
}

common::Status migrate(sqlite3* db) {
  auto version_text = query_text(db, "PRAGMA user_version");
  if (!version_text) return std::unexpected(version_text.error());
  int version = std::atoi(version_text->c_str());
  if (version > kSchemaVersion) {
    return common::fail("schema version " + std::to_string(version) +
                        " is newer than this stamp-mta (" + std::to_string(kSchemaVersion) + ")");
  }
  if (version == kSchemaVersion) return {};
  if (auto st = exec(db, "BEGIN IMMEDIATE"); !st) return st;
  common::Status st;
  if (version < 1) st = exec(db, kSchemaV1);
  if (st && version < 2) st = exec(db, kSchemaV2);
  if (st) st = exec(db, ("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
  if (st) st = exec(db, "COMMIT");
  if (!st) rollback(db);
  return st;
}

common::Status bind_text(sqlite3* db, sqlite3_stmt* statement, int index, const std::string& text) {
  // SQLITE_STATIC: the entry outlives the step that reads it; bindings are
  // cleared right after.
  if (sqlite3_bind_text64(statement, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8) !=
      SQLITE_OK) {
    return sqlite_fail(db, "bind");
  }
  return {};
}

// Steps a prepared insert whose binding went as `st` says, then readies it for
// the next row whatever happened.
common::Status step_and_reset(sqlite3* db, sqlite3_stmt* statement, common::Status st, const char* what) {
  if (st && sqlite3_step(statement) != SQLITE_DONE) st = sqlite_fail(db, what);
  // reset() repeats the step's error, which is already in `st`.
  int reset_rc = sqlite3_reset(statement);
  if (st && reset_rc != SQLITE_OK) st = sqlite_fail(db, "reset");
  if (sqlite3_clear_bindings(statement) != SQLITE_OK && st) st = sqlite_fail(db, "clear bindings");
  return st;
}

common::Status insert_row(sqlite3* db, sqlite3_stmt* statement, const MessageLogEntry& e) {
  common::Status st;
  int index = 1;
  for (const std::string* text :
       {&e.queue_id, &e.tenant, &e.sender, &e.recipient, &e.status, &e.remote, &e.reply}) {
    if (st) st = bind_text(db, statement, index++, *text);
  }
  if (st && sqlite3_bind_int(statement, 8, e.attempt) != SQLITE_OK)
    st = sqlite_fail(db, "bind attempt");
  if (st && sqlite3_bind_int64(statement, 9, e.at) != SQLITE_OK) st = sqlite_fail(db, "bind at");
  return step_and_reset(db, statement, st, "insert");
}

std::string json_object(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out = "{";
  for (const auto& [key, value] : fields) {
    if (out.size() > 1) out += ",";
    out += common::json_quote(key) + ":" + common::json_quote(value);
  }
  return out + "}";
}

std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& item : items) {
    if (out.size() > 1) out += ",";
    out += common::json_quote(item);
  }
  return out + "]";
}

common::Status insert_message(sqlite3* db, sqlite3_stmt* statement, const AcceptedMessage& m) {
  const std::string metadata = json_object(m.metadata);
  const std::string recipients = json_array(m.recipients);
  common::Status st;
  int index = 1;
  for (const std::string* text : {&m.queue_id, &m.tenant, &m.stream, &m.tag, &metadata, &m.message_id, &m.from,
                                  &m.subject, &m.sender, &recipients}) {
    if (st) st = bind_text(db, statement, index++, *text);
  }
  if (st && sqlite3_bind_int64(statement, 11, m.accepted_at) != SQLITE_OK) st = sqlite_fail(db, "bind accepted_at");
  return step_and_reset(db, statement, st, "insert message");
}

// Batched so one request never holds the write lock for long; what is left
// goes at the next request.
common::Status purge_rows(sqlite3* db, std::int64_t before) {
  const std::string limit = std::to_string(MessageLog::kMaxPurgeRows);
  const std::string cutoff = std::to_string(before);
  for (const std::string& sql :
       {"DELETE FROM message_log WHERE id IN (SELECT id FROM message_log WHERE at < " + cutoff + " LIMIT " + limit + ")",
        "DELETE FROM message WHERE queue_id IN (SELECT queue_id FROM message WHERE accepted_at < " + cutoff +
            " LIMIT " + limit + ")"}) {
    if (auto st = exec(db, sql.c_str()); !st) return st;
  }
  return {};
}

}  // namespace

struct MessageLog::Database {
  std::string path;
  OwnedSqlite db;
  OwnedStatement insert;          // declared after db: finalized before the connection closes
  OwnedStatement insert_message;

  common::Status write_batch(std::span<const Row> rows) {
    if (auto st = exec(db.get(), "BEGIN IMMEDIATE"); !st) return st;
    for (const auto& row : rows) {
      common::Status written;
      if (const auto* entry = std::get_if<MessageLogEntry>(&row)) {
        written = insert_row(db.get(), insert.get(), *entry);
      } else if (const auto* message = std::get_if<AcceptedMessage>(&row)) {
        written = mta::insert_message(db.get(), insert_message.get(), *message);
      } else {
        written = purge_rows(db.get(), std::get<PurgeBefore>(row).before);
      }
      if (auto st = written; !st) {
        rollback(db.get());
        return st;
      }
    }
    if (auto st = exec(db.get(), "COMMIT"); !st) {
      rollback(db.get());
      return st;
    }
    return {};
  }
};

common::Result<std::unique_ptr<MessageLog>> MessageLog::open(
    const std::filesystem::path& database) {
  auto db = std::make_unique<Database>();
  db->path = database.string();
  const std::string where = "message log " + db->path;
  // NOMUTEX: the connection is used by one thread at a time (opened here,
  // then only by the writer thread, which starts after this returns).
  auto opened = common::store::open_state_database(database, where);
  if (!opened) return std::unexpected(opened.error());
  db->db = std::move(*opened);
  sqlite3* c = db->db.get();
  if (auto st = migrate(c); !st) return common::fail(where + ": " + st.error().message);
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v3(c, kInsert, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) !=
      SQLITE_OK) {
    return sqlite_fail(c, where + ": prepare insert");
  }
  db->insert.reset(statement);
  statement = nullptr;
  if (sqlite3_prepare_v3(c, kInsertMessage, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) != SQLITE_OK) {
    return sqlite_fail(c, where + ": prepare insert message");
  }
  db->insert_message.reset(statement);
  try {
    return std::unique_ptr<MessageLog>(new MessageLog(std::move(db)));
  } catch (const std::system_error& e) {  // no thread could be started
    return common::fail(where + ": cannot start the writer thread: " + e.what());
  }
}

MessageLog::MessageLog(std::unique_ptr<Database> db)
    : db_(std::move(db)), writer_([this] { run(); }) {}

MessageLog::~MessageLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void MessageLog::record(MessageLogEntry entry) { queue_row(std::move(entry)); }

void MessageLog::record(AcceptedMessage message) { queue_row(std::move(message)); }

void MessageLog::purge(PurgeBefore request) { queue_row(request); }

void MessageLog::queue_row(Row entry) {
  bool queued = false;
  bool first_dropped = false;
  {
    std::lock_guard lock(mutex_);
    if (queued_.size() < kMaxQueued) {
      queued_.push_back(std::move(entry));
      ++accepted_;
      queued = true;
    } else {
      ++stats_.dropped;
      first_dropped = dropped_unreported_++ == 0;
    }
  }
  if (queued) {
    wake_.notify_one();
  } else if (first_dropped) {
    // One line when dropping starts; the writer logs how many when it catches up.
    common::log::error("message_log.dropped")
        .kv("reason", "queue_full")
        .kv("max_queued", kMaxQueued);
  }
}

void MessageLog::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = accepted_;
  progress_.wait(lock, [&] { return handled_ >= target; });
}

MessageLog::Stats MessageLog::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void MessageLog::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queued_.empty(); });
    if (queued_.empty()) return;  // stopping, and everything is written
    std::vector<Row> work;
    work.swap(queued_);
    std::uint64_t dropped = std::exchange(dropped_unreported_, 0);
    lock.unlock();

    if (dropped) {
      common::log::error("message_log.dropped")
          .kv("entries", static_cast<unsigned long long>(dropped));
    }
    for (std::size_t begin = 0; begin < work.size(); begin += kMaxBatch) {
      std::size_t count = std::min(kMaxBatch, work.size() - begin);
      auto st = db_->write_batch(std::span<const Row>(work).subspan(begin, count));
      if (!st) {
        common::log::error("message_log.write_failed")
            .kv("database", db_->path)
            .kv("rows", count)
            .kv("error", st.error().message);
      }
      std::lock_guard progress_lock(mutex_);
      handled_ += count;
      if (st) {
        stats_.written += count;
        ++stats_.batches;
      } else {
        stats_.failed += count;
      }
      progress_.notify_all();
    }
    lock.lock();
  }
}

}  // namespace mta
