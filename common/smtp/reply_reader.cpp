// ReplyReader implementation. See reply_reader.h.
#include "common/smtp/reply_reader.h"

#include <cctype>

namespace common::smtp {

std::optional<std::string> leading_enhanced_code(std::string_view text) {
  // class "." subject "." detail, class 2/4/5, subject and detail 1-3 digits.
  if (text.size() < 6 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') return std::nullopt;
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    std::size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && digits < 3) ++i, ++digits;
    if (digits == 0) return std::nullopt;
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i < text.size() && text[i] != ' ') return std::nullopt;
  return std::string(text.substr(0, i));
}

ReplyReader::Step ReplyReader::add_line(std::string_view line) {
  if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
      !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2]))) {
    return Step::Malformed;
  }
  int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (code < 200 || code > 599) return Step::Malformed;
  char sep = line.size() > 3 ? line[3] : ' ';
  if (sep != ' ' && sep != '-') return Step::Malformed;
  if (started_ && code != reply_.code) return Step::Malformed;
  if (reply_.lines.size() >= kMaxLines) return Step::Malformed;
  started_ = true;
  reply_.code = code;
  std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view();
  if (reply_.lines.empty()) {
    if (auto enhanced = leading_enhanced_code(text)) {
      reply_.enhanced = *enhanced;
    }
  }
  if (!reply_.enhanced.empty() && text.starts_with(reply_.enhanced)) {
    text.remove_prefix(reply_.enhanced.size());
    if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  }
  reply_.lines.emplace_back(text);
  return sep == '-' ? Step::NeedMore : Step::Complete;
}

Reply ReplyReader::take() {
  Reply out = std::move(reply_);
  reply_ = Reply{};
  reply_.lines.clear();
  started_ = false;
  return out;
}

}  // namespace common::smtp
