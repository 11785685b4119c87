// SenderConfirmationStore on SQLite. See sender_confirmation_store.h.
//
// Owns the `sender_confirmation` table only. The single-use rule is one
// statement (UPDATE ... WHERE confirmed_at IS NULL AND expires_at > now
// RETURNING ...), so two stampctl processes racing on one token cannot both win
// and no read-then-write transaction can hit "database is locked".
#include "common/store/sender_confirmation_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <ctime>

#include "common/base/base64.h"
#include "common/base/digest.h"

namespace common::store {
namespace {

constexpr std::string_view kWhat = "sender confirmation store";
constexpr std::size_t kTokenBytes = 24;  // 192 random bits: 32 base64url characters

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS sender_confirmation("
    "  token_sha256 TEXT PRIMARY KEY,"
    "  tenant TEXT NOT NULL,"
    "  address TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  confirmed_at INTEGER)";

constexpr const char* kInsert =
    "INSERT INTO sender_confirmation(token_sha256, tenant, address, created_at, expires_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kDelete = "DELETE FROM sender_confirmation WHERE token_sha256 = ?1";
constexpr const char* kRedeem =
    "UPDATE sender_confirmation SET confirmed_at = ?2 "
    "WHERE token_sha256 = ?1 AND confirmed_at IS NULL AND expires_at > ?2 "
    "RETURNING tenant, address";
constexpr const char* kWhyNot =
    "SELECT confirmed_at IS NOT NULL FROM sender_confirmation WHERE token_sha256 = ?1";
constexpr const char* kUnredeem =
    "UPDATE sender_confirmation SET confirmed_at = NULL WHERE token_sha256 = ?1";

std::int64_t now_or(std::int64_t now) { return now != 0 ? now : static_cast<std::int64_t>(std::time(nullptr)); }

// RFC 4648 section 5: the URL- and filename-safe alphabet, no padding, so the
// token can sit in a link and on a command line without quoting.
std::string base64url(std::string_view bytes) {
  std::string text = base64_encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

}  // namespace

const char* redeem_failure_text(RedeemFailure failure) {
  switch (failure) {
    case RedeemFailure::Unknown: return "no such confirmation token (mistyped, or the address was added again since)";
    case RedeemFailure::Expired: return "the confirmation token has expired: run `stampctl sender add` again";
    case RedeemFailure::AlreadyUsed: return "the confirmation token was already used";
  }
  return "?";
}

Result<std::unique_ptr<SenderConfirmationStore>> SenderConfirmationStore::open(const std::filesystem::path& database) {
  auto db = open_state_database(database, std::string(kWhat) + " " + database.string());
  if (!db) return std::unexpected(db.error());
  if (auto st = exec(db->get(), kSchema); !st) return std::unexpected(st.error());
  return std::unique_ptr<SenderConfirmationStore>(new SenderConfirmationStore(std::move(*db)));
}

Result<SenderConfirmation> SenderConfirmationStore::create(const std::string& tenant, const std::string& address,
                                                           std::int64_t lifetime_seconds, std::int64_t now) {
  // The code goes on command lines (`stampctl sender confirm CODE`): one that
  // began with '-' would read as an option, so draw again until it starts with
  // a letter or digit (62 of 64 first characters; the entropy lost is < 0.05 bit).
  SenderConfirmation made;
  do {
    std::array<unsigned char, kTokenBytes> random{};
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
      return fail(std::string(kWhat) + ": no random bytes from OpenSSL");
    }
    made.token = base64url(std::string_view(reinterpret_cast<const char*>(random.data()), random.size()));
  } while (made.token.front() == '-' || made.token.front() == '_');
  made.tenant = tenant;
  made.address = address;
  made.created_at = now_or(now);
  made.expires_at = made.created_at + lifetime_seconds;

  std::lock_guard lock(mutex_);
  sqlite3* c = db_.get();
  auto statement = prepare(c, kInsert, kWhat);
  if (!statement) return std::unexpected(statement.error());
  sqlite3_stmt* s = statement->get();
  Status st = bind_text(c, s, 1, common::sha256_hex(made.token), kWhat);
  if (st) st = bind_text(c, s, 2, tenant, kWhat);
  if (st) st = bind_text(c, s, 3, address, kWhat);
  if (st && (sqlite3_bind_int64(s, 4, made.created_at) != SQLITE_OK ||
             sqlite3_bind_int64(s, 5, made.expires_at) != SQLITE_OK)) {
    st = fail(std::string(kWhat) + ": bind: " + sqlite3_errmsg(c));
  }
  if (st && sqlite3_step(s) != SQLITE_DONE) st = fail(std::string(kWhat) + ": insert: " + sqlite3_errmsg(c));
  if (!st) return std::unexpected(st.error());
  return made;
}

Status SenderConfirmationStore::run(const char* sql, const std::string& token_hash, std::string_view what) {
  std::lock_guard lock(mutex_);
  sqlite3* c = db_.get();
  auto statement = prepare(c, sql, kWhat);
  if (!statement) return std::unexpected(statement.error());
  if (auto st = bind_text(c, statement->get(), 1, token_hash, kWhat); !st) return st;
  if (sqlite3_step(statement->get()) != SQLITE_DONE) {
    return fail(std::string(kWhat) + ": " + std::string(what) + ": " + sqlite3_errmsg(c));
  }
  return {};
}

Status SenderConfirmationStore::cancel(const std::string& token) { return run(kDelete, common::sha256_hex(token), "delete"); }

Status SenderConfirmationStore::unredeem(const std::string& token) {
  return run(kUnredeem, common::sha256_hex(token), "unredeem");
}

Result<std::expected<SenderConfirmationStore::Redeemed, RedeemFailure>> SenderConfirmationStore::redeem(
    const std::string& token, std::int64_t now) {
  using Outcome = std::expected<Redeemed, RedeemFailure>;
  if (token.empty() || token.size() > kMaxTokenLength) return Outcome(std::unexpected(RedeemFailure::Unknown));
  const std::string hash = common::sha256_hex(token);
  std::lock_guard lock(mutex_);
  sqlite3* c = db_.get();
  auto update = prepare(c, kRedeem, kWhat);
  if (!update) return std::unexpected(update.error());
  sqlite3_stmt* s = update->get();
  if (auto st = bind_text(c, s, 1, hash, kWhat); !st) return std::unexpected(st.error());
  if (sqlite3_bind_int64(s, 2, now_or(now)) != SQLITE_OK) return fail(std::string(kWhat) + ": bind");
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) {
    Redeemed redeemed{column_text(s, 0), column_text(s, 1)};
    if (sqlite3_step(s) != SQLITE_DONE) return fail(std::string(kWhat) + ": redeem: " + sqlite3_errmsg(c));
    return Outcome(std::move(redeemed));
  }
  if (rc != SQLITE_DONE) return fail(std::string(kWhat) + ": redeem: " + sqlite3_errmsg(c));

  // Nothing changed: say why.
  auto select = prepare(c, kWhyNot, kWhat);
  if (!select) return std::unexpected(select.error());
  if (auto st = bind_text(c, select->get(), 1, hash, kWhat); !st) return std::unexpected(st.error());
  rc = sqlite3_step(select->get());
  if (rc == SQLITE_DONE) return Outcome(std::unexpected(RedeemFailure::Unknown));
  if (rc != SQLITE_ROW) return fail(std::string(kWhat) + ": read: " + sqlite3_errmsg(c));
  return Outcome(std::unexpected(sqlite3_column_int(select->get(), 0) ? RedeemFailure::AlreadyUsed
                                                                      : RedeemFailure::Expired));
}

}  // namespace common::store
