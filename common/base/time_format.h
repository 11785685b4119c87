// Date-time text in the RFC 5322 section 3.3 form ("Thu, 26 Nov 2026 14:30:00 +0000"),
// for Date, Received and DSN Arrival-Date fields. Always UTC: no locale, no TZ.
#pragma once

#include <ctime>
#include <string>

namespace common {

std::string rfc5322_date(std::time_t when);

}  // namespace common
