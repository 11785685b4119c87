// From a reason to our class, and from class and reason to the Postmark bounce
// Type and TypeCode the webhooks carry (shared/research/peers.md section 2.3).
// Both are tables in postmark_types.cpp.
#pragma once

#include <string_view>

#include "bounced/classify/bounce_report.h"

namespace bounced {

// The class a reason stands for (the corpus README's reason -> class table).
// `temporary` (a 4xx status, or a DSN that says the MTA keeps trying) turns the
// reasons that depend on permanence: a null-MX domain on a 4xx is soft, a
// failure nobody could classify is hard when permanent and soft when not.
BounceClass class_for_reason(Reason reason, bool temporary);

struct PostmarkType {
  std::string_view name;
  int code;
};

// `status` is the enhanced status code, if any ("5.1.3" is a bad address);
// `dns_failure` says a temporary result came from a DNS lookup;
// `feedback_type` is the ARF Feedback-Type of a complaint.
PostmarkType postmark_type(BounceClass klass, Reason reason, std::string_view status,
                           bool dns_failure, std::string_view feedback_type);

}  // namespace bounced
