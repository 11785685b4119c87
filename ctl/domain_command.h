// `stampctl domain`: set up a tenant's aligned sending domain.
//
//   stampctl domain add NAME --tenant T [--return-path SUB.NAME] [--config FILE] [--json]
//   stampctl domain rotate-key NAME [--config FILE] [--json]
//   stampctl domain verify NAME [--config FILE] [--json]
//
// add: generates an RSA-2048 DKIM key (CONFIG_DIR/dkim/NAME/SELECTOR.pem, 0600,
// owned by the `stamp` user when there is one; selector "stamp" + the UTC date),
// adds the domain to the tenant's file and prints the DNS records to publish;
// the domain is pending until verify passes. rotate-key: a new key and selector,
// the current one becomes previous_dkim. verify: domain_verify.cpp.
//
// Owns the command line (options, the table of subcommands, exit codes: 0 done,
// 1 failed, 2 usage), loading the config, choosing selectors and writing keys.
// The tenant file is rewritten by tenant_file_editor.cpp, which does not keep
// comments.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ctl {

// `args` are the words after "domain". Returns the process exit code.
int run_domain_command(const std::vector<std::string>& args);

void print_domain_usage(std::FILE* out);

}  // namespace ctl
