// stampctl: the operator's command line. `passwd` turns an SMTP password into
// the hash stored in a tenant file; `queue` (queue_command.cpp) shows and steers
// stamp-mta's queue; `domain` (domain_command.cpp) sets up, rotates and verifies
// tenants' sending domains; `sender` (sender_command.cpp) verifies single sender
// addresses; `suppression` (suppression_command.cpp) edits the tenants'
// suppression lists.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/auth/password_hash.h"
#include "ctl/bounce_command.h"
#include "ctl/domain_command.h"
#include "ctl/queue_command.h"
#include "ctl/sender_command.h"
#include "ctl/suppression_command.h"
#include "ctl/webhook_command.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: stampctl COMMAND [options]\n"
               "commands:\n"
               "  passwd [--stdin]   read a password (twice from a terminal, or one line from\n"
               "                     standard input with --stdin) and print its scrypt hash for\n"
               "                     the password_hash key of a tenant's smtp_users\n"
               "  queue ...          list, show, flush, hold, release or delete queued mail\n"
               "                     (stampctl queue --help)\n"
               "  domain ...         add a tenant's sending domain (DKIM key, DNS records to\n"
               "                     publish), rotate its key, verify its DNS records\n"
               "                     (stampctl domain --help)\n"
               "  sender ...         verify a tenant's single From address by a mailed code\n"
               "                     (stampctl sender --help)\n"
               "  bounces ...        look up the bounces stored for an address, with their reports\n"
               "                     (stampctl bounces --help)\n"
               "  webhooks ...       list stamp-bounced's webhook events, retry one it gave up on\n"
               "                     (stampctl webhooks --help)\n"
               "  suppression ...    list, add or remove a tenant's suppressed recipients\n"
               "                     (stampctl suppression --help)\n");
}

// Reads one line from the terminal without echoing it.
bool read_hidden(const char* prompt, std::string& out) {
  std::fprintf(stderr, "%s", prompt);
  std::fflush(stderr);
  termios old{};
  bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  bool ok = static_cast<bool>(std::getline(std::cin, out));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::fprintf(stderr, "\n");
  }
  return ok;
}

int cmd_passwd(int argc, char** argv) {
  bool from_stdin = false;
  for (int i = 2; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--stdin") {
      from_stdin = true;
    } else {
      std::fprintf(stderr, "stampctl passwd: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  std::string password;
  if (from_stdin || !isatty(STDIN_FILENO)) {
    if (!std::getline(std::cin, password)) {
      std::fprintf(stderr, "stampctl passwd: no password on standard input\n");
      return 1;
    }
  } else {
    std::string again;
    if (!read_hidden("Password: ", password) || !read_hidden("Again: ", again)) return 1;
    if (password != again) {
      std::fprintf(stderr, "stampctl passwd: the passwords differ\n");
      return 1;
    }
  }
  if (password.empty()) {
    std::fprintf(stderr, "stampctl passwd: empty password refused\n");
    return 1;
  }
  auto hash = common::auth::hash_password(password);
  if (!hash) {
    std::fprintf(stderr, "stampctl passwd: %s\n", hash.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", hash->c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  std::string_view command = argv[1];
  if (command == "passwd") return cmd_passwd(argc, argv);
  if (command == "domain")
    return ctl::run_domain_command(std::vector<std::string>(argv + 2, argv + argc));
  if (command == "queue") return ctl::run_queue_command(std::vector<std::string>(argv + 2, argv + argc));
  if (command == "bounces")
    return ctl::run_bounce_command(std::vector<std::string>(argv + 2, argv + argc));
  if (command == "webhooks")
    return ctl::run_webhook_command(std::vector<std::string>(argv + 2, argv + argc));
  if (command == "sender")
    return ctl::run_sender_command(std::vector<std::string>(argv + 2, argv + argc));
  if (command == "suppression")
    return ctl::run_suppression_command(std::vector<std::string>(argv + 2, argv + argc));
  if (command == "--help" || command == "-h" || command == "help") {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "stampctl: unknown command %s\n", argv[1]);
  usage(stderr);
  return 2;
}
