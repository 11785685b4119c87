// DomainStatusStore: whether each tenant domain's DNS records were verified, in
// the state database (SQLite, WAL). `stampctl domain verify` writes it; stamp-mta
// reads it before using a domain in aligned mode (operator.require_verified_domains).
//
// Table, created when missing (the file's PRAGMA user_version belongs to the
// message log and is left alone):
//   domain_verification(domain TEXT PRIMARY KEY, tenant TEXT, status TEXT,
//                       checked_at INTEGER, details TEXT)
// status is "verified", "failed" or "pending" (added, never checked); checked_at
// is unix seconds (NULL while pending); details is what the checker reported,
// free text for people and the API. Domains are stored lower-case.
//
// It does not do the checking (ctl/domain_verify.cpp) and keeps no history: one
// row per domain, the last result.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "common/base/owned.h"
#include "common/base/result.h"

namespace common::store {

struct DomainStatus {
  std::string tenant;
  std::string status;            // "verified", "failed", "pending"
  bool verified = false;         // status == "verified"
  std::int64_t checked_at = 0;   // unix seconds; 0 while pending
  std::string details;
};

class DomainStatusStore {
 public:
  // Opens (creating when needed) the database and the table.
  static Result<std::unique_ptr<DomainStatusStore>> open(const std::filesystem::path& database);
  DomainStatusStore(const DomainStatusStore&) = delete;
  DomainStatusStore& operator=(const DomainStatusStore&) = delete;

  // Records a check's outcome; `checked_at` 0 means now.
  Status set(const std::string& domain, const std::string& tenant, bool verified,
             const std::string& details, std::int64_t checked_at = 0);
  // Forgets any earlier result: a domain added again (perhaps with a new key)
  // must verify again before it is used.
  Status set_pending(const std::string& domain, const std::string& tenant);
  Result<std::optional<DomainStatus>> get(const std::string& domain) const;

 private:
  using OwnedSqlite = Owned<sqlite3, &sqlite3_close_v2>;
  explicit DomainStatusStore(OwnedSqlite db) : db_(std::move(db)) {}
  Status upsert(const std::string& domain, const std::string& tenant, const char* status,
                std::optional<std::int64_t> checked_at, const std::string& details);

  OwnedSqlite db_;  // one connection (NOMUTEX), used under mutex_
  mutable std::mutex mutex_;
};

}  // namespace common::store
