// The value encoding shared by the spool's text formats (queue_file,
// queue_state): one token per value, xtext (RFC 3461) so that it holds no
// space or newline, "-" for the empty value, and a value that is itself "-"
// escaped as "+2D".
#pragma once

#include <string>
#include <string_view>

#include "common/base/result.h"

namespace mta {

std::string encode_field(std::string_view value);
common::Result<std::string> decode_field(std::string_view token, std::string_view what);

}  // namespace mta
