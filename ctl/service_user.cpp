// Looking up the `stamp` user and chowning to it. See service_user.h.
#include "ctl/service_user.h"

#include <cstdio>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace ctl {

std::optional<ServiceUser> find_service_user() {
  long size_hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size_hint > 0 ? static_cast<std::size_t>(size_hint) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  while (::getpwnam_r(kServiceUser, &entry, buffer.data(), buffer.size(), &found) == ERANGE) {
    buffer.resize(buffer.size() * 2);
  }
  if (found == nullptr) return std::nullopt;
  return ServiceUser{found->pw_uid, found->pw_gid};
}

std::string give_to_service_user(const std::filesystem::path& path) {
  auto user = find_service_user();
  if (!user) return "";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && st.st_uid == user->uid && st.st_gid == user->gid) return "";
  if (::chown(path.c_str(), user->uid, user->gid) == 0) return "";
  return "cannot give " + path.string() + " to user " + kServiceUser + " (" + std::strerror(errno) +
         "): stamp-mta must be able to read it (chown " + kServiceUser + ": " + path.string() + ")";
}

common::Result<std::vector<std::string>> make_service_directories(
    const std::filesystem::path& directory, mode_t mode) {
  std::vector<std::string> warnings;
  std::filesystem::path path;
  for (const std::filesystem::path& part : directory) {
    path /= part;
    if (::mkdir(path.c_str(), mode) == 0) {
      if (std::string w = give_to_service_user(path); !w.empty()) warnings.push_back(w);
    } else if (errno != EEXIST) {
      return common::fail_errno("create " + path.string());
    }
  }
  return warnings;
}

StateDatabaseOwner::StateDatabaseOwner(std::filesystem::path database) : database_(std::move(database)) {
  std::error_code ec;
  existed_ = std::filesystem::exists(database_, ec);
}

StateDatabaseOwner::~StateDatabaseOwner() {
  if (existed_) return;
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::path file = database_.string() + suffix;
    if (!std::filesystem::exists(file, ec)) continue;
    if (std::string warning = give_to_service_user(file); !warning.empty()) {
      std::fprintf(stderr, "stampctl: warning: %s\n", warning.c_str());
    }
  }
}

}  // namespace ctl
