// Walking a report's MIME tree with GMime. See message_parts.h.
//
// GMime objects are reference-counted GObjects; every one this file creates is
// held by a GObjectRef and released when it goes out of scope. Objects GMime
// hands out from inside a parent (parts of a multipart, headers) are borrowed.
#include "bounced/classify/message_parts.h"

#include <gmime/gmime.h>

#include <cstring>
#include <mutex>

#include "common/base/ascii.h"
#include "common/base/ascii.h"
#include "common/base/owned.h"

namespace bounced {
namespace {

template <class T>
using GObjectRef = common::Owned<T, &g_object_unref>;
using GCharRef = common::Owned<char, &g_free>;
using ParserOptionsRef = common::Owned<GMimeParserOptions, &g_mime_parser_options_free>;

void ensure_gmime() {
  // g_mime_init counts its callers, so sharing the process with
  // common/mime/address_header.cpp, which calls it too, is fine.
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

ParserOptionsRef lenient_parser_options() {
  ParserOptionsRef options(g_mime_parser_options_new());
  // Bounces come from every mailer ever written: accept broken encoded-words
  // and parameters, and read raw 8-bit headers as UTF-8, else Latin-1.
  g_mime_parser_options_set_rfc2047_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  g_mime_parser_options_set_parameter_compliance_mode(options.get(), GMIME_RFC_COMPLIANCE_LOOSE);
  const char* fallback_charsets[] = {"UTF-8", "ISO-8859-1", nullptr};
  g_mime_parser_options_set_fallback_charsets(options.get(), fallback_charsets);
  return options;
}

std::string lower_mime_type(GMimeObject* object) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (!type) return "text/plain";
  GCharRef text(g_mime_content_type_get_mime_type(type));
  return text ? common::ascii_lower(text.get()) : std::string("text/plain");
}

HeaderList headers_of(GMimeObject* object) {
  HeaderList list;
  GMimeHeaderList* headers = g_mime_object_get_header_list(object);
  if (!headers) return list;
  int count = g_mime_header_list_get_count(headers);
  for (int i = 0; i < count && i < 1000; ++i) {
    GMimeHeader* header = g_mime_header_list_get_header_at(headers, i);
    const char* name = g_mime_header_get_name(header);
    const char* value = g_mime_header_get_value(header);
    if (name) list.fields.push_back({name, value ? value : ""});
  }
  return list;
}

// The decoded (transfer encoding undone) bytes of a leaf part, bounded.
std::string part_bytes(GMimePart* part) {
  GMimeDataWrapper* content = g_mime_part_get_content(part);
  if (!content) return {};
  GObjectRef<GMimeStream> sink(g_mime_stream_mem_new());
  if (g_mime_data_wrapper_write_to_stream(content, sink.get()) < 0) return {};
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
  if (!bytes) return {};
  std::size_t length = std::min<std::size_t>(bytes->len, kMaxTextPartBytes);
  return std::string(reinterpret_cast<const char*>(bytes->data), length);
}

// A text part as UTF-8, converted from its declared charset by GMime.
std::string part_text(GMimePart* part) {
  if (GMIME_IS_TEXT_PART(part)) {
    GCharRef text(g_mime_text_part_get_text(GMIME_TEXT_PART(part)));
    if (text) {
      std::string out(text.get());
      if (out.size() > kMaxTextPartBytes) out.resize(kMaxTextPartBytes);
      return out;
    }
  }
  return part_bytes(part);
}

// Just enough of HTML to read an HTML-only bounce: tags dropped (block tags
// become line breaks), a few entities decoded. The markup itself is never
// interpreted.
std::string html_to_text(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  std::size_t i = 0;
  while (i < html.size()) {
    char c = html[i];
    if (c == '<') {
      std::size_t close = html.find('>', i);
      if (close == std::string_view::npos) break;
      std::string tag =
          common::ascii_lower(html.substr(i + 1, std::min<std::size_t>(close - i - 1, 8)));
      // Style sheets and scripts are not text.
      if (tag.starts_with("style") || tag.starts_with("script")) {
        std::string closing = tag.starts_with("style") ? "</style" : "</script";
        std::size_t skip = common::ascii_lower(html.substr(close)).find(closing);
        if (skip == std::string::npos) break;
        i = close + skip;
        continue;
      }
      if (tag.starts_with("br") || tag.starts_with("p") || tag.starts_with("/p") ||
          tag.starts_with("div") || tag.starts_with("/div") || tag.starts_with("tr") ||
          tag.starts_with("li") || tag.starts_with("/h")) {
        out += '\n';
      }
      i = close + 1;
      continue;
    }
    if (c == '&') {
      static constexpr std::pair<std::string_view, char> kEntities[] = {
          {"&lt;", '<'},   {"&gt;", '>'},   {"&amp;", '&'},
          {"&quot;", '"'}, {"&#39;", '\''}, {"&nbsp;", ' '}};
      bool decoded = false;
      for (const auto& [entity, replacement] : kEntities) {
        if (html.substr(i, entity.size()) == entity) {
          out += replacement;
          i += entity.size();
          decoded = true;
          break;
        }
      }
      if (decoded) continue;
      // Numeric references, which some notices use for '@' and '.' ("&#64;").
      if (i + 3 < html.size() && html[i + 1] == '#') {
        std::size_t j = i + 2;
        bool hex = j < html.size() && (html[j] == 'x' || html[j] == 'X');
        if (hex) ++j;
        unsigned value = 0;
        std::size_t digits = 0;
        for (; j < html.size() && digits < 6; ++j, ++digits) {
          char d = html[j];
          unsigned v = 0;
          if (d >= '0' && d <= '9') {
            v = static_cast<unsigned>(d - '0');
          } else if (hex && d >= 'a' && d <= 'f') {
            v = static_cast<unsigned>(d - 'a' + 10);
          } else if (hex && d >= 'A' && d <= 'F') {
            v = static_cast<unsigned>(d - 'A' + 10);
          } else {
            break;
          }
          value = value * (hex ? 16u : 10u) + v;
        }
        if (digits > 0 && j < html.size() && html[j] == ';' && value >= 0x20 && value < 0x7f) {
          out += static_cast<char>(value);
          i = j + 1;
          continue;
        }
      }
    }
    out += c;
    ++i;
  }
  return out;
}

bool looks_like_html(std::string_view text) {
  std::size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return false;
  std::string head = common::ascii_lower(text.substr(start, 16));
  return head.starts_with("<!doctype html") || head.starts_with("<html");
}

class PartWalker {
 public:
  explicit PartWalker(int depth) : depth_(depth) {}

