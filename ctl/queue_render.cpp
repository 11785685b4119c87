// Text and JSON for `stampctl queue list/show`. See queue_render.h.
#include "ctl/queue_render.h"

#include <algorithm>
#include <cstdio>

#include "common/base/quoting.h"
#include "common/base/json.h"
#include "common/base/time_format.h"

namespace ctl {
namespace {

constexpr std::size_t kMaxSenderColumn = 40;

std::string shown_sender(const MessageView& m) { return "<" + common::escape_controls(m.sender) + ">"; }

std::string format_size(std::uint64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(bytes));
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1fK", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fM", static_cast<double>(bytes) / (1024 * 1024));
  }
  return buf;
}

// The NEXT column: when the daemon will try again.
std::string next_attempt_text(const MessageView& m, std::int64_t now) {
  if (m.state.held) return "held";
  bool finished =
      std::none_of(m.recipients.begin(), m.recipients.end(), [](const RecipientView& r) {
        return r.state.status == mta::RecipientStatus::Pending ||
               r.state.status == mta::RecipientStatus::Deferred;
      });
  if (finished) return "done";
  if (m.state.next_attempt <= now) return "now";
  return "in " + format_age(m.state.next_attempt - now);
}

std::string when_text(std::int64_t when, std::int64_t now) {
  if (when <= 0) return "never";
  std::string out = common::rfc5322_date(static_cast<std::time_t>(when));
  if (when <= now) return out + " (" + format_age(now - when) + " ago)";
  return out + " (in " + format_age(when - now) + ")";
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string clip(std::string text, std::size_t width) {
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  return text;
}

void append_json_field(std::string& out, const char* key, const std::string& json_value,
                       bool first = false) {
  if (!first) out += ",";
  out += common::json_quote(key);
  out += ":";
  out += json_value;
}

std::string json_object(const MessageView& m, std::int64_t now) {
  std::string out = "{";
  append_json_field(out, "id", common::json_quote(m.id), true);
  append_json_field(out, "tenant", common::json_quote(m.tenant));
  append_json_field(out, "sender", common::json_quote(m.sender));
  append_json_field(out, "arrival", std::to_string(m.arrival));
  append_json_field(out, "age_seconds", std::to_string(std::max<std::int64_t>(0, now - m.arrival)));
  append_json_field(out, "size", std::to_string(m.size));
  append_json_field(out, "attempts", std::to_string(m.state.attempts));
  append_json_field(out, "next_attempt", std::to_string(m.state.next_attempt));
  append_json_field(out, "held", m.state.held ? "true" : "false");
  append_json_field(out, "last_error", common::json_quote(m.state.last_error));
  out += ",\"recipients\":[";
  for (std::size_t i = 0; i < m.recipients.size(); ++i) {
    const auto& r = m.recipients[i];
    out += i ? ",{" : "{";
    append_json_field(out, "address", common::json_quote(r.address), true);
    append_json_field(out, "status", common::json_quote(mta::status_name(r.state.status)));
    append_json_field(out, "remote", common::json_quote(r.state.remote));
    append_json_field(out, "reply", common::json_quote(r.state.reply));
    append_json_field(out, "last_attempt", std::to_string(r.state.last_attempt));
    out += "}";
  }
  out += "]}";
  return out;
}

}  // namespace

std::string format_age(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return std::to_string(seconds) + "s";
  if (seconds < 3600) return std::to_string(seconds / 60) + "m";
  if (seconds < 86400) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds / 86400) + "d";
}

std::string render_list_text(const std::vector<MessageView>& messages, std::int64_t now) {
  if (messages.empty()) return "The queue is empty.\n";
  struct Row {
    std::string id, age, size, sender, recipients, next;
  };
  std::vector<Row> rows;
  rows.push_back({"ID", "AGE", "SIZE", "SENDER", "RECIPIENTS", "NEXT"});
  for (const auto& m : messages) {
    rows.push_back(
        {m.id, format_age(now - m.arrival), format_size(m.size),
         clip(shown_sender(m), kMaxSenderColumn),
         std::to_string(m.delivered()) + "/" + std::to_string(m.recipients.size()) + " delivered",
         next_attempt_text(m, now)});
  }
  std::size_t widths[5] = {};
  for (const auto& row : rows) {
    const std::string* cells[5] = {&row.id, &row.age, &row.size, &row.sender, &row.recipients};
    for (int i = 0; i < 5; ++i) widths[i] = std::max(widths[i], cells[i]->size());
  }
  std::string out;
  for (const auto& row : rows) {
    out += pad(row.id, widths[0]) + "  " + pad(row.age, widths[1]) + "  " +
           pad(row.size, widths[2]) + "  " + pad(row.sender, widths[3]) + "  " +
           pad(row.recipients, widths[4]) + "  " + row.next + "\n";
  }
  out += std::to_string(messages.size()) + (messages.size() == 1 ? " message\n" : " messages\n");
  return out;
}

std::string render_list_json(const std::vector<MessageView>& messages, std::int64_t now) {
  if (messages.empty()) return "[]\n";
  std::string out = "[\n";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    out += "  " + json_object(messages[i], now) + (i + 1 < messages.size() ? ",\n" : "\n");
  }
  out += "]\n";
  return out;
}

std::string render_show_text(const MessageView& m, std::int64_t now) {
  std::string out;
  auto field = [&out](const char* name, const std::string& value) {
    out += pad(std::string(name) + ":", 14) + value + "\n";
  };
  field("id", m.id);
  field("tenant", m.tenant.empty() ? "-" : common::escape_controls(m.tenant));
  field("sender", shown_sender(m));
  field("arrival", when_text(m.arrival, now));
  field("size", std::to_string(m.size) + " bytes");
  field("attempts", std::to_string(m.state.attempts));
  std::string next = next_attempt_text(m, now);
  if (next.starts_with("in ")) next = when_text(m.state.next_attempt, now);
  field("next attempt", next);
  field("held", m.state.held ? "yes" : "no");
  field("last error", m.state.last_error.empty() ? "-" : common::escape_controls(m.state.last_error));
  out += "recipients:   " + std::to_string(m.delivered()) + "/" +
         std::to_string(m.recipients.size()) + " delivered\n";
  for (const auto& r : m.recipients) {
    out += "  <" + common::escape_controls(r.address) + ">\n";
    out += "    status:       " + std::string(mta::status_name(r.state.status)) + "\n";
    out += "    last attempt: " + when_text(r.state.last_attempt, now) + "\n";
    if (!r.state.remote.empty()) out += "    remote:       " + common::escape_controls(r.state.remote) + "\n";
    if (!r.state.reply.empty()) out += "    reply:        " + common::escape_controls(r.state.reply) + "\n";
  }
  return out;
}

std::string render_show_json(const MessageView& m, std::int64_t now) {
  return json_object(m, now) + "\n";
}

}  // namespace ctl
