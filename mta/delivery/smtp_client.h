// SmtpClient: one outbound SMTP connection to one target (an MX address or the
// relay host), carrying as many transactions as its owner gives it.
//
// It speaks RFC 5321 with EHLO (HELO as fallback), STARTTLS whenever offered
// (RFC 3207; verified against the MX name when the policy requires it), and
// RFC 2920 PIPELINING when offered: MAIL, every RCPT and DATA go out in one
// write and the replies are matched in order. Every state has its own timeout
// (RFC 5321 4.5.3.2) and a name in the logs. It makes no routing or retry
// decisions: it reports what each recipient's server said.
#pragma once

#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/owned.h"
#include "common/event/event_loop.h"
#include "common/smtp/envelope.h"
#include "common/smtp/reply.h"
#include "common/smtp/reply_reader.h"
#include "mta/delivery/route_resolver.h"
#include "mta/mta_config.h"

namespace mta {

struct Transaction {
  common::smtp::MailFrom mail_from;
  std::vector<common::smtp::Recipient> recipients;
  std::shared_ptr<const std::string> wire;  // dot-stuffed message ending in ".\r\n"
  std::uint64_t size = 0;                   // message size for SIZE=
};

// One final reply per recipient of the transaction, in the same order.
using TransactionDone = std::function<void(std::vector<common::smtp::Reply>)>;

struct ClientSettings {
  std::string helo_name;
  ClientTimeouts timeouts;
  OutboundTls tls = OutboundTls::Opportunistic;
  SSL_CTX* tls_context = nullptr;  // verify-none for opportunistic, verifying for require
  bool offer_tls = true;           // false after a failed opportunistic handshake with this target
};

class SmtpClient {
 public:
  enum class State { Connecting, Greeting, Ehlo, Helo, StartTls, TlsHandshake, Ready, InTransaction, Rset, Quit, Closed };

  struct Events {
    std::function<void()> on_ready;                                   // idle: give it a transaction or quit()
    std::function<void(const common::smtp::Reply& why)> on_failed;     // never became ready
    std::function<void()> on_closed;                                  // gone; may be deleted (from the loop)
  };

  SmtpClient(common::event::EventLoop& loop, RouteTarget target, ClientSettings settings, Events events);
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  void connect();
  void send(Transaction transaction, TransactionDone done);  // only when Ready
  void quit();

  State state() const { return state_; }
  const RouteTarget& target() const { return target_; }
  bool tls_active() const { return tls_active_; }
  bool tls_handshake_failed() const { return tls_handshake_failed_; }
  std::size_t transactions() const { return transactions_; }

  static constexpr std::size_t kMaxReplyLine = 4096;

 private:
  enum class Expect { Greeting, Ehlo, Helo, StartTls, Mail, Rcpt, Data, DataEnd, Rset, Quit };

  static void on_read(bufferevent*, void* arg) noexcept;
  static void on_write(bufferevent*, void* arg) noexcept;
  static void on_event(bufferevent*, short what, void* arg) noexcept;

  void enter(State next);
  void write(std::string_view text);
  void expect(Expect what);
  void read_replies();
  void handle(Expect what, const common::smtp::Reply& reply);
  void handle_ehlo(const common::smtp::Reply& reply);
  void handle_transaction_reply(Expect what, const common::smtp::Reply& reply);
  void send_recipients_and_data();
  void finish_transaction();
  void upgrade_to_tls();
  void fail(const common::smtp::Reply& why);  // connection-level failure
  void close_now();
  void arm_timeout(std::chrono::seconds timeout);
  std::string mail_command() const;
  std::string rcpt_command(const common::smtp::Recipient& r) const;

  common::event::EventLoop& loop_;
  RouteTarget target_;
  ClientSettings settings_;
  Events events_;
  common::Owned<bufferevent, &bufferevent_free> bev_;
  State state_ = State::Connecting;
  std::deque<Expect> expected_;
  common::smtp::ReplyReader reader_;

  // What the server offered in its EHLO reply.
  bool esmtp_ = false, pipelining_ = false, starttls_ = false, eight_bit_ = false, smtputf8_ = false,
       dsn_ = false, size_ = false;
  bool tls_active_ = false;
  bool tls_handshake_failed_ = false;

  // The transaction in progress.
  Transaction tx_;
  TransactionDone done_;
  std::vector<common::smtp::Reply> rcpt_replies_;
  std::optional<common::smtp::Reply> mail_reply_;
  std::size_t next_rcpt_ = 0;      // without PIPELINING: the next RCPT to send
  std::size_t rcpt_answered_ = 0;
  bool any_rcpt_accepted_ = false;
  bool needs_rset_ = false;
  bool sending_body_ = false;  // the data_block write timer is armed
  std::size_t transactions_ = 0;
};

const char* client_state_name(SmtpClient::State state);

}  // namespace mta
