// `stampctl bounces`. See bounce_command.h.
#include "ctl/bounce_command.h"

#include <ctime>
#include <filesystem>

#include "common/base/ascii.h"
#include "common/base/email_syntax.h"
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

using common::store::column_text;

constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 10000;

// The columns both subcommands print, in order.
constexpr const char* kColumns[] = {"id", "bounced_at", "tenant", "stream", "email", "class", "type", "reason",
                                    "status", "queue_id", "message_id", "diagnostic"};
constexpr const char* kSelect =
    "SELECT id, bounced_at, tenant, stream, email, class, type, reason, status, queue_id, message_id, diagnostic, "
    "report_id FROM bounce ";

const CommandErrors kErrors{"bounces", print_bounce_usage};

std::string row_json(sqlite3_stmt* s) {
  std::string out = "{";
  for (int i = 0; i < static_cast<int>(std::size(kColumns)); ++i) {
    if (i) out += ",";
    out += common::json_quote(kColumns[i]) + ":";
    out += (i == 0 || i == 1) ? std::to_string(sqlite3_column_int64(s, i)) : common::json_quote(column_text(s, i));
  }
  return out + "}";
}

std::string row_text(sqlite3_stmt* s) {
  return std::to_string(sqlite3_column_int64(s, 0)) + "  " +
         common::rfc5322_date(static_cast<std::time_t>(sqlite3_column_int64(s, 1))) + "  " +
         common::escape_controls(column_text(s, 2)) + "/" + common::escape_controls(column_text(s, 3)) + "  " +
         common::escape_controls(column_text(s, 4)) + "  " + column_text(s, 5) + " " + column_text(s, 6) + " (" +
         column_text(s, 7) + ", " + column_text(s, 8) + ")  " + common::escape_controls(column_text(s, 11)) + "\n";
}

bool has_bounce_table(sqlite3* db) {
  auto s = common::store::prepare(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bounce'", "bounces");
  return s && sqlite3_step(s->get()) == SQLITE_ROW;
}

}  // namespace

void print_bounce_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: stampctl bounces [--config FILE] SUBCOMMAND\n"
               "  list EMAIL [--tenant T] [--limit N] [--json]\n"
               "                   the bounces, complaints and auto-replies stored for EMAIL,\n"
               "                   newest first (default %zu, at most %zu)\n"
               "  show ID          one bounce with the raw report it came in (as stored,\n"
               "                   cut at bounce_store.max_raw_message)\n"
               "--config defaults to %s (stamp-mta's: it names the state database).\n",
               kDefaultLimit, kMaxLimit, kDefaultMtaConfig);
}

int run_bounce_command(const std::vector<std::string>& words) {
  auto parsed = parse_command_words(words, {"--config", "--tenant", "--limit"}, {"--json"});
  if (!parsed) return kErrors.usage_error(parsed.error());
  if (parsed->help) {
    print_bounce_usage(stdout);
    return kExitOk;
  }
  std::filesystem::path config_file = parsed->value("--config").value_or(kDefaultMtaConfig);
  const std::string& sub = parsed->subcommand;
  if (sub != "list" && sub != "show") return kErrors.usage_error("unknown subcommand " + common::escape_controls(sub));
  if (parsed->args.size() != 1) return kErrors.usage_error(sub + " takes one argument");
  std::size_t limit = kDefaultLimit;
  if (auto text = parsed->value("--limit")) {
    if (!parse_whole_number(*text, limit) || limit < 1 || limit > kMaxLimit) {
      return kErrors.usage_error("--limit takes 1 to " + std::to_string(kMaxLimit));
    }
  }
  auto config = load_config_or_report(config_file, kErrors);
  if (!config) return kExitFailed;
  StateDatabaseOwner owner(config->state.database);
  auto db = common::store::open_state_database(config->state.database, "state database");
  if (!db) return kErrors.failed(db.error().message);
  if (!has_bounce_table(db->get())) {
    std::printf(parsed->flag("--json") ? "[]\n" : "No bounces stored (stamp-bounced has not run on this database).\n");
    return kExitOk;
  }

  if (sub == "list") {
    const std::string email = common::ascii_lower(parsed->args.front());
    if (!common::plausible_email(email)) return kErrors.usage_error("not an e-mail address: " + common::escape_controls(email));
    const auto tenant = parsed->value("--tenant");
    std::string sql = std::string(kSelect) + "WHERE email = ?1" + (tenant ? " AND tenant = ?2" : "") +
                      " ORDER BY bounced_at DESC, id DESC LIMIT " + std::to_string(limit);
    auto s = common::store::prepare(db->get(), sql.c_str(), "bounces");
    if (!s) return kErrors.failed(s.error().message);
    if (auto st = common::store::bind_text(db->get(), s->get(), 1, email, "bounces"); !st) return kErrors.failed(st.error().message);
    if (tenant) {
      if (auto st = common::store::bind_text(db->get(), s->get(), 2, *tenant, "bounces"); !st) {
        return kErrors.failed(st.error().message);
      }
    }
    std::string out;
    std::size_t rows = 0;
    while (sqlite3_step(s->get()) == SQLITE_ROW) {
      out += parsed->flag("--json") ? std::string(rows ? ",\n  " : "  ") + row_json(s->get()) : row_text(s->get());
      ++rows;
    }
    if (parsed->flag("--json")) {
      std::printf("[\n%s\n]\n", out.c_str());
    } else if (rows == 0) {
      std::printf("No bounces stored for %s.\n", common::escape_controls(email).c_str());
    } else {
      std::fputs(out.c_str(), stdout);
    }
    return kExitOk;
  }

  std::int64_t id = 0;
  const std::string& text = parsed->args.front();
  if (!parse_whole_number(text, id) || id < 1) return kErrors.usage_error("show takes a bounce id");
  auto s = common::store::prepare(db->get(), (std::string(kSelect) + "WHERE id = ?1").c_str(), "bounces");
  if (!s) return kErrors.failed(s.error().message);
  sqlite3_bind_int64(s->get(), 1, id);
  if (sqlite3_step(s->get()) != SQLITE_ROW) return kErrors.failed("no bounce " + text);
  const std::int64_t report_id = sqlite3_column_int64(s->get(), 12);
  if (parsed->flag("--json")) {
    std::printf("%s\n", row_json(s->get()).c_str());
    return kExitOk;
  }
  std::fputs(row_text(s->get()).c_str(), stdout);
  auto raw = common::store::prepare(db->get(), "SELECT raw, size, truncated FROM bounce_report WHERE id = ?1", "bounces");
  if (!raw) return kErrors.failed(raw.error().message);
  sqlite3_bind_int64(raw->get(), 1, report_id);
  if (sqlite3_step(raw->get()) == SQLITE_ROW) {
    const void* bytes = sqlite3_column_blob(raw->get(), 0);
    int length = sqlite3_column_bytes(raw->get(), 0);
    std::printf("--- report %lld (%lld bytes%s) ---\n", static_cast<long long>(report_id),
                static_cast<long long>(sqlite3_column_int64(raw->get(), 1)),
                sqlite3_column_int(raw->get(), 2) ? ", stored cut" : "");
    std::fwrite(bytes, 1, static_cast<std::size_t>(length), stdout);
  }
  return kExitOk;
}

}  // namespace ctl
