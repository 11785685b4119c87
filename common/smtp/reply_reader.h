// ReplyReader: assembles SMTP replies as a client receives them (RFC 5321
// 4.2): "250-first" ... "250 last". Lines come in without CRLF; a reply is
// complete at the line whose fourth character is a space (or which has only a
// code). The enhanced status code (RFC 3463) is split off when present.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/smtp/reply.h"

namespace common::smtp {

class ReplyReader {
 public:
  enum class Step { NeedMore, Complete, Malformed };

  // Feeds one line; on Complete, take() returns the reply.
  Step add_line(std::string_view line);
  Reply take();

  // RFC 5321 4.5.3.1.5 allows 512 octets per reply line; we tolerate more but
  // bound the whole reply so a hostile server cannot grow it without end.
  static constexpr std::size_t kMaxLines = 100;

 private:
  Reply reply_;
  bool started_ = false;
};

// "5.1.1" when `text` starts with an RFC 3463 code followed by a space.
std::optional<std::string> leading_enhanced_code(std::string_view text);

}  // namespace common::smtp
