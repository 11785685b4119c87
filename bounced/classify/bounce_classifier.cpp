// Deciding what a report is and whom it is about. See bounce_classifier.h.
//
// The report kinds are tried from the most structured to the least:
//   1. an Amazon SES JSON notification;
//   2. an RFC 5965 feedback report (or a non-ARF feedback-loop complaint);
//   3. RFC 3464 delivery-status parts, then the same fields written inline;
//   4. an RFC 3834 auto-reply (only when nothing says it is a bounce: bounces
//      carry "Auto-Submitted: auto-replied" too);
//   5. a plain-text bounce: X-Failed-Recipients, then the notice's prose;
//   6. a bounce carried inside the message (forwarded to us);
//   7. the returned original's To, when everything says "bounce" but nothing
//      names the recipient.
// Each recipient's class and reason are decided in recipient_verdict.cpp.
#include "bounced/classify/bounce_classifier.h"

#include "bounced/classify/address_scanner.h"
#include "bounced/classify/dsn_fields.h"
#include "bounced/classify/feedback_report.h"
#include "bounced/classify/message_parts.h"
#include "bounced/classify/phrase_matcher.h"
#include "bounced/classify/postmark_types.h"
#include "bounced/classify/reason_rules.h"
#include "bounced/classify/recipient_finder.h"
#include "bounced/classify/recipient_verdict.h"
#include "bounced/classify/report_cues.h"
#include "bounced/classify/ses_notification.h"
#include "common/base/ascii.h"
#include "common/mime/address_header.h"

namespace bounced {
namespace {

// A notice longer than this is not a bounce anyone wrote; the rest is ignored.
constexpr std::size_t kMaxNoticeBytes = 256 * 1024;
// A report about more recipients than this is cut (a real one lists a few).
constexpr std::size_t kMaxResultsPerReport = 1000;

std::vector<std::string> addresses_in_header(std::string_view value) {
  std::vector<std::string> addresses;
  if (value.empty()) return addresses;
  for (const common::mime::MailboxAddress& mailbox : common::mime::parse_address_list(value)) {
    std::string address = clean_address(mailbox.address);
    if (!address.empty()) addresses.push_back(address);
    if (addresses.size() >= kMaxResultsPerReport) break;
  }
  return addresses;
}

void add_unique(std::vector<std::string>& addresses, std::string address) {
  for (const std::string& known : addresses) {
    if (same_address(known, address)) return;
  }
  addresses.push_back(std::move(address));
}

std::string without_angle_brackets(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '<')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '>')) value.remove_suffix(1);
  return std::string(value);
}

OriginalMessage original_from_headers(const HeaderList& headers) {
  OriginalMessage original;
  original.message_id = without_angle_brackets(headers.get("Message-ID"));
  original.stamp_queue_id = std::string(headers.get("X-Stamp-Queue-Id"));
  original.from = std::string(headers.get("From"));
  original.to = std::string(headers.get("To"));
  original.subject = std::string(headers.get("Subject"));
  return original;
}

BounceResult typed(BounceResult result, std::string_view status = {}) {
  PostmarkType type =
      postmark_type(result.bounce_class, result.reason, status, false, result.feedback_type);
  result.type = type.name;
  result.type_code = type.code;
  return result;
}

BounceResult unknown_result() { return typed(BounceResult{}); }

BounceResult complaint_result(std::string recipient, std::string feedback_type) {
  BounceResult result;
  result.recipient = std::move(recipient);
  result.bounce_class = BounceClass::Complaint;
  result.reason = Reason::Feedback;
  // RFC 5965 section 3.1 makes Feedback-Type required; "abuse" when it is missing.
  result.feedback_type = feedback_type.empty() ? "abuse" : std::move(feedback_type);
  return typed(std::move(result));
}

// What a message says in prose, split from what it returns.
struct Notice {
  std::string text;      // the human-readable part of every text part, bounded
  std::string returned;  // the returned message quoted after a plain notice, if any
};

