// SmtpServer: the listening side of the SMTP core. Owns the listeners and the
// live connections, enforces the connection limits (in total and per client
// address) before a session is even created, and drains on shutdown.
#pragma once

#include <event2/listener.h>
#include <openssl/ssl.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/base/owned.h"
#include "common/base/result.h"
#include "common/event/event_loop.h"
#include "common/smtp/listener_config.h"
#include "common/smtp/session_handler.h"
#include "common/smtp/smtp_limits.h"

namespace common::smtp {

class ServerConnection;
using OwnedListener = Owned<evconnlistener, &evconnlistener_free>;

class SmtpServer {
 public:
  // `tls` may be null (no listener offers STARTTLS then). It and `handler` must
  // outlive the server.
  SmtpServer(event::EventLoop& loop, std::string hostname, SmtpLimits limits, SSL_CTX* tls,
             SessionHandler& handler);
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;

  // Binds and starts accepting; logs event=listening with the real port.
  Status listen(const ListenerConfig& listener);

  // Stops accepting, asks every session to finish, and calls `done` once the
  // last connection is gone (or at once when there are none).
  void shutdown(std::function<void()> done);
  // Closes whatever is left right now (after the shutdown grace period).
  void abort_connections();

  std::size_t connection_count() const { return connections_.size(); }
  event::EventLoop& loop() { return loop_; }
  SSL_CTX* tls_context() const { return tls_; }

 private:
  friend class ServerConnection;
  struct Listener {
    ListenerConfig config;
    OwnedListener handle;
    SmtpServer* server = nullptr;
  };

  static void on_accept(evconnlistener*, evutil_socket_t fd, sockaddr* addr, int len, void* arg) noexcept;
  static void on_accept_error(evconnlistener*, void* arg) noexcept;
  void accept(Listener& listener, evutil_socket_t fd, const sockaddr* addr, int len);
  void connection_finished(ServerConnection* connection);
  std::string next_session_id();

  event::EventLoop& loop_;
  std::string hostname_;
  SmtpLimits limits_;
  SSL_CTX* tls_;
  SessionHandler& handler_;
  std::deque<Listener> listeners_;  // deque: connections keep pointers to configs
  std::unordered_map<ServerConnection*, std::unique_ptr<ServerConnection>> connections_;
  std::unordered_map<std::string, std::size_t> per_client_;
  std::uint64_t session_seed_ = 0;
  std::uint64_t session_counter_ = 0;
  bool shutting_down_ = false;
  std::function<void()> on_drained_;
};

}  // namespace common::smtp
