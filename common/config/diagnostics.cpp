// Diagnostic printing, ordering and quoting. See diagnostics.h.
#include "common/config/diagnostics.h"

#include "common/base/quoting.h"

#include <algorithm>
#include <cstdio>
#include <tuple>
#include <utility>

namespace common::config {
namespace {

// Longest piece of a config value repeated in a message.
constexpr std::size_t kMaxQuotedLength = 80;

}  // namespace

Diagnostic Diagnostic::at(const SourcePosition& position, std::string message) {
  return Diagnostic{position.file, position.line, position.column, std::move(message)};
}

std::string Diagnostic::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

void Diagnostics::add(Diagnostic diagnostic) { items_.push_back(std::move(diagnostic)); }

void Diagnostics::add(const SourcePosition& position, std::string message) {
  items_.push_back(Diagnostic::at(position, std::move(message)));
}

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Diagnostic> out = items_;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
  });
  return out;
}

std::string Diagnostics::to_string() const {
  std::string out;
  for (const Diagnostic& d : sorted()) {
    out += d.to_string();
    out += '\n';
  }
  return out;
}

std::string quote_text(std::string_view text) {
  std::string out;
  append_quoted(out, text, kMaxQuotedLength);
  return out;
}

}  // namespace common::config