Notice notice_of(const MessageParts& message) {
  Notice notice;
  for (const std::string& text : message.texts) {
    std::size_t offset = returned_message_offset(text);
    if (!notice.text.empty()) notice.text += '\n';
    notice.text += std::string_view(text).substr(0, offset);
    if (notice.returned.empty() && offset < text.size()) notice.returned = text.substr(offset);
    if (notice.text.size() >= kMaxNoticeBytes) break;
  }
  if (notice.text.size() > kMaxNoticeBytes) notice.text.resize(kMaxNoticeBytes);
  return notice;
}

// The headers of a returned message quoted in a plain notice. The marker line
// itself ("--- Below this line is a copy of the message.") is skipped.
HeaderList returned_headers_in_text(std::string_view returned) {
  while (!returned.empty()) {
    std::size_t end = returned.find('\n');
    std::string_view line = returned.substr(0, end);
    std::size_t colon = line.find(':');
    bool header_line = colon != std::string_view::npos && colon > 0 &&
                       line.substr(0, colon).find_first_of(" \t") == std::string_view::npos;
    if (header_line) break;
    if (end == std::string_view::npos) return {};
    returned.remove_prefix(end + 1);
  }
  if (returned.empty()) return {};
  return read_header_block(returned);
}

std::optional<Reason> reason_in_notice(std::string_view folded_notice) {
  if (auto reason = reason_from_text(folded_notice)) return reason;
  return reason_from_text(folded_notice, RuleStrength::Generic);
}

class ReportBuilder {
 public:
  explicit ReportBuilder(const MessageParts& message)
      : message_(message),
        notice_(notice_of(message)),
        folded_notice_(fold_for_matching(notice_.text)),
        named_(notice_.text),
        still_trying_(text_says_still_trying(folded_notice_)),
        permanent_(text_says_permanent(folded_notice_)),
        notice_reason_(reason_in_notice(folded_notice_)) {
    if (!message.attached.empty()) {
      returned_headers_ = message.attached.front().headers;
    } else if (!notice_.returned.empty()) {
      returned_headers_ = returned_headers_in_text(notice_.returned);
    }
  }

  BounceReport build(int depth) {
    BounceReport report;
    report.original = original_from_headers(returned_headers_);
    if (from_ses(report) || from_feedback(report) || from_delivery_status(report) ||
        from_autoreply(report) || from_plain_notice(report) || from_carried_bounce(report, depth) ||
        from_returned_recipients(report)) {
      if (report.results.size() > kMaxResultsPerReport) report.results.resize(kMaxResultsPerReport);
      return report;
    }
    report.kind = ReportKind::Unknown;
    report.results.assign(1, unknown_result());
    return report;
  }

 private:
  bool looks_like_bounce() const {
    return sent_by_mail_system(message_.headers) || has_bounce_subject(message_.headers) ||
           !message_.headers.get("X-Failed-Recipients").empty() ||
           message_.report_type == "delivery-status" || text_says_delivery_failed(folded_notice_);
  }

  RecipientEvidence evidence_for(std::string address) const {
    RecipientEvidence evidence;
    evidence.address = std::move(address);
    evidence.notice_still_trying = still_trying_;
    evidence.notice_permanent = permanent_;
    evidence.notice_reason = notice_reason_;
    return evidence;
  }

