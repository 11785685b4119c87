// SuppressionStore: the suppression list in the state database (SQLite, WAL),
// per tenant and message stream. stamp-mta reads it at RCPT; stamp-bounced and
// stampctl write it. Adding is idempotent; a spam complaint can only be removed
// by an administrator (as Postmark: the recipient asked not to be mailed).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/base/result.h"

namespace common::store {

enum class SuppressionReason { HardBounce, SpamComplaint, ManualSuppression };
const char* reason_name(SuppressionReason reason);  // "HardBounce", ...
std::optional<SuppressionReason> parse_reason(std::string_view name);

struct Suppression {
  std::string tenant;
  std::string stream;   // "outbound" is the default transactional stream
  std::string email;    // stored lower-case
  SuppressionReason reason = SuppressionReason::ManualSuppression;
  std::string origin;   // "Recipient", "Customer", "Admin"
  std::int64_t created_at = 0;  // unix seconds
};

// For a caller's own transaction on its own connection: stamp-bounced stores a
// report, the suppressions it causes and the webhooks it fires atomically.
// add_suppression returns true when the entry was new.
Status create_suppression_schema(sqlite3* db);
Result<bool> add_suppression(sqlite3* db, const Suppression& entry);

class SuppressionStore {
 public:
  static Result<std::unique_ptr<SuppressionStore>> open(const std::filesystem::path& database);
  virtual ~SuppressionStore() = default;

  // Returns true when the entry was new (false: it was there already, unchanged).
  virtual Result<bool> add(const Suppression& entry) = 0;
  // Refuses to remove a SpamComplaint unless `admin`.
  virtual Result<bool> remove(const std::string& tenant, const std::string& stream, const std::string& email,
                              bool admin) = 0;
  virtual Result<std::optional<Suppression>> find(const std::string& tenant, const std::string& stream,
                                                  const std::string& email) const = 0;
  virtual Result<std::vector<Suppression>> list(const std::string& tenant, const std::string& stream) const = 0;
};

}  // namespace common::store
