// Deciding one recipient's result. See recipient_verdict.h.
#include "bounced/classify/recipient_verdict.h"

#include "bounced/classify/phrase_matcher.h"
#include "bounced/classify/postmark_types.h"
#include "bounced/classify/reason_rules.h"
#include "bounced/classify/report_cues.h"
#include "bounced/classify/status_codes.h"

namespace bounced {
namespace {

constexpr std::size_t kMaxDiagnosticBytes = 500;

bool is_positive_action(std::string_view action) {
  // RFC 3464 section 2.3.3: the message reached the recipient, or was passed on
  // to a system that will not report further.
  return action == "delivered" || action == "relayed" || action == "expanded";
}

// "5.0.0" and "4.0.0" only say "permanent" or "temporary".
bool is_generic_status(std::string_view status) {
  return status.size() == 5 && status.substr(1) == ".0.0";
}

// The DSN's Status, made more precise by a code in the diagnostic of the same
// class (a DSN may say 5.0.0 while the server said "550 5.1.1").
std::string best_status(const RecipientEvidence& evidence) {
  std::string stated = is_enhanced_status(evidence.status) ? evidence.status : std::string();
  std::string said = find_enhanced_status(evidence.diagnostic);
  if (said.empty() && evidence.diagnostic.empty()) said = find_enhanced_status(evidence.context);
  if (stated.empty()) return said;
  if (is_generic_status(stated) && !said.empty() && said[0] == stated[0]) return said;
  return stated;
}

// RFC 3463 section 3.1: the class digit. Without a code, the reply code's first
// digit (RFC 5321 section 4.2.1), then the DSN action, then the notice's words.
bool is_temporary(const RecipientEvidence& evidence, std::string_view status,
                  std::string_view reply_code) {
  if (evidence.action == "delayed") return true;
  if (!status.empty()) return status[0] == '4';
  if (!reply_code.empty()) return reply_code[0] == '4';
  return evidence.notice_still_trying && !evidence.notice_permanent;
}

// Reasons that blame the recipient's address, which a rejection of the sender
// or of the connection cannot mean.
bool blames_recipient(std::optional<Reason> reason) {
  if (!reason) return true;
  switch (*reason) {
    case Reason::UserUnknown:
    case Reason::HostUnknown:
    case Reason::NotAccept:
    case Reason::Suspend:
    case Reason::HasMoved:
    case Reason::Filtered:
      return true;
    default:
      return false;
  }
}

// The SMTP stage refines the reason: a "550 no such domain" in answer to MAIL
// FROM is about our sender, and anything refused at the greeting or HELO is a
// block of the sending host (RFC 5321 section 3.1 and 4.1.1.1).
std::optional<Reason> apply_stage(std::optional<Reason> reason, SmtpStage stage) {
  if (stage == SmtpStage::MailFrom && blames_recipient(reason)) return Reason::Rejected;
  if (stage == SmtpStage::Connection &&
      (blames_recipient(reason) || reason == Reason::Rejected || reason == Reason::SecurityError ||
       reason == Reason::SyntaxError)) {
    return Reason::Blocked;
  }
  return reason;
}

// Codes registered after RFC 3463 for one precise cause (RFC 7372: x.7.20 to
// x.7.29) say more than a generic "Recipient address rejected" around them.
bool is_precise_policy_status(std::string_view status) {
  return status.size() == 6 && status.substr(1, 4) == ".7.2";
}

// Amazon SES wraps the remote server's reply in its own words: "5.1.0 - Unknown
// address error 550-'5.7.1 <a@b>... Access denied' (delivery attempts: 0)".
// The quoted reply is what the remote server said.
std::string_view quoted_remote_reply(std::string_view diagnostic) {
  std::size_t quote = diagnostic.find("-'");
  if (quote == std::string_view::npos || quote < 3) return {};
  std::string_view code = diagnostic.substr(quote - 3, 3);
  if ((code[0] != '4' && code[0] != '5') || code[1] < '0' || code[1] > '9' || code[2] < '0' ||
      code[2] > '9')
    return {};
  std::size_t close = diagnostic.rfind('\'');
  if (close <= quote + 1) return {};
  return diagnostic.substr(quote + 2, close - quote - 2);
}

// The reason the words and the code give, from the strongest evidence down:
// the remote server's own reply (a DSN's Diagnostic-Code) before the notice's
// prose about the recipient; within each, specific phrases before the enhanced
// status code, and the code before words that only say "no".
std::optional<Reason> reason_from_words(const RecipientEvidence& evidence,
                                        std::string_view status) {
  if (evidence.stated_reason) return evidence.stated_reason;
  std::string_view remote_reply = quoted_remote_reply(evidence.diagnostic);
  std::string diagnostic =
      fold_for_matching(remote_reply.empty() ? evidence.diagnostic : remote_reply);
  std::string context = fold_for_matching(evidence.context);
  std::optional<Reason> by_status = reason_for_status(status);

  std::optional<Reason> reason = reason_from_text(diagnostic);
  if (!reason && !diagnostic.empty())
    reason = by_status ? by_status : reason_from_text(diagnostic, RuleStrength::Generic);
  if (!reason) reason = reason_from_text(context);
  if (!reason) reason = by_status;
  if (!reason) reason = reason_from_text(context, RuleStrength::Generic);
  if (!reason) reason = evidence.notice_reason;

  // RFC 3464 section 2.3.6: an "x-unix" diagnostic comes from the local
  // delivery program (procmail, a pipe), not from an SMTP server; unless it
  // says the mailbox or disk is full, the program is what failed.
  if (evidence.diagnostic_type == "x-unix" && reason != Reason::MailboxFull &&
      reason != Reason::SystemFull) {
    return Reason::MailerError;
  }
  if (reason == Reason::UserUnknown && is_precise_policy_status(status)) return by_status;
  // RFC 3463 X.2.3 is the recipient's own size limit; "message too big" words
  // with it say which limit.
  if (reason == Reason::MesgTooBig && by_status == Reason::ExceedLimit) return by_status;
  return reason;
}

// The reason, with what the SMTP stage and the DSN action add (see recipient_verdict.h).
Reason decide_reason(const RecipientEvidence& evidence, std::string_view status, bool temporary,
                     bool& dns_failure) {
  std::optional<Reason> reason = reason_from_words(evidence, status);
  if (!evidence.stated_reason) {
    SmtpStage stage = stage_from_text(fold_for_matching(evidence.context) + " " +
                                      fold_for_matching(evidence.diagnostic));
    reason = apply_stage(reason, stage);
    // The server took RCPT TO and said "user unknown" only after reading the
    // message: its content filter, not its address book, turned it down.
    if (stage == SmtpStage::Data && reason == Reason::UserUnknown &&
        reason_from_text(fold_for_matching(evidence.diagnostic.empty() ? evidence.context
                                                                       : evidence.diagnostic)) ==
            Reason::UserUnknown) {
      reason = Reason::Filtered;
    }
  }
  if (temporary && reason == Reason::HostUnknown) {
    // A lookup that failed for now: the domain may well exist.
    reason = Reason::NetworkError;
    dns_failure = true;
  }
  if (!reason && evidence.action == "failed" && temporary) {
    // RFC 3464 section 2.3.3: "failed" with a transient status means the MTA
    // gave up after retrying.
    reason = Reason::Expired;
  }
  return reason.value_or(Reason::Undefined);
}

}  // namespace

std::string bounded_diagnostic(std::string_view text) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
    if (out.size() >= kMaxDiagnosticBytes) break;
  }
  // Do not end inside a UTF-8 sequence.
  while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
  if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0xC0) out.pop_back();
  return out;
}

