// CredentialChecker implementation. See credential_checker.h.
#include "mta/credential_checker.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/auth/password_hash.h"
#include "common/base/log.h"

namespace mta {

CredentialChecker::CredentialChecker(common::event::EventLoop& loop, std::size_t threads)
    : loop_(loop), alive_(std::make_shared<bool>(true)),
      pool_(std::make_unique<common::WorkerPool>("stamp-auth", threads)) {
  cache_secret_.resize(32);
  RAND_bytes(reinterpret_cast<unsigned char*>(cache_secret_.data()), static_cast<int>(cache_secret_.size()));
  // A real hash of a random password: unknown users cost the same as known ones.
  auto dummy = common::auth::hash_password(cache_secret_);
  dummy_hash_ = dummy ? *dummy : std::string();
}

CredentialChecker::~CredentialChecker() {
  *alive_ = false;
  pool_.reset();  // finishes queued checks; their results are dropped below
}

void CredentialChecker::load_users(const std::vector<TenantConfig>& tenants) {
  users_.clear();
  for (const auto& tenant : tenants) {
    for (const auto& user : tenant.smtp_users) users_[user.username] = UserRecord{tenant.name, user.password_hash};
  }
  verified_.clear();
}

std::string CredentialChecker::cache_key(const std::string& user, const std::string& password,
                                         const std::string& hash) const {
  std::string material = cache_secret_;
  for (const std::string* part : {&user, &password, &hash}) {
    material += *part;
    material += '\0';
  }
  unsigned char digest[32];
  unsigned int len = 0;
  EVP_Digest(material.data(), material.size(), digest, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), len);
}

void CredentialChecker::check(const std::string& user, const std::string& password,
                              std::function<void(std::optional<std::string>)> done) {
  auto it = users_.find(user);
  const bool known = it != users_.end();
  std::string hash = known ? it->second.password_hash : dummy_hash_;
  std::optional<std::string> tenant = known ? std::optional<std::string>(it->second.tenant) : std::nullopt;
  std::string key = cache_key(user, password, hash);
  auto now = std::chrono::steady_clock::now();
  if (auto hit = verified_.find(key); known && hit != verified_.end()) {
    if (hit->second > now) {
      done(tenant);
      return;
    }
    verified_.erase(hit);
  }
  pool_->submit([this, alive = alive_, known, hash, password, tenant, key, done = std::move(done)]() mutable {
    bool ok = common::auth::verify_password(password, hash) && known;
    loop_.post([this, alive, ok, tenant, key, done = std::move(done)] {
      if (!*alive) return;
      if (ok) {
        if (verified_.size() >= kCacheCapacity) verified_.clear();
        verified_[key] = std::chrono::steady_clock::now() + kCacheLifetime;
      }
      done(ok ? tenant : std::nullopt);
    });
  });
}

}  // namespace mta