  // The domain the report comes from, for notices that list bare mailbox
  // names: the From's domain less its host labels ("mx1.mail.example.com" ->
  // "example.com"; "example.co.jp" and the like keep three labels).
  std::string reporting_domain() const {
    std::vector<std::string> from = addresses_in_header(message_.headers.get("From"));
    if (from.empty()) return {};
    std::string domain = common::ascii_lower(from.front().substr(from.front().find('@') + 1));
    std::vector<std::string_view> labels;
    std::string_view rest = domain;
    while (!rest.empty()) {
      std::size_t dot = rest.find('.');
      labels.push_back(rest.substr(0, dot));
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    if (labels.size() < 2) return {};
    // A two-letter country code under a short second level ("co.uk", "ne.jp").
    std::size_t keep = labels.back().size() == 2 && labels[labels.size() - 2].size() <= 3 ? 3 : 2;
    if (labels.size() < keep) return {};
    std::string reduced;
    for (std::size_t i = labels.size() - keep; i < labels.size(); ++i) {
      if (!reduced.empty()) reduced += '.';
      reduced += labels[i];
    }
    return reduced;
  }

  NoticeHints notice_hints() const {
    NoticeHints hints;
    hints.unlikely = unlikely_recipients();
    hints.reporting_domain = reporting_domain();
    for (std::string_view header : {"To", "Cc"}) {
      for (std::string& address : addresses_in_header(returned_headers_.get(header)))
        add_unique(hints.original_recipients, std::move(address));
    }
    return hints;
  }

  std::vector<std::string> unlikely_recipients() const {
    std::vector<std::string> unlikely;
    for (std::string_view header : {"From", "To", "Reply-To", "Sender"}) {
      for (std::string& address : addresses_in_header(message_.headers.get(header))) {
        add_unique(unlikely, std::move(address));
      }
    }
    // The original's sender, however its headers name it.
    for (std::string_view header : {"From", "Sender", "Return-Path"}) {
      for (std::string& address : addresses_in_header(returned_headers_.get(header))) {
        add_unique(unlikely, std::move(address));
      }
    }
    return unlikely;
  }

  bool from_ses(BounceReport& report) {
    for (const std::string& text : message_.texts) {
      std::optional<SesNotification> notification = read_ses_notification(text);
      if (!notification) continue;
      report.kind = ReportKind::SesJson;
      if (!notification->original_message_id.empty()) {
        report.original.message_id = without_angle_brackets(notification->original_message_id);
      }
      if (!notification->stamp_queue_id.empty())
        report.original.stamp_queue_id = notification->stamp_queue_id;
      for (const SesRecipient& recipient : notification->recipients) {
        if (notification->type == SesNotification::Type::Complaint) {
          report.results.push_back(
              complaint_result(recipient.address, notification->feedback_type));
          continue;
        }
        RecipientEvidence evidence = evidence_for(recipient.address);
        evidence.action = common::ascii_lower(recipient.action);
        evidence.status = recipient.status;
        evidence.diagnostic = strip_type_prefix(recipient.diagnostic);
        evidence.stated_reason = recipient.reason;
        if (notification->temporary && evidence.action.empty()) evidence.action = "delayed";
        report.results.push_back(decide_recipient(evidence));
      }
      return true;
    }
    return false;
  }

  bool from_feedback(BounceReport& report) {
    bool arf = !message_.feedback_reports.empty();
    // Microsoft's JMRP and some others send the complained-about message as an
    // attachment under a "complaint about message from ..." subject, no ARF part.
    bool non_arf = !arf && has_complaint_subject(message_.headers) && !message_.attached.empty();
    if (!arf && !non_arf) return false;
    report.kind = ReportKind::Feedback;
    std::string feedback_type;
    std::vector<std::string> recipients;
    for (const std::string& body : message_.feedback_reports) {
      FeedbackReport feedback = read_feedback_report(body);
      if (feedback_type.empty()) feedback_type = feedback.feedback_type;
      for (std::string& address : feedback.recipients) add_unique(recipients, std::move(address));
    }
    // RFC 5965 section 2 item 3: the reported message (or its headers) follows;
    // its To is the complainer when the report does not name them.
    if (recipients.empty()) recipients = addresses_in_header(returned_headers_.get("To"));
    if (recipients.empty()) recipients.push_back({});
    for (std::string& address : recipients) {
      report.results.push_back(complaint_result(std::move(address), feedback_type));
    }
    return true;
  }

  // The address a DSN group names; a Final-Recipient that is no address (a
  // local file or program) falls back to Original-Recipient, then to the
  // same-position entry of X-Failed-Recipients or of the notice's list.
  std::string dsn_address(const DsnRecipientFields& fields, std::size_t index, std::size_t count) {
    if (std::string address = clean_address(fields.final_recipient); !address.empty())
      return address;
    if (std::string address = clean_address(fields.original_recipient); !address.empty())
      return address;
    std::vector<std::string> failed =
        addresses_in_header(message_.headers.get("X-Failed-Recipients"));
    if (failed.size() == count) return failed[index];
    if (!named_in_notice_) named_in_notice_ = named_.named(notice_hints());
    if (named_in_notice_->size() == count) return (*named_in_notice_)[index].address;
    // A bare mailbox name ("rfc822; jdoe"): the address with that local part
    // among the notice's recipients or the original's, when exactly one has it.
    std::vector<std::string> sent_to = notice_hints().original_recipients;
    std::string bare = strip_type_prefix(fields.final_recipient);
    if (!bare.empty() && bare.find_first_of("@ \t/|") == std::string::npos) {
      std::vector<std::string> candidates;
      for (const NoticeRecipient& recipient : *named_in_notice_)
        add_unique(candidates, recipient.address);
      for (const std::string& address : sent_to) add_unique(candidates, address);
      std::string match;
      std::size_t matches = 0;
      for (const std::string& address : candidates) {
        if (same_address(address.substr(0, address.find('@')), bare)) {
          match = address;
          ++matches;
        }
      }
      if (matches == 1) return match;
    }
    // One recipient group, one address the original was sent to.
    if (count == 1 && sent_to.size() == 1) return sent_to.front();
    return {};
  }

  bool from_delivery_status(BounceReport& report) {
    std::vector<DsnRecipientFields> groups;
    for (const std::string& body : message_.delivery_status) {
      for (DsnRecipientFields& fields :
           parse_delivery_status(body, FieldLayout::Report).recipients) {
        groups.push_back(std::move(fields));
      }
    }
    if (groups.empty()) {
      // The same fields written into a text notice (Amazon WorkMail, forwarded
      // and quoted bounces, mailers that build DSNs without MIME).
      for (const std::string& text : message_.texts) {
        for (DsnRecipientFields& fields :
             parse_delivery_status(text, FieldLayout::Inline).recipients) {
          groups.push_back(std::move(fields));
        }
      }
    }
    if (groups.empty()) return false;
    if (groups.size() > kMaxResultsPerReport) groups.resize(kMaxResultsPerReport);
    report.kind = ReportKind::Dsn;
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const DsnRecipientFields& fields = groups[i];
      RecipientEvidence evidence = evidence_for(dsn_address(fields, i, groups.size()));
      if (!evidence.address.empty()) {
        // RFC 3464 allows one group per attempt; report each recipient once.
        bool duplicate = false;
        for (const std::string& known : seen)
          duplicate = duplicate || same_address(known, evidence.address);
        if (duplicate) continue;
        seen.push_back(evidence.address);
        evidence.context = named_.context_for(evidence.address);
      }
      evidence.action = fields.action;
      evidence.status = fields.status;
      evidence.diagnostic = fields.diagnostic_code;
      evidence.diagnostic_type = fields.diagnostic_type;
      evidence.remote_mta = fields.remote_mta;
      report.results.push_back(decide_recipient(evidence));
    }
    return true;
  }

