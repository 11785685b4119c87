// ServerSession: the RFC 5321 server state machine, shared by both daemons.
//
// Bytes in (feed), replies and actions out (SessionIo); decisions delegated to a
// SessionHandler. It holds no socket, no timer and no file: the connection
// (server_connection.cpp) adapts it to libevent, and unit tests drive it with a
// recording SessionIo, one byte at a time if they like.
//
// What it guarantees whatever the input:
//  - every line is bounded before it is parsed (command and text line limits);
//  - the end of DATA is CRLF "." CRLF and nothing else: a line ended by a bare LF
//    is never followed by an end-of-data marker, and a bare CR never ends a line
//    (SMTP smuggling, CVE-2023-51764 class);
//  - input pipelined after STARTTLS is discarded (RFC 3207 section 4.2, CVE-2011-0411);
//  - a bounded number of commands is handled per call, then it yields.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/smtp/envelope.h"
#include "common/smtp/listener_config.h"
#include "common/smtp/reply.h"
#include "common/smtp/session_handler.h"
#include "common/smtp/smtp_limits.h"

namespace common::smtp {

enum class SmtpState {
  Greeting,       // nothing sent yet
  AwaitHelo,      // greeting sent (or TLS just started): EHLO/HELO expected
  Ready,          // no transaction
  HaveSender,     // MAIL accepted
  HaveRecipients, // at least one RCPT accepted
  ReceivingData,  // after 354, until CRLF.CRLF
  AuthExchange,   // a 334 challenge is out, waiting for the client's response line
  AwaitingHandler,// a handler is deciding (password check, fsync); input waits
  TlsHandshake,   // 220 to STARTTLS sent; the connection is negotiating
  Closed,         // a closing reply was sent; input is ignored
};

const char* state_name(SmtpState state);

// The side effects a session asks for. Implemented by the libevent connection
// and by tests.
class SessionIo {
 public:
  virtual ~SessionIo() = default;
  virtual void send(std::string_view bytes) = 0;
  // The 220 to STARTTLS is queued: drop unread plaintext and start the handshake.
  virtual void start_tls() = 0;
  // Flush what was sent, then close the connection.
  virtual void close() = 0;
  virtual std::size_t pending_output() const = 0;
  // Call ServerSession::resume() from the loop soon (the session yielded).
  virtual void schedule_resume() = 0;
};

struct SessionSettings {
  std::string hostname;
  const SmtpLimits* limits = nullptr;
  const ListenerConfig* listener = nullptr;
  bool tls_available = false;  // a certificate is loaded, so STARTTLS can be offered
};

class ServerSession {
 public:
  ServerSession(SessionContext ctx, SessionSettings settings, SessionHandler& handler, SessionIo& io);
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  void start();                          // sends the greeting
  void feed(std::string_view bytes);     // bytes from the client
  void resume();                         // continue with buffered input
  void tls_established(std::string version, std::string cipher);
  void on_timeout();                     // the connection's read timer fired
  void on_shutdown();                    // the daemon is stopping

  SmtpState state() const { return state_; }
  const SessionContext& context() const { return ctx_; }
  // The read timeout that applies now; zero while we, not the client, are busy.
  std::chrono::seconds read_timeout() const;
  std::size_t buffered_input() const { return in_.size() - pos_; }

  // Bounds on the work done per feed()/resume() call and on unsent replies.
  static constexpr int kMaxCommandsPerRound = 64;
  static constexpr std::size_t kOutputHighWater = 256 * 1024;

 private:
  struct CommandSpec;
  enum class DataError { None, TooBig, LineTooLong, BareLf };

  void enter(SmtpState next);
  void process();
  bool process_command_line();  // false: need more input
  bool process_data();          // false: need more input
  bool process_auth_response();
  void dispatch(std::string_view line);
  void reply(const Reply& r);
  void reply(int code, std::string_view enhanced, std::string_view text);
  void reply_and_close(int code, std::string_view enhanced, std::string_view text);
  void count_error();
  void reset_transaction();
  void compact_input();
  std::optional<std::string_view> take_line(std::size_t limit, bool& crlf, bool& too_long);

  void cmd_ehlo(std::string_view args);
  void cmd_helo(std::string_view args);
  void cmd_mail(std::string_view args);
  void cmd_rcpt(std::string_view args);
  void cmd_data(std::string_view args);
  void cmd_rset(std::string_view args);
  void cmd_noop(std::string_view args);
  void cmd_quit(std::string_view args);
  void cmd_vrfy(std::string_view args);
  void cmd_help(std::string_view args);
  void cmd_starttls(std::string_view args);
  void cmd_auth(std::string_view args);
  void cmd_not_implemented(std::string_view args);

  bool greet_helo(std::string_view args, bool esmtp);  // false: refused (reply sent)
  bool auth_offered() const;
  bool starttls_offered() const;
  void auth_step(std::string_view response);
  void auth_check(std::string user, std::string password);
  void auth_failed(const std::string& user);
  void finish_data();
  void flush_data_run();
  void data_write(std::string_view bytes);

  SessionContext ctx_;
  SessionSettings settings_;
  const SmtpLimits& limits_;
  SessionHandler& handler_;
  SessionIo& io_;
  SmtpState state_ = SmtpState::Greeting;
  // Guards callbacks from handlers against a session that is gone.
  std::shared_ptr<ServerSession*> self_;

  std::string in_;
  std::size_t pos_ = 0;
  bool processing_ = false;
  bool last_line_crlf_ = true;

  Envelope envelope_;
  std::unique_ptr<MessageSink> sink_;

  // DATA phase.
  bool data_prev_crlf_ = true;        // was the previous line ended by CRLF?
  bool data_discarding_line_ = false; // inside an over-long line
  bool data_discarded_cr_ = false;    // last discarded byte was CR
  std::size_t data_run_begin_ = 0;    // [begin, end) of in_ still to hand to the sink
  std::size_t data_run_end_ = 0;
  std::uint64_t data_bytes_ = 0;      // checked against limits.max_message_size
  DataError data_error_ = DataError::None;

  // AUTH exchange.
  enum class AuthMechanism { Plain, Login };
  AuthMechanism auth_mechanism_ = AuthMechanism::Plain;
  std::string auth_login_user_;
  bool auth_login_have_user_ = false;

  // Counters, each beside the limit it enforces (limits_).
  std::size_t errors_ = 0;         // max_errors_per_session
  std::size_t auth_failures_ = 0;  // max_auth_failures
  std::size_t messages_ = 0;       // max_messages_per_connection
};

}  // namespace common::smtp
