// dot_stuff: a message in the form it travels after DATA (RFC 5321 4.5.2):
// every line that starts with "." gets one more, the text ends with CRLF, and
// the end-of-data marker ".\r\n" follows. The inverse of what the server core
// does on receipt.
#pragma once

#include <string>
#include <string_view>

namespace common::smtp {

std::string dot_stuff(std::string_view message);

}  // namespace common::smtp
