// Locked read, edit, atomic write of a tenant file. See tenant_file_editor.h.
#include "ctl/tenant_file_editor.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/base/owned.h"
#include "ctl/atomic_file.h"

namespace ctl {
namespace {

// Another stampctl may replace the file between our open and our lock; then we
// lock the new file instead. More rounds than this means something is wrong.
constexpr int kMaxLockAttempts = 10;
constexpr std::size_t kMaxTenantFileSize = 16 * 1024 * 1024;  // as the config loader

common::Result<std::string> read_all(int fd, const std::string& name) {
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return common::fail_errno("read " + name);
    }
    if (n == 0) return text;
    if (text.size() + static_cast<std::size_t>(n) > kMaxTenantFileSize) {
      return common::fail(name + " is larger than 16 MiB");
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
}

// Parses, edits and emits; yaml-cpp's exceptions end here.
common::Result<std::string> apply(const std::string& text, const std::string& name,
                                  const TenantEdit& edit) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return common::fail(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                        std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) return common::fail(name + ": the file does not hold a mapping");
  try {
    if (auto st = edit(root); !st) return std::unexpected(st.error());
    YAML::Emitter out;
    out << root;
    if (!out.good()) return common::fail(name + ": cannot write YAML: " + out.GetLastError());
    return std::string(kManagedFileHeader) + "\n" + out.c_str() + "\n";
  } catch (const YAML::Exception& e) {
    return common::fail(name + ": " + e.what());
  }
}

}  // namespace

common::Status edit_tenant_file(const std::filesystem::path& file, const TenantEdit& edit) {
  const std::string name = file.string();
  for (int attempt = 0; attempt < kMaxLockAttempts; ++attempt) {
    common::OwnedFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return common::fail_errno("open " + name);
    if (::flock(fd.get(), LOCK_EX) != 0) return common::fail_errno("lock " + name);
    struct stat held {};
    struct stat current {};
    if (::fstat(fd.get(), &held) != 0) return common::fail_errno("stat " + name);
    if (::stat(file.c_str(), &current) != 0) return common::fail_errno("stat " + name);
    if (held.st_ino != current.st_ino || held.st_dev != current.st_dev) continue;  // replaced

    auto text = read_all(fd.get(), name);
    if (!text) return std::unexpected(text.error());
    auto edited = apply(*text, name, edit);
    if (!edited) return std::unexpected(edited.error());
    AtomicWrite options{.mode = static_cast<mode_t>(held.st_mode & 07777), .replace = true};
    if (auto st = write_file_atomically(file, *edited, options); !st) return st;
    // Keep the owner when root edits a file that belongs to someone else (the
    // service user); anyone else can only have replaced a file of their own.
    if (::geteuid() == 0 && (held.st_uid != 0 || held.st_gid != ::getegid()) &&
        ::chown(file.c_str(), held.st_uid, held.st_gid) != 0) {
      return common::fail_errno("chown " + name + " back to its owner");
    }
    return {};  // the lock goes with `fd`, after the rename
  }
  return common::fail(name + " kept changing while stampctl tried to lock it");
}

}  // namespace ctl

