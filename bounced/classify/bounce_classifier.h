// classify_message: the one entry point of the bounce classifier. Takes the raw
// bytes of a message that came back to a Return-Path address (or a file holding
// one or more of them in mbox form) and says what it reports about whom.
//
// It never throws and never fails: hostile or broken input yields a report of kind
// Unknown. Input larger than kMaxClassifiedMessageBytes is not parsed.
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
