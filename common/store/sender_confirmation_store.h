// SenderConfirmationStore: the pending confirmations of verified-sender
// addresses (`stampctl sender add` / `stampctl sender confirm`), in the state
// database (SQLite, WAL).
//
// A confirmation is a random token mailed to the address; whoever can read that
// mailbox can confirm it, once, before it expires. Only the token's SHA-256 is
// stored, so a copy of the database cannot confirm anything.
//
// Table, created when missing (PRAGMA user_version belongs to the message log):
//   sender_confirmation(token_sha256 TEXT PRIMARY KEY, tenant TEXT, address TEXT,
//                       created_at INTEGER, expires_at INTEGER, confirmed_at INTEGER)
// Times are unix seconds; confirmed_at is NULL until the token is used.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <expected>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "common/store/state_database.h"

namespace common::store {

struct SenderConfirmation {
  std::string token;  // only known when created; the table keeps its hash
  std::string tenant;
  std::string address;
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
};

// Why a token did not confirm anything: each gets its own message for people.
enum class RedeemFailure { Unknown, Expired, AlreadyUsed };

class SenderConfirmationStore {
 public:
  static Result<std::unique_ptr<SenderConfirmationStore>> open(const std::filesystem::path& database);
  SenderConfirmationStore(const SenderConfirmationStore&) = delete;
  SenderConfirmationStore& operator=(const SenderConfirmationStore&) = delete;

  // A new random token (32 characters, base64url) for `address`, valid for
  // `lifetime_seconds` from `now` (0: the current time).
  Result<SenderConfirmation> create(const std::string& tenant, const std::string& address,
                                    std::int64_t lifetime_seconds, std::int64_t now = 0);
  // Forgets a token that was never sent (the confirmation mail could not be queued).
  Status cancel(const std::string& token);

  // Marks the token used and returns what it confirms. Atomic: of two
  // concurrent redeems of one token, exactly one succeeds.
  struct Redeemed {
    std::string tenant;
    std::string address;
  };
  Result<std::expected<Redeemed, RedeemFailure>> redeem(const std::string& token, std::int64_t now = 0);
  // Makes a redeemed token usable again (the tenant file could not be written).
  Status unredeem(const std::string& token);

  // Longest accepted token text: anything longer is not ours, and is not hashed.
  static constexpr std::size_t kMaxTokenLength = 128;

 private:
  explicit SenderConfirmationStore(OwnedSqlite db) : db_(std::move(db)) {}
  Status run(const char* sql, const std::string& token_hash, std::string_view what);

  OwnedSqlite db_;  // one connection (NOMUTEX), used under mutex_
  std::mutex mutex_;
};

const char* redeem_failure_text(RedeemFailure failure);

}  // namespace common::store
