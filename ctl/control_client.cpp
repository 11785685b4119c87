// The control socket client. See control_client.h.
#include "ctl/control_client.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/base/owned.h"

namespace ctl {
namespace {

ControlReply failed(std::string text) { return {ControlReply::Kind::Failed, std::move(text)}; }

ControlReply failed_errno(const std::string& what) {
  int err = errno;
  return failed(what + ": " + std::strerror(err));
}

// connect() to a UNIX socket. sun_path holds only 108 bytes, so a longer
// path is reached through its directory's descriptor in /proc/self/fd.
// Returns 0 or an errno value.
int connect_unix(int fd, const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::string target = path.string();
  common::OwnedFd directory;
  if (target.size() >= sizeof address.sun_path) {
    directory =
        common::OwnedFd(::open(path.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!directory.valid()) return errno;
    target = "/proc/self/fd/" + std::to_string(directory.get()) + "/" + path.filename().string();
    if (target.size() >= sizeof address.sun_path) return ENAMETOOLONG;
  }
  std::memcpy(address.sun_path, target.c_str(), target.size() + 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) return errno;
  return 0;
}

ControlReply parse_reply(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  for (auto [word, kind] : {std::pair{std::string_view("ok"), ControlReply::Kind::Ok},
                            std::pair{std::string_view("error"), ControlReply::Kind::Error}}) {
    if (line == word) return {kind, ""};
    if (line.starts_with(word) && line.size() > word.size() && line[word.size()] == ' ') {
      return {kind, std::string(line.substr(word.size() + 1))};
    }
  }
  return failed("unexpected reply from stamp-mta: " + std::string(line.substr(0, 200)));
}

}  // namespace

ControlReply send_control_request(const std::filesystem::path& socket_path,
                                  std::string_view request, std::chrono::seconds timeout) {
  common::OwnedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return failed_errno("socket");
  if (int err = connect_unix(fd.get(), socket_path); err != 0) {
    // No file, a file nobody listens on, or no spool directory at all.
    if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR)
      return {ControlReply::Kind::NotRunning, ""};
    return failed("connect to " + socket_path.string() + ": " + std::strerror(err));
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count());
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    return failed_errno("setsockopt");
  }

  std::string out = std::string(request) + "\n";
  std::string_view pending = out;
  while (!pending.empty()) {
    ssize_t n = ::send(fd.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failed_errno("send to stamp-mta");
    pending.remove_prefix(static_cast<std::size_t>(n));
  }

  std::string in;
  char buf[4096];
  while (in.find('\n') == std::string::npos) {
    if (in.size() > kMaxControlReply) return failed("reply from stamp-mta is too long");
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return failed("no reply from stamp-mta within " + std::to_string(timeout.count()) + "s");
    }
    if (n < 0) return failed_errno("read from stamp-mta");
    if (n == 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  auto nl = in.find('\n');
  if (nl == std::string::npos && in.empty())
    return failed("stamp-mta closed the connection without a reply");
  return parse_reply(std::string_view(in).substr(0, nl));
}

}  // namespace ctl
