// ControlClient: stampctl's side of stamp-mta's control socket
// (<queue.directory>/control.sock, a UNIX stream socket). One request line
// out ("flush", "hold ID", ...), one reply line back: "ok <text>" or
// "error <text>".
//
// Owns the connection, the line framing and the reading of the reply; it does
// not know which commands exist (queue_command.cpp does) and prints nothing.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

namespace ctl {

struct ControlReply {
  enum class Kind {
    Ok,          // "ok <text>"
    Error,       // "error <text>": the daemon refused
    NotRunning,  // nobody listens on the socket
    Failed,      // anything else (permissions, a timeout, a reply we do not understand)
  };
  Kind kind = Kind::Failed;
  std::string text;
};

inline constexpr std::size_t kMaxControlReply = 64 * 1024;

ControlReply send_control_request(const std::filesystem::path& socket_path,
                                  std::string_view request,
                                  std::chrono::seconds timeout = std::chrono::seconds(60));

}  // namespace ctl
