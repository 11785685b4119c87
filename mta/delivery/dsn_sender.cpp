// Queueing of DSNs. See dsn_sender.h.
#include "mta/delivery/dsn_sender.h"

#include <ctime>

#include "mta/queue/queue_id.h"

namespace mta {

bool wants_failure_report(const common::smtp::MailFrom& mail, const common::smtp::Recipient& rcpt) {
  if (mail.sender.is_null()) return false;  // never a bounce of a bounce
  if (!rcpt.notify.given) return true;      // the default is FAILURE (RFC 3461 4.1)
  return rcpt.notify.failure;
}

void queue_dsn(FsSpool& spool, const QueuedMessage& original, DsnInput input,
               const std::optional<common::smtp::Mailbox>& report_to,
               std::function<void(common::Result<std::string>)> done) {
  QueuedMessage meta;
  meta.id = new_queue_id();
  meta.arrival = std::time(nullptr);
  meta.tenant = original.tenant;
  meta.client_address = "127.0.0.1";
  meta.helo = input.reporting_mta;
  meta.envelope.mail_from.sender = {};  // <>
  common::smtp::Recipient to;
  to.address = report_to ? *report_to : original.envelope.mail_from.sender;
  to.notify.given = true;
  to.notify.never = true;  // RFC 3461 6.2: no DSN about a DSN
  meta.envelope.recipients.push_back(std::move(to));
  if (original.envelope.mail_from.smtputf8) meta.envelope.mail_from.smtputf8 = true;
  meta.envelope.mail_from.body = common::smtp::BodyType::EightBitMime;
  std::string text = make_dsn(input);
  auto writer = spool.create(meta);
  if (!writer) {
    done(std::unexpected(writer.error()));
    return;
  }
  (*writer)->write(text);
  std::string id = meta.id;
  (*writer)->commit({}, [id, done = std::move(done)](common::Status status) {
    if (!status) {
      done(std::unexpected(status.error()));
      return;
    }
    done(id);
  });
}

}  // namespace mta
