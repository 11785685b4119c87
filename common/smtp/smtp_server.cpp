// SmtpServer: listeners, connection limits, shutdown. See smtp_server.h.
#include "common/smtp/smtp_server.h"

#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/base/cidr.h"
#include "common/base/log.h"
#include "common/smtp/server_connection.h"

namespace common::smtp {
namespace {

// Answers and hangs up without creating a session: the cheapest possible
// refusal for a client over a connection limit. Best effort, never blocks.
void refuse(evutil_socket_t fd, const std::string& line) {
  (void)::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::close(fd);
}

std::optional<sockaddr_storage> parse_bind_address(const std::string& host, std::uint16_t port) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return ss;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return ss;
  }
  return std::nullopt;
}

std::uint16_t bound_port(evutil_socket_t fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

}  // namespace

SmtpServer::SmtpServer(event::EventLoop& loop, std::string hostname, SmtpLimits limits, SSL_CTX* tls,
                       SessionHandler& handler)
    : loop_(loop), hostname_(std::move(hostname)), limits_(limits), tls_(tls), handler_(handler) {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&session_seed_), sizeof session_seed_) != 1) {
    session_seed_ = static_cast<std::uint64_t>(::getpid()) << 32 ^ static_cast<std::uint64_t>(time(nullptr));
  }
}

SmtpServer::~SmtpServer() {
  listeners_.clear();
  connections_.clear();
}

Status SmtpServer::listen(const ListenerConfig& config) {
  auto addr = parse_bind_address(config.address, config.port);
  if (!addr) return fail("listener " + config.name + ": not an IP address: " + config.address);
  if (config.tls == TlsMode::StartTls && tls_ == nullptr) {
    return fail("listener " + config.name + ": STARTTLS configured but no TLS certificate loaded");
  }
  Listener& listener = listeners_.emplace_back();
  listener.config = config;
  listener.server = this;
  socklen_t len = addr->ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  listener.handle.reset(evconnlistener_new_bind(
      loop_.base(), &SmtpServer::on_accept, &listener,
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 511,
      reinterpret_cast<const sockaddr*>(&*addr), static_cast<int>(len)));
  if (!listener.handle) {
    int err = errno;
    listeners_.pop_back();
    return std::unexpected(Error::from_errno(
        "listener " + config.name + ": cannot listen on " + config.address + ":" + std::to_string(config.port), err));
  }
  evconnlistener_set_error_cb(listener.handle.get(), &SmtpServer::on_accept_error);
  std::uint16_t port = bound_port(evconnlistener_get_fd(listener.handle.get()));
  std::string shown = config.address.find(':') != std::string::npos ? "[" + config.address + "]" : config.address;
  log::info("listening").kv("listener", config.name).kv("address", shown + ":" + std::to_string(port))
      .kv("tls", config.tls == TlsMode::StartTls ? "starttls" : "none").kv("auth", config.auth);
  return {};
}

void SmtpServer::on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* addr, int len, void* arg) noexcept {
  auto* listener = static_cast<Listener*>(arg);
  listener->server->accept(*listener, fd, addr, len);
}

void SmtpServer::on_accept_error(evconnlistener* l, void*) noexcept {
  // EMFILE and friends: log and keep the listener; libevent retries on the next event.
  int err = EVUTIL_SOCKET_ERROR();
  log::error("smtp.accept_failed").kv("fd", evconnlistener_get_fd(l)).kv("error", evutil_socket_error_to_string(err));
}

std::string SmtpServer::next_session_id() {
  char buf[17];
  std::uint64_t id = session_seed_ + (++session_counter_ * 0x9E3779B97F4A7C15ull);
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

void SmtpServer::accept(Listener& listener, evutil_socket_t fd, const sockaddr* addr, int len) {
  if (shutting_down_) {
    refuse(fd, "421 4.3.2 " + hostname_ + " Service shutting down\r\n");
    return;
  }
  std::string client = address_text(addr);
  if (connections_.size() >= limits_.max_connections) {
    log::warning("smtp.limit").kv("limit", "max_connections").kv("value", limits_.max_connections).kv("client", client);
    refuse(fd, "421 4.7.0 " + hostname_ + " Too many connections, try again later\r\n");
    return;
  }
  std::size_t& from_client = per_client_[client];
  if (from_client >= limits_.max_connections_per_client) {
    log::warning("smtp.limit").kv("limit", "max_connections_per_client")
        .kv("value", limits_.max_connections_per_client).kv("client", client);
    refuse(fd, "421 4.7.0 " + hostname_ + " Too many connections from your address\r\n");
    return;
  }
  OwnedBufferevent bev(bufferevent_socket_new(loop_.base(), fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  if (!bev) {
    ::close(fd);
    log::error("smtp.accept_failed").kv("error", "bufferevent_socket_new failed");
    return;
  }
  SessionContext ctx;
  ctx.session_id = next_session_id();
  ctx.listener = listener.config.name;
  ctx.client_address = client;
  std::memcpy(&ctx.client_sockaddr, addr, std::min(sizeof ctx.client_sockaddr, static_cast<std::size_t>(len)));
  SessionSettings settings{hostname_, &limits_, &listener.config, tls_ != nullptr};
  log::info("smtp.connect").kv("session", ctx.session_id).kv("client", client).kv("listener", listener.config.name);
  auto connection = std::make_unique<ServerConnection>(*this, std::move(bev), std::move(ctx), settings, handler_);
  ServerConnection* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  ++from_client;
  raw->start();
}

void SmtpServer::connection_finished(ServerConnection* connection) {
  auto it = per_client_.find(connection->context().client_address);
  if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
  // Deleted from the loop, never inside the connection's own callback.
  loop_.post([this, connection] {
    connections_.erase(connection);
    if (shutting_down_ && connections_.empty() && on_drained_) {
      auto done = std::move(on_drained_);
      on_drained_ = nullptr;
      done();
    }
  });
}

void SmtpServer::shutdown(std::function<void()> done) {
  shutting_down_ = true;
  for (auto& listener : listeners_) listener.handle.reset();
  on_drained_ = std::move(done);
  for (auto& [raw, connection] : connections_) connection->shutdown();
  if (connections_.empty() && on_drained_) {
    loop_.post([this] {
      if (on_drained_) {
        auto done = std::move(on_drained_);
        on_drained_ = nullptr;
        done();
      }
    });
  }
}

void SmtpServer::abort_connections() {
  std::vector<ServerConnection*> all;
  for (auto& [raw, connection] : connections_) all.push_back(raw);
  for (ServerConnection* c : all) c->finish_now();
}

}  // namespace common::smtp
