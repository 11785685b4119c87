// GMime-backed address headers. See address_header.h.
#include "common/mime/address_header.h"

#include <gmime/gmime.h>

#include <algorithm>

#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "common/base/base64.h"

namespace common::mime {
namespace {

void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// GMime objects are reference counted GObjects.
struct Unref {
  void operator()(gpointer p) const noexcept {
    if (p) g_object_unref(p);
  }
};

void collect(InternetAddressList* list, std::vector<MailboxAddress>& out, int depth) {
  if (!list || depth > 4) return;
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
      const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
      const char* name = internet_address_get_name(ia);
      if (addr && *addr) out.push_back({name ? name : "", addr});
    } else if (INTERNET_ADDRESS_IS_GROUP(ia)) {
      collect(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), out, depth + 1);
    }
  }
}

// The length of the RFC 2047 encoded word "=?charset?B|Q?text?=" at `at`, or 0.
std::size_t encoded_word_length(std::string_view text, std::size_t at) {
  if (text.compare(at, 2, "=?") != 0) return 0;
  std::size_t q1 = text.find('?', at + 2);
  if (q1 == std::string_view::npos || q1 + 2 >= text.size() || text[q1 + 2] != '?') return 0;
  char encoding = static_cast<char>(text[q1 + 1] | 0x20);
  if (encoding != 'b' && encoding != 'q') return 0;
  std::size_t end = text.find("?=", q1 + 3);
  if (end == std::string_view::npos) return 0;
  for (std::size_t i = at; i < end; ++i) {
    if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n') return 0;  // a word has no space
  }
  return end + 2 - at;
}

// GMime 3.2.13 (Debian 12) decodes adjacent B encoded words as one base64
// stream and stops at the first "=" padding, cutting "=?utf-8?b?SsO2cg==?=
// =?utf-8?b?ZyDDnA==?=" to "Jör". Outside quoted strings, each run of two or
// more adjacent encoded words is decoded word by word here (RFC 2047 6.2: the
// white space between them is dropped) and handed to GMime as one quoted
// string instead.
std::string decode_adjacent_encoded_words(std::string_view text) {
  std::string out;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (quoted) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) out += text[++i];
      else if (c == '"') quoted = false;
      ++i;
      continue;
    }
    if (c == '"') {
      quoted = true;
      out += c;
      ++i;
      continue;
    }
    std::size_t length = encoded_word_length(text, i);
    if (length == 0) {
      out += c;
      ++i;
      continue;
    }
    std::vector<std::string_view> words{text.substr(i, length)};
    std::size_t next = i + length;
    for (;;) {
      std::size_t gap = next;
      while (gap < text.size() && (text[gap] == ' ' || text[gap] == '\t' || text[gap] == '\r' || text[gap] == '\n')) ++gap;
      std::size_t more = gap > next ? encoded_word_length(text, gap) : 0;
      if (more == 0) break;
      words.push_back(text.substr(gap, more));
      next = gap + more;
    }
    if (words.size() == 1) {
      out.append(words.front());
    } else {
      std::string decoded;
      for (std::string_view word : words) {
        std::string one(word);
        char* text_utf8 = g_mime_utils_header_decode_text(nullptr, one.c_str());
        if (text_utf8) decoded += text_utf8;
        g_free(text_utf8);
      }
      out += '"';
      for (char d : decoded) {
        if (d == '"' || d == '\\') out += '\\';
        if (d != '\r' && d != '\n') out += d;
      }
      out += '"';
    }
    i = next;
  }
  return out;
}

}  // namespace

std::vector<MailboxAddress> parse_address_list(std::string_view header_value) {
  ensure_gmime();
  std::string text = header_value.find("=?") == std::string_view::npos ? std::string(header_value)
                                                                        : decode_adjacent_encoded_words(header_value);
  std::unique_ptr<InternetAddressList, Unref> list(internet_address_list_parse(nullptr, text.c_str()));
  std::vector<MailboxAddress> out;
  collect(list.get(), out, 0);
  return out;
}

std::string clean_display_name(std::string_view display_name, std::size_t max_chars) {
  // A continuation byte 10xxxxxx does not start a character.
  std::string name;
  std::size_t characters = 0;
  for (unsigned char c : display_name) {
    if (c < 0x20 || c == 0x7f) continue;
    if ((c & 0xC0) != 0x80 && ++characters > max_chars) break;
    name += static_cast<char>(c);
  }
  return name;
}

std::string format_mailbox(std::string_view display_name, std::string_view address) {
  ensure_gmime();
  const std::string name = clean_display_name(display_name, kMaxDisplayNameChars);
  const bool ascii = std::none_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  std::string addr(address);
  if (ascii) {
    // GMime quotes specials and escapes quotes and backslashes (RFC 5322 3.2.4).
    std::unique_ptr<InternetAddress, Unref> mailbox(internet_address_mailbox_new(name.c_str(), addr.c_str()));
    char* text = internet_address_to_string(mailbox.get(), nullptr, TRUE);
    std::string out = text ? text : addr;
    g_free(text);
    std::string line;
    for (char c : out) {
      if (c != '\r' && c != '\n') line += c;
    }
    return line;
  }
  // RFC 2047 2 and 5(3): "=?utf-8?b?" + base64 + "?=" at most 75 characters;
  // 45 bytes of UTF-8 make 60 base64 characters, 72 in all. Words never split a
  // character (RFC 2047 5: each word must be decodable on its own).
  constexpr std::size_t kBytesPerWord = 45;
  std::string out;
  std::size_t start = 0;
  while (start < name.size()) {
    std::size_t end = std::min(name.size(), start + kBytesPerWord);
    while (end < name.size() && end > start && (static_cast<unsigned char>(name[end]) & 0xC0) == 0x80) --end;
    if (end == start) end = std::min(name.size(), start + kBytesPerWord);  // broken UTF-8: cut anyway
    if (!out.empty()) out += "\r\n ";
    out += "=?utf-8?b?" + common::base64_encode(std::string_view(name).substr(start, end - start)) + "?=";
    start = end;
  }
  return out + "\r\n <" + addr + ">";
}

}  // namespace common::mime
