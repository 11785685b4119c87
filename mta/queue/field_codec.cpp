// Spool field encoding. See field_codec.h.
#include "mta/queue/field_codec.h"

#include "common/smtp/command_parser.h"

namespace mta {

std::string encode_field(std::string_view value) {
  if (value.empty()) return "-";
  if (value == "-") return "+2D";
  return common::smtp::encode_xtext(value);
}

common::Result<std::string> decode_field(std::string_view token, std::string_view what) {
  if (token == "-") return std::string();
  if (token.empty()) return common::fail(std::string(what) + ": empty value");
  auto decoded = common::smtp::decode_xtext(token);
  if (!decoded) return common::fail(std::string(what) + ": " + decoded.error());
  return *decoded;
}

}  // namespace mta
