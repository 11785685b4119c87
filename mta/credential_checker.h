// CredentialChecker: answers SMTP AUTH for stamp-mta without blocking the loop.
//
// scrypt costs tens of milliseconds by design, so verification runs on worker
// threads. A successful check is remembered for a while under a keyed digest
// of (user, password, stored hash), so an application that reconnects for every
// message pays the KDF once, not every time; failures are never cached, so each
// guess still costs an attacker a full scrypt. Unknown users are checked against
// a dummy hash, so timing does not reveal which user names exist.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/base/worker_pool.h"
#include "common/event/event_loop.h"
#include "mta/mta_config.h"

namespace mta {

class CredentialChecker {
 public:
  CredentialChecker(common::event::EventLoop& loop, std::size_t threads);
  ~CredentialChecker();

  // Replaces the user table (at start and on SIGHUP); clears the cache.
  void load_users(const std::vector<TenantConfig>& tenants);

  // `done` runs on the loop thread with the tenant name, or nullopt.
  void check(const std::string& user, const std::string& password,
             std::function<void(std::optional<std::string>)> done);

  static constexpr std::chrono::minutes kCacheLifetime{15};
  static constexpr std::size_t kCacheCapacity = 10000;

 private:
  struct UserRecord {
    std::string tenant;
    std::string password_hash;
  };
  std::string cache_key(const std::string& user, const std::string& password, const std::string& hash) const;

  common::event::EventLoop& loop_;
  std::unordered_map<std::string, UserRecord> users_;
  std::string dummy_hash_;
  std::string cache_secret_;
  // Loop thread only.
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> verified_;
  std::shared_ptr<bool> alive_;
  std::unique_ptr<common::WorkerPool> pool_;
};

}  // namespace mta
