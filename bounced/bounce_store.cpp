// The bounce tables. See bounce_store.h.
//
// The reads of stamp-mta's tables use SQLite's built-in JSON functions
// (json_each) for the `metadata` object and the `recipients` array that
// mta/state/message_log.cpp writes, so there is no JSON parser of ours here.
#include "bounced/bounce_store.h"

#include "common/base/ascii.h"
#include "common/store/state_database.h"

namespace bounced {
namespace {

using common::store::bind_text;
using common::store::column_text;
using common::store::exec;
using common::store::OwnedStatement;
using common::store::prepare;

constexpr std::string_view kWhat = "bounce store";

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS bounce_report("
    "  id INTEGER PRIMARY KEY,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  received_at INTEGER NOT NULL,"
    "  envelope_from TEXT,"
    "  envelope_to TEXT,"
    "  kind TEXT,"
    "  size INTEGER,"
    "  truncated INTEGER,"
    "  raw BLOB);"
    "CREATE TABLE IF NOT EXISTS bounce("
    "  id INTEGER PRIMARY KEY,"
    "  report_id INTEGER NOT NULL REFERENCES bounce_report(id),"
    "  tenant TEXT, stream TEXT, queue_id TEXT, message_id TEXT,"
    "  email TEXT,"
    "  class TEXT, type TEXT, type_code INTEGER, reason TEXT, status TEXT,"
    "  diagnostic TEXT, remote_mta TEXT, action TEXT, feedback_type TEXT,"
    "  tag TEXT, from_header TEXT, subject TEXT,"
    "  bounced_at INTEGER NOT NULL,"
    "  suppressed INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS bounce_email ON bounce(email, bounced_at);"
    "CREATE INDEX IF NOT EXISTS bounce_tenant_email ON bounce(tenant, stream, email, bounced_at);";

constexpr const char* kFindReport = "SELECT id FROM bounce_report WHERE sha256 = ?1";
constexpr const char* kInsertReport =
    "INSERT INTO bounce_report(sha256, received_at, envelope_from, envelope_to, kind, size, truncated, raw) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr const char* kInsertBounce =
    "INSERT INTO bounce(report_id, tenant, stream, queue_id, message_id, email, class, type, type_code, reason, "
    "status, diagnostic, remote_mta, action, feedback_type, tag, from_header, subject, bounced_at, suppressed) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)";
// The last delivery to the address (stamp-mta's message_log; absent in a
// database stamp-mta never opened) resets the count.
constexpr const char* kSoftInARow =
    "SELECT count(*) FROM bounce WHERE tenant = ?1 AND stream = ?2 AND email = ?3 AND class = 'soft' "
    "AND bounced_at >= max(?4, coalesce((SELECT max(at) FROM message_log WHERE tenant = ?1 AND "
    "lower(recipient) = ?3 AND status = 'delivered'), 0))";
constexpr const char* kSoftInARowWithoutLog =
    "SELECT count(*) FROM bounce WHERE tenant = ?1 AND stream = ?2 AND email = ?3 AND class = 'soft' "
    "AND bounced_at >= ?4";
constexpr const char* kMessageColumns =
    "SELECT queue_id, tenant, stream, tag, message_id, from_header, subject, sender, metadata, recipients "
    "FROM message ";
constexpr const char* kJsonObject = "SELECT key, value FROM json_each(?1)";

common::Status fail_sqlite(sqlite3* db, std::string_view what) {
  return common::fail(std::string(kWhat) + ": " + std::string(what) + ": " + sqlite3_errmsg(db));
}

common::Status bind_all(sqlite3* db, sqlite3_stmt* s, int first, std::initializer_list<const std::string*> texts) {
  int index = first;
  for (const std::string* text : texts) {
    if (auto st = bind_text(db, s, index++, *text, kWhat); !st) return st;
  }
  return {};
}

common::Status bind_int(sqlite3* db, sqlite3_stmt* s, int index, std::int64_t value) {
  if (sqlite3_bind_int64(s, index, value) != SQLITE_OK) return fail_sqlite(db, "bind");
  return {};
}

bool table_exists(sqlite3* db, const char* name) {
  auto s = prepare(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", kWhat);
  if (!s || !bind_text(db, s->get(), 1, name, kWhat)) return false;
  return sqlite3_step(s->get()) == SQLITE_ROW;
}

// The (key, value) pairs of a JSON object or the (index, value) pairs of an array.
common::Result<std::vector<std::pair<std::string, std::string>>> json_pairs(sqlite3* db, const std::string& json) {
  std::vector<std::pair<std::string, std::string>> out;
  if (json.empty()) return out;
  auto s = prepare(db, kJsonObject, kWhat);
  if (!s) return std::unexpected(s.error());
  if (auto st = bind_text(db, s->get(), 1, json, kWhat); !st) return std::unexpected(st.error());
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) out.emplace_back(column_text(s->get(), 0), column_text(s->get(), 1));
  if (rc != SQLITE_DONE) return std::unexpected(fail_sqlite(db, "json_each").error());
  return out;
}

common::Result<std::optional<MessageFacts>> find_message(sqlite3* db, const std::string& where,
                                                         const std::string& value) {
  if (!table_exists(db, "message")) return std::optional<MessageFacts>();  // stamp-mta has not run yet
  auto s = prepare(db, (std::string(kMessageColumns) + where).c_str(), kWhat);
  if (!s) return std::unexpected(s.error());
  if (auto st = bind_text(db, s->get(), 1, value, kWhat); !st) return std::unexpected(st.error());
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return std::optional<MessageFacts>();
  if (rc != SQLITE_ROW) return std::unexpected(fail_sqlite(db, "read message").error());
  sqlite3_stmt* row = s->get();
  MessageFacts facts{column_text(row, 0), column_text(row, 1), column_text(row, 2), column_text(row, 3),
                     column_text(row, 4), column_text(row, 5), column_text(row, 6), column_text(row, 7),
                     {}, {}};
  const std::string metadata = column_text(row, 8);
  const std::string recipients = column_text(row, 9);
  auto pairs = json_pairs(db, metadata);
  if (!pairs) return std::unexpected(pairs.error());
  facts.metadata = std::move(*pairs);
  auto items = json_pairs(db, recipients);
  if (!items) return std::unexpected(items.error());
  for (auto& [index, address] : *items) facts.recipients.push_back(std::move(address));
  return std::optional<MessageFacts>(std::move(facts));
}

}  // namespace

common::Status create_bounce_schema(sqlite3* db) { return exec(db, kSchema); }

common::Result<std::optional<std::int64_t>> find_report(sqlite3* db, const std::string& sha256) {
  auto s = prepare(db, kFindReport, kWhat);
  if (!s) return std::unexpected(s.error());
  if (auto st = bind_text(db, s->get(), 1, sha256, kWhat); !st) return std::unexpected(st.error());
  int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return std::optional<std::int64_t>();
  if (rc != SQLITE_ROW) return std::unexpected(fail_sqlite(db, "find report").error());
  return std::optional<std::int64_t>(sqlite3_column_int64(s->get(), 0));
}

common::Result<std::int64_t> insert_report(sqlite3* db, const ReportRow& row) {
  auto s = prepare(db, kInsertReport, kWhat);
  if (!s) return std::unexpected(s.error());
  sqlite3_stmt* st = s->get();
  common::Status ok = bind_text(db, st, 1, row.sha256, kWhat);
  if (ok) ok = bind_int(db, st, 2, row.received_at);
  if (ok) ok = bind_all(db, st, 3, {&row.envelope_from, &row.envelope_to, &row.kind});
  if (ok) ok = bind_int(db, st, 6, static_cast<std::int64_t>(row.size));
  if (ok) ok = bind_int(db, st, 7, row.truncated ? 1 : 0);
  if (ok && sqlite3_bind_blob64(st, 8, row.raw.data(), row.raw.size(), SQLITE_TRANSIENT) != SQLITE_OK) {
    ok = fail_sqlite(db, "bind raw");
  }
  if (ok && sqlite3_step(st) != SQLITE_DONE) ok = fail_sqlite(db, "insert report");
  if (!ok) return std::unexpected(ok.error());
  return sqlite3_last_insert_rowid(db);
}

common::Result<std::int64_t> insert_bounce(sqlite3* db, const BounceRow& row) {
  auto s = prepare(db, kInsertBounce, kWhat);
  if (!s) return std::unexpected(s.error());
  sqlite3_stmt* st = s->get();
  const std::string email = common::ascii_lower(row.email);
  common::Status ok = bind_int(db, st, 1, row.report_id);
  if (ok) ok = bind_all(db, st, 2, {&row.tenant, &row.stream, &row.queue_id, &row.message_id, &email,
                                    &row.bounce_class, &row.type});
  if (ok) ok = bind_int(db, st, 9, row.type_code);
  if (ok) ok = bind_all(db, st, 10, {&row.reason, &row.status, &row.diagnostic, &row.remote_mta, &row.action,
                                     &row.feedback_type, &row.tag, &row.from, &row.subject});
  if (ok) ok = bind_int(db, st, 19, row.bounced_at);
  if (ok) ok = bind_int(db, st, 20, row.suppressed ? 1 : 0);
  if (ok && sqlite3_step(st) != SQLITE_DONE) ok = fail_sqlite(db, "insert bounce");
  if (!ok) return std::unexpected(ok.error());
  return sqlite3_last_insert_rowid(db);
}

common::Result<std::size_t> purge_bounces(sqlite3* db, std::int64_t before, std::size_t limit) {
  const std::string cutoff = std::to_string(before);
  const std::string most = std::to_string(limit);
  std::size_t removed = 0;
  for (const std::string& sql :
       {"DELETE FROM bounce WHERE id IN (SELECT id FROM bounce WHERE bounced_at < " + cutoff + " LIMIT " + most + ")",
        "DELETE FROM bounce_report WHERE id IN (SELECT id FROM bounce_report WHERE received_at < " + cutoff +
            " AND NOT EXISTS (SELECT 1 FROM bounce WHERE bounce.report_id = bounce_report.id) LIMIT " + most + ")"}) {
    if (auto st = exec(db, sql.c_str()); !st) return std::unexpected(st.error());
    removed += static_cast<std::size_t>(sqlite3_changes(db));
  }
  return removed;
}

common::Status mark_suppressed(sqlite3* db, std::int64_t bounce_id) {
  auto s = prepare(db, "UPDATE bounce SET suppressed = 1 WHERE id = ?1", kWhat);
  if (!s) return std::unexpected(s.error());
  if (auto st = bind_int(db, s->get(), 1, bounce_id); !st) return st;
  if (sqlite3_step(s->get()) != SQLITE_DONE) return fail_sqlite(db, "mark suppressed");
  return {};
}

common::Result<std::size_t> soft_bounces_in_a_row(sqlite3* db, const std::string& tenant, const std::string& stream,
                                                  const std::string& email, std::int64_t since) {
  auto s = prepare(db, table_exists(db, "message_log") ? kSoftInARow : kSoftInARowWithoutLog, kWhat);
  if (!s) return std::unexpected(s.error());
  const std::string lower = common::ascii_lower(email);
  common::Status ok = bind_all(db, s->get(), 1, {&tenant, &stream, &lower});
  if (ok) ok = bind_int(db, s->get(), 4, since);
  if (!ok) return std::unexpected(ok.error());
  if (sqlite3_step(s->get()) != SQLITE_ROW) return std::unexpected(fail_sqlite(db, "count soft bounces").error());
  return static_cast<std::size_t>(sqlite3_column_int64(s->get(), 0));
}

common::Result<std::optional<MessageFacts>> find_message_by_queue_id(sqlite3* db, const std::string& queue_id) {
  return find_message(db, "WHERE queue_id = ?1", queue_id);
}

common::Result<std::optional<MessageFacts>> find_message_by_message_id(sqlite3* db, const std::string& message_id) {
  std::string bracketed = message_id;
  if (!bracketed.starts_with("<")) bracketed = "<" + bracketed + ">";
  return find_message(db, "WHERE message_id = ?1 ORDER BY accepted_at DESC LIMIT 1", bracketed);
}

}  // namespace bounced
