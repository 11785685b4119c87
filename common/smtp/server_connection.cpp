// ServerConnection: libevent adapter for one ServerSession. See server_connection.h.
#include "common/smtp/server_connection.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include <algorithm>

#include "common/base/log.h"
#include "common/smtp/smtp_server.h"
#include "common/tls/tls_context.h"

namespace common::smtp {
namespace {

// Input the session may hold unprocessed before we stop handing it more (it
// yields after a fixed number of commands; the rest waits in libevent).
constexpr std::size_t kSessionBacklog = 64 * 1024;

timeval to_timeval(std::chrono::seconds s) {
  return timeval{static_cast<time_t>(s.count()), 0};
}

}  // namespace

ServerConnection::ServerConnection(SmtpServer& server, OwnedBufferevent bev, SessionContext ctx,
                                   SessionSettings settings, SessionHandler& handler)
    : server_(server),
      bev_(std::move(bev)),
      resume_event_(event_new(server.loop().base(), -1, 0, &ServerConnection::on_resume, this)),
      session_(std::move(ctx), std::move(settings), handler, *this),
      started_(std::chrono::steady_clock::now()) {
  bufferevent_setcb(bev_.get(), &ServerConnection::on_read, &ServerConnection::on_write,
                    &ServerConnection::on_event, this);
  bufferevent_setwatermark(bev_.get(), EV_READ, 0, kMaxReadAhead);
}

ServerConnection::~ServerConnection() = default;

void ServerConnection::start() {
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  session_.start();
  update_timeouts();
}

void ServerConnection::on_read(bufferevent*, void* arg) noexcept {
  static_cast<ServerConnection*>(arg)->pump_input();
}

void ServerConnection::on_resume(evutil_socket_t, short, void* arg) noexcept {
  auto* self = static_cast<ServerConnection*>(arg);
  if (self->finished_) return;
  self->session_.resume();
  self->pump_input();
}

void ServerConnection::on_write(bufferevent*, void* arg) noexcept {
  auto* self = static_cast<ServerConnection*>(arg);
  if (self->finished_) return;
  if (self->closing_) {
    self->finish("closed");
    return;
  }
  self->update_timeouts();  // all replies read: no write timer until the next one
  // The client has read our replies: carry on with what it pipelined.
  if (self->session_.buffered_input() > 0 || evbuffer_get_length(bufferevent_get_input(self->bev_.get())) > 0) {
    self->session_.resume();
    self->pump_input();
  }
}

void ServerConnection::on_event(bufferevent*, short what, void* arg) noexcept {
  auto* self = static_cast<ServerConnection*>(arg);
  if (self->finished_) return;
  if (what & BEV_EVENT_CONNECTED) {
    // The TLS handshake of STARTTLS is complete.
    SSL* ssl = bufferevent_openssl_get_ssl(self->bev_.get());
    std::string version = ssl ? tls::protocol_version(ssl) : "";
    std::string cipher = ssl ? tls::cipher_name(ssl) : "";
    log::info("smtp.tls").kv("session", self->session_.context().session_id).kv("version", version)
        .kv("cipher", cipher);
    self->session_.tls_established(version, cipher);
    self->current_timeout_ = self->current_write_timeout_ = std::chrono::seconds(-1);
    self->pump_input();
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    if (what & BEV_EVENT_WRITING || self->closing_) {
      self->finish("write_timeout");
      return;
    }
    self->session_.on_timeout();
    bufferevent_enable(self->bev_.get(), EV_WRITE);
    self->update_timeouts();
    return;
  }
  if (what & BEV_EVENT_ERROR) {
    if (self->session_.state() == SmtpState::TlsHandshake) {
      log::info("smtp.tls_failed").kv("session", self->session_.context().session_id)
          .kv("client", self->session_.context().client_address)
          .kv("error", bufferevent_get_openssl_error(self->bev_.get()) != 0 ? tls::last_openssl_error()
                                                                              : std::string("handshake aborted"));
    }
    self->finish(self->closing_ ? "closed" : "error");
    return;
  }
  if (what & BEV_EVENT_EOF) self->finish(self->closing_ ? "closed" : "client_closed");
}

// No message is at stake: a stopping daemon may say 421 and close now.
bool ServerConnection::between_transactions() const {
  switch (session_.state()) {
    case SmtpState::Greeting:
    case SmtpState::AwaitHelo:
    case SmtpState::Ready:
    case SmtpState::AuthExchange: return true;
    default: return false;
  }
}

bool ServerConnection::session_takes_input() const {
  if (closing_ || finished_) return false;
  switch (session_.state()) {
    case SmtpState::AwaitingHandler:
    case SmtpState::TlsHandshake:
    case SmtpState::Closed: return false;
    default: return session_.buffered_input() < kSessionBacklog;
  }
}

void ServerConnection::pump_input() {
  if (finished_) return;
  evbuffer* input = bufferevent_get_input(bev_.get());
  std::size_t budget = kReadBudget;
  char chunk[16384];
  while (budget > 0 && session_takes_input()) {
    int n = evbuffer_remove(input, chunk, std::min(sizeof chunk, budget));
    if (n <= 0) break;
    budget -= static_cast<std::size_t>(n);
    session_.feed(std::string_view(chunk, static_cast<std::size_t>(n)));
    if (tls_requested_) {
      upgrade_to_tls();
      return;
    }
  }
  if (finished_) return;
  if (draining_ && between_transactions()) session_.on_shutdown();
  if (budget == 0 && session_takes_input() && evbuffer_get_length(input) > 0) schedule_resume();
  update_timeouts();
}

// The read timer follows the session's state; the write timer runs only while
// replies wait to be read. (A TLS filter arms its write timer whenever writing
// is enabled, even with nothing to send, and re-enabling it restarts the read
// timer too, so an always-armed write timer would keep an idle client alive.)
void ServerConnection::update_timeouts() {
  if (finished_) return;
  if (closing_) {
    timeval write_tv = to_timeval(kCloseTimeout);
    bufferevent_set_timeouts(bev_.get(), nullptr, &write_tv);
    return;
  }
  std::chrono::seconds read = session_.read_timeout();
  std::chrono::seconds write = pending_output() > 0 ? server_.limits_.command_timeout : std::chrono::seconds(0);
  if (read == current_timeout_ && write == current_write_timeout_) return;
  current_timeout_ = read;
  current_write_timeout_ = write;
  timeval read_tv = to_timeval(read);
  timeval write_tv = to_timeval(write);
  bufferevent_set_timeouts(bev_.get(), read.count() > 0 ? &read_tv : nullptr, write.count() > 0 ? &write_tv : nullptr);
}

void ServerConnection::send(std::string_view bytes) {
  if (finished_) return;
  bufferevent_write(bev_.get(), bytes.data(), bytes.size());
  if (current_write_timeout_.count() == 0) update_timeouts();
}

void ServerConnection::start_tls() { tls_requested_ = true; }

void ServerConnection::upgrade_to_tls() {
  tls_requested_ = false;
  // RFC 3207 section 4.2: plaintext the client sent after STARTTLS is dropped.
  // This runs before the 220 has left, so no ClientHello can be among it.
  evbuffer* input = bufferevent_get_input(bev_.get());
  evbuffer_drain(input, evbuffer_get_length(input));
  SSL_CTX* ctx = server_.tls_context();
  tls::OwnedSsl ssl(ctx ? SSL_new(ctx) : nullptr);
  if (!ssl) {
    log::error("smtp.tls_failed").kv("session", session_.context().session_id).kv("error", "SSL_new failed");
    finish("tls_setup_failed");
    return;
  }
  bufferevent* plain = bev_.get();
  bufferevent_setcb(plain, nullptr, nullptr, nullptr, nullptr);
  // Timeouts now belong to the TLS layer on top; left on the socket below,
  // the plaintext phase's timer would fire as a bare "write timeout".
  bufferevent_set_timeouts(plain, nullptr, nullptr);
  bufferevent* filtered = bufferevent_openssl_filter_new(server_.loop().base(), plain, ssl.get(),
                                                         BUFFEREVENT_SSL_ACCEPTING,
                                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (!filtered) {
    log::error("smtp.tls_failed").kv("session", session_.context().session_id).kv("error", "filter setup failed");
    finish("tls_setup_failed");
    return;
  }
  ssl.release();   // freed by `filtered` (BEV_OPT_CLOSE_ON_FREE)
  bev_.release();  // `plain` is freed by `filtered` too
  bev_.reset(filtered);
  // Filter bufferevents turn an abrupt TCP close into EOF only with this.
  bufferevent_openssl_set_allow_dirty_shutdown(filtered, 1);
  bufferevent_setcb(filtered, &ServerConnection::on_read, &ServerConnection::on_write,
                    &ServerConnection::on_event, this);
  bufferevent_setwatermark(filtered, EV_READ, 0, kMaxReadAhead);
  bufferevent_enable(filtered, EV_READ | EV_WRITE);
  current_timeout_ = current_write_timeout_ = std::chrono::seconds(-1);
  update_timeouts();
}

void ServerConnection::close() {
  if (closing_ || finished_) return;
  closing_ = true;
  bufferevent_disable(bev_.get(), EV_READ);
  if (pending_output() == 0) {
    finish("closed");
    return;
  }
  update_timeouts();  // the write callback finishes once the last reply is out
}

std::size_t ServerConnection::pending_output() const {
  return evbuffer_get_length(bufferevent_get_output(bev_.get()));
}

void ServerConnection::schedule_resume() {
  if (!finished_) event_active(resume_event_.get(), 0, 0);
}

void ServerConnection::shutdown() {
  if (finished_ || closing_) return;
  draining_ = true;
  if (between_transactions()) session_.on_shutdown();
}

void ServerConnection::finish(const char* reason) {
  if (finished_) return;
  finished_ = true;
  bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
  if (SSL* ssl = bufferevent_openssl_get_ssl(bev_.get())) {
    // The filter has already encrypted our last reply into the socket
    // bufferevent below it, which the free that follows would discard. Add
    // close_notify (libevent 2.1 sends none on free) and push both out now,
    // without blocking. The socket bufferevent keeps its output frozen except
    // inside its own write callback, hence the unfreeze around the write.
    SSL_shutdown(ssl);
    if (bufferevent* under = bufferevent_get_underlying(bev_.get())) {
      evbuffer* out = bufferevent_get_output(under);
      evbuffer_unfreeze(out, 1);
      while (evbuffer_get_length(out) > 0 && evbuffer_write(out, bufferevent_getfd(under)) > 0) {
      }
      evbuffer_freeze(out, 1);
    }
  }
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  log::info("smtp.disconnect").kv("session", session_.context().session_id)
      .kv("client", session_.context().client_address).kv("reason", reason)
      .kv("state", state_name(session_.state())).kv("duration_ms", static_cast<long long>(elapsed.count()));
  server_.connection_finished(this);
}

}  // namespace common::smtp
