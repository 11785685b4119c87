// What one recipient's evidence adds up to: the class, reason, status and
// Postmark type of a BounceResult. The evidence comes from a DSN recipient
// group, an SES record or the lines of a plain notice; the order of trust is
//   1. what the report states outright (DSN Action; SES bounceSubType);
//   2. the remote server's reply: a phrase that names a cause
//      (reason_rules.cpp), else its enhanced status code (RFC 3463,
//      status_codes.cpp), else words that only say "no";
//   3. the notice's lines about the recipient, read the same way, then the
//      whole notice;
//   4. the SMTP command the rejection answered (report_cues.cpp);
//   5. whether the failure is final at all (status class, Action, notice).
#pragma once

#include <optional>
#include <string>

#include "bounced/classify/bounce_report.h"

namespace bounced {

struct RecipientEvidence {
  std::string address;
  std::string action;           // DSN Action, lower case; empty when the report has none
  std::string status;           // DSN Status; empty when none
  std::string diagnostic;       // the remote server's reply (Diagnostic-Code, diagnosticCode)
  std::string diagnostic_type;  // the Diagnostic-Code type ("smtp", "x-unix"), lower case
  std::string context;          // the notice's lines about this recipient
  std::string remote_mta;
  std::optional<Reason> stated_reason;  // when the report itself names it (SES sub-types)
  std::optional<Reason> notice_reason;  // what the whole notice says, the last place to look
  bool notice_still_trying = false;     // the notice says delivery is only delayed
  bool notice_permanent = false;        // the notice says the failure is permanent
};

BounceResult decide_recipient(const RecipientEvidence& evidence);

// `text` with white space folded and cut to a bounded length on a UTF-8
// character boundary, for BounceResult::diagnostic.
std::string bounded_diagnostic(std::string_view text);

}  // namespace bounced
