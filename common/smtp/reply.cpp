// Rendering of SMTP replies, multi-line per RFC 5321 4.2.1.
#include "common/smtp/reply.h"

namespace common::smtp {

std::string Reply::render() const {
  std::string out;
  const std::string code_text = std::to_string(code);
  if (lines.empty()) {
    out = code_text + (enhanced.empty() ? "" : " " + enhanced) + "\r\n";
    return out;
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += code_text;
    out += (i + 1 < lines.size()) ? '-' : ' ';
    if (!enhanced.empty()) {
      out += enhanced;
      out += ' ';
    }
    out += lines[i];
    out += "\r\n";
  }
  return out;
}

std::string Reply::first_line() const {
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += " " + enhanced;
  if (!lines.empty()) out += " " + lines.front();
  return out;
}

}  // namespace common::smtp
