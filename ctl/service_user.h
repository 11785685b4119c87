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

}  // namespace ctl
