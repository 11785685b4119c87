// SubmissionHandler implementation. See submission_handler.h.
#include "mta/submission_handler.h"

#include <ctime>

#include "common/base/log.h"
#include "mta/message_writer.h"
#include "mta/queue/queue_id.h"

namespace mta {

using common::smtp::Reply;

SubmissionHandler::SubmissionHandler(std::string hostname, FsSpool& spool, CredentialChecker& credentials,
                                     std::function<void(const std::string&)> on_queued)
    : hostname_(std::move(hostname)), spool_(spool), credentials_(credentials), on_queued_(std::move(on_queued)) {}

void SubmissionHandler::authenticate(const common::smtp::SessionContext&, std::string_view user,
                                     std::string_view password,
                                     std::function<void(std::optional<std::string>)> done) {
  credentials_.check(std::string(user), std::string(password), std::move(done));
}

Reply SubmissionHandler::on_mail_from(const common::smtp::SessionContext&, const common::smtp::MailFrom&) {
  return Reply::make(250, "2.1.0", "Ok");
}

Reply SubmissionHandler::on_rcpt_to(const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env,
                                    const common::smtp::Recipient& rcpt) {
  if (!ctx.identity) {
    common::log::info("smtp.relay_denied").kv("session", ctx.session_id).kv("client", ctx.client_address)
        .kv("from", env.mail_from.sender.to_string()).kv("rcpt", rcpt.address.to_string());
    return Reply::make(530, "5.7.0", "Authentication required");
  }
  return Reply::make(250, "2.1.5", "Ok");
}

std::expected<std::unique_ptr<common::smtp::MessageSink>, Reply> SubmissionHandler::on_data(
    const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env) {
  QueuedMessage meta;
  meta.id = new_queue_id();
  meta.arrival = std::time(nullptr);
  meta.tenant = ctx.identity.value_or("");
  meta.client_address = ctx.client_address;
  meta.helo = ctx.helo;
  meta.envelope = env;
  auto writer = spool_.create(meta);
  if (!writer) {
    common::log::error("queue.create_failed").kv("session", ctx.session_id).kv("error", writer.error().message);
    return std::unexpected(Reply::make(451, "4.3.0", "Temporary failure writing the queue, try again later"));
  }
  std::string received = make_received_header(ctx, hostname_, meta.id, env, meta.arrival);
  std::string session = ctx.session_id;
  std::string tenant = meta.tenant;
  std::string from = env.mail_from.sender.to_string();
  std::size_t recipients = env.recipients.size();
  auto on_queued = [this, session, tenant, from, recipients](const std::string& queue_id) {
    common::log::info("queue.accepted").kv("queue_id", queue_id).kv("session", session).kv("tenant", tenant)
        .kv("from", from).kv("recipients", recipients);
    on_queued_(queue_id);
  };
  return std::make_unique<MessageWriter>(std::move(*writer), hostname_, std::move(received), std::move(on_queued));
}

}  // namespace mta
