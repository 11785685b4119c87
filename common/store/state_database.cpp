// The state database's connection policy. See state_database.h.
#include "common/store/state_database.h"

namespace common::store {
Status exec(sqlite3* db, const char* sql) {
  char* raw_message = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &raw_message);
  OwnedSqliteText message(raw_message);
  if (rc != SQLITE_OK) {
    return fail(std::string(sql).substr(0, 40) + ": " + (message ? message.get() : sqlite3_errstr(rc)));
  }
  return {};
}

Result<std::string> query_text(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return fail(std::string(sql) + ": " + sqlite3_errmsg(db));
  OwnedStatement statement(raw);
  if (sqlite3_step(statement.get()) != SQLITE_ROW) return fail(std::string("no result from ") + sql);
  std::string value = column_text(statement.get(), 0);
  if (sqlite3_step(statement.get()) != SQLITE_DONE) return fail(std::string(sql) + ": " + sqlite3_errmsg(db));
  return value;
}

std::string column_text(sqlite3_stmt* statement, int column) {
  const unsigned char* value = sqlite3_column_text(statement, column);
  return value ? reinterpret_cast<const char*>(value) : "";
}

Result<OwnedStatement> prepare(sqlite3* db, const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    return fail(std::string(what) + ": prepare: " + sqlite3_errmsg(db));
  }
  return OwnedStatement(raw);
}

Status bind_text(sqlite3* db, sqlite3_stmt* statement, int index, std::string_view text, std::string_view what) {
  if (sqlite3_bind_text64(statement, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK) {
    return fail(std::string(what) + ": bind: " + sqlite3_errmsg(db));
  }
  return {};
}

Result<OwnedSqlite> open_state_database(const std::filesystem::path& database, const std::string& what) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(database.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  OwnedSqlite db(raw);  // even a failed open returns a handle to close
  if (rc != SQLITE_OK) return fail("cannot open " + what + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3* c = db.get();
  if (sqlite3_extended_result_codes(c, 1) != SQLITE_OK || sqlite3_busy_timeout(c, kBusyTimeoutMs) != SQLITE_OK) {
    return fail(what + ": " + sqlite3_errmsg(c));
  }
  // journal_mode answers with the mode in force; anything but "wal" is a failure.
  auto mode = query_text(c, "PRAGMA journal_mode=WAL");
  if (!mode) return fail(what + ": " + mode.error().message);
  if (*mode != "wal") return fail(what + ": cannot use WAL (journal_mode is " + *mode + ")");
  if (auto st = exec(c, "PRAGMA synchronous=NORMAL"); !st) return fail(what + ": " + st.error().message);
  return db;
}

ImmediateTransaction::~ImmediateTransaction() {
  if (open_) (void)exec(db_, "ROLLBACK");
}

Status ImmediateTransaction::begin() {
  auto st = exec(db_, "BEGIN IMMEDIATE");
  open_ = static_cast<bool>(st);
  return st;
}

Status ImmediateTransaction::commit() {
  auto st = exec(db_, "COMMIT");
  if (st) open_ = false;
  return st;
}

}  // namespace common::store
