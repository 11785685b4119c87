// Dot-stuffing for sending. See dot_stuffing.h.
#include "common/smtp/dot_stuffing.h"

namespace common::smtp {

std::string dot_stuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  bool line_start = true;
  for (char c : message) {
    if (line_start && c == '.') out += '.';
    out += c;
    line_start = c == '\n';
  }
  // A message always ends in CRLF (the server core stores it that way); a
  // message that somehow does not gets one, or the marker would be glued on.
  if (!out.empty() && !out.ends_with("\r\n")) out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace common::smtp
