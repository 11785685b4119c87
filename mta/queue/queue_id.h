// Queue ids: 16 upper-case hex digits, the millisecond clock then a sequence
// number, so ids sort by arrival and are safe as file names and in logs.
#pragma once

#include <string>
#include <string_view>

namespace mta {

std::string new_queue_id();
bool is_queue_id(std::string_view text);

}  // namespace mta
