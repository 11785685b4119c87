// `stampctl webhooks`. See webhook_command.h.
#include "ctl/webhook_command.h"

#include <charconv>
#include <ctime>
#include <filesystem>

#include "bounced/webhook/webhook_outbox.h"
#include "common/base/json.h"
#include "common/base/quoting.h"
#include "common/base/time_format.h"
#include "common/store/state_database.h"
#include "ctl/command_support.h"
#include "ctl/command_words.h"
#include "ctl/queue_command.h"
#include "ctl/service_user.h"

namespace ctl {
namespace {

using common::store::bind_text;
using common::store::column_text;

constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 10000;
constexpr std::string_view kWhat = "webhook outbox";

constexpr const char* kSelect =
    "SELECT id, tenant, stream, event, url, state, attempts, created_at, next_attempt_at, last_error "
    "FROM webhook_outbox";
// A second chance: pending again, due now, a fresh retry_for window from now.
constexpr const char* kRetry =
    "UPDATE webhook_outbox SET state = 'pending', next_attempt_at = ?2, created_at = ?2, finished_at = NULL "
    "WHERE id = ?1";

const CommandErrors kErrors{"webhooks", print_webhook_usage};

std::string row_json(sqlite3_stmt* s) {
  return "{\"id\":" + std::to_string(sqlite3_column_int64(s, 0)) + ",\"tenant\":" + common::json_quote(column_text(s, 1)) +
         ",\"stream\":" + common::json_quote(column_text(s, 2)) + ",\"event\":" + common::json_quote(column_text(s, 3)) +
         ",\"url\":" + common::json_quote(column_text(s, 4)) + ",\"state\":" + common::json_quote(column_text(s, 5)) +
         ",\"attempts\":" + std::to_string(sqlite3_column_int64(s, 6)) +
         ",\"created_at\":" + std::to_string(sqlite3_column_int64(s, 7)) +
         ",\"next_attempt_at\":" + std::to_string(sqlite3_column_int64(s, 8)) +
         ",\"last_error\":" + common::json_quote(column_text(s, 9)) + "}";
}

std::string row_text(sqlite3_stmt* s) {
  std::string line = std::to_string(sqlite3_column_int64(s, 0)) + "  " + column_text(s, 5) + "  " +
                     common::escape_controls(column_text(s, 1)) + "/" + common::escape_controls(column_text(s, 2)) +
                     "  " + column_text(s, 3) + "  attempts " + std::to_string(sqlite3_column_int64(s, 6)) + "  " +
                     common::rfc5322_date(static_cast<std::time_t>(sqlite3_column_int64(s, 7))) + "  " +
                     common::escape_controls(column_text(s, 4));
  if (std::string error = column_text(s, 9); !error.empty()) line += "\n    last error: " + common::escape_controls(error);
  return line + "\n";
}

template <class Number>
bool parse_number(const std::string& text, Number& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
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
  if (auto text = parsed->value("--limit"); text && (!parse_number(*text, limit) || limit < 1 || limit > kMaxLimit)) {
    return kErrors.usage_error("--limit takes 1 to " + std::to_string(kMaxLimit));
  }
  auto config = load_config_or_report(parsed->value("--config").value_or(kDefaultMtaConfig), kErrors);
  if (!config) return kExitFailed;
  StateDatabaseOwner owner(config->state.database);
  auto db = common::store::open_state_database(config->state.database, "state database");
  if (!db) return kErrors.failed(db.error().message);
  if (auto st = bounced::webhook::create_outbox_schema(db->get()); !st) return kErrors.failed(st.error().message);

  if (sub == "retry") {
    std::int64_t id = 0;
    if (!parse_number(parsed->args.front(), id) || id < 1) return kErrors.usage_error("retry takes an event id");
    auto s = common::store::prepare(db->get(), kRetry, kWhat);
    if (!s) return kErrors.failed(s.error().message);
    sqlite3_bind_int64(s->get(), 1, id);
    sqlite3_bind_int64(s->get(), 2, static_cast<std::int64_t>(std::time(nullptr)));
    if (sqlite3_step(s->get()) != SQLITE_DONE) return kErrors.failed(std::string("retry: ") + sqlite3_errmsg(db->get()));
    if (sqlite3_changes(db->get()) == 0) return kErrors.failed("no webhook event " + parsed->args.front());
    std::printf("event %lld is pending again; stamp-bounced sends it within a second\n", static_cast<long long>(id));
    return kExitOk;
  }

  const auto tenant = parsed->value("--tenant");
  std::string sql = std::string(kSelect) + " WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR state = ?2)" +
                    " ORDER BY id DESC LIMIT " + std::to_string(limit);
  auto s = common::store::prepare(db->get(), sql.c_str(), kWhat);
  if (!s) return kErrors.failed(s.error().message);
  if (tenant) (void)bind_text(db->get(), s->get(), 1, *tenant, kWhat);
  if (state) (void)bind_text(db->get(), s->get(), 2, *state, kWhat);
  std::string out;
  std::size_t rows = 0;
  while (sqlite3_step(s->get()) == SQLITE_ROW) {
    out += parsed->flag("--json") ? std::string(rows ? ",\n  " : "  ") + row_json(s->get()) : row_text(s->get());
    ++rows;
  }
  if (parsed->flag("--json")) {
    std::printf(rows ? "[\n%s\n]\n" : "[]\n", out.c_str());
  } else {
    std::fputs(rows ? out.c_str() : "No webhook events.\n", stdout);
  }
  return kExitOk;
}

}  // namespace ctl
