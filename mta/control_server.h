// ControlServer: the daemon's end of stampctl's requests. A UNIX stream socket
// (mode 0600, in the spool directory: only stamp's own user) that takes one
// line, "COMMAND [ARG...]", answers one line, "ok TEXT" or "error TEXT", and
// closes. The queue commands (flush, hold, release, delete) go to the delivery
// agent; others (reload, sender-confirmation) are added by their owners with
// add_command and may answer later (the answer is dropped if the client left).
#pragma once

#include <event2/bufferevent.h>
#include <event2/listener.h>

#include <filesystem>
#include <memory>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

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

  // `reply` takes the whole answer line without its newline ("ok ..."/"error ...").
  using Reply = std::function<void(std::string line)>;
  using Command = std::function<void(const std::vector<std::string>& args, Reply reply)>;
  void add_command(std::string name, Command command);

  static constexpr std::size_t kMaxRequest = 1024;
  static constexpr std::size_t kMaxArgs = 8;

 private:
  ControlServer(common::event::EventLoop& loop, std::filesystem::path path, DeliveryAgent& agent)
      : loop_(loop), path_(std::move(path)), agent_(agent) {}
  static void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* arg) noexcept;
  static void on_read(bufferevent* bev, void* arg) noexcept;
  static void on_write(bufferevent* bev, void* arg) noexcept;
  static void on_event(bufferevent* bev, short what, void* arg) noexcept;
  void answer(bufferevent* bev);
  void send_reply(std::uint64_t client, std::string reply);
  void drop(bufferevent* bev);

  common::event::EventLoop& loop_;
  std::filesystem::path path_;
  DeliveryAgent& agent_;
  common::Owned<evconnlistener, &evconnlistener_free> listener_;
  std::unordered_map<std::uint64_t, bufferevent*> clients_;  // freed by drop() or the destructor
  std::uint64_t next_client_ = 1;  // ids, so a late answer never reaches a reused pointer
  std::map<std::string, Command, std::less<>> commands_;
};

}  // namespace mta
