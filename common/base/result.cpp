// Error helpers: turn errno into a message an operator can act on.
#include "common/base/result.h"

#include <cerrno>
#include <cstring>

namespace common {

Error Error::from_errno(std::string what, int err) {
  return Error{what + ": " + std::strerror(err), err};
}

std::unexpected<Error> fail_errno(std::string what) {
  int err = errno;
  return std::unexpected(Error::from_errno(std::move(what), err));
}

}  // namespace common
