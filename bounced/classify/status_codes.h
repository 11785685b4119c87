// SMTP reply codes (RFC 5321 section 4.2) and enhanced status codes (RFC 3463)
// found in free text, and the reason an enhanced code stands for on its own.
// The subject/detail meanings are one table in status_codes.cpp; the diagnostic
// text may refine them later (reason_rules.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bounced/classify/bounce_report.h"

namespace bounced {

// The enhanced status code the text gives ("5.1.1"), preferring one that follows
// a reply code ("550 5.1.1", "550-5.1.1"); empty when there is none.
std::string find_enhanced_status(std::string_view text);

// The first 4xx/5xx reply code the text gives, preferring one that precedes an
// enhanced status code; empty when there is none.
std::string find_reply_code(std::string_view text);

// Is `status` a well-formed enhanced status code (class 2, 4 or 5)?
bool is_enhanced_status(std::string_view status);

// The reason an enhanced status code means by itself (RFC 3463 section 3 and the
// registry's later additions), or nothing for codes that say too little
// (x.0.0, x.1.0, x.2.0, ...).
std::optional<Reason> reason_for_status(std::string_view status);

}  // namespace bounced
