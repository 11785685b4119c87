// append_quoted: a double-quoted, escaped copy of untrusted text, the one
// routine behind log values, config diagnostics and JSON strings. Quote,
// backslash, CR, LF and TAB get their C escapes; other control characters
// become \xNN (or \u00NN for JSON); UTF-8 passes through unchanged.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace common {

enum class ControlEscape { Hex, JsonUnicode };

// At most `max_length` input bytes are copied; a longer text ends in "...".
void append_quoted(std::string& out, std::string_view text,
                   std::size_t max_length = std::numeric_limits<std::size_t>::max(),
                   ControlEscape style = ControlEscape::Hex);

// The text without quotes, for terminals: control characters, DEL and the
// backslash as \xNN, so a hostile value cannot move the cursor or forge lines.
std::string escape_controls(std::string_view text);

}  // namespace common