  MessageParts read(GMimeMessage* message) {
    MessageParts parts;
    parts.headers = headers_of(GMIME_OBJECT(message));
    GMimeObject* body = g_mime_message_get_mime_part(message);
    if (!body) return parts;
    parts.mime_type = lower_mime_type(body);
    if (const char* report_type = g_mime_object_get_content_type_parameter(body, "report-type")) {
      parts.report_type = common::ascii_lower(report_type);
    }
    walk(body, parts);
    return parts;
  }

 private:
  void walk(GMimeObject* object, MessageParts& parts) {
    if (++visited_ > kMaxMimePartsPerMessage) return;
    std::string type = lower_mime_type(object);
    if (GMIME_IS_MULTIPART(object)) {
      walk_multipart(GMIME_MULTIPART(object), type, parts);
    } else if (GMIME_IS_MESSAGE_PART(object)) {
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
      if (inner && depth_ < kMaxAttachedMessageDepth)
        parts.attached.push_back(PartWalker(depth_ + 1).read(inner));
    } else if (GMIME_IS_PART(object)) {
      walk_leaf(GMIME_PART(object), type, parts);
    }
  }

  void walk_multipart(GMimeMultipart* multipart, const std::string& type, MessageParts& parts) {
    int count = g_mime_multipart_get_count(multipart);
    if (count == 0) {
      // A boundary that is missing or never used (a header folded wrongly, a
      // broken mailer): GMime keeps the whole body as the prologue. Read it as text.
      const char* prologue = g_mime_multipart_get_prologue(multipart);
      if (prologue && *prologue)
        parts.texts.emplace_back(prologue,
                                 std::min<std::size_t>(std::strlen(prologue), kMaxTextPartBytes));
      return;
    }
    // multipart/alternative: the plain text says the same as the HTML, read one.
    int only = -1;
    if (type == "multipart/alternative") {
      for (int i = 0; i < count; ++i) {
        if (lower_mime_type(g_mime_multipart_get_part(multipart, i)) == "text/plain") only = i;
      }
    }
    for (int i = 0; i < count; ++i) {
      if (only >= 0 && i != only) continue;
      walk(g_mime_multipart_get_part(multipart, i), parts);
    }
  }

  void walk_leaf(GMimePart* part, const std::string& type, MessageParts& parts) {
    if (type == "message/delivery-status" || type == "message/global-delivery-status") {
      parts.delivery_status.push_back(part_text(part));
    } else if (type == "message/feedback-report") {
      parts.feedback_reports.push_back(part_text(part));
    } else if (type == "text/rfc822-headers" || type == "message/global-headers") {
      if (depth_ < kMaxAttachedMessageDepth) {
        MessageParts headers_only;
        headers_only.headers = read_header_block(part_text(part));
        parts.attached.push_back(std::move(headers_only));
      }
    } else if (type == "text/html") {
      parts.texts.push_back(html_to_text(part_text(part)));
    } else if (type.starts_with("text/")) {
      std::string text = part_text(part);
      // An HTML notice sent as text/plain (it happens): read it as HTML.
      if (looks_like_html(text)) text = html_to_text(text);
      parts.texts.push_back(std::move(text));
    }
  }

  int depth_;
  std::size_t visited_ = 0;
};

}  // namespace

std::string_view HeaderList::get(std::string_view name) const {
  for (const HeaderField& field : fields) {
    if (common::equals_ignoring_ascii_case(field.name, name)) return field.value;
  }
  return {};
}

std::vector<MessageParts> read_messages(std::string_view raw) {
  ensure_gmime();
  std::vector<MessageParts> messages;
  GObjectRef<GMimeStream> stream(
      g_mime_stream_mem_new_with_buffer(reinterpret_cast<const char*>(raw.data()), raw.size()));
  GObjectRef<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  // An mbox file starts with a "From " line and may hold several messages.
  bool mbox = raw.starts_with("From ");
  g_mime_parser_set_format(parser.get(), mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
  ParserOptionsRef options = lenient_parser_options();
  while (messages.size() < kMaxMessagesPerInput && !g_mime_parser_eos(parser.get())) {
    GObjectRef<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), options.get()));
    if (!message) break;
    messages.push_back(PartWalker(0).read(message.get()));
    if (!mbox) break;
  }
  return messages;
}

HeaderList read_header_block(std::string_view text) {
  ensure_gmime();
  GObjectRef<GMimeStream> stream(
      g_mime_stream_mem_new_with_buffer(reinterpret_cast<const char*>(text.data()), text.size()));
  GObjectRef<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  ParserOptionsRef options = lenient_parser_options();
  GObjectRef<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), options.get()));
  if (!message) return {};
  return headers_of(GMIME_OBJECT(message.get()));
}

}  // namespace bounced
