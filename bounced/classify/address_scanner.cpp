// Scanning text for addresses. See address_scanner.h.
#include "bounced/classify/address_scanner.h"

#include <string_view>

#include "common/base/ascii.h"

namespace bounced {
namespace {

bool is_alnum(char c) {
  return common::ascii_isalnum(c);
}

// RFC 5322 atext, less the characters that in bounce prose almost always
// delimit an address rather than belong to it ('/', '?', '`', '|', '{', '}').
bool is_local_char(char c) {
  if (is_alnum(c)) return true;
  static constexpr std::string_view kSpecials = ".!#$%&'*+=^_~-";
  return kSpecials.find(c) != std::string_view::npos;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_domain_char(char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; }

// Extends the match around the '@' at `at`; returns false if it is not an address.
bool address_around(std::string_view text, std::size_t at, AddressMatch& match) {
  std::size_t begin = at;
  while (begin > 0 && is_local_char(text[begin - 1]) && at - begin < 128) --begin;
  while (begin < at && (text[begin] == '.' || text[begin] == '-' || text[begin] == '\'')) ++begin;
  if (begin == at) return false;
  std::size_t end = at + 1;
  while (end < text.size() && is_domain_char(text[end]) && end - at < 256) ++end;
  while (end > at + 1 && (text[end - 1] == '.' || text[end - 1] == '-' || text[end - 1] == '_'))
    --end;
  std::string_view domain = text.substr(at + 1, end - at - 1);
  if (domain.empty() || domain.find('.') == std::string_view::npos || domain.front() == '.' ||
      domain.find("..") != std::string_view::npos)
    return false;
  std::string_view local = text.substr(begin, at - begin);
  if (local.back() == '.') return false;
  // X.400-style Exchange notices write "dda:SMTP=user@example.com".
  if (local.size() > 5 && (local.substr(0, 5) == "SMTP=" || local.substr(0, 5) == "smtp="))
    begin += 5;
  match.begin = begin;
  match.end = end;
  match.address = text.substr(begin, end - begin);
  return true;
}

}  // namespace

std::vector<AddressMatch> find_addresses(std::string_view text, std::size_t limit) {
  std::vector<AddressMatch> matches;
  std::size_t pos = 0;
  while (matches.size() < limit) {
    std::size_t at = text.find('@', pos);
    if (at == std::string_view::npos) break;
    AddressMatch match;
    if (address_around(text, at, match)) {
      matches.push_back(std::move(match));
      pos = matches.back().end;
    } else {
      pos = at + 1;
    }
  }
  return matches;
}

std::string address_opening_line(std::string_view line) {
  std::size_t i = 0;
  // Quote marks of a forwarded notice, indentation and list bullets come first,
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '>' || line[i] == '*'))
    ++i;
  if (line.substr(i).starts_with("- ")) {
    i += 2;
  } else if (line.substr(i).starts_with("\xE2\x80\xA2")) {  // U+2022 BULLET
    i += 3;
  }
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  // and in a Sendmail transcript a reply code: "550 <a@b>... User unknown",
  // also a continued one with its enhanced status: "550-5.1.1 <a@b>: ...".
  if (i + 4 <= line.size() && (line[i] == '4' || line[i] == '5') && is_digit(line[i + 1]) &&
      is_digit(line[i + 2]) && (line[i + 3] == ' ' || line[i + 3] == '-')) {
    i += 4;
    std::size_t j = i;
    if (j + 6 <= line.size() && line[j] == line[i - 4] && line[j + 1] == '.' &&
        is_digit(line[j + 2])) {
      j += 2;
      while (j < line.size() && is_digit(line[j])) ++j;
      if (j < line.size() && line[j] == '.') {
        ++j;
        std::size_t digits = j;
        while (j < line.size() && is_digit(line[j])) ++j;
        if (j > digits && j < line.size() && line[j] == ' ') i = j + 1;
      }
    }
  }
  bool bracketed = i < line.size() && line[i] == '<';
  if (bracketed) ++i;
  std::size_t at = line.find('@', i);
  if (at == std::string_view::npos || at - i > 128) return {};
  AddressMatch match;
  if (!address_around(line, at, match) || match.begin != i) return {};
  std::size_t after = match.end;
  if (bracketed) {
    if (after >= line.size() || line[after] != '>') return {};
    ++after;
  }
  if (after < line.size()) {
    char c = line[after];
    bool separator = c == ':' || c == ' ' || c == '\t' || c == '\r' || c == '.' || c == ',' ||
                     c == ';' || c == '(';
    // Outlook's plain-text rendering of a link: "a@b<mailto:a@b>".
    if (!separator && c == '<' && line.substr(after + 1).starts_with("mailto:")) separator = true;
    if (!separator) return {};
  }
  return match.address;
}

bool same_address(std::string_view a, std::string_view b) {
  return common::equals_ignoring_ascii_case(a, b);
}

std::string clean_address(std::string_view text) {
  std::vector<AddressMatch> matches = find_addresses(text, 2);
  if (matches.size() != 1) return {};
  return matches.front().address;
}

}  // namespace bounced
