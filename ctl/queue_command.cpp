// `stampctl queue`. See queue_command.h.
#include "ctl/queue_command.h"

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string_view>

#include "ctl/command_support.h"
#include "ctl/command_words.h"
#include "ctl/control_client.h"
#include "ctl/queue_render.h"
#include "ctl/queue_view.h"
#include "mta/queue/fs_spool.h"
#include "mta/queue/queue_id.h"

namespace ctl {
namespace {

struct Invocation {
  std::filesystem::path config = kDefaultMtaConfig;
  bool json = false;
  std::string subcommand;
  std::vector<std::string> args;  // after the subcommand: queue ids
  std::filesystem::path spool;    // queue.directory, once the config is loaded
};

int cmd_list(const Invocation& inv);
int cmd_show(const Invocation& inv);
int cmd_control(const Invocation& inv);

struct Subcommand {
  std::string_view name;
  std::size_t min_args;
  std::size_t max_args;
  bool json;  // takes --json
  int (*run)(const Invocation&);
};

constexpr Subcommand kSubcommands[] = {
    {"list", 0, 0, true, cmd_list},        {"show", 1, 1, true, cmd_show},
    {"flush", 0, 1, false, cmd_control},   {"hold", 1, 1, false, cmd_control},
    {"release", 1, 1, false, cmd_control}, {"delete", 1, 1, false, cmd_control},
};

const CommandErrors kErrors{"queue", print_queue_usage};

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

int cmd_list(const Invocation& inv) {
  std::error_code ec;
  std::filesystem::directory_iterator probe(inv.spool / "queue", ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    // Otherwise an unreadable spool would look like an empty queue.
    std::fprintf(stderr, "stampctl queue: cannot read %s: %s\n", (inv.spool / "queue").c_str(),
                 ec.message().c_str());
    return kExitFailed;
  }
  int status = kExitOk;
  std::vector<MessageView> messages;
  for (const auto& id : mta::FsSpool::list_queue_ids(inv.spool)) {
    auto view = load_message_view(inv.spool, id);
    if (!view) {
      if (view.error().sys_errno == ENOENT) continue;  // delivered or deleted since the listing
      std::fprintf(stderr, "stampctl queue: %s: %s\n", id.c_str(), view.error().message.c_str());
      status = kExitFailed;
      continue;
    }
    if (!view->state_problem.empty()) {
      std::fprintf(stderr, "stampctl queue: warning: %s: state ignored: %s\n", id.c_str(),
                   view->state_problem.c_str());
    }
    messages.push_back(std::move(*view));
  }
  std::string out =
      inv.json ? render_list_json(messages, now()) : render_list_text(messages, now());
  std::fputs(out.c_str(), stdout);
  return status;
}

int cmd_show(const Invocation& inv) {
  const std::string& id = inv.args.front();
  auto view = load_message_view(inv.spool, id);
  if (!view) {
    if (view.error().sys_errno == ENOENT) {
      std::fprintf(stderr, "stampctl queue: no message %s in the queue (%s)\n", id.c_str(),
                   inv.spool.c_str());
    } else {
      std::fprintf(stderr, "stampctl queue: %s: %s\n", id.c_str(), view.error().message.c_str());
    }
    return kExitFailed;
  }
  if (!view->state_problem.empty()) {
    std::fprintf(stderr, "stampctl queue: warning: state ignored: %s\n",
                 view->state_problem.c_str());
  }
  std::string out = inv.json ? render_show_json(*view, now()) : render_show_text(*view, now());
  std::fputs(out.c_str(), stdout);
  return kExitOk;
}

// flush/hold/release/delete: one request line to the daemon, one reply line back.
int cmd_control(const Invocation& inv) {
  std::string request = inv.subcommand;
  for (const auto& arg : inv.args) request += " " + arg;
  auto socket_path = inv.spool / "control.sock";
  auto reply = send_control_request(socket_path, request);
  switch (reply.kind) {
    case ControlReply::Kind::Ok:
      if (!reply.text.empty()) std::printf("%s\n", reply.text.c_str());
      return kExitOk;
    case ControlReply::Kind::Error:
      std::fprintf(stderr, "%s\n", reply.text.c_str());
      return kExitFailed;
    case ControlReply::Kind::NotRunning:
      std::fprintf(stderr, "stamp-mta is not running (no control socket at %s)\n",
                   socket_path.c_str());
      return kExitFailed;
    case ControlReply::Kind::Failed:
      break;
  }
  std::fprintf(stderr, "stampctl queue: %s\n", reply.text.c_str());
  return kExitFailed;
}

// Options may come anywhere; the first other word is the subcommand.
std::optional<int> parse(const std::vector<std::string>& words, Invocation& inv) {
  auto parsed = parse_command_words(words, {"--config"}, {"--json"});
  if (!parsed) return kErrors.usage_error(parsed.error());
  if (parsed->help) {
    print_queue_usage(stdout);
    return kExitOk;
  }
  if (auto config = parsed->value("--config")) inv.config = *config;
  inv.json = parsed->flag("--json");
  inv.subcommand = std::move(parsed->subcommand);
  inv.args = std::move(parsed->args);
  return std::nullopt;
}

}  // namespace

void print_queue_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: stampctl queue [--config FILE] SUBCOMMAND\n"
      "  list [--json]      every queued message: id, age, size, sender, progress, next try\n"
      "  show ID [--json]   one message with each recipient's state and last reply\n"
      "  flush [ID]         ask stamp-mta to try now (every deferred message, or ID)\n"
      "  hold ID            ask stamp-mta not to deliver ID until it is released\n"
      "  release ID         undo hold\n"
      "  delete ID          ask stamp-mta to drop ID without delivering or bouncing it\n"
      "--config defaults to %s; list and show read queue.directory directly,\n"
      "the others need a running stamp-mta (its control socket in queue.directory).\n",
      kDefaultMtaConfig);
}

int run_queue_command(const std::vector<std::string>& words) {
  Invocation inv;
  if (auto done = parse(words, inv)) return *done;
  const Subcommand* command = find_subcommand(kSubcommands, inv.subcommand);
  if (command == nullptr) return kErrors.usage_error("unknown subcommand " + inv.subcommand);
  if (inv.args.size() < command->min_args)
    return kErrors.usage_error(inv.subcommand + ": a queue id is needed");
  if (inv.args.size() > command->max_args)
    return kErrors.usage_error(inv.subcommand + ": too many arguments");
  if (inv.json && !command->json)
    return kErrors.usage_error(inv.subcommand + ": --json is for list and show");
  // Before anything else: an id becomes a file name and a control request.
  for (const auto& id : inv.args) {
    if (!mta::is_queue_id(id)) {
      std::fprintf(stderr,
                   "stampctl queue: not a queue id: %s (expected 16 upper-case hex digits)\n",
                   id.c_str());
      return kExitUsage;
    }
  }

  auto config = load_config_or_report(inv.config, kErrors);
  if (!config) return kExitFailed;
  inv.spool = config->queue.directory;
  return command->run(inv);
}

}  // namespace ctl
