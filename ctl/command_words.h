// parse_command_words: the words after `stampctl NOUN`, as every subcommand
// family (queue, domain, suppression) reads them: options anywhere, written
// `--name VALUE`, `--name=VALUE` or as a bare flag, then a subcommand and its
// arguments. Each family maps the result onto its own settings.
#pragma once

#include <expected>
#include <initializer_list>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ctl {

struct CommandWords {
  std::string subcommand;
  std::vector<std::string> args;
  std::map<std::string, std::string, std::less<>> values;  // "--config" -> "FILE"
  std::set<std::string, std::less<>> flags;                // "--json"
  bool help = false;                                       // -h or --help: print usage, nothing else

  std::optional<std::string> value(std::string_view option) const;
  bool flag(std::string_view option) const { return flags.contains(option); }
};

// Unknown options, a value option without a value, and a missing subcommand
// come back as the usage message to print.
std::expected<CommandWords, std::string> parse_command_words(const std::vector<std::string>& words,
                                                             std::initializer_list<std::string_view> value_options,
                                                             std::initializer_list<std::string_view> flag_options);

// The row of a subcommand table (anything with a `name`) for `name`, or null.
template <class Table>
const auto* find_subcommand(const Table& table, std::string_view name) {
  for (const auto& row : table) {
    if (row.name == name) return &row;
  }
  return static_cast<decltype(&*std::begin(table))>(nullptr);
}

}  // namespace ctl
