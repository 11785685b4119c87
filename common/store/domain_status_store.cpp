// DomainStatusStore on SQLite. See domain_status_store.h.
//
// Owns the `domain_verification` table and nothing else in the shared state
// database: CREATE TABLE IF NOT EXISTS, never PRAGMA user_version (the message
// log owns the file's schema version). WAL with busy_timeout, like every other
// user of the file (research/dependencies.md section 5), so stampctl writing a
// result never fails just because stamp-mta is reading. Each write is a single
// INSERT ... ON CONFLICT statement, so no read-then-write transaction can hit
// the deferred-transaction "database is locked" trap.
#include "common/store/domain_status_store.h"

#include "common/base/ascii.h"

#include "common/store/state_database.h"

#include <ctime>
#include <string_view>

namespace common::store {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS domain_verification("
    "  domain TEXT PRIMARY KEY,"
    "  tenant TEXT,"
    "  status TEXT,"
    "  checked_at INTEGER,"
    "  details TEXT)";

constexpr const char* kUpsert =
    "INSERT INTO domain_verification(domain, tenant, status, checked_at, details) "
    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(domain) DO UPDATE SET "
    "tenant = excluded.tenant, status = excluded.status, checked_at = excluded.checked_at, "
    "details = excluded.details";

constexpr const char* kGet =
    "SELECT tenant, status, checked_at, details FROM domain_verification WHERE domain = ?1";

constexpr const char* kVerified = "verified";
constexpr const char* kFailed = "failed";
constexpr const char* kPending = "pending";

std::unexpected<Error> sqlite_fail(sqlite3* db, std::string_view what) {
  return fail("domain verification store: " + std::string(what) + ": " +
              (db ? sqlite3_errmsg(db) : "out of memory"));
}

constexpr std::string_view kWhat = "domain verification store";

}  // namespace

Result<std::unique_ptr<DomainStatusStore>> DomainStatusStore::open(
    const std::filesystem::path& database) {
  const std::string where = "domain verification store " + database.string();
  auto opened = open_state_database(database, where);
  if (!opened) return std::unexpected(opened.error());
  OwnedSqlite db = std::move(*opened);
  sqlite3* c = db.get();
  if (auto st = exec(c, kSchema); !st) return std::unexpected(st.error());
  return std::unique_ptr<DomainStatusStore>(new DomainStatusStore(std::move(db)));
}

Status DomainStatusStore::upsert(const std::string& domain, const std::string& tenant,
                                 const char* status, std::optional<std::int64_t> checked_at,
                                 const std::string& details) {
  if (domain.empty()) return fail("domain verification store: empty domain");
  std::lock_guard lock(mutex_);
  sqlite3* c = db_.get();
  auto statement = prepare(c, kUpsert, kWhat);
  if (!statement) return std::unexpected(statement.error());
  sqlite3_stmt* s = statement->get();
  Status st = bind_text(c, s, 1, common::ascii_lower(domain), kWhat);
  if (st) st = bind_text(c, s, 2, tenant, kWhat);
  if (st) st = bind_text(c, s, 3, status, kWhat);
  if (st) {
    int rc = checked_at ? sqlite3_bind_int64(s, 4, *checked_at) : sqlite3_bind_null(s, 4);
    if (rc != SQLITE_OK) st = sqlite_fail(c, "bind");
  }
  if (st) st = bind_text(c, s, 5, details, kWhat);
  if (st && sqlite3_step(s) != SQLITE_DONE) st = sqlite_fail(c, "write " + domain);
  return st;
}

Status DomainStatusStore::set(const std::string& domain, const std::string& tenant, bool verified,
                              const std::string& details, std::int64_t checked_at) {
  std::int64_t when = checked_at != 0 ? checked_at : static_cast<std::int64_t>(std::time(nullptr));
  return upsert(domain, tenant, verified ? kVerified : kFailed, when, details);
}

Status DomainStatusStore::set_pending(const std::string& domain, const std::string& tenant) {
  return upsert(domain, tenant, kPending, std::nullopt, "");
}

Result<std::optional<DomainStatus>> DomainStatusStore::get(const std::string& domain) const {
  std::lock_guard lock(mutex_);
  sqlite3* c = db_.get();
  auto statement = prepare(c, kGet, kWhat);
  if (!statement) return std::unexpected(statement.error());
  sqlite3_stmt* s = statement->get();
  if (auto st = bind_text(c, s, 1, common::ascii_lower(domain), kWhat); !st) return std::unexpected(st.error());
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<DomainStatus>();
  if (rc != SQLITE_ROW) return sqlite_fail(c, "read " + domain);
  DomainStatus status;
  status.tenant = column_text(s, 0);
  status.status = column_text(s, 1);
  status.verified = status.status == kVerified;
  status.checked_at = sqlite3_column_int64(s, 2);  // NULL reads as 0
  status.details = column_text(s, 3);
  return std::optional<DomainStatus>(std::move(status));
}

}  // namespace common::store
