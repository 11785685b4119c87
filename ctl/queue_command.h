// `stampctl queue`: look at and steer stamp-mta's queue.
//
//   stampctl queue [--config FILE] list [--json]
//   stampctl queue [--config FILE] show ID [--json]
//   stampctl queue [--config FILE] flush [ID] | hold ID | release ID | delete ID
//
// Owns the command line: options, the table of subcommands, id checks, loading
// the config to find queue.directory, exit codes (0 done, 1 failed, 2 usage).
// list/show read the spool files directly (queue_view.cpp), so they work while
// the daemon is stopped; the others ask the running daemon over its control
// socket (control_client.cpp) and never touch the spool themselves.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace ctl {

inline constexpr const char* kDefaultMtaConfig = "/etc/stamp/stamp-mta.yaml";

// `args` are the words after "queue". Returns the process exit code.
int run_queue_command(const std::vector<std::string>& args);

void print_queue_usage(std::FILE* out);

}  // namespace ctl
