// write_file_atomically: a file that readers see either whole or not at all, and
// that survives a crash once this returns: written to a temporary name in the
// same directory, fsynced, renamed into place, and the directory fsynced.
//
// Used by stampctl for DKIM keys (never replacing an existing one) and tenant
// files (replacing them). It does not create directories or change owners.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "common/base/result.h"

namespace ctl {

struct AtomicWrite {
  mode_t mode = 0600;    // of the new file (not filtered by the umask)
  bool replace = false;  // false: fail (EEXIST) rather than replace an existing file
};

common::Status write_file_atomically(const std::filesystem::path& file, std::string_view contents,
                                     const AtomicWrite& options);

}  // namespace ctl
