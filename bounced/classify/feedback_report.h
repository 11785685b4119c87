// RFC 5965 ARF feedback reports: the message/feedback-report part of a
// multipart/report; report-type=feedback-report (spam complaints from mailbox
// providers' feedback loops, opt-out and authentication-failure reports).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bounced {

struct FeedbackReport {
  std::string feedback_type;  // Feedback-Type (RFC 5965 section 3.1), lower case
  // Original-Rcpt-To (section 3.2), then Removal-Recipient (used by opt-out
  // reports), valid addresses only: providers often redact them.
  std::vector<std::string> recipients;
  std::string original_mail_from;
};

FeedbackReport read_feedback_report(std::string_view body);

}  // namespace bounced
