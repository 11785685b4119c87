// Command-line words of stampctl's subcommand families. See command_words.h.
#include "ctl/command_words.h"

#include <algorithm>

namespace ctl {

std::optional<std::string> CommandWords::value(std::string_view option) const {
  auto it = values.find(option);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

std::expected<CommandWords, std::string> parse_command_words(const std::vector<std::string>& words,
                                                             std::initializer_list<std::string_view> value_options,
                                                             std::initializer_list<std::string_view> flag_options) {
  CommandWords out;
  bool have_subcommand = false;
  auto listed = [](std::initializer_list<std::string_view> list, std::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string_view word = words[i];
    if (word == "-h" || word == "--help") {
      out.help = true;
      return out;
    }
    if (!word.starts_with("-") || word.size() == 1) {
      if (!have_subcommand) {
        out.subcommand = std::string(word);
        have_subcommand = true;
      } else {
        out.args.emplace_back(word);
      }
      continue;
    }
    auto eq = word.find('=');
    std::string_view name = word.substr(0, eq);
    if (listed(value_options, name)) {
      std::string value;
      if (eq != std::string_view::npos) {
        value = std::string(word.substr(eq + 1));
      } else if (i + 1 < words.size()) {
        value = words[++i];
      }
      if (value.empty()) return std::unexpected(std::string(name) + " needs a value");
      out.values[std::string(name)] = value;
    } else if (eq == std::string_view::npos && listed(flag_options, name)) {
      out.flags.insert(std::string(name));
    } else {
      return std::unexpected("unknown option " + std::string(word));
    }
  }
  if (!have_subcommand) return std::unexpected(std::string("no subcommand"));
  return out;
}

}  // namespace ctl
