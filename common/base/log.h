// Structured logging: one line per event, key=value, to stderr (journald reads it).
//
//   common::log::info("smtp.connect").kv("session", id).kv("client", ip);
//
// The line is written when the builder goes out of scope, with a single write(2),
// so lines from different threads never interleave. Values that are not plain
// tokens are quoted with control characters escaped and length capped, so text
// from the network cannot forge a second log line. Passwords never go in here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace common::log {

enum class Level { Debug = 0, Info = 1, Warning = 2, Error = 3 };

void set_level(Level level);
bool enabled(Level level);
std::optional<Level> parse_level(std::string_view name);

// Longest value printed for one key before it is cut with "...".
inline constexpr std::size_t kMaxValueLength = 512;

class Line {
 public:
  Line(Level level, std::string_view event);
  Line(const Line&) = delete;
  Line& operator=(const Line&) = delete;
  ~Line();

  Line& kv(std::string_view key, std::string_view value);
  Line& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  Line& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view(value)); }
  Line& kv(std::string_view key, long long value);
  Line& kv(std::string_view key, unsigned long long value);
  Line& kv(std::string_view key, int value) { return kv(key, static_cast<long long>(value)); }
  Line& kv(std::string_view key, unsigned value) { return kv(key, static_cast<unsigned long long>(value)); }
  Line& kv(std::string_view key, long value) { return kv(key, static_cast<long long>(value)); }
  Line& kv(std::string_view key, unsigned long value) { return kv(key, static_cast<unsigned long long>(value)); }
  Line& kv(std::string_view key, bool value) { return kv(key, std::string_view(value ? "yes" : "no")); }

 private:
  bool active_;
  std::string text_;
};

inline Line debug(std::string_view event) { return Line(Level::Debug, event); }
inline Line info(std::string_view event) { return Line(Level::Info, event); }
inline Line warning(std::string_view event) { return Line(Level::Warning, event); }
inline Line error(std::string_view event) { return Line(Level::Error, event); }

// Appends `value` to `out` the way a log value is printed (quoted if needed).
void append_value(std::string& out, std::string_view value);

}  // namespace common::log
