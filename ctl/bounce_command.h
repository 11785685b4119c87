// `stampctl bounces`: look up what stamp-bounced stored about an address.
//
//   stampctl bounces [--config FILE] list EMAIL [--tenant T] [--limit N] [--json]
//   stampctl bounces [--config FILE] show ID        (the bounce and its raw report)
//
// Reads the state database named by stamp-mta's configuration (tables bounce
// and bounce_report, written by stamp-bounced: bounced/bounce_store.h).
// Exit codes: 0 done, 1 failed, 2 usage.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ctl {

int run_bounce_command(const std::vector<std::string>& args);

void print_bounce_usage(std::FILE* out);

}  // namespace ctl
