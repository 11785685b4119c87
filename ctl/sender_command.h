// `stampctl sender`: verified sender addresses (the second sender mode).
//
//   stampctl sender [--config FILE] add ADDRESS --tenant T [--expires HOURS]
//   stampctl sender [--config FILE] confirm TOKEN
//
// add stores a single-use token (only its hash: common/store/
// sender_confirmation_store.h) and has the running stamp-mta mail it to
// ADDRESS from the operator's address (control request "sender-confirmation").
// confirm redeems the token, adds the address to the tenant file's
// verified_senders and asks stamp-mta to reload. Until the HTTP API exists the
// owner of the address hands the token to the operator.
//
// Exit codes: 0 done, 1 failed, 2 usage.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ctl {

int run_sender_command(const std::vector<std::string>& args);

void print_sender_usage(std::FILE* out);

}  // namespace ctl
