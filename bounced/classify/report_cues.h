// Cues that are not reasons: is this message a bounce, an auto-reply or a
// complaint at all; does its notice say the failure is temporary; which SMTP
// command the remote server was answering; where a plain-text notice ends and
// the returned message begins. Each is a small phrase table in report_cues.cpp.
#pragma once

#include <string_view>

#include "bounced/classify/message_parts.h"

namespace bounced {

// From: MAILER-DAEMON@, postmaster@, "Mail Delivery System", ...
bool sent_by_mail_system(const HeaderList& headers);

// Subject: "Undelivered Mail Returned to Sender", "failure notice", ...
bool has_bounce_subject(const HeaderList& headers);

// RFC 3834 section 5 (Auto-Submitted: auto-replied), the older X-Autoreply /
// X-Autorespond / Precedence: auto_reply markers, and vacation subjects.
bool has_autoreply_marks(const HeaderList& headers);

// A feedback-loop report that is not ARF (Microsoft JMRP: "complaint about
// message from ...").
bool has_complaint_subject(const HeaderList& headers);

// The notice text (folded) says that delivery failed: "could not be delivered",
// "permanent error", "undeliverable", ...
bool text_says_delivery_failed(std::string_view folded_notice);

// The notice (folded) says delivery is only delayed and still being tried.
bool text_says_still_trying(std::string_view folded_notice);

// The notice (folded) says the failure is permanent.
bool text_says_permanent(std::string_view folded_notice);

// The SMTP command the rejection answered, when the notice says so (Postfix
// "in reply to MAIL FROM command", Exim "SMTP error ... after MAIL FROM:",
// qmail "Connected to ... but sender was rejected").
enum class SmtpStage { Unknown, Connection, MailFrom, RcptTo, Data };
SmtpStage stage_from_text(std::string_view folded_text);

// The offset in `text` of the line that starts the returned message in a
// plain-text bounce ("--- Below this line is a copy of the message.",
// "------ This is a copy of the message, including all the headers. ------",
// "----- Original message -----"), or text.size() when there is none.
std::size_t returned_message_offset(std::string_view text);

}  // namespace bounced
