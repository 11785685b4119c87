// VERP secret file. See verp_key_file.h.
#include "common/verp/verp_key_file.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/base/log.h"
#include "common/base/owned.h"

namespace common::verp {

namespace {
constexpr std::size_t kSecretBytes = 32;
}

Result<std::string> load_or_create_secret(const std::filesystem::path& file) {
  OwnedFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.valid()) {
    std::string secret(256, '\0');
    ssize_t n = ::read(fd.get(), secret.data(), secret.size());
    if (n < static_cast<ssize_t>(kSecretBytes)) return fail("VERP key " + file.string() + " is shorter than 32 bytes");
    secret.resize(static_cast<std::size_t>(n));
    return secret;
  }
  if (errno != ENOENT) return fail_errno("cannot read VERP key " + file.string());
  std::string secret(kSecretBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret.size())) != 1) {
    return fail("no randomness for the VERP key");
  }
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  std::filesystem::path tmp = file;
  tmp += ".tmp";
  OwnedFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out.valid()) return fail_errno("cannot create VERP key " + tmp.string());
  if (::write(out.get(), secret.data(), secret.size()) != static_cast<ssize_t>(secret.size()) || ::fsync(out.get()) != 0) {
    return fail_errno("cannot write VERP key " + tmp.string());
  }
  if (::close(out.release()) != 0) return fail_errno("close " + tmp.string());
  // link() rather than rename(): if another process created the key meanwhile, keep theirs.
  if (::link(tmp.c_str(), file.c_str()) != 0 && errno != EEXIST) return fail_errno("cannot install VERP key " + file.string());
  ::unlink(tmp.c_str());
  log::info("verp.key_created").kv("file", file.string());
  return load_or_create_secret(file);
}

}  // namespace common::verp
