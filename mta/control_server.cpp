// ControlServer implementation. See control_server.h.
#include "mta/control_server.h"

#include <event2/buffer.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "common/base/log.h"
#include "common/base/owned.h"
#include "mta/queue/queue_id.h"

namespace mta {

common::Result<std::unique_ptr<ControlServer>> ControlServer::open(common::event::EventLoop& loop,
                                                                   const std::filesystem::path& socket_path,
                                                                   DeliveryAgent& agent) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // sun_path holds 108 bytes; a deeper spool is reached through its directory's
  // descriptor (/proc/self/fd/N/NAME), which stampctl does as well.
  common::OwnedFd dir_fd;
  std::string bind_path = socket_path.string();
  if (bind_path.size() >= sizeof addr.sun_path) {
    dir_fd = common::OwnedFd(::open(socket_path.parent_path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd.valid()) return common::fail_errno("cannot open " + socket_path.parent_path().string());
    bind_path = "/proc/self/fd/" + std::to_string(dir_fd.get()) + "/" + socket_path.filename().string();
    if (bind_path.size() >= sizeof addr.sun_path) return common::fail("control socket name too long: " + socket_path.string());
  }
  std::strcpy(addr.sun_path, bind_path.c_str());
  ::unlink(socket_path.c_str());  // a stale socket from a previous run
  std::unique_ptr<ControlServer> server(new ControlServer(loop, socket_path, agent));
  mode_t old_mask = ::umask(0077);  // only stamp's own user may steer the queue
  server->listener_.reset(evconnlistener_new_bind(loop.base(), &ControlServer::on_accept, server.get(),
                                                  LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
                                                  reinterpret_cast<sockaddr*>(&addr), sizeof addr));
  ::umask(old_mask);
  if (!server->listener_) return common::fail_errno("cannot listen on control socket " + socket_path.string());
  return server;
}

ControlServer::~ControlServer() {
  for (auto& [id, bev] : clients_) bufferevent_free(bev);
  listener_.reset();
  ::unlink(path_.c_str());
}

void ControlServer::add_command(std::string name, Command command) {
  commands_[std::move(name)] = std::move(command);
}

void ControlServer::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr*, int, void* arg) noexcept {
  auto* self = static_cast<ControlServer*>(arg);
  bufferevent* bev = bufferevent_socket_new(self->loop_.base(), fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    ::close(fd);
    return;
  }
  self->clients_[self->next_client_++] = bev;
  timeval tv{5, 0};
  bufferevent_set_timeouts(bev, &tv, &tv);
  bufferevent_setcb(bev, &ControlServer::on_read, nullptr, &ControlServer::on_event, self);
  bufferevent_enable(bev, EV_READ);
}

void ControlServer::on_read(bufferevent* bev, void* arg) noexcept { static_cast<ControlServer*>(arg)->answer(bev); }

void ControlServer::on_write(bufferevent* bev, void* arg) noexcept { static_cast<ControlServer*>(arg)->drop(bev); }

void ControlServer::on_event(bufferevent* bev, short, void* arg) noexcept { static_cast<ControlServer*>(arg)->drop(bev); }

void ControlServer::answer(bufferevent* bev) {
  evbuffer* input = bufferevent_get_input(bev);
  std::size_t len = 0;
  char* raw = evbuffer_readln(input, &len, EVBUFFER_EOL_LF);
  if (!raw) {
    if (evbuffer_get_length(input) > kMaxRequest) drop(bev);
    return;
  }
  std::string line(raw, len);
  std::free(raw);  // allocated by evbuffer_readln
  std::uint64_t client = 0;
  for (const auto& [id, b] : clients_) {
    if (b == bev) client = id;
  }
  bufferevent_disable(bev, EV_READ);  // one request per connection
  // A request in progress may take a while (reload, queueing a mail): no read timeout now.
  bufferevent_set_timeouts(bev, nullptr, nullptr);

  std::vector<std::string> words;
  for (std::size_t at = 0; at < line.size() && words.size() <= kMaxArgs;) {
    std::size_t end = line.find(' ', at);
    if (end == std::string::npos) end = line.size();
    if (end > at) words.push_back(line.substr(at, end - at));
    at = end + 1;
  }
  const std::string command = words.empty() ? "" : words.front();
  auto reply_to_client = [this, client, command](std::string reply) {
    common::log::info("control.command").kv("command", command).kv("reply", reply);
    send_reply(client, std::move(reply));
  };
  if (line.size() > kMaxRequest || words.empty() || words.size() > kMaxArgs) {
    reply_to_client("error malformed request");
    return;
  }
  if (auto found = commands_.find(command); found != commands_.end()) {
    found->second(std::vector<std::string>(words.begin() + 1, words.end()), reply_to_client);
    return;
  }
  const std::string id = words.size() > 1 ? words[1] : "";
  if (command != "flush" && command != "hold" && command != "release" && command != "delete") {
    reply_to_client("error unknown command");
  } else if (words.size() > 2 || (!id.empty() && !is_queue_id(id))) {
    reply_to_client("error not a queue id: " + id.substr(0, 40));
  } else if (id.empty() && command != "flush") {
    reply_to_client("error " + command + " needs a queue id");
  } else {
    reply_to_client(agent_.control(command, id));
  }
}

void ControlServer::send_reply(std::uint64_t client, std::string reply) {
  auto found = clients_.find(client);
  if (found == clients_.end()) return;  // the client went away before the answer
  bufferevent* bev = found->second;
  reply += "\n";
  bufferevent_setcb(bev, nullptr, &ControlServer::on_write, &ControlServer::on_event, this);
  bufferevent_write(bev, reply.data(), reply.size());
  bufferevent_enable(bev, EV_WRITE);
}

void ControlServer::drop(bufferevent* bev) {
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    if (it->second != bev) continue;
    clients_.erase(it);
    bufferevent_free(bev);  // safe inside its own callback: libevent defers the release
    return;
  }
}

}  // namespace mta
