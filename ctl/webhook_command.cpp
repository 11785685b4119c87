// `stampctl webhooks`. See webhook_command.h.
#include "ctl/webhook_command.h"

#include <ctime>
#include <filesystem>

#include "bounced/webhook/webhook_outbox.h"
#include "common/base/json.h"
#include "common/base/quoting.h"
#include "common/base/time_format.h"
#include "ctl/command_support.h"
#include "ctl/command_words.h"
#include "ctl/queue_command.h"
#include "ctl/service_user.h"

namespace ctl {
namespace {

constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 10000;

using bounced::webhook::OutboxRecord;
using bounced::webhook::OutboxState;

const CommandErrors kErrors{"webhooks", print_webhook_usage};

std::string record_json(const OutboxRecord& r) {
  return "{\"id\":" + std::to_string(r.id) + ",\"tenant\":" + common::json_quote(r.event.tenant) +
         ",\"stream\":" + common::json_quote(r.event.stream) + ",\"event\":" + common::json_quote(r.event.event) +
         ",\"url\":" + common::json_quote(r.event.url) +
         ",\"state\":" + common::json_quote(bounced::webhook::outbox_state_name(r.state)) +
         ",\"attempts\":" + std::to_string(r.attempts) + ",\"created_at\":" + std::to_string(r.created_at) +
         ",\"next_attempt_at\":" + std::to_string(r.next_attempt_at) +
         ",\"last_error\":" + common::json_quote(r.last_error) + "}";
}

std::string record_text(const OutboxRecord& r) {
  std::string line = std::to_string(r.id) + "  " + bounced::webhook::outbox_state_name(r.state) + "  " +
                     common::escape_controls(r.event.tenant) + "/" + common::escape_controls(r.event.stream) + "  " +
                     r.event.event + "  attempts " + std::to_string(r.attempts) + "  " +
                     common::rfc5322_date(static_cast<std::time_t>(r.created_at)) + "  " +
                     common::escape_controls(r.event.url);
  if (!r.last_error.empty()) line += "\n    last error: " + common::escape_controls(r.last_error);
  return line + "\n";
}

}  // namespace

void print_webhook_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: stampctl webhooks [--config FILE] SUBCOMMAND\n"
               "  list [--tenant T] [--state pending|delivered|abandoned] [--limit N] [--json]\n"
               "                   stamp-bounced's webhook outbox, newest first (default %zu, at most %zu)\n"
               "  retry ID         make event ID pending again, with a fresh retry window\n"
               "--config defaults to %s (stamp-mta's: it names the state database).\n",
               kDefaultLimit, kMaxLimit, kDefaultMtaConfig);
}

int run_webhook_command(const std::vector<std::string>& words) {
  auto parsed = parse_command_words(words, {"--config", "--tenant", "--state", "--limit"}, {"--json"});
  if (!parsed) return kErrors.usage_error(parsed.error());
  if (parsed->help) {
    print_webhook_usage(stdout);
    return kExitOk;
  }
  const std::string& sub = parsed->subcommand;
  if (sub != "list" && sub != "retry") return kErrors.usage_error("unknown subcommand " + common::escape_controls(sub));
  if (sub == "list" && !parsed->args.empty()) return kErrors.usage_error("list takes no argument");
  if (sub == "retry" && parsed->args.size() != 1) return kErrors.usage_error("retry takes one event id");
  const auto state = parsed->value("--state");
  if (state && *state != "pending" && *state != "delivered" && *state != "abandoned") {
    return kErrors.usage_error("--state is pending, delivered or abandoned");
  }
  std::size_t limit = kDefaultLimit;
  if (auto text = parsed->value("--limit"); text && (!parse_whole_number(*text, limit) || limit < 1 || limit > kMaxLimit)) {
    return kErrors.usage_error("--limit takes 1 to " + std::to_string(kMaxLimit));
  }
  auto config = load_config_or_report(parsed->value("--config").value_or(kDefaultMtaConfig), kErrors);
  if (!config) return kExitFailed;
  StateDatabaseOwner owner(config->state.database);
  auto outbox = bounced::webhook::WebhookOutbox::open(config->state.database);
  if (!outbox) return kErrors.failed(outbox.error().message);

  if (sub == "retry") {
    std::int64_t id = 0;
    if (!parse_whole_number(parsed->args.front(), id) || id < 1) return kErrors.usage_error("retry takes an event id");
    auto retried = (*outbox)->retry(id, static_cast<std::int64_t>(std::time(nullptr)));
    if (!retried) return kErrors.failed(retried.error().message);
    if (!*retried) return kErrors.failed("no webhook event " + parsed->args.front());
    std::printf("event %lld is pending again; stamp-bounced sends it within a second\n", static_cast<long long>(id));
    return kExitOk;
  }

  std::optional<OutboxState> wanted;
  if (state) wanted = *state == "pending" ? OutboxState::Pending
                      : *state == "delivered" ? OutboxState::Delivered
                                              : OutboxState::Abandoned;
  auto records = (*outbox)->list(parsed->value("--tenant"), wanted, limit);
  if (!records) return kErrors.failed(records.error().message);
  std::string out;
  for (const auto& record : *records) {
    out += parsed->flag("--json") ? std::string(out.empty() ? "  " : ",\n  ") + record_json(record) : record_text(record);
  }
  if (parsed->flag("--json")) {
    std::printf(records->empty() ? "[]\n" : "[\n%s\n]\n", out.c_str());
  } else {
    std::fputs(records->empty() ? "No webhook events.\n" : out.c_str(), stdout);
  }
  return kExitOk;
}

}  // namespace ctl
