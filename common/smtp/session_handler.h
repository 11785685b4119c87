// SessionHandler: where a daemon plugs its decisions into the shared SMTP core.
// stamp-mta decides who may relay and spools messages; stamp-bounced accepts
// only signed bounce addresses and parses reports. The core owns the protocol.
//
// Slow decisions (password hashing, fsync) complete later through the `done`
// callbacks, which must be called on the event-loop thread. A callback whose
// session has gone away in the meantime does nothing, so handlers need not
// track session lifetimes.
#pragma once

#include <sys/socket.h>

#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/smtp/envelope.h"
#include "common/smtp/reply.h"

namespace common::smtp {

// Facts about the client and the session so far, read-only for handlers.
struct SessionContext {
  std::string session_id;
  std::string listener;
  std::string client_address;  // "192.0.2.7"
  sockaddr_storage client_sockaddr{};
  std::string helo;   // the EHLO/HELO argument
  bool esmtp = false; // EHLO rather than HELO
  bool tls = false;
  std::string tls_version;  // "TLSv1.3"
  std::string tls_cipher;
  std::string auth_user;           // the SASL user name after a successful AUTH
  std::optional<std::string> identity;  // who the client submits as (a tenant), by AUTH or trusted network
};

// Receives the message body as it streams in: dot-stuffing undone, every line
// ending in CRLF. Destroying a sink without finish() abandons the message.
class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void write(std::string_view bytes) = 0;
  // The final reply (250 with the queue id, or a 4xx/5xx) goes to `done`.
  virtual void finish(std::function<void(Reply)> done) = 0;
};

class SessionHandler {
 public:
  virtual ~SessionHandler() = default;

  // A fresh connection; a negative reply here is sent instead of the greeting.
  virtual std::optional<Reply> on_connect(const SessionContext& ctx) { (void)ctx; return std::nullopt; }

  // SASL PLAIN/LOGIN credentials. `done` gets the identity (tenant) on success,
  // nullopt on bad credentials.
  virtual void authenticate(const SessionContext& ctx, std::string_view user, std::string_view password,
                            std::function<void(std::optional<std::string>)> done) = 0;

  virtual Reply on_mail_from(const SessionContext& ctx, const MailFrom& mail) = 0;
  virtual Reply on_rcpt_to(const SessionContext& ctx, const Envelope& env, const Recipient& rcpt) = 0;
  // After DATA: a sink for the body, or the reply that refuses it.
  virtual std::expected<std::unique_ptr<MessageSink>, Reply> on_data(const SessionContext& ctx,
                                                                      const Envelope& env) = 0;
};

}  // namespace common::smtp
