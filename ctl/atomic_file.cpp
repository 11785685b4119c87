// Temporary file, fsync, rename, directory fsync. See atomic_file.h.
#include "ctl/atomic_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/base/owned.h"

namespace ctl {
namespace {

common::Status write_all(int fd, std::string_view contents, const std::string& name) {
  while (!contents.empty()) {
    ssize_t n = ::write(fd, contents.data(), contents.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return common::fail_errno("write " + name);
    }
    contents.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Writes, syncs and closes the temporary file (close errors count: NFS reports late).
common::Status fill(common::OwnedFd fd, std::string_view contents, mode_t mode,
                    const std::string& name) {
  if (::fchmod(fd.get(), mode) != 0) return common::fail_errno("chmod " + name);
  if (auto st = write_all(fd.get(), contents, name); !st) return st;
  if (::fsync(fd.get()) != 0) return common::fail_errno("fsync " + name);
  if (::close(fd.release()) != 0) return common::fail_errno("close " + name);
  return {};
}

}  // namespace

common::Status write_file_atomically(const std::filesystem::path& file, std::string_view contents,
                                     const AtomicWrite& options) {
  const std::filesystem::path directory =
      file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  common::OwnedFd dir_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return common::fail_errno("open " + directory.string());

  // A dot name that does not end in .yaml or .pem: no loader picks it up halfway.
  std::string temp = (directory / ("." + file.filename().string() + ".tmp-XXXXXX")).string();
  // mkstemp creates the file 0600, so a secret is never readable by others.
  common::OwnedFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd.valid()) return common::fail_errno("create a temporary file in " + directory.string());

  common::Status status = fill(std::move(fd), contents, options.mode, temp);
  if (status) {
    const std::string target = file.filename().string();
    const std::string temp_name = std::filesystem::path(temp).filename().string();
    int rc = ::renameat2(dir_fd.get(), temp_name.c_str(), dir_fd.get(), target.c_str(),
                         options.replace ? 0 : RENAME_NOREPLACE);
    if (rc != 0) status = common::fail_errno("rename " + temp + " to " + file.string());
  }
  if (!status) {
    ::unlink(temp.c_str());  // best effort: the error that matters is already in `status`
    return status;
  }
  if (::fsync(dir_fd.get()) != 0) return common::fail_errno("fsync " + directory.string());
  return {};
}

}  // namespace ctl
