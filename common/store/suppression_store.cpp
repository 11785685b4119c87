// SuppressionStore on SQLite. See suppression_store.h.
//
// Owns the `suppressions` table and its statements. It shares the state
// database with other tables (mta/state/message_log.cpp owns `message_log` and
// the file's PRAGMA user_version), so it creates only its own table, with
// CREATE TABLE IF NOT EXISTS, and never reads or sets user_version. It does not
// decide who may suppress what beyond the one rule the list itself carries: a
// spam complaint is removed only by an administrator.
//
// WAL (research/dependencies.md section 5): stamp-mta's RCPT lookups read
// while stamp-bounced and stampctl write, without blocking each other. Every
// write transaction starts with BEGIN IMMEDIATE, so a writer waiting for the
// lock gets busy_timeout rather than an instant "database is locked".
// synchronous=NORMAL: a power cut may lose the last additions (a later bounce
// adds them again) but never corrupts the file.
//
// One connection (NOMUTEX), every use under the store's own mutex: stamp-mta looks up from the event loop,
// a primary-key read that takes microseconds; callers on other threads would
// simply wait their turn.
#include "common/base/ascii.h"
#include "common/store/suppression_store.h"

#include "common/store/state_database.h"

#include <sqlite3.h>

#include <ctime>
#include <initializer_list>
#include <mutex>
#include <utility>

#include "common/base/log.h"
#include "common/base/owned.h"

