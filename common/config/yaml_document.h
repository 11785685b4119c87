// YamlDocument: one YAML config file, parsed by yaml-cpp, with its problems as
// Diagnostics instead of exceptions.
//
// Owns reading the file, turning yaml-cpp's exceptions and 0-based marks into
// `file:line:col` problems, and the one check yaml-cpp skips: duplicate keys
// (it keeps the first silently). It does not interpret any key: MapReader does.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/config/diagnostics.h"

namespace common::config {

class YamlDocument {
 public:
  // Reads and parses `file`. An unreadable file or a syntax error is reported and
  // gives nullopt; duplicate keys are reported but the document is still returned,
  // so the rest of it can be checked too.
  static std::optional<YamlDocument> load(const std::filesystem::path& file,
                                          Diagnostics& diagnostics);
  // Same for text already in memory; `file` only names it in messages.
  static std::optional<YamlDocument> parse(std::string_view text, const std::filesystem::path& file,
                                           Diagnostics& diagnostics);

  const std::filesystem::path& path() const { return path_; }
  const std::string& name() const { return name_; }  // the file as messages print it
  const YAML::Node& root() const { return root_; }   // Null for an empty file

 private:
  YamlDocument(std::filesystem::path path, YAML::Node root);

  std::filesystem::path path_;
  std::string name_;
  YAML::Node root_;
};

// The 1-based position of a yaml-cpp mark (0-based); a null mark becomes 1:1.
SourcePosition position_of(const std::string& file, const YAML::Mark& mark);

}  // namespace common::config
