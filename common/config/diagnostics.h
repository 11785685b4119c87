// Diagnostics: configuration problems as `file:line:col: message`, collected so
// that one run of the loader reports every mistake at once.
//
// This file owns the shape and printing of a problem; it knows nothing about
// YAML (yaml_document.h turns yaml-cpp's 0-based marks into positions here).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace common::config {

// A place in a config file; line and column are 1-based, as editors show them.
struct SourcePosition {
  std::string file;
  int line = 1;
  int column = 1;
};

struct Diagnostic {
  std::string file;
  int line = 1;
  int column = 1;
  std::string message;

  static Diagnostic at(const SourcePosition& position, std::string message);
  std::string to_string() const;  // "mta.yaml:14:5: smtp.max_connections: must be 1..100000, got 0"
};

class Diagnostics {
 public:
  void add(Diagnostic diagnostic);
  void add(const SourcePosition& position, std::string message);

  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& all() const { return items_; }  // in the order reported

  // By file, line and column; problems at the same place keep the order reported.
  std::vector<Diagnostic> sorted() const;
  // One problem per line, sorted, each line ending in '\n'.
  std::string to_string() const;

 private:
  std::vector<Diagnostic> items_;
};

// `text` in double quotes for a message, with control characters escaped and the
// length capped, so a hostile or binary config value cannot garble the output.
std::string quote_text(std::string_view text);

}  // namespace common::config
