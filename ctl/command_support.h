// What every stampctl command family shares besides reading its words
// (command_words.h): the exit codes, the "stampctl NOUN: message" errors, and
// loading stamp-mta's configuration with every problem printed.
#pragma once

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "mta/mta_config.h"

namespace ctl {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

class CommandErrors {
 public:
  // `noun`: "domain", "queue", ...; `usage` prints the family's usage.
  constexpr CommandErrors(const char* noun, void (*usage)(std::FILE*)) : noun_(noun), usage_(usage) {}
  // The message, then the usage; returns kExitUsage.
  int usage_error(const std::string& message) const;
  // The message; returns kExitFailed.
  int failed(const std::string& message) const;
  // "stampctl NOUN: warning: message"; nothing for an empty message.
  void warn(const std::string& message) const;

 private:
  const char* noun_;
  void (*usage_)(std::FILE*);
};

// `text` as a whole decimal number (nothing before or after it).
template <class Number>
bool parse_whole_number(const std::string& text, Number& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// stamp-mta's configuration; nullopt after printing every problem (or that the
// file could not be loaded) to stderr.
std::optional<mta::MtaConfig> load_config_or_report(const std::filesystem::path& file, const CommandErrors& errors);

}  // namespace ctl
