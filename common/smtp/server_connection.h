// ServerConnection: one accepted SMTP client on libevent. It adapts a
// bufferevent (plain, then TLS after STARTTLS) to a ServerSession: bytes in,
// replies out, read timeouts by session state, and a clean close. It makes no
// protocol decisions of its own.
#pragma once

#include <event2/bufferevent.h>

#include <chrono>
#include <string>

#include "common/base/owned.h"
#include "common/event/event_loop.h"
#include "common/smtp/server_session.h"

namespace common::smtp {

class SmtpServer;

using OwnedBufferevent = Owned<bufferevent, &bufferevent_free>;

class ServerConnection final : public SessionIo {
 public:
  ServerConnection(SmtpServer& server, OwnedBufferevent bev, SessionContext ctx, SessionSettings settings,
                   SessionHandler& handler);
  ~ServerConnection() override;

  void start();
  void shutdown();  // the daemon is stopping: 421 now if idle, else after the transaction
  void finish_now() { finish("shutdown"); }
  const SessionContext& context() const { return session_.context(); }

  // SessionIo
  void send(std::string_view bytes) override;
  void start_tls() override;
  void close() override;
  std::size_t pending_output() const override;
  void schedule_resume() override;

  // Most bytes taken from the socket per callback before yielding to the loop.
  static constexpr std::size_t kReadBudget = 256 * 1024;
  // While the session is busy (fsync, password check) at most this much is
  // read ahead from the client; then the kernel's buffers push back.
  static constexpr std::size_t kMaxReadAhead = 1024 * 1024;
  // A client that does not read our final reply is dropped after this long.
  static constexpr std::chrono::seconds kCloseTimeout{30};

 private:
  static void on_read(bufferevent* bev, void* arg) noexcept;
  static void on_write(bufferevent* bev, void* arg) noexcept;
  static void on_event(bufferevent* bev, short what, void* arg) noexcept;
  static void on_resume(evutil_socket_t, short, void* arg) noexcept;

  void pump_input();
  void upgrade_to_tls();
  void update_timeouts();
  void finish(const char* reason);
  bool session_takes_input() const;
  bool between_transactions() const;

  SmtpServer& server_;
  OwnedBufferevent bev_;
  event::OwnedEvent resume_event_;
  ServerSession session_;
  bool tls_requested_ = false;
  bool closing_ = false;   // flush, then finish
  bool finished_ = false;  // handed back to the server for deletion
  bool draining_ = false;  // shutdown requested
  std::chrono::seconds current_timeout_{-1};        // read timer now set
  std::chrono::seconds current_write_timeout_{-1};  // write timer now set
  std::chrono::steady_clock::time_point started_;
};

}  // namespace common::smtp
