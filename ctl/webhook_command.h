// `stampctl webhooks`: what stamp-bounced's webhook outbox holds, and a second
// chance for an event it gave up on.
//
//   stampctl webhooks [--config FILE] list [--tenant T] [--state pending|delivered|abandoned] [--limit N] [--json]
//   stampctl webhooks [--config FILE] retry ID
//
// retry makes an abandoned (or delivered) event pending again with a fresh
// retry_for window; the running dispatcher picks it up within a second.
// Reads and writes the state database named by stamp-mta's configuration
// (bounced/webhook/webhook_outbox.h owns the table). Exit codes: 0, 1 failed, 2 usage.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ctl {

int run_webhook_command(const std::vector<std::string>& args);

void print_webhook_usage(std::FILE* out);

}  // namespace ctl
