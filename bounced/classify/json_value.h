// A small, strict, bounded JSON (RFC 8259) reader for the one JSON input the
// classifier meets: Amazon SES notifications, possibly wrapped in an SNS
// envelope. Written here because the project's dependencies have no JSON
// library; if one is added (nlohmann-json3-dev, libjson-glib-dev), this file
// should go. Depth and size are bounded; anything malformed is "no value".
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bounced {

class JsonValue {
 public:
  enum class Kind { Null, Bool, Number, String, Array, Object };

  Kind kind() const { return kind_; }
  bool is_object() const { return kind_ == Kind::Object; }
  bool is_array() const { return kind_ == Kind::Array; }
  bool is_string() const { return kind_ == Kind::String; }

  // The string value, or empty for anything else.
  const std::string& text() const { return text_; }
  // The member `name` of an object, or a shared null value.
  const JsonValue& operator[](std::string_view name) const;
  // The elements of an array (empty for anything else).
  const std::vector<JsonValue>& elements() const { return elements_; }

 private:
  friend class JsonReader;
  Kind kind_ = Kind::Null;
  std::string text_;  // String; also the literal text of a Number or Bool
  std::vector<JsonValue> elements_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// The JSON value that starts at the beginning of `text` (leading white space
// allowed, anything after the value ignored), or nothing.
std::optional<JsonValue> parse_json_prefix(std::string_view text);

}  // namespace bounced
