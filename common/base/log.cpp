// Structured log lines to stderr. See log.h.
#include "common/base/log.h"

#include "common/base/quoting.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace common::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::Info)};

// Under systemd, journald stamps each line itself; elsewhere we add the time.
bool want_timestamps() {
  static const bool want = std::getenv("JOURNAL_STREAM") == nullptr;
  return want;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Warning: return "warning";
    case Level::Error: return "error";
  }
  return "info";
}

bool is_plain(std::string_view value) {
  if (value.empty()) return false;
  for (unsigned char c : value) {
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '=' || c == '\\') return false;
  }
  return true;
}

void append_timestamp(std::string& out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t secs = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  out += buf;
}

}  // namespace

void set_level(Level level) { g_level.store(static_cast<int>(level)); }

bool enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

std::optional<Level> parse_level(std::string_view name) {
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warning") return Level::Warning;
  if (name == "error") return Level::Error;
  return std::nullopt;
}

void append_value(std::string& out, std::string_view value) {
  if (is_plain(value) && value.size() <= kMaxValueLength) {
    out += value;
    return;
  }
  append_quoted(out, value, kMaxValueLength);
}

Line::Line(Level level, std::string_view event) : active_(enabled(level)) {
  if (!active_) return;
  text_.reserve(160);
  if (want_timestamps()) append_timestamp(text_);
  text_ += "level=";
  text_ += level_name(level);
  text_ += " event=";
  text_ += event;
}

Line& Line::kv(std::string_view key, std::string_view value) {
  if (!active_) return *this;
  text_ += ' ';
  text_ += key;
  text_ += '=';
  append_value(text_, value);
  return *this;
}

Line& Line::kv(std::string_view key, long long value) {
  if (!active_) return *this;
  return kv(key, std::string_view(std::to_string(value)));
}

Line& Line::kv(std::string_view key, unsigned long long value) {
  if (!active_) return *this;
  return kv(key, std::string_view(std::to_string(value)));
}

Line::~Line() {
  if (!active_) return;
  text_ += '\n';
  // One write per line keeps concurrent lines whole; a short write to a full
  // pipe is retried, a failure is ignored (there is nowhere else to report it).
  std::string_view rest = text_;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace common::log