namespace common::store {
namespace {



constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS suppressions("
    "  tenant TEXT NOT NULL,"
    "  stream TEXT NOT NULL,"
    "  email TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  origin TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, stream, email))";

constexpr const char* kInsert =
    "INSERT INTO suppressions(tenant, stream, email, reason, origin, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(tenant, stream, email) DO NOTHING";
constexpr const char* kFind =
    "SELECT tenant, stream, email, reason, origin, created_at FROM suppressions "
    "WHERE tenant = ?1 AND stream = ?2 AND email = ?3";
constexpr const char* kList =
    "SELECT tenant, stream, email, reason, origin, created_at FROM suppressions "
    "WHERE tenant = ?1 AND stream = ?2 ORDER BY email";
constexpr const char* kDelete =
    "DELETE FROM suppressions WHERE tenant = ?1 AND stream = ?2 AND email = ?3";

struct ReasonName {
  SuppressionReason reason;
  std::string_view name;
};
constexpr ReasonName kReasons[] = {
    {SuppressionReason::HardBounce, "HardBounce"},
    {SuppressionReason::SpamComplaint, "SpamComplaint"},
    {SuppressionReason::ManualSuppression, "ManualSuppression"},
};

std::unexpected<Error> sqlite_fail(sqlite3* db, std::string_view what) {
  return fail("suppressions: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

// A statement prepared for one use, reset and unbound by its owner.
class Statement {
 public:
  static Result<Statement> prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
      return sqlite_fail(db, "prepare");
    }
    return Statement(db, OwnedStatement(raw));
  }

  // SQLITE_TRANSIENT: SQLite copies, so the caller's strings may go away.
  Status bind(std::initializer_list<std::string_view> texts) {
    int index = 1;
    for (std::string_view text : texts) {
      if (sqlite3_bind_text64(get(), index++, text.data(), text.size(), SQLITE_TRANSIENT,
                              SQLITE_UTF8) != SQLITE_OK) {
        return sqlite_fail(db_, "bind");
      }
    }
    return {};
  }
  Status bind_int64(int index, std::int64_t value) {
    if (sqlite3_bind_int64(get(), index, value) != SQLITE_OK) return sqlite_fail(db_, "bind");
    return {};
  }
  // SQLITE_ROW -> true, SQLITE_DONE -> false, else an error.
  Result<bool> step() {
    int rc = sqlite3_step(get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_fail(db_, "step");
  }
  Result<Suppression> row() {
    Suppression s;
    s.tenant = text(0);
    s.stream = text(1);
    s.email = text(2);
    std::string reason = text(3);
    auto parsed = parse_reason(reason);
    if (!parsed) return fail("suppressions: unknown reason \"" + reason + "\" for " + s.email);
    s.reason = *parsed;
    s.origin = text(4);
    s.created_at = sqlite3_column_int64(get(), 5);
    return s;
  }

  sqlite3_stmt* get() const { return statement_.get(); }

 private:
  Statement(sqlite3* db, OwnedStatement statement) : db_(db), statement_(std::move(statement)) {}
  std::string text(int column) {
    return column_text(get(), column);
  }

  sqlite3* db_;
  OwnedStatement statement_;
};

}  // namespace

Status create_suppression_schema(sqlite3* db) { return exec(db, kSchema); }

Result<bool> add_suppression(sqlite3* db, const Suppression& entry) {
  if (entry.tenant.empty() || entry.stream.empty() || entry.email.empty()) {
    return fail("suppressions: tenant, stream and email must not be empty");
  }
  // created_at 0 means "now": callers that do not care get the real time.
  std::int64_t created = entry.created_at ? entry.created_at : std::time(nullptr);
  auto insert = Statement::prepare(db, kInsert);
  if (!insert) return std::unexpected(insert.error());
  auto st = insert->bind({entry.tenant, entry.stream, common::ascii_lower(entry.email), reason_name(entry.reason),
                          entry.origin});
  if (st) st = insert->bind_int64(6, created);
  if (!st) return std::unexpected(st.error());
  auto stepped = insert->step();
  if (!stepped) return std::unexpected(stepped.error());
  return sqlite3_changes(db) > 0;
}

namespace {

class SqliteSuppressionStore final : public SuppressionStore {
 public:
  explicit SqliteSuppressionStore(OwnedSqlite db) : db_(std::move(db)) {}

  Result<bool> add(const Suppression& entry) override {
    std::lock_guard lock(mutex_);
    return write([&]() -> Result<bool> { return add_suppression(db_.get(), entry); });
  }

  Result<bool> remove(const std::string& tenant, const std::string& stream,
                      const std::string& email, bool admin) override {
    std::lock_guard lock(mutex_);
    const std::string key = common::ascii_lower(email);
    // Read and delete in one transaction, so a complaint added in between
    // cannot be removed by a non-administrator.
    return write([&]() -> Result<bool> {
      auto existing = find_locked(tenant, stream, key);
      if (!existing) return std::unexpected(existing.error());
      if (!*existing) return false;
      if ((*existing)->reason == SuppressionReason::SpamComplaint && !admin) {
        return fail(key + " is suppressed because of a spam complaint; only an administrator may "
                          "reactivate it");
      }
      auto erase = Statement::prepare(db_.get(), kDelete);
      if (!erase) return std::unexpected(erase.error());
      if (auto st = erase->bind({tenant, stream, key}); !st) return std::unexpected(st.error());
      auto stepped = erase->step();
      if (!stepped) return std::unexpected(stepped.error());
      return sqlite3_changes(db_.get()) > 0;
    });
  }

  Result<std::optional<Suppression>> find(const std::string& tenant, const std::string& stream,
                                          const std::string& email) const override {
    std::lock_guard lock(mutex_);
    return find_locked(tenant, stream, common::ascii_lower(email));
  }

  Result<std::vector<Suppression>> list(const std::string& tenant,
                                        const std::string& stream) const override {
    std::lock_guard lock(mutex_);
    auto query = Statement::prepare(db_.get(), kList);
    if (!query) return std::unexpected(query.error());
    if (auto st = query->bind({tenant, stream}); !st) return std::unexpected(st.error());
    std::vector<Suppression> out;
    for (;;) {
      auto more = query->step();
      if (!more) return std::unexpected(more.error());
      if (!*more) return out;
      auto row = query->row();
      if (!row) return std::unexpected(row.error());
      out.push_back(std::move(*row));
    }
  }

 private:
  // `email` is already lower-case; the caller holds mutex_.
  Result<std::optional<Suppression>> find_locked(const std::string& tenant,
                                                 const std::string& stream,
                                                 const std::string& email) const {
    auto query = Statement::prepare(db_.get(), kFind);
    if (!query) return std::unexpected(query.error());
    if (auto st = query->bind({tenant, stream, email}); !st) return std::unexpected(st.error());
    auto found = query->step();
    if (!found) return std::unexpected(found.error());
    if (!*found) return std::optional<Suppression>();
    auto row = query->row();
    if (!row) return std::unexpected(row.error());
    return std::optional<Suppression>(std::move(*row));
  }

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back when it fails.
  template <class Body>
  Result<bool> write(Body&& body) {
    if (auto st = exec(db_.get(), "BEGIN IMMEDIATE"); !st) return std::unexpected(st.error());
    Result<bool> result = body();
    if (result) {
      if (auto st = exec(db_.get(), "COMMIT"); !st) result = std::unexpected(st.error());
    }
    if (!sqlite3_get_autocommit(db_.get())) {
      // Still in the transaction: the body or COMMIT failed. The caller gets
      // that first error; a failed ROLLBACK only goes to the log.
      if (auto st = exec(db_.get(), "ROLLBACK"); !st) {
        log::error("suppressions.rollback_failed").kv("error", st.error().message);
      }
    }
    return result;
  }

  OwnedSqlite db_;
  mutable std::mutex mutex_;
};

}  // namespace

const char* reason_name(SuppressionReason reason) {
  for (const auto& r : kReasons) {
    if (r.reason == reason) return r.name.data();
  }
  return "ManualSuppression";  // unreachable: every enumerator is in kReasons
}

std::optional<SuppressionReason> parse_reason(std::string_view name) {
  for (const auto& r : kReasons) {
    if (r.name == name) return r.reason;
  }
  return std::nullopt;
}

Result<std::unique_ptr<SuppressionStore>> SuppressionStore::open(
    const std::filesystem::path& database) {
  const std::string where = "suppression list " + database.string();
  auto db = open_state_database(database, where);
  if (!db) return std::unexpected(db.error());
  sqlite3* c = db->get();
  if (auto st = exec(c, kSchema); !st) return fail(where + ": " + st.error().message);
  return std::make_unique<SqliteSuppressionStore>(std::move(*db));
}

}  // namespace common::store
