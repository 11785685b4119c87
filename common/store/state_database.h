// open_state_database: the one way stamp opens a connection to its SQLite
// state database (message log, suppressions, domain verification), so every
// process and table gets the same connection policy (research/dependencies.md,
// section 5): extended result codes, a busy timeout so a writer in another
// process (stamp-bounced, stampctl) is waited for rather than failed on, WAL
// so readers never block writers, and synchronous=NORMAL (a power cut may lose
// the last transactions, never corrupt the file). Each store creates its own
// tables; the message log owns PRAGMA user_version.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "common/base/owned.h"
#include "common/base/result.h"

namespace common::store {

using OwnedSqlite = Owned<sqlite3, &sqlite3_close_v2>;
using OwnedStatement = Owned<sqlite3_stmt, &sqlite3_finalize>;
using OwnedSqliteText = Owned<char, &sqlite3_free>;

inline constexpr int kBusyTimeoutMs = 5000;

// `what` names the user in errors ("suppression list /var/lib/stamp/state.db").
// The connection is opened NOMUTEX: its owner serializes its use.
Result<OwnedSqlite> open_state_database(const std::filesystem::path& database, const std::string& what);

// Runs SQL without results (schema, BEGIN/COMMIT); the error names the statement.
Status exec(sqlite3* db, const char* sql);
// The first column of the single row `sql` yields (PRAGMAs).
Result<std::string> query_text(sqlite3* db, const char* sql);
// A text column, "" for NULL.
std::string column_text(sqlite3_stmt* statement, int column);
// A prepared statement; the error names `what` ("suppression list") and SQLite's message.
Result<OwnedStatement> prepare(sqlite3* db, const char* sql, std::string_view what);
// Binds text (SQLITE_TRANSIENT: SQLite copies, the caller's string may go away).
Status bind_text(sqlite3* db, sqlite3_stmt* statement, int index, std::string_view text, std::string_view what);

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed, so every early
// return leaves the database as it was. IMMEDIATE, not a deferred BEGIN: a
// read-then-write transaction would otherwise get "database is locked" at
// once, whatever busy_timeout says (research/dependencies.md section 5).
class ImmediateTransaction {
 public:
  explicit ImmediateTransaction(sqlite3* db) : db_(db) {}
  ~ImmediateTransaction();
  ImmediateTransaction(const ImmediateTransaction&) = delete;
  ImmediateTransaction& operator=(const ImmediateTransaction&) = delete;
  Status begin();
  Status commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace common::store
