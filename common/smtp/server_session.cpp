// The SMTP server state machine. See server_session.h for what it guarantees.
#include "common/smtp/server_session.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "common/base/base64.h"
#include "common/base/log.h"
#include "common/smtp/command_parser.h"

namespace common::smtp {
namespace {

using StateMask = unsigned;
constexpr StateMask bit(SmtpState s) { return 1u << static_cast<unsigned>(s); }
constexpr StateMask kAnyCommandState = bit(SmtpState::AwaitHelo) | bit(SmtpState::Ready) |
                                       bit(SmtpState::HaveSender) | bit(SmtpState::HaveRecipients);

bool is_http_verb(std::string_view verb) {
  // Cross-protocol requests (a browser or proxy aimed at the SMTP port): hang up,
  // as Postfix does, instead of answering every header line with 500.
  return verb == "GET" || verb == "POST" || verb == "HEAD" || verb == "PUT" || verb == "CONNECT" ||
         verb == "OPTIONS" || verb == "DELETE";
}

// The tenant a client submits as without AUTH, from the listener's trusted networks.
std::optional<std::string> trusted_identity(const ListenerConfig& listener, const sockaddr_storage& client) {
  for (const auto& trusted : listener.trusted_networks) {
    if (trusted.network.contains(reinterpret_cast<const sockaddr*>(&client))) return trusted.tenant;
  }
  return std::nullopt;
}

}  // namespace

struct ServerSession::CommandSpec {
  std::string_view verb;
  StateMask allowed;
  void (ServerSession::*run)(std::string_view);
};

const char* state_name(SmtpState state) {
  switch (state) {
    case SmtpState::Greeting: return "Greeting";
    case SmtpState::AwaitHelo: return "AwaitHelo";
    case SmtpState::Ready: return "Ready";
    case SmtpState::HaveSender: return "HaveSender";
    case SmtpState::HaveRecipients: return "HaveRecipients";
    case SmtpState::ReceivingData: return "ReceivingData";
    case SmtpState::AuthExchange: return "AuthExchange";
    case SmtpState::AwaitingHandler: return "AwaitingHandler";
    case SmtpState::TlsHandshake: return "TlsHandshake";
    case SmtpState::Closed: return "Closed";
  }
  return "?";
}

ServerSession::ServerSession(SessionContext ctx, SessionSettings settings, SessionHandler& handler,
                             SessionIo& io)
    : ctx_(std::move(ctx)),
      settings_(std::move(settings)),
      limits_(*settings_.limits),
      handler_(handler),
      io_(io),
      self_(std::make_shared<ServerSession*>(this)) {}

ServerSession::~ServerSession() { *self_ = nullptr; }

void ServerSession::enter(SmtpState next) {
  if (next == state_) return;
  log::debug("smtp.state").kv("session", ctx_.session_id).kv("from", state_name(state_)).kv("to", state_name(next));
  state_ = next;
}

std::chrono::seconds ServerSession::read_timeout() const {
  switch (state_) {
    case SmtpState::ReceivingData: return limits_.data_timeout;
    case SmtpState::TlsHandshake: return limits_.tls_handshake_timeout;
    case SmtpState::AwaitingHandler:
    case SmtpState::Closed: return std::chrono::seconds(0);
    default: return limits_.command_timeout;
  }
}

void ServerSession::start() {
  ctx_.identity = trusted_identity(*settings_.listener, ctx_.client_sockaddr);
  if (auto refusal = handler_.on_connect(ctx_)) {
    reply(*refusal);
    enter(SmtpState::Closed);
    io_.close();
    return;
  }
  // RFC 2034 section 3: no enhanced status code in the greeting.
  reply(Reply{220, "", {settings_.hostname + " ESMTP stamp"}});
  enter(SmtpState::AwaitHelo);
}

void ServerSession::feed(std::string_view bytes) {
  if (state_ == SmtpState::Closed || state_ == SmtpState::TlsHandshake) return;
  in_.append(bytes);
  process();
}

void ServerSession::resume() { process(); }

void ServerSession::process() {
  if (processing_) return;  // a handler completed synchronously inside process()
  processing_ = true;
  int commands = 0;
  bool more = true;
  while (more) {
    switch (state_) {
      case SmtpState::AwaitHelo:
      case SmtpState::Ready:
      case SmtpState::HaveSender:
      case SmtpState::HaveRecipients:
        if (commands == kMaxCommandsPerRound || io_.pending_output() > kOutputHighWater) {
          // Yield: the connection calls resume() once the loop has run (or the
          // client has read its replies), so one client cannot hog the loop.
          if (buffered_input() > 0) io_.schedule_resume();
          more = false;
          break;
        }
        more = process_command_line();
        ++commands;
        break;
      case SmtpState::ReceivingData: more = process_data(); break;
      case SmtpState::AuthExchange: more = process_auth_response(); break;
      default: more = false; break;  // waiting for a handler, TLS, or closed
    }
  }
  compact_input();
  processing_ = false;
}

void ServerSession::compact_input() {
  if (pos_ == 0) return;
  if (pos_ >= in_.size()) {
    in_.clear();
  } else {
    in_.erase(0, pos_);
  }
  pos_ = 0;
}

// Takes one line ending in LF from the input, without the line ending. `crlf`
// tells whether the LF was preceded by CR. A line longer than `limit` (without
// its ending) sets `too_long`.
std::optional<std::string_view> ServerSession::take_line(std::size_t limit, bool& crlf, bool& too_long) {
  too_long = false;
  std::size_t lf = in_.find('\n', pos_);
  if (lf == std::string::npos) {
    if (in_.size() - pos_ > limit + 1) too_long = true;
    return std::nullopt;
  }
  std::string_view line(in_.data() + pos_, lf - pos_);
  pos_ = lf + 1;
  crlf = !line.empty() && line.back() == '\r';
  if (crlf) line.remove_suffix(1);
  if (line.size() > limit) too_long = true;
  return line;
}

bool ServerSession::process_command_line() {
  bool crlf = false;
  bool too_long = false;
  auto line = take_line(limits_.max_command_line_length, crlf, too_long);
  if (too_long) {
    log::info("smtp.limit").kv("session", ctx_.session_id).kv("limit", "max_command_line_length")
        .kv("value", limits_.max_command_line_length);
    reply_and_close(500, "5.5.2", "Line too long");
    return false;
  }
  if (!line) return false;
  last_line_crlf_ = crlf;
  if (!crlf && settings_.listener->bare_lf == BareLfPolicy::Reject) {
    reply(500, "5.5.2", "Bare <LF> received; SMTP lines end in <CR><LF> (RFC 5321 2.3.8)");
    count_error();
    return state_ != SmtpState::Closed;
  }
  dispatch(*line);
  return state_ != SmtpState::Closed;
}

void ServerSession::dispatch(std::string_view line) {
  static constexpr std::array<CommandSpec, 14> kCommands{{
      {"EHLO", kAnyCommandState, &ServerSession::cmd_ehlo},
      {"HELO", kAnyCommandState, &ServerSession::cmd_helo},
      {"MAIL", bit(SmtpState::Ready), &ServerSession::cmd_mail},
      {"RCPT", bit(SmtpState::HaveSender) | bit(SmtpState::HaveRecipients), &ServerSession::cmd_rcpt},
      // DATA with a sender but no recipient gets RFC 5321 3.3's 554, not 503.
      {"DATA", bit(SmtpState::HaveSender) | bit(SmtpState::HaveRecipients), &ServerSession::cmd_data},
      {"RSET", kAnyCommandState, &ServerSession::cmd_rset},
      {"NOOP", kAnyCommandState, &ServerSession::cmd_noop},
      {"QUIT", kAnyCommandState, &ServerSession::cmd_quit},
      {"VRFY", kAnyCommandState, &ServerSession::cmd_vrfy},
      {"HELP", kAnyCommandState, &ServerSession::cmd_help},
      {"STARTTLS", bit(SmtpState::Ready), &ServerSession::cmd_starttls},
      {"AUTH", bit(SmtpState::Ready), &ServerSession::cmd_auth},
      {"EXPN", kAnyCommandState, &ServerSession::cmd_not_implemented},
      {"BDAT", kAnyCommandState, &ServerSession::cmd_not_implemented},
  }};
  if (line.find('\0') != std::string_view::npos || line.find('\r') != std::string_view::npos) {
    reply(500, "5.5.2", "Invalid character in command");
    count_error();
    return;
  }
  CommandLine cmd = split_command(line);
  if (is_http_verb(cmd.verb)) {
    log::info("smtp.http_request").kv("session", ctx_.session_id).kv("client", ctx_.client_address);
    reply_and_close(221, "2.7.0", "This is an SMTP server, not HTTP. Goodbye.");
    return;
  }
  for (const auto& spec : kCommands) {
    if (spec.verb != cmd.verb) continue;
    if ((spec.allowed & bit(state_)) == 0) {
      const char* why = state_ == SmtpState::AwaitHelo ? "Send EHLO or HELO first" : "Bad sequence of commands";
      reply(503, "5.5.1", why);
      count_error();
      return;
    }
    (this->*spec.run)(cmd.args);
    return;
  }
  reply(500, "5.5.2", "Command unrecognized");
  count_error();
}

void ServerSession::reply(const Reply& r) {
  if (r.permanent_failure() || r.transient_failure()) {
    log::debug("smtp.reply").kv("session", ctx_.session_id).kv("reply", r.first_line());
  }
  io_.send(r.render());
}

void ServerSession::reply(int code, std::string_view enhanced, std::string_view text) {
  reply(Reply::make(code, enhanced, text));
}

void ServerSession::reply_and_close(int code, std::string_view enhanced, std::string_view text) {
  reply(code, enhanced, text);
  sink_.reset();
  enter(SmtpState::Closed);
  io_.close();
}

void ServerSession::count_error() {
  if (++errors_ < limits_.max_errors_per_session) return;
  log::info("smtp.limit").kv("session", ctx_.session_id).kv("client", ctx_.client_address)
      .kv("limit", "max_errors_per_session").kv("value", limits_.max_errors_per_session);
  reply_and_close(421, "4.7.0", "Too many errors, closing connection");
}

void ServerSession::reset_transaction() {
  envelope_ = Envelope{};
  sink_.reset();
  if (state_ == SmtpState::HaveSender || state_ == SmtpState::HaveRecipients ||
      state_ == SmtpState::ReceivingData || state_ == SmtpState::AwaitingHandler) {
    enter(SmtpState::Ready);
  }
}

bool ServerSession::starttls_offered() const {
  return settings_.tls_available && settings_.listener->tls == TlsMode::StartTls && !ctx_.tls;
}

bool ServerSession::auth_offered() const {
  return settings_.listener->auth && ctx_.auth_user.empty() &&
         (ctx_.tls || settings_.listener->allow_plaintext_auth);
}

bool ServerSession::greet_helo(std::string_view args, bool esmtp) {
  while (!args.empty() && args.back() == ' ') args.remove_suffix(1);
  if (args.empty()) {
    reply(501, "5.5.4", esmtp ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
    count_error();
    return false;
  }
  // RFC 5321 4.1.4: EHLO/HELO resets any transaction in progress.
  reset_transaction();
  ctx_.helo = std::string(args.substr(0, 255));
  ctx_.esmtp = esmtp;
  enter(SmtpState::Ready);
  return true;
}

void ServerSession::cmd_ehlo(std::string_view args) {
  if (!greet_helo(args, true)) return;
  Reply r{250, "", {settings_.hostname}};
  r.lines.push_back("PIPELINING");
  r.lines.push_back("SIZE " + std::to_string(limits_.max_message_size));
  r.lines.push_back("8BITMIME");
  r.lines.push_back("SMTPUTF8");
  r.lines.push_back("ENHANCEDSTATUSCODES");
  r.lines.push_back("DSN");
  if (starttls_offered()) r.lines.push_back("STARTTLS");
  if (auth_offered()) r.lines.push_back("AUTH PLAIN LOGIN");
  reply(r);
}

void ServerSession::cmd_helo(std::string_view args) {
  if (greet_helo(args, false)) reply(Reply{250, "", {settings_.hostname}});
}

void ServerSession::cmd_mail(std::string_view args) {
  if (messages_ >= limits_.max_messages_per_connection) {
    log::info("smtp.limit").kv("session", ctx_.session_id).kv("limit", "max_messages_per_connection")
        .kv("value", limits_.max_messages_per_connection);
    reply_and_close(421, "4.7.0", "Too many messages in one connection, please reconnect");
    return;
  }
  auto mail = parse_mail_from(args);
  if (!mail) {
    reply(mail.error());
    count_error();
    return;
  }
  if (mail->declared_size && *mail->declared_size > limits_.max_message_size) {
    // RFC 1870 section 6.1: refuse up front what would not fit.
    reply(552, "5.3.4", "Message size exceeds fixed limit of " + std::to_string(limits_.max_message_size) + " bytes");
    return;
  }
  Reply decision = handler_.on_mail_from(ctx_, *mail);
  reply(decision);
  if (decision.positive()) {
    envelope_.mail_from = std::move(*mail);
    enter(SmtpState::HaveSender);
  }
}

void ServerSession::cmd_rcpt(std::string_view args) {
  if (envelope_.recipients.size() >= limits_.max_recipients_per_message) {
    // RFC 5321 4.5.3.1.10: 452 tells the client to send the rest in another transaction.
    log::info("smtp.limit").kv("session", ctx_.session_id).kv("limit", "max_recipients_per_message")
        .kv("value", limits_.max_recipients_per_message);
    reply(452, "4.5.3", "Too many recipients");
    return;
  }
  auto rcpt = parse_rcpt_to(args, envelope_.mail_from.smtputf8);
  if (!rcpt) {
    reply(rcpt.error());
    count_error();
    return;
  }
  Reply decision = handler_.on_rcpt_to(ctx_, envelope_, *rcpt);
  reply(decision);
  if (decision.positive()) {
    envelope_.recipients.push_back(std::move(*rcpt));
    enter(SmtpState::HaveRecipients);
  }
}

void ServerSession::cmd_data(std::string_view args) {
  if (!args.empty()) {
    reply(501, "5.5.4", "Syntax: DATA");
    count_error();
    return;
  }
  if (envelope_.recipients.empty()) {
    reply(554, "5.5.1", "No valid recipients");
    return;
  }
  auto sink = handler_.on_data(ctx_, envelope_);
  if (!sink) {
    reply(sink.error());
    return;
  }
  sink_ = std::move(*sink);
  data_prev_crlf_ = last_line_crlf_;
  data_discarding_line_ = false;
  data_discarded_cr_ = false;
  data_run_begin_ = data_run_end_ = pos_;
  data_bytes_ = 0;
  data_error_ = DataError::None;
  reply(354, "", "End data with <CR><LF>.<CR><LF>");
  enter(SmtpState::ReceivingData);
}

void ServerSession::data_write(std::string_view bytes) {
  if (data_error_ != DataError::None) return;
  data_bytes_ += bytes.size();
  if (data_bytes_ > limits_.max_message_size) {
    data_error_ = DataError::TooBig;
    return;
  }
  sink_->write(bytes);
}

void ServerSession::flush_data_run() {
  if (data_run_end_ > data_run_begin_) {
    data_write(std::string_view(in_.data() + data_run_begin_, data_run_end_ - data_run_begin_));
  }
  data_run_begin_ = data_run_end_ = pos_;
}

// Consumes DATA lines. Ordinary lines (CRLF-terminated, no leading dot) are
// handed to the sink in one run straight from the input buffer; only the
// exceptions are rewritten. Returns false when more input is needed.
bool ServerSession::process_data() {
  const std::size_t limit = limits_.max_data_line_length;
  const bool reject_bare_lf = settings_.listener->bare_lf == BareLfPolicy::Reject;
  data_run_begin_ = data_run_end_ = pos_;
  while (true) {
    std::size_t lf = in_.find('\n', pos_);
    if (lf == std::string::npos) {
      flush_data_run();
      std::size_t pending = in_.size() - pos_;
      if (data_discarding_line_ || pending > limit + 2) {
        // The line cannot fit: drop what we have, remember whether it ended in CR.
        if (!data_discarding_line_ && data_error_ == DataError::None) data_error_ = DataError::LineTooLong;
        if (pending > 0) data_discarded_cr_ = in_.back() == '\r';
        data_discarding_line_ = true;
        pos_ = in_.size();
        data_run_begin_ = data_run_end_ = pos_;
      }
      return false;
    }
    const std::size_t line_begin = pos_;
    std::string_view line(in_.data() + line_begin, lf - line_begin);
    pos_ = lf + 1;
    bool crlf;
    if (data_discarding_line_) {
      crlf = line.empty() ? data_discarded_cr_ : line.back() == '\r';
      data_discarding_line_ = false;
      flush_data_run();
      if (!crlf && reject_bare_lf && data_error_ == DataError::None) data_error_ = DataError::BareLf;
      data_prev_crlf_ = crlf;
      continue;
    }
    crlf = !line.empty() && line.back() == '\r';
    if (crlf) line.remove_suffix(1);
    // RFC 5321 4.1.1.4: only CRLF "." CRLF ends the data, so a "." line counts
    // only when both it and the line before it were ended by CRLF.
    if (crlf && data_prev_crlf_ && line == ".") {
      data_run_end_ = line_begin;
      flush_data_run();
      finish_data();
      return state_ != SmtpState::Closed;
    }
    // RFC 5321 4.5.3.1.6: the dot doubled for transparency does not count towards
    // the line length (the no-LF check above allows for it too).
    const bool stuffed = !line.empty() && line.front() == '.';
    const std::size_t text_length = line.size() - (stuffed ? 1 : 0);
    const bool ordinary = crlf && !stuffed && line.size() <= limit;
    data_prev_crlf_ = crlf;
    if (ordinary) {
      data_run_end_ = pos_;
      continue;
    }
    data_run_end_ = line_begin;
    flush_data_run();
    if (text_length > limit) {
      if (data_error_ == DataError::None) data_error_ = DataError::LineTooLong;
      continue;
    }
    if (!crlf && reject_bare_lf) {
      if (data_error_ == DataError::None) data_error_ = DataError::BareLf;
      continue;
    }
    // RFC 5321 4.5.2: remove one leading dot. A bare LF is normalized to CRLF.
    if (stuffed) line.remove_prefix(1);
    data_write(line);
    data_write("\r\n");
  }
}

void ServerSession::finish_data() {
  DataError error = data_error_;
  if (error != DataError::None) {
    sink_.reset();  // abandons the spool file
    envelope_ = Envelope{};
    enter(SmtpState::Ready);
    switch (error) {
      case DataError::TooBig:
        log::info("smtp.limit").kv("session", ctx_.session_id).kv("limit", "max_message_size")
            .kv("value", limits_.max_message_size);
        reply(552, "5.3.4", "Message size exceeds fixed limit of " + std::to_string(limits_.max_message_size) + " bytes");
        break;
      case DataError::LineTooLong:
        log::info("smtp.limit").kv("session", ctx_.session_id).kv("limit", "max_data_line_length")
            .kv("value", limits_.max_data_line_length);
        reply(550, "5.6.0", "Message has a line longer than " + std::to_string(limits_.max_data_line_length) +
                                " characters (RFC 5322 2.1.1)");
        break;
      case DataError::BareLf:
        log::info("smtp.bare_lf_rejected").kv("session", ctx_.session_id).kv("client", ctx_.client_address);
        reply(550, "5.6.0", "Message contains a bare <LF>; lines must end in <CR><LF> (RFC 5321 2.3.8)");
        break;
      case DataError::None: break;
    }
    return;
  }
  enter(SmtpState::AwaitingHandler);
  std::weak_ptr<ServerSession*> weak = self_;
  // finish() hands the message over; the sink itself may go right after.
  std::unique_ptr<MessageSink> sink = std::move(sink_);
  sink->finish([weak](Reply result) {
    auto alive = weak.lock();
    if (!alive || *alive == nullptr) return;
    ServerSession* self = *alive;
    if (self->state_ != SmtpState::AwaitingHandler) return;
    self->reply(result);
    if (result.positive()) ++self->messages_;
    self->envelope_ = Envelope{};
    self->enter(SmtpState::Ready);
    if (self->processing_) return;  // process() is on the stack and continues
    self->io_.schedule_resume();
  });
}

void ServerSession::cmd_rset(std::string_view) {
  reset_transaction();
  reply(250, "2.0.0", "Ok");
}

void ServerSession::cmd_noop(std::string_view) { reply(250, "2.0.0", "Ok"); }

void ServerSession::cmd_quit(std::string_view) { reply_and_close(221, "2.0.0", "Bye"); }

void ServerSession::cmd_vrfy(std::string_view) {
  // RFC 5321 3.5.3: 252 when we will not verify but would accept.
  reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
}

void ServerSession::cmd_help(std::string_view) {
  reply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH");
}

void ServerSession::cmd_not_implemented(std::string_view) {
  reply(502, "5.5.1", "Command not implemented");
  count_error();
}

void ServerSession::cmd_starttls(std::string_view args) {
  if (!starttls_offered()) {
    reply(ctx_.tls ? 503 : 502, "5.5.1", ctx_.tls ? "TLS already active" : "STARTTLS not available");
    count_error();
    return;
  }
  if (!args.empty()) {
    reply(501, "5.5.4", "Syntax: STARTTLS");
    count_error();
    return;
  }
  reply(220, "2.0.0", "Ready to start TLS");
  // RFC 3207 section 4.2: discard anything pipelined behind STARTTLS and forget
  // everything learned from the client before the handshake.
  in_.clear();
  pos_ = 0;
  enter(SmtpState::TlsHandshake);
  io_.start_tls();
}

void ServerSession::tls_established(std::string version, std::string cipher) {
  if (state_ != SmtpState::TlsHandshake) return;
  in_.clear();
  pos_ = 0;
  ctx_.tls = true;
  ctx_.tls_version = std::move(version);
  ctx_.tls_cipher = std::move(cipher);
  ctx_.helo.clear();
  ctx_.esmtp = false;
  // A SASL login made in plaintext is knowledge from the client too (Postfix
  // resets it as well); only a trusted network's identity survives.
  ctx_.auth_user.clear();
  ctx_.identity = trusted_identity(*settings_.listener, ctx_.client_sockaddr);
  envelope_ = Envelope{};
  enter(SmtpState::AwaitHelo);
}

void ServerSession::on_timeout() {
  if (state_ == SmtpState::Closed) return;
  log::info("smtp.timeout").kv("session", ctx_.session_id).kv("client", ctx_.client_address)
      .kv("state", state_name(state_));
  if (state_ == SmtpState::TlsHandshake) {
    enter(SmtpState::Closed);  // no plaintext reply inside a half-done handshake
    io_.close();
    return;
  }
  reply_and_close(421, "4.4.2", "Timeout exceeded, closing connection");
}

void ServerSession::on_shutdown() {
  if (state_ == SmtpState::Closed) return;
  if (state_ == SmtpState::TlsHandshake) {
    enter(SmtpState::Closed);
    io_.close();
    return;
  }
  reply_and_close(421, "4.3.2", "Service shutting down, try again later");
}

// --- AUTH (RFC 4954) --------------------------------------------------------

void ServerSession::cmd_auth(std::string_view args) {
  if (!settings_.listener->auth) {
    reply(503, "5.5.1", "AUTH not available on this port");
    count_error();
    return;
  }
  if (!ctx_.auth_user.empty()) {
    reply(503, "5.5.1", "Already authenticated");
    count_error();
    return;
  }
  if (!ctx_.tls && !settings_.listener->allow_plaintext_auth) {
    reply(530, "5.7.0", "Must issue a STARTTLS command first");
    count_error();
    return;
  }
  auto space = args.find(' ');
  std::string mechanism(args.substr(0, space));
  for (char& c : mechanism) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view initial = space == std::string_view::npos ? std::string_view() : args.substr(space + 1);
  auth_login_user_.clear();
  auth_login_have_user_ = false;
  if (mechanism == "PLAIN") {
    auth_mechanism_ = AuthMechanism::Plain;
    if (initial.empty()) {
      reply(Reply{334, "", {""}});
      enter(SmtpState::AuthExchange);
      return;
    }
    auth_step(initial);
  } else if (mechanism == "LOGIN") {
    auth_mechanism_ = AuthMechanism::Login;
    if (initial.empty()) {
      reply(Reply{334, "", {"VXNlcm5hbWU6"}});  // "Username:"
      enter(SmtpState::AuthExchange);
      return;
    }
    auth_step(initial);
  } else {
    reply(504, "5.5.4", "Unrecognized authentication type");
    count_error();
  }
}

bool ServerSession::process_auth_response() {
  bool crlf = false;
  bool too_long = false;
  auto line = take_line(limits_.max_command_line_length, crlf, too_long);
  if (too_long) {
    reply_and_close(500, "5.5.2", "Line too long");
    return false;
  }
  if (!line) return false;
  enter(SmtpState::Ready);
  auth_step(*line);
  return state_ != SmtpState::Closed;
}

// One client response of the exchange: "=" is an empty initial response and
// "*" cancels (RFC 4954 section 4).
void ServerSession::auth_step(std::string_view response) {
  if (response == "*") {
    reply(501, "5.7.0", "Authentication canceled");
    enter(SmtpState::Ready);
    return;
  }
  std::optional<std::string> decoded = response == "=" ? std::optional<std::string>("") : base64_decode(response);
  if (!decoded) {
    reply(501, "5.5.2", "Invalid base64 in AUTH response");
    enter(SmtpState::Ready);
    count_error();
    return;
  }
  if (auth_mechanism_ == AuthMechanism::Login) {
    if (!auth_login_have_user_) {
      auth_login_user_ = std::move(*decoded);
      auth_login_have_user_ = true;
      reply(Reply{334, "", {"UGFzc3dvcmQ6"}});  // "Password:"
      enter(SmtpState::AuthExchange);
      return;
    }
    auth_check(std::move(auth_login_user_), std::move(*decoded));
    return;
  }
  // PLAIN (RFC 4616): authzid NUL authcid NUL passwd.
  const std::string& msg = *decoded;
  auto nul1 = msg.find('\0');
  auto nul2 = nul1 == std::string::npos ? std::string::npos : msg.find('\0', nul1 + 1);
  if (nul2 == std::string::npos) {
    reply(501, "5.5.2", "Malformed AUTH PLAIN response");
    enter(SmtpState::Ready);
    count_error();
    return;
  }
  std::string authzid = msg.substr(0, nul1);
  std::string user = msg.substr(nul1 + 1, nul2 - nul1 - 1);
  std::string password = msg.substr(nul2 + 1);
  if (!authzid.empty() && authzid != user) {
    auth_failed(user);  // no proxy authorization (acting as another user)
    return;
  }
  auth_check(std::move(user), std::move(password));
}

void ServerSession::auth_check(std::string user, std::string password) {
  enter(SmtpState::AwaitingHandler);
  std::weak_ptr<ServerSession*> weak = self_;
  handler_.authenticate(ctx_, user, password, [weak, user](std::optional<std::string> identity) {
    auto alive = weak.lock();
    if (!alive || *alive == nullptr) return;
    ServerSession* self = *alive;
    if (self->state_ != SmtpState::AwaitingHandler) return;
    self->enter(SmtpState::Ready);
    if (identity) {
      self->ctx_.auth_user = user;
      self->ctx_.identity = std::move(identity);
      log::info("smtp.auth").kv("session", self->ctx_.session_id).kv("user", user)
          .kv("tenant", *self->ctx_.identity);
      self->reply(235, "2.7.0", "Authentication successful");
    } else {
      self->auth_failed(user);
    }
    if (!self->processing_) self->io_.schedule_resume();
  });
}

void ServerSession::auth_failed(const std::string& user) {
  enter(SmtpState::Ready);
  ++auth_failures_;
  log::warning("smtp.auth_failed").kv("session", ctx_.session_id).kv("client", ctx_.client_address)
      .kv("user", user).kv("failures", auth_failures_);
  if (auth_failures_ >= limits_.max_auth_failures) {
    log::info("smtp.limit").kv("session", ctx_.session_id).kv("limit", "max_auth_failures")
        .kv("value", limits_.max_auth_failures);
    reply_and_close(421, "4.7.0", "Too many failed authentication attempts");
    return;
  }
  reply(535, "5.7.8", "Authentication credentials invalid");
}

}  // namespace common::smtp
