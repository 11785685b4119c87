// queue_dsn: builds the RFC 3464 report for failed recipients of a message
// (dsn_writer) and puts it into the spool like any other message, with the
// null reverse-path <> (RFC 5321 4.5.5) so that it can never bounce itself.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "mta/delivery/dsn_writer.h"
#include "mta/queue/fs_spool.h"

namespace mta {

// `done` runs on the loop with the DSN's queue id once it is durable. The
// report goes to `report_to` when given (the VERP return path of tenant mail),
// else to the original envelope sender.
void queue_dsn(FsSpool& spool, const QueuedMessage& original, DsnInput input,
               const std::optional<common::smtp::Mailbox>& report_to,
               std::function<void(common::Result<std::string>)> done);

// RFC 3461 4.1: whether the sender asked (or did not object) to hear of a failure.
bool wants_failure_report(const common::smtp::MailFrom& mail, const common::smtp::Recipient& rcpt);

}  // namespace mta
