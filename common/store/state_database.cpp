// The state database's connection policy. See state_database.h.
#include "common/store/state_database.h"

namespace common::store {
namespace {

using OwnedStatement = Owned<sqlite3_stmt, &sqlite3_finalize>;

// The first column of the first row of `sql`.
Result<std::string> query_text(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) return fail(sqlite3_errmsg(db));
  OwnedStatement statement(raw);
  if (sqlite3_step(statement.get()) != SQLITE_ROW) return fail(std::string("no result from ") + sql);
  const unsigned char* text = sqlite3_column_text(statement.get(), 0);
  return std::string(text ? reinterpret_cast<const char*>(text) : "");
}

}  // namespace

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
  char* message = nullptr;
  if (sqlite3_exec(c, "PRAGMA synchronous=NORMAL", nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(c);
    sqlite3_free(message);
    return fail(what + ": " + text);
  }
  return db;
}

}  // namespace common::store
