// run_bounced: stamp-bounced as a daemon: loads the configuration, wires the
// SMTP listeners (the shared core with BounceReceiver), the BounceProcessor and
// the webhook dispatcher together, and runs the loop until SIGTERM/SIGINT.
// SIGHUP reloads tenants, accept_addresses and the suppression policy.
#pragma once

#include <filesystem>

namespace bounced {

inline constexpr const char* kDefaultConfig = "/etc/stamp/stamp-bounced.yaml";

// `check_only`: validate, print every problem (or "configuration OK"), exit.
int run_bounced(const std::filesystem::path& config_file, bool check_only);

}  // namespace bounced
