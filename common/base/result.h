// Result<T>: the value-or-error type for every expected failure in stamp
// (bad input, disk full, a remote 4xx). Exceptions stay inside config loading.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace common {

struct Error {
  std::string message;
  int sys_errno = 0;  // errno when the failure came from a system call, else 0

  static Error from_errno(std::string what, int err);
};

template <class T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(std::string message) {
  return std::unexpected(Error{std::move(message), 0});
}
std::unexpected<Error> fail_errno(std::string what);  // uses the current errno

}  // namespace common
