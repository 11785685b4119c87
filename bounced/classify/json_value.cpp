// The bounded JSON reader. See json_value.h.
#include "bounced/classify/json_value.h"

namespace bounced {
namespace {

constexpr int kMaxJsonDepth = 32;
constexpr std::size_t kMaxJsonElements = 100000;

void append_utf8(std::string& out, unsigned code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

}  // namespace

class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  bool read_value(JsonValue& out, int depth) {
    if (depth > kMaxJsonDepth || ++elements_ > kMaxJsonElements) return false;
    skip_space();
    if (pos_ >= text_.size()) return false;
    char c = text_[pos_];
    if (c == '{') return read_object(out, depth);
    if (c == '[') return read_array(out, depth);
    if (c == '"') {
      out.kind_ = JsonValue::Kind::String;
      return read_string(out.text_);
    }
    if (c == 't' || c == 'f' || c == 'n') return read_literal(out);
    return read_number(out);
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool read_object(JsonValue& out, int depth) {
    out.kind_ = JsonValue::Kind::Object;
    ++pos_;  // '{'
    if (consume('}')) return true;
    do {
      skip_space();
      std::string name;
      if (pos_ >= text_.size() || text_[pos_] != '"' || !read_string(name) || !consume(':'))
        return false;
      JsonValue member;
      if (!read_value(member, depth + 1)) return false;
      out.members_.emplace_back(std::move(name), std::move(member));
    } while (consume(','));
    return consume('}');
  }

  bool read_array(JsonValue& out, int depth) {
    out.kind_ = JsonValue::Kind::Array;
    ++pos_;  // '['
    if (consume(']')) return true;
    do {
      JsonValue element;
      if (!read_value(element, depth + 1)) return false;
      out.elements_.push_back(std::move(element));
    } while (consume(','));
    return consume(']');
  }

  bool read_hex4(unsigned& value) {
    if (pos_ + 4 > text_.size()) return false;
    value = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      value <<= 4;
      if (c >= '0' && c <= '9')
        value |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        value |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        value |= static_cast<unsigned>(c - 'A' + 10);
      else
        return false;
    }
    return true;
  }

  // RFC 8259 section 7.
  bool read_string(std::string& out) {
    ++pos_;  // '"'
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return false;
      char escape = text_[pos_++];
      switch (escape) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned code_point = 0;
          if (!read_hex4(code_point)) return false;
          // A surrogate pair spells one code point beyond the BMP.
          if (code_point >= 0xD800 && code_point < 0xDC00 && text_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            unsigned low = 0;
            if (!read_hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
            code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, code_point);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool read_literal(JsonValue& out) {
    for (std::string_view literal : {"true", "false", "null"}) {
      if (text_.substr(pos_, literal.size()) == literal) {
        pos_ += literal.size();
        out.kind_ = literal == "null" ? JsonValue::Kind::Null : JsonValue::Kind::Bool;
        out.text_ = literal;
        return true;
      }
    }
    return false;
  }

  bool read_number(JsonValue& out) {
    std::size_t start = pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E')
        ++pos_;
      else
        break;
    }
    if (pos_ == start) return false;
    out.kind_ = JsonValue::Kind::Number;
    out.text_ = text_.substr(start, pos_ - start);
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t elements_ = 0;
};

const JsonValue& JsonValue::operator[](std::string_view name) const {
  static const JsonValue kNull;
  for (const auto& [member_name, value] : members_) {
    if (member_name == name) return value;
  }
  return kNull;
}

std::optional<JsonValue> parse_json_prefix(std::string_view text) {
  JsonValue value;
  JsonReader reader(text);
  if (!reader.read_value(value, 0)) return std::nullopt;
  return value;
}

}  // namespace bounced
