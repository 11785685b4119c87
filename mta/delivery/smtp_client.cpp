// SmtpClient: an outbound SMTP connection. See smtp_client.h.
#include "mta/delivery/smtp_client.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "common/base/log.h"
#include "common/smtp/command_parser.h"
#include "common/tls/tls_context.h"

namespace mta {

using common::smtp::Reply;

namespace {

timeval to_timeval(std::chrono::seconds s) { return timeval{static_cast<time_t>(s.count()), 0}; }

bool is_ip_literal(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

bool has_keyword(const std::string& line, std::string_view keyword) {
  if (line.size() < keyword.size()) return false;
  for (std::size_t i = 0; i < keyword.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(line[i])) != keyword[i]) return false;
  }
  return line.size() == keyword.size() || line[keyword.size()] == ' ' || line[keyword.size()] == '=';
}

}  // namespace

const char* client_state_name(SmtpClient::State state) {
  switch (state) {
    case SmtpClient::State::Connecting: return "Connecting";
    case SmtpClient::State::Greeting: return "Greeting";
    case SmtpClient::State::Ehlo: return "Ehlo";
    case SmtpClient::State::Helo: return "Helo";
    case SmtpClient::State::StartTls: return "StartTls";
    case SmtpClient::State::TlsHandshake: return "TlsHandshake";
    case SmtpClient::State::Ready: return "Ready";
    case SmtpClient::State::InTransaction: return "InTransaction";
    case SmtpClient::State::Rset: return "Rset";
    case SmtpClient::State::Quit: return "Quit";
    case SmtpClient::State::Closed: return "Closed";
  }
  return "?";
}

SmtpClient::SmtpClient(common::event::EventLoop& loop, RouteTarget target, ClientSettings settings, Events events)
    : loop_(loop), target_(std::move(target)), settings_(std::move(settings)), events_(std::move(events)) {}

SmtpClient::~SmtpClient() = default;

void SmtpClient::enter(State next) {
  if (next == state_) return;
  common::log::debug("smtp_client.state").kv("relay", target_.label()).kv("from", client_state_name(state_))
      .kv("to", client_state_name(next));
  state_ = next;
}