  bool from_autoreply(BounceReport& report) {
    if (!has_autoreply_marks(message_.headers) || looks_like_bounce()) return false;
    report.kind = ReportKind::AutoReply;
    BounceResult result;
    // RFC 3834 section 4: the response goes to the original's sender from the
    // mailbox that received it, so its From is the recipient we wrote to.
    std::vector<std::string> from = addresses_in_header(message_.headers.get("From"));
    if (!from.empty()) result.recipient = from.front();
    result.bounce_class = BounceClass::AutoReply;
    result.reason = Reason::Vacation;
    result.diagnostic = bounded_diagnostic(message_.headers.get("Subject"));
    report.results.push_back(typed(std::move(result)));
    return true;
  }

  bool from_plain_notice(BounceReport& report) {
    if (!looks_like_bounce()) return false;
    std::vector<NoticeRecipient> found;
    // Exim and Gmail name the failed recipients in a header of their own.
    for (std::string& address : addresses_in_header(message_.headers.get("X-Failed-Recipients"))) {
      found.push_back({address, named_.context_for(address)});
    }
    if (found.empty()) found = named_.named(notice_hints());
    if (found.empty()) return false;
    report.kind = ReportKind::Plain;
    for (NoticeRecipient& recipient : found) {
      RecipientEvidence evidence = evidence_for(std::move(recipient.address));
      evidence.context = std::move(recipient.context);
      report.results.push_back(decide_recipient(evidence));
    }
    return true;
  }

