// Owned<T, Fn>: a unique_ptr that frees a C handle with its own free function.
// Every C handle in stamp (SSL, bufferevent, event, EVP_PKEY, ...) has exactly one
// owner of this type; there is no raw new/delete/free outside these aliases.
#pragma once

#include <memory>

namespace common {

template <auto Fn>
struct CallFree {
  template <class T>
  void operator()(T* p) const noexcept {
    Fn(p);
  }
};

template <class T, auto Fn>
using Owned = std::unique_ptr<T, CallFree<Fn>>;

// A file descriptor that is closed when its owner goes away. Close errors on
// paths that matter (spool files) are checked explicitly through release().
class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) noexcept : fd_(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : fd_(other.release()) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept;
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd();

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace common