BounceResult decide_recipient(const RecipientEvidence& evidence) {
  BounceResult result;
  result.recipient = evidence.address;
  result.action = evidence.action;
  result.remote_mta = evidence.remote_mta;
  result.diagnostic =
      bounded_diagnostic(evidence.diagnostic.empty() ? evidence.context : evidence.diagnostic);
  result.status = best_status(evidence);
  result.reply_code = find_reply_code(evidence.diagnostic);
  if (result.reply_code.empty() && evidence.diagnostic.empty())
    result.reply_code = find_reply_code(evidence.context);

  if (is_positive_action(evidence.action) || evidence.stated_reason == Reason::Delivered) {
    result.bounce_class = BounceClass::Delivered;
    result.reason = Reason::Delivered;
    PostmarkType type = postmark_type(result.bounce_class, result.reason, result.status, false, {});
    result.type = type.name;
    result.type_code = type.code;
    return result;
  }

  bool temporary = is_temporary(evidence, result.status, result.reply_code);
  bool dns_failure = false;
  result.reason = decide_reason(evidence, result.status, temporary, dns_failure);

  // Whether the MTA is still trying, which the status code does not tell: a
  // "failed" DSN with a 4.x.x status is final.
  bool still_trying =
      evidence.action == "delayed" ||
      (evidence.action.empty() && evidence.notice_still_trying && !evidence.notice_permanent);
  result.bounce_class =
      class_for_reason(result.reason, result.reason == Reason::Expired ? still_trying : temporary);
  if (still_trying && result.bounce_class == BounceClass::Hard) {
    // Still being retried: the address is not known to be bad yet.
    result.bounce_class = BounceClass::Soft;
  }
  PostmarkType type =
      postmark_type(result.bounce_class, result.reason, result.status, dns_failure, {});
  result.type = type.name;
  result.type_code = type.code;
  return result;
}

}  // namespace bounced