  bool from_carried_bounce(BounceReport& report, int depth) {
    if (depth >= kMaxAttachedMessageDepth) return false;
    for (const MessageParts& attached : message_.attached) {
      bool carried_report =
          !attached.delivery_status.empty() || !attached.feedback_reports.empty() ||
          sent_by_mail_system(attached.headers) || has_bounce_subject(attached.headers);
      if (!carried_report) continue;
      BounceReport inner = ReportBuilder(attached).build(depth + 1);
      if (inner.kind == ReportKind::Unknown) continue;
      report = std::move(inner);
      return true;
    }
    return false;
  }

  // Everything says "bounce" but nothing names the recipient: the returned
  // original's To is who we wrote to. Without that either, one result without
  // an address, and "unknown" unless the notice says why it failed.
  bool from_returned_recipients(BounceReport& report) {
    if (!looks_like_bounce()) return false;
    report.kind = ReportKind::Plain;
    std::vector<std::string> recipients = addresses_in_header(returned_headers_.get("To"));
    // Sent only to Cc: (Bcc'd lists put themselves there): one address decides.
    if (recipients.empty()) {
      std::vector<std::string> cc = addresses_in_header(returned_headers_.get("Cc"));
      if (cc.size() == 1) recipients = std::move(cc);
    }
    if (recipients.empty()) {
      RecipientEvidence evidence = evidence_for({});
      BounceResult result = decide_recipient(evidence);
      report.results.push_back(result.reason == Reason::Undefined ? unknown_result()
                                                                  : std::move(result));
      return true;
    }
    for (std::string& address : recipients)
      report.results.push_back(decide_recipient(evidence_for(std::move(address))));
    return true;
  }

  const MessageParts& message_;
  Notice notice_;
  std::string folded_notice_;
  NoticeRecipients named_;
  bool still_trying_;
  bool permanent_;
  std::optional<Reason> notice_reason_;
  HeaderList returned_headers_;
  std::optional<std::vector<NoticeRecipient>> named_in_notice_;  // computed when first needed
};

}  // namespace

BounceReport classify_message(std::string_view raw_message) {
  BounceReport combined;
  if (raw_message.size() <= kMaxClassifiedMessageBytes) {
    // An mbox file may hold several reports; their results are listed in order,
    // and an unrecognised message among recognised ones adds nothing.
    for (const MessageParts& message : read_messages(raw_message)) {
      BounceReport report = ReportBuilder(message).build(0);
      if (report.kind == ReportKind::Unknown) continue;
      if (combined.kind == ReportKind::Unknown) {
        combined.kind = report.kind;
        combined.original = report.original;
      }
      for (BounceResult& result : report.results) {
        if (combined.results.size() < kMaxResultsPerReport)
          combined.results.push_back(std::move(result));
      }
    }
  }
  if (combined.results.empty()) combined.results.assign(1, unknown_result());
  return combined;
}

}  // namespace bounced
