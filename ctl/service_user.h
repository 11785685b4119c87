// The `stamp` system user the daemons run as (packaging creates it). Files that
// stampctl creates for the daemons to read (DKIM keys, the state database) are
// given to it, so running stampctl as root does not leave them unreadable.
//
// Owns the user's name, the chown, and creating directories for the daemons.
// It creates no users and changes no existing modes.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/base/result.h"

namespace ctl {

inline constexpr const char* kServiceUser = "stamp";

struct ServiceUser {
  uid_t uid = 0;
  gid_t gid = 0;
};

// nullopt when there is no such user (a development machine).
std::optional<ServiceUser> find_service_user();

// Gives `path` to the service user when there is one and it is not ours already.
// Returns a warning for the operator ("" when done or not needed): failing to
// chown does not undo the work, but stamp-mta may not be able to read the file.
std::string give_to_service_user(const std::filesystem::path& path);

// Creates each missing directory down to `directory` with `mode`, giving the new
// ones to the service user. Returns the warnings of give_to_service_user.
common::Result<std::vector<std::string>> make_service_directories(
    const std::filesystem::path& directory, mode_t mode);

// Declare one before opening the state database: when stampctl is the one that
// creates it (the daemons never ran yet), the file is given to the service user
// as this goes away, so a database made by root does not lock stamp-mta out.
// Declare it before the store, so the connection is closed (and the WAL gone)
// first. Warnings go to stderr.
class StateDatabaseOwner {
 public:
  explicit StateDatabaseOwner(std::filesystem::path database);
  ~StateDatabaseOwner();
  StateDatabaseOwner(const StateDatabaseOwner&) = delete;
  StateDatabaseOwner& operator=(const StateDatabaseOwner&) = delete;

 private:
  std::filesystem::path database_;
  bool existed_;
};

}  // namespace ctl
