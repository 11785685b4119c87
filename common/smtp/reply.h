// Reply: one SMTP reply, a three-digit code (RFC 5321 4.2) with an RFC 3463
// enhanced status code (RFC 2034). Per RFC 2034 section 3 the enhanced code
// goes on every reply except the greeting and the replies to EHLO/HELO.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace common::smtp {

struct Reply {
  int code = 250;
  std::string enhanced;            // "2.1.0"; empty for the greeting and EHLO/HELO
  std::vector<std::string> lines;  // text of each line, without code or CRLF

  static Reply make(int code, std::string_view enhanced, std::string_view text) {
    return Reply{code, std::string(enhanced), {std::string(text)}};
  }
  bool positive() const { return code >= 200 && code < 400; }
  bool transient_failure() const { return code >= 400 && code < 500; }
  bool permanent_failure() const { return code >= 500; }

  // "250-first\r\n250 2.0.0 last\r\n": every line carries the enhanced code.
  std::string render() const;
  std::string first_line() const;  // for logs: "550 5.1.1 text"
};

}  // namespace common::smtp
