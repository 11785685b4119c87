// Reading ARF feedback reports. See feedback_report.h.
#include "bounced/classify/feedback_report.h"

#include "bounced/classify/address_scanner.h"
#include "bounced/classify/dsn_fields.h"
#include "common/base/ascii.h"

namespace bounced {

FeedbackReport read_feedback_report(std::string_view body) {
  FeedbackReport report;
  // RFC 5965 section 3: one group of fields, in the same syntax as RFC 3464's.
  for (const FieldBlock& block : read_field_blocks(body, FieldLayout::Report)) {
    if (report.feedback_type.empty()) {
      std::string_view type = field_named(block, "Feedback-Type");
      report.feedback_type = common::ascii_lower(type.substr(0, type.find_first_of(" ;(")));
    }
    if (report.original_mail_from.empty()) {
      report.original_mail_from = clean_address(field_named(block, "Original-Mail-From"));
    }
    for (std::string_view field : {"Original-Rcpt-To", "Removal-Recipient"}) {
      for (std::string_view value : fields_named(block, field)) {
        std::string address = clean_address(value);
        if (address.empty()) continue;
        bool seen = false;
        for (const std::string& known : report.recipients)
          seen = seen || same_address(known, address);
        if (!seen) report.recipients.push_back(address);
      }
    }
  }
  return report;
}

}  // namespace bounced