void SmtpClient::connect() {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, target_.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(target_.port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, target_.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(target_.port);
    len = sizeof *v6;
  } else {
    loop_.post([this] { fail(Reply::make(451, "4.4.1", "bad address " + target_.address)); });
    return;
  }
  bev_.reset(bufferevent_socket_new(loop_.base(), -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  if (!bev_) {
    loop_.post([this] { fail(Reply::make(451, "4.3.0", "cannot create a socket")); });
    return;
  }
  bufferevent_setcb(bev_.get(), &SmtpClient::on_read, &SmtpClient::on_write, &SmtpClient::on_event, this);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  timeval tv = to_timeval(settings_.timeouts.connect);
  bufferevent_set_timeouts(bev_.get(), &tv, &tv);
  enter(State::Connecting);
  expected_.push_back(Expect::Greeting);
  if (bufferevent_socket_connect(bev_.get(), reinterpret_cast<sockaddr*>(&ss), static_cast<int>(len)) != 0) {
    int err = EVUTIL_SOCKET_ERROR();
    loop_.post([this, err] {
      fail(Reply::make(451, "4.4.1", std::string("cannot connect: ") + evutil_socket_error_to_string(err)));
    });
  }
}

void SmtpClient::arm_timeout(std::chrono::seconds timeout) {
  if (!bev_) return;
  // Only a read timer: the write timer of a TLS filter runs even when there is
  // nothing to write. Only the message body gets one (data_block), see below.
  timeval tv = to_timeval(timeout);
  bufferevent_set_timeouts(bev_.get(), &tv, nullptr);
}

void SmtpClient::write(std::string_view text) {
  if (bev_) bufferevent_write(bev_.get(), text.data(), text.size());
}

void SmtpClient::expect(Expect what) { expected_.push_back(what); }

void SmtpClient::on_read(bufferevent*, void* arg) noexcept { static_cast<SmtpClient*>(arg)->read_replies(); }

void SmtpClient::on_write(bufferevent*, void* arg) noexcept {
  auto* self = static_cast<SmtpClient*>(arg);
  if (self->sending_body_ && self->state_ != State::Closed) {
    self->sending_body_ = false;
    self->arm_timeout(self->settings_.timeouts.data_done);  // all sent: only the reply is awaited
  }
}

void SmtpClient::on_event(bufferevent*, short what, void* arg) noexcept {
  auto* self = static_cast<SmtpClient*>(arg);
  if (self->state_ == State::Closed) return;
  if (what & BEV_EVENT_CONNECTED) {
    if (self->state_ == State::Connecting) {
      self->enter(State::Greeting);
      self->arm_timeout(self->settings_.timeouts.greeting);
      return;
    }
    if (self->state_ == State::TlsHandshake) {
      self->tls_active_ = true;
      self->esmtp_ = self->pipelining_ = self->starttls_ = self->eight_bit_ = self->smtputf8_ = self->dsn_ =
          self->size_ = false;
      // RFC 3207 4.2: start over with EHLO on the protected channel.
      self->write("EHLO " + self->settings_.helo_name + "\r\n");
      self->expect(Expect::Ehlo);
      self->enter(State::Ehlo);
      self->arm_timeout(self->settings_.timeouts.command);
    }
    return;
  }
  std::string why;
  if (what & BEV_EVENT_TIMEOUT) {
    why = std::string("timeout in state ") + client_state_name(self->state_);
  } else if (self->state_ == State::TlsHandshake) {
    self->tls_handshake_failed_ = true;
    unsigned long ssl_err = bufferevent_get_openssl_error(self->bev_.get());
    char buf[256] = "handshake failed";
    if (ssl_err) ERR_error_string_n(ssl_err, buf, sizeof buf);
    self->fail(Reply::make(451, self->settings_.tls == OutboundTls::Require ? "4.7.5" : "4.7.0",
                           std::string("TLS handshake with ") + self->target_.host + " failed: " + buf));
    return;
  } else if (what & BEV_EVENT_ERROR) {
    int err = EVUTIL_SOCKET_ERROR();
    why = err ? evutil_socket_error_to_string(err) : "connection error";
  } else {
    why = "connection closed by the server";
  }
  switch (self->state_) {
    case State::Connecting:
      self->fail(Reply::make(451, "4.4.1", "cannot connect to " + self->target_.label() + ": " + why));
      return;
    case State::InTransaction: {
      // What the server did not answer is retried later.
      Reply lost = Reply::make(451, "4.4.2", "connection lost: " + why);
      if (!self->mail_reply_) self->mail_reply_ = lost;
      for (std::size_t i = self->rcpt_answered_; i < self->rcpt_replies_.size(); ++i) self->rcpt_replies_[i] = lost;
      for (auto& r : self->rcpt_replies_) {
        if (r.positive()) r = lost;  // accepted, but the message itself was not
      }
      self->rcpt_answered_ = self->rcpt_replies_.size();
      self->needs_rset_ = false;
      auto done = std::move(self->done_);
      std::vector<Reply> results = self->rcpt_replies_;
      if (!self->mail_reply_->positive()) results.assign(results.size(), *self->mail_reply_);
      self->close_now();
      if (done) done(std::move(results));
      return;
    }
    case State::Ready:
    case State::Quit:
    case State::Rset:
      self->close_now();
      return;
    default:
      self->fail(Reply::make(451, "4.4.2", "connection to " + self->target_.label() + " failed: " + why));
      return;
  }
}

void SmtpClient::read_replies() {
  evbuffer* input = bufferevent_get_input(bev_.get());
  while (state_ != State::Closed) {
    std::size_t len = 0;
    char* raw = evbuffer_readln(input, &len, EVBUFFER_EOL_CRLF);
    if (!raw) {
      if (evbuffer_get_length(input) > kMaxReplyLine) fail(Reply::make(451, "4.5.0", "reply line too long"));
      return;
    }
    std::string line(raw, len);
    std::free(raw);  // allocated by evbuffer_readln
    if (line.size() > kMaxReplyLine) {
      fail(Reply::make(451, "4.5.0", "reply line too long"));
      return;
    }
    auto step = reader_.add_line(line);
    if (step == common::smtp::ReplyReader::Step::NeedMore) continue;
    if (step == common::smtp::ReplyReader::Step::Malformed || expected_.empty()) {
      fail(Reply::make(451, "4.5.0", "protocol error: unexpected reply \"" + line.substr(0, 80) + "\""));
      return;
    }
    Reply reply = reader_.take();
    Expect what = expected_.front();
    expected_.pop_front();
    handle(what, reply);
  }
}

void SmtpClient::handle(Expect what, const Reply& reply) {
  switch (what) {
    case Expect::Greeting:
      if (reply.code / 100 != 2) {
        fail(reply);
        return;
      }
      write("EHLO " + settings_.helo_name + "\r\n");
      expect(Expect::Ehlo);
      enter(State::Ehlo);
      arm_timeout(settings_.timeouts.command);
      return;
    case Expect::Ehlo:
      handle_ehlo(reply);
      return;
    case Expect::Helo:
      if (reply.code / 100 != 2) {
        fail(reply);
        return;
      }
      if (settings_.tls == OutboundTls::Require) {
        fail(Reply::make(451, "4.7.4", "TLS is required, but " + target_.host + " does not speak ESMTP"));
        return;
      }
      enter(State::Ready);
      events_.on_ready();
      return;
    case Expect::StartTls:
      if (reply.code == 220) {
        upgrade_to_tls();
        return;
      }
      if (settings_.tls == OutboundTls::Require) {
        fail(Reply::make(451, "4.7.4", "TLS is required, but STARTTLS was refused: " + reply.first_line()));
        return;
      }
      enter(State::Ready);
      events_.on_ready();
      return;
    case Expect::Rset:
      needs_rset_ = false;
      enter(State::Ready);
      events_.on_ready();
      return;
    case Expect::Quit:
      close_now();
      return;
    default:
      handle_transaction_reply(what, reply);
      return;
  }
}

void SmtpClient::handle_ehlo(const Reply& reply) {
  if (reply.code / 100 != 2) {
    if (reply.code / 100 == 5) {
      // RFC 5321 3.2: a server that does not know EHLO gets HELO.
      write("HELO " + settings_.helo_name + "\r\n");
      expect(Expect::Helo);
      enter(State::Helo);
      arm_timeout(settings_.timeouts.command);
      return;
    }
    fail(reply);
    return;
  }
  esmtp_ = true;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    const std::string& line = reply.lines[i];
    pipelining_ |= has_keyword(line, "PIPELINING");
    starttls_ |= has_keyword(line, "STARTTLS");
    eight_bit_ |= has_keyword(line, "8BITMIME");
    smtputf8_ |= has_keyword(line, "SMTPUTF8");
    dsn_ |= has_keyword(line, "DSN");
    size_ |= has_keyword(line, "SIZE");
  }
  if (!tls_active_ && starttls_ && settings_.offer_tls) {
    write("STARTTLS\r\n");
    expect(Expect::StartTls);
    enter(State::StartTls);
    arm_timeout(settings_.timeouts.command);
    return;
  }
  if (!tls_active_ && settings_.tls == OutboundTls::Require) {
    fail(Reply::make(451, "4.7.4", "TLS is required, but was not offered by " + target_.host));
    return;
  }
  enter(State::Ready);
  events_.on_ready();
}

void SmtpClient::upgrade_to_tls() {
  common::tls::OwnedSsl ssl(SSL_new(settings_.tls_context));
  if (!ssl) {
    fail(Reply::make(451, "4.7.0", "cannot set up TLS: " + common::tls::last_openssl_error()));
    return;
  }
  // SNI (RFC 6066) only for names, never for IP literals.
  if (!is_ip_literal(target_.host)) SSL_set_tlsext_host_name(ssl.get(), target_.host.c_str());
  if (settings_.tls == OutboundTls::Require) {
    // The certificate must verify and name the MX host (RFC 6125 via OpenSSL).
    SSL_set_verify(ssl.get(), SSL_VERIFY_PEER, nullptr);
    if (is_ip_literal(target_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), target_.host.c_str());
    } else {
      SSL_set1_host(ssl.get(), target_.host.c_str());
    }
  }
  bufferevent* plain = bev_.get();
  bufferevent_setcb(plain, nullptr, nullptr, nullptr, nullptr);
  bufferevent_set_timeouts(plain, nullptr, nullptr);
  bufferevent* filtered = bufferevent_openssl_filter_new(loop_.base(), plain, ssl.get(), BUFFEREVENT_SSL_CONNECTING,
                                                         BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (!filtered) {
    fail(Reply::make(451, "4.7.0", "cannot set up TLS"));
    return;
  }
  ssl.release();   // freed by `filtered` (BEV_OPT_CLOSE_ON_FREE)
  bev_.release();  // `plain` too
  bev_.reset(filtered);
  bufferevent_openssl_set_allow_dirty_shutdown(filtered, 1);
  bufferevent_setcb(filtered, &SmtpClient::on_read, &SmtpClient::on_write, &SmtpClient::on_event, this);
  bufferevent_enable(filtered, EV_READ | EV_WRITE);
  enter(State::TlsHandshake);
  arm_timeout(settings_.timeouts.command);
}

std::string SmtpClient::mail_command() const {
  const auto& mail = tx_.mail_from;
  std::string cmd = "MAIL FROM:<" + mail.sender.to_string() + ">";
  if (size_) cmd += " SIZE=" + std::to_string(tx_.size);
  if (eight_bit_ && mail.body == common::smtp::BodyType::EightBitMime) cmd += " BODY=8BITMIME";
  if (smtputf8_ && mail.smtputf8) cmd += " SMTPUTF8";
  if (dsn_) {
    // RFC 3461: pass the sender's DSN requests on to a server that will honour them.
    if (mail.ret == common::smtp::DsnRet::Full) cmd += " RET=FULL";
    if (mail.ret == common::smtp::DsnRet::Headers) cmd += " RET=HDRS";
    if (!mail.envid.empty()) cmd += " ENVID=" + common::smtp::encode_xtext(mail.envid);
  }
  return cmd + "\r\n";
}

std::string SmtpClient::rcpt_command(const common::smtp::Recipient& r) const {
  std::string cmd = "RCPT TO:<" + r.address.to_string() + ">";
  if (dsn_) {
    if (r.notify.given) cmd += " NOTIFY=" + r.notify.to_string();
    if (!r.orcpt.empty()) cmd += " ORCPT=" + r.orcpt_type + ";" + common::smtp::encode_xtext(r.orcpt);
  }
  return cmd + "\r\n";
}

void SmtpClient::send(Transaction transaction, TransactionDone done) {
  tx_ = std::move(transaction);
  done_ = std::move(done);
  mail_reply_.reset();
  rcpt_replies_.assign(tx_.recipients.size(), Reply::make(451, "4.4.2", "no reply"));
  next_rcpt_ = 0;
  rcpt_answered_ = 0;
  any_rcpt_accepted_ = false;
  enter(State::InTransaction);
  if (tx_.mail_from.smtputf8 && !smtputf8_) {
    // RFC 6531 3.7.2: the message needs SMTPUTF8 and this server lacks it.
    mail_reply_ = Reply::make(553, "5.6.7", "the message needs SMTPUTF8, which " + target_.host + " does not support");
    finish_transaction();
    return;
  }
  write(mail_command());
  expect(Expect::Mail);
  if (pipelining_) {
    // RFC 2920: the whole envelope and DATA in one go; replies come back in order.
    std::string batch;
    for (const auto& r : tx_.recipients) {
      batch += rcpt_command(r);
      expect(Expect::Rcpt);
    }
    batch += "DATA\r\n";
    expect(Expect::Data);
    next_rcpt_ = tx_.recipients.size();
    write(batch);
  }
  arm_timeout(settings_.timeouts.command);
}

void SmtpClient::send_recipients_and_data() {
  if (next_rcpt_ < tx_.recipients.size()) {
    write(rcpt_command(tx_.recipients[next_rcpt_++]));
    expect(Expect::Rcpt);
  } else {
    write("DATA\r\n");
    expect(Expect::Data);
  }
  arm_timeout(settings_.timeouts.command);
}

void SmtpClient::handle_transaction_reply(Expect what, const Reply& reply) {
  switch (what) {
    case Expect::Mail:
      mail_reply_ = reply;
      if (!pipelining_) {
        if (!reply.positive()) {
          needs_rset_ = true;
          finish_transaction();
          return;
        }
        send_recipients_and_data();
      }
      return;
    case Expect::Rcpt:
      if (rcpt_answered_ < rcpt_replies_.size()) rcpt_replies_[rcpt_answered_++] = reply;
      any_rcpt_accepted_ |= reply.positive();
      if (!pipelining_) {
        if (next_rcpt_ == tx_.recipients.size() && !any_rcpt_accepted_) {
          needs_rset_ = true;  // nobody to send to: no DATA
          finish_transaction();
          return;
        }
        send_recipients_and_data();
      }
      return;
    case Expect::Data:
      if (reply.code == 354) {
        if (mail_reply_ && mail_reply_->positive() && any_rcpt_accepted_) {
          write(*tx_.wire);
          expect(Expect::DataEnd);
          // RFC 5321 4.5.3.2.5-6: each block must leave within data_block; then
          // up to data_done for the reply to the final dot. The write timer is
          // dropped in on_write once everything has gone out.
          {
            timeval read_tv = to_timeval(settings_.timeouts.data_done);
            timeval write_tv = to_timeval(settings_.timeouts.data_block);
            bufferevent_set_timeouts(bev_.get(), &read_tv, &write_tv);
            sending_body_ = true;
          }
        } else {
          // RFC 2920 3.1: a 354 with no valid recipient gets an empty message.
          write(".\r\n");
          expect(Expect::Rset);  // the reply to "." is ignored
          needs_rset_ = true;
          finish_transaction();
        }
        return;
      }
      for (auto& r : rcpt_replies_) {
        if (r.positive()) r = reply;
      }
      needs_rset_ = true;
      finish_transaction();
      return;
    case Expect::DataEnd:
      for (auto& r : rcpt_replies_) {
        if (r.positive()) r = reply;
      }
      needs_rset_ = !reply.positive();
      finish_transaction();
      return;
    default:
      return;
  }
}

void SmtpClient::finish_transaction() {
  std::vector<Reply> results = rcpt_replies_;
  if (mail_reply_ && !mail_reply_->positive()) results.assign(results.size(), *mail_reply_);
  ++transactions_;
  auto done = std::move(done_);
  done_ = nullptr;
  if (done) done(std::move(results));
  if (state_ == State::Closed) return;
  if (!expected_.empty()) {
    // Pipelined replies still to come (after an early failure): drain them, then RSET.
    enter(State::Rset);
    if (expected_.back() != Expect::Rset) {
      write("RSET\r\n");
      expect(Expect::Rset);
    }
    arm_timeout(settings_.timeouts.command);
    return;
  }
  if (needs_rset_) {
    write("RSET\r\n");
    expect(Expect::Rset);
    enter(State::Rset);
    arm_timeout(settings_.timeouts.command);
    return;
  }
  enter(State::Ready);
  events_.on_ready();
}

void SmtpClient::quit() {
  if (state_ == State::Closed) return;
  if (state_ != State::Ready) {
    close_now();
    return;
  }
  write("QUIT\r\n");
  expect(Expect::Quit);
  enter(State::Quit);
  arm_timeout(settings_.timeouts.command);
}

void SmtpClient::fail(const Reply& why) {
  if (state_ == State::Closed) return;
  enter(State::Closed);
  if (bev_) {
    bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
    bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
  }
  if (events_.on_failed) events_.on_failed(why);
  if (events_.on_closed) events_.on_closed();
}

void SmtpClient::close_now() {
  if (state_ == State::Closed) return;
  enter(State::Closed);
  if (bev_) {
    bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
    bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
  }
  if (events_.on_closed) events_.on_closed();
}

}  // namespace mta
