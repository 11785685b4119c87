// JSON string quoting. See json.h.
#include "common/base/json.h"

#include "common/base/quoting.h"

namespace common {

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_quoted(out, text, std::numeric_limits<std::size_t>::max(), ControlEscape::JsonUnicode);
  return out;
}

}  // namespace common
