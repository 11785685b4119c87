// `stampctl suppression`: look at and edit a tenant's suppression list.
//
//   stampctl suppression [--config FILE] list --tenant T [--stream S] [--json]
//   stampctl suppression [--config FILE] add EMAIL --tenant T [--stream S] [--reason R]
//   stampctl suppression [--config FILE] remove EMAIL --tenant T [--stream S] [--admin]
//
// Owns the command line: options, the table of subcommands, argument checks,
// loading the config to find state.database and the tenant, the text and JSON
// it prints, exit codes (0 done, 1 failed, 2 usage). It writes the state
// database directly (common/store/suppression_store.cpp), which a running
// stamp-mta reads at every RCPT, so changes apply at once without the daemon;
// each change also queues the tenant's SubscriptionChange webhooks in the
// outbox, which stamp-bounced sends.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ctl {

// `args` are the words after "suppression". Returns the process exit code.
int run_suppression_command(const std::vector<std::string>& args);

void print_suppression_usage(std::FILE* out);

}  // namespace ctl
