// QueueRender: the text `stampctl queue list/show` print, for people (a table,
// a block per message) and for programs (--json).
//
// Owns layout and escaping: text from the network (addresses, replies) has its
// control characters escaped so it cannot drive the terminal. It reads nothing
// and knows no file formats; `now` is passed in so output is reproducible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ctl/queue_view.h"

namespace ctl {

std::string render_list_text(const std::vector<MessageView>& messages, std::int64_t now);
std::string render_list_json(const std::vector<MessageView>& messages, std::int64_t now);
std::string render_show_text(const MessageView& message, std::int64_t now);
std::string render_show_json(const MessageView& message, std::int64_t now);

// "45s", "3m", "2h", "4d": the largest whole unit.
std::string format_age(std::int64_t seconds);

}  // namespace ctl
