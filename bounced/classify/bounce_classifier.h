// classify_message: the one entry point of the bounce classifier. Takes the raw
// bytes of a message that came back to a Return-Path address (or a file holding
// one or more of them in mbox form) and says what it reports about whom.
//
// It does not fail: input it cannot make sense of (hostile, broken, not a report
// at all) yields one result of class Unknown. Input larger than
// kMaxClassifiedMessageBytes is not parsed.
#pragma once

#include <cstddef>
#include <string_view>

#include "bounced/classify/bounce_report.h"

namespace bounced {

// Reports are small; a bounce that returns a whole large message is cut by the
// remote MTA long before this. Larger input is refused unparsed.
inline constexpr std::size_t kMaxClassifiedMessageBytes = 10 * 1024 * 1024;

BounceReport classify_message(std::string_view raw_message);

}  // namespace bounced
