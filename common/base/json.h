// json_quote: a JSON string literal (RFC 8259 section 7) for the few places
// stamp writes JSON by hand (sandbox envelopes, --json output). Bytes of UTF-8
// pass through; control characters are escaped.
#pragma once

#include <string>
#include <string_view>

namespace common {

std::string json_quote(std::string_view text);

}  // namespace common
