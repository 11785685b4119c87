// The cue tables. See report_cues.h.
#include "bounced/classify/report_cues.h"

#include <array>

#include "bounced/classify/phrase_matcher.h"
#include "common/base/ascii.h"

namespace bounced {
namespace {

template <std::size_t N>
bool any_matches(std::string_view folded, const std::array<std::string_view, N>& patterns) {
  for (std::string_view pattern : patterns) {
    if (pattern_matches(folded, pattern)) return true;
  }
  return false;
}

// Local parts and display names of the senders of delivery reports.
constexpr std::array<std::string_view, 10> kMailSystemSenders{
    "mailer-daemon", "mailer_daemon",      "mailerdaemon", "mail-daemon",   "postmaster",
    "mail delivery", "mail administrator", "mail system",  "double-bounce", "post_master"};

constexpr std::array<std::string_view, 34> kBounceSubjects{
    "undeliver",  // Undeliverable, Undelivered Mail Returned to Sender
    "undelivered",
    "returned mail",
    "return mail",
    "returned to sender",
    "delivery status notification",
    "delivery failure",
    "delivery failed",
    "delivery has failed",
    "delivery notification",
    "failure notice",
    "failure delivery",
    "mail delivery failed",
    "delivery problem",
    "could not be delivered",
    "couldn't be delivered",
    "not delivered",
    "non remis",
    "non-remis",
    "nondeliverable",
    "non-deliverable",
    "mail system error",
    "permanent delivery failure",
    "warning: could not send",
    "delayed mail",
    "delivery delayed",
    "message delayed",
    "unzustellbar",
    "nicht zustellbar",
    "error sending",
    "error delivering",
    "rejected:",
    "nicht ausgeliefert",
    "there was an error"};

constexpr std::array<std::string_view, 22> kAutoReplySubjects{"out of office",
                                                              "out of the office",
                                                              "auto:",
                                                              "automatic reply",
                                                              "auto reply",
                                                              "auto-reply",
                                                              "autoreply",
                                                              "auto response",
                                                              "auto-response",
                                                              "autoresponse",
                                                              "vacation",
                                                              "away from my mail",
                                                              "away from the office",
                                                              "abwesenheit",
                                                              "abwesend",
                                                              "réponse automatique",
                                                              "reponse automatique",
                                                              "respuesta automática",
                                                              "risposta automatica",
                                                              "自動応答",
                                                              "自動返信",
                                                              "不在"};

constexpr std::array<std::string_view, 5> kComplaintSubjects{"complaint about message from",
                                                             "abuse report", "spam report",
                                                             "fbl report", "feedback loop report"};

constexpr std::array<std::string_view, 46> kDeliveryFailedPhrases{
    "could not be delivered", "couldn't be delivered", "could not deliver", "was not delivered",
    "were not delivered", "wasn't delivered", "not be delivered", "undeliverable", "undelivered",
    "delivery failed", "delivery has failed", "delivery to the following", "failed permanently",
    "permanent error", "permanent fatal", "fatal error", "unable to deliver", "not able to deliver",
    "wasn't able to deliver", "delivery failure", "failed to deliver", "could not send",
    "returned mail", "mail delivery failed", "following address(es) failed", "rejected by",
    "did not reach", "delivery problem", "has not yet been delivered", "has been delayed",
    "not yet been delivered", "delivery attempts", "message could not", "following recipient",
    "following addresses", "non remis", "not delivered", "error sending",
    // a notice that names the problem is a bounce whatever else it says
    "user unknown", "unknown user", "no such user", "mailbox unavailable", "mailbox is full",
    "does not exist", "invalid user",
    // a list manager (fml, ezmlm, Mailman) refusing a post from a non-member
    "you are not a member of"};

constexpr std::array<std::string_view, 14> kStillTryingPhrases{"warning message only",
                                                               "will be retried",
                                                               "will retry",
                                                               "still trying",
                                                               "will continue trying",
                                                               "delivery attempts will continue",
                                                               "has not yet been delivered",
                                                               "not yet been delivered",
                                                               "has been delayed",
                                                               "delivery delayed",
                                                               "temporarily deferred",
                                                               "do not need to resend",
                                                               "delay reason",
                                                               "will keep trying"};

constexpr std::array<std::string_view, 9> kPermanentPhrases{
    "permanent error",     "failed permanently", "permanent failure",
    "permanent fatal",     "fatal error",        "permanently",
    "this is a permanent", "i've given up",      "not going to try again"};

struct StageCue {
  std::string_view pattern;
  SmtpStage stage;
};

constexpr std::array kStageCues{
    StageCue{"in reply to mail from", SmtpStage::MailFrom},
    StageCue{"after mail from", SmtpStage::MailFrom},
    StageCue{"sender was rejected", SmtpStage::MailFrom},
    StageCue{"[mail_from]", SmtpStage::MailFrom},
    StageCue{">>> mail from", SmtpStage::MailFrom},
    StageCue{"after initial connection", SmtpStage::Connection},
    StageCue{"in reply to helo", SmtpStage::Connection},
    StageCue{"in reply to ehlo", SmtpStage::Connection},
    StageCue{"after helo", SmtpStage::Connection},
    StageCue{"after ehlo", SmtpStage::Connection},
    StageCue{"my name was rejected", SmtpStage::Connection},
    StageCue{"refused to talk to me", SmtpStage::Connection},
    StageCue{"in reply to rcpt to", SmtpStage::RcptTo},
    StageCue{"after rcpt to", SmtpStage::RcptTo},
    StageCue{"following rcpt", SmtpStage::RcptTo},
    StageCue{"[rcpt_to]", SmtpStage::RcptTo},
    StageCue{"in reply to end of data", SmtpStage::Data},
    StageCue{"in reply to data", SmtpStage::Data},
    StageCue{"after end of data", SmtpStage::Data},
    StageCue{"after data", SmtpStage::Data},
};

// A line (folded) that introduces the returned message in a plain notice.
constexpr std::array<std::string_view, 23> kReturnedMessageMarkers{
    "below this line is a copy of the message",
    "this is a copy of the message",
    "this is a copy of the headers",
    "copy of the original message",
    "original message follows",
    "original message headers",
    "returned message",
    "original message --",
    "-- original message",
    "original message:",
    "returned mail follows",
    "message header follows",
    "message headers follow",
    "unsent message below",
    "unsent message follows",
    "undelivered message follows",
    "undeliverable message attached",
    "message text follows",
    "headers of the original message",
    "original mail follows",
    "original message as received",
    "content-type: message/rfc822",
    "content-type: text/rfc822-headers",
};

}  // namespace

bool sent_by_mail_system(const HeaderList& headers) {
  std::string from = common::ascii_lower(headers.get("From"));
  for (std::string_view sender : kMailSystemSenders) {
    if (from.find(sender) != std::string::npos) return true;
  }
  return false;
}

bool has_bounce_subject(const HeaderList& headers) {
  return any_matches(fold_for_matching(headers.get("Subject")), kBounceSubjects);
}

bool has_autoreply_marks(const HeaderList& headers) {
  // RFC 3834 section 5.1: "auto-replied" marks a response; "auto-generated" is
  // any other automatic message (bounces carry it too); "no" is a person.
  std::string auto_submitted = common::ascii_lower(headers.get("Auto-Submitted"));
  if (auto_submitted.starts_with("auto-replied")) return true;
  if (!headers.get("X-Autoreply").empty() || !headers.get("X-Autorespond").empty() ||
      !headers.get("X-Autoresponder").empty() || !headers.get("X-Mail-Autoreply").empty())
    return true;
  if (common::ascii_lower(headers.get("Precedence")).starts_with("auto_reply")) return true;
  return any_matches(fold_for_matching(headers.get("Subject")), kAutoReplySubjects);
}

bool has_complaint_subject(const HeaderList& headers) {
  return any_matches(fold_for_matching(headers.get("Subject")), kComplaintSubjects);
}

bool text_says_delivery_failed(std::string_view folded_notice) {
  return any_matches(folded_notice, kDeliveryFailedPhrases);
}

bool text_says_still_trying(std::string_view folded_notice) {
  return any_matches(folded_notice, kStillTryingPhrases);
}

bool text_says_permanent(std::string_view folded_notice) {
  return any_matches(folded_notice, kPermanentPhrases);
}

SmtpStage stage_from_text(std::string_view folded_text) {
  for (const StageCue& cue : kStageCues) {
    if (pattern_matches(folded_text, cue.pattern)) return cue.stage;
  }
  return SmtpStage::Unknown;
}

std::size_t returned_message_offset(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() < 120) {
      std::string folded = fold_for_matching(line);
      // Postfix's advice "delete your own text from the attached returned
      // message." is prose above the recipients, not the marker.
      bool prose = folded.find("attached returned message") != std::string::npos;
      for (std::string_view marker : kReturnedMessageMarkers) {
        if (prose) break;
        if (folded.find(marker) != std::string::npos) return pos;
      }
      // Without a marker, the original's own header block gives it away.
      std::string_view unquoted = line.starts_with(">") ? line.substr(1) : line;
      if (unquoted.starts_with("Return-Path: <") || unquoted.starts_with("Received: from ") ||
          unquoted.starts_with("Return-path: <"))
        return pos;
    }
    pos = end + 1;
  }
  return text.size();
}

}  // namespace bounced
