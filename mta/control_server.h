// ControlServer: the daemon's end of `stampctl queue flush|hold|release|delete`.
// A UNIX stream socket (mode 0600, in the spool directory) that takes one line,
// "COMMAND [QUEUE-ID]", answers one line, "ok TEXT" or "error TEXT", and closes.
#pragma once

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include <filesystem>
#include <memory>
#include <unordered_set>

#include "common/base/owned.h"
#include "common/base/result.h"
#include "common/event/event_loop.h"
#include "mta/delivery/delivery_agent.h"

namespace mta {

class ControlServer {
 public:
  static common::Result<std::unique_ptr<ControlServer>> open(common::event::EventLoop& loop,
                                                             const std::filesystem::path& socket_path,
                                                             DeliveryAgent& agent);
  ~ControlServer();

  static constexpr std::size_t kMaxRequest = 256;

 private:
  ControlServer(common::event::EventLoop& loop, std::filesystem::path path, DeliveryAgent& agent)
      : loop_(loop), path_(std::move(path)), agent_(agent) {}
  static void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* arg) noexcept;
  static void on_read(bufferevent* bev, void* arg) noexcept;
  static void on_write(bufferevent* bev, void* arg) noexcept;
  static void on_event(bufferevent* bev, short what, void* arg) noexcept;
  void answer(bufferevent* bev);
  void drop(bufferevent* bev);

  common::event::EventLoop& loop_;
  std::filesystem::path path_;
  DeliveryAgent& agent_;
  common::Owned<evconnlistener, &evconnlistener_free> listener_;
  std::unordered_set<bufferevent*> clients_;  // freed by drop() or the destructor
};

}  // namespace mta
