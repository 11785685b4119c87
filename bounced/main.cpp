// stamp-bounced: receives the bounces, complaints and auto-replies that come
// back to the Return-Path domains (bounced_daemon.cpp), or classifies saved
// messages (`classify FILE...`, classify_command.cpp).
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "bounced/bounced_daemon.h"
#include "bounced/classify_command.h"

namespace {

void print_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: stamp-bounced [--config FILE] [--check-config]\n"
               "       stamp-bounced classify FILE...\n"
               "  --config FILE    server configuration (default %s); its mta_config key\n"
               "                   names stamp-mta's configuration (tenants, state database)\n"
               "  --check-config   validate both, print every problem, and exit\n"
               "  classify FILE... print one JSON line per saved message: what it reports about whom\n",
               bounced::kDefaultConfig);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args.front() == "classify") {
    return bounced::run_classify_command(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  std::string config = bounced::kDefaultConfig;
  bool check_only = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg == "--config" && i + 1 < args.size()) {
      config = args[++i];
    } else if (arg.starts_with("--config=")) {
      config = std::string(arg.substr(9));
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--help" || arg == "-h") {
      print_usage(stdout);
      return 0;
    } else {
      std::fprintf(stderr, "stamp-bounced: unknown argument: %s\n", args[i].c_str());
      print_usage(stderr);
      return 2;
    }
  }
  return bounced::run_bounced(config, check_only);
}
