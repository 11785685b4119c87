// Finding the recipients of a non-standard bounce in its notice. See recipient_finder.h.
#include "bounced/classify/recipient_finder.h"

#include <array>
#include <string>
#include <vector>

#include "bounced/classify/address_scanner.h"
#include "bounced/classify/phrase_matcher.h"
#include "common/base/ascii.h"

namespace bounced {
namespace {

// The most lines of context kept per recipient, and the most recipients one
// notice may name (a list bounce may name many; a hostile one, millions).
constexpr std::size_t kMaxContextLines = 12;
constexpr std::size_t kMaxNoticeRecipients = 500;
// How far before an address a recipient cue may stand.
constexpr std::size_t kCueWindow = 48;

// Words that, just before an address, say it is the recipient (folded).
constexpr std::array<std::string_view, 48> kRecipientCues{
    "recipient", "rcpt to", "rcpt", "delivered to", "delivery to", "deliver to",
    "deliver your message to", "addressed to", "sent to", "message to", "mail to", "mailbox",
    "user", "address:", "to:", "following address", "destination", "failed:", "was rejected",
    "delivering to", "not be delivered to", "n'a pas pu etre delivre a",
    "an:", "rejected recipient", "attempts:", "undeliverable to", "failed to", "was addressed,",
    "mailing list",  // a list manager refusing a post names the list it was sent to
    "dda:smtp=",     // Exchange's X.400 form of the recipient
    "original address:", "undeliverable address:", "address not found", "could not reach",
    "did not reach",
    // German, French, Spanish/Italian/Portuguese, Dutch, Japanese
    "empfänger", "empfaenger", "zugestellt werden an", "destinataire", "adresse :", "destinatario",
    "destinatário", "ontvanger", "宛先", "あて先", "受信者", "送信先", "配信先"};

// Words that, just before an address, say it is not the recipient.
constexpr std::array<std::string_view, 25> kNotRecipientCues{
    "from:",      "sender",        "mail from",   "message-id",    "reply-to",
    "contact",    "postmaster at", "return-path", "envelope-from", "message id",
    "msgid",      "references:",   "in-reply-to", "absender",      "expéditeur",
    "expediteur", "remitente",     "questions",   "help",          "administrator at",
    "errors-to:", "list-",         "email us",    "e-mail us",     "expanded from"};

// Lead-in lines of a list of failed recipients (folded, '*' patterns): the
// addresses (or bare mailbox names) on the lines below are the recipients.
constexpr std::array<std::string_view, 24> kListLeadIns{"following recipient",
                                                        "following address",
                                                        "following destination",
                                                        "following e-mail address",
                                                        "following email address",
                                                        "following user",
                                                        "these recipients",
                                                        "not delivered to the following",
                                                        "not be delivered to the following",
                                                        "did not reach the following",
                                                        "could not be delivered to * following",
                                                        "delivery failed for the following",
                                                        "permanent fatal errors",
                                                        "failed recipient",
                                                        "folgende empf",
                                                        "folgenden empf",
                                                        "folgende adresse",
                                                        "destinataires suivants",
                                                        "adresses suivantes",
                                                        "destinatarios siguientes",
                                                        "seguintes destinat",
                                                        "destinatari seguenti",
                                                        "以下の宛先",
                                                        "以下のアドレス"};

// Lines that end a list of recipients: the next section of the notice.
constexpr std::array<std::string_view, 8> kListEnds{
    "diagnostic information", "technical details", "transcript of session", "original message",
    "error detail",           "reporting-mta",     "generating server",     "remote server"};

// Local parts of the reporting system's own mailboxes: a notice names them for
// questions and replies, they are not what bounced.
constexpr std::array<std::string_view, 20> kSystemLocalParts{
    "postmaster",    "mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon",
    "double-bounce", "hostmaster",    "webmaster",     "abuse",        "noreply",
    "no-reply",      "no_reply",      "donotreply",    "do-not-reply", "do_not_reply",
    "bounce",        "bounces",       "help",          "helpdesk",     "support"};

bool listed(const std::vector<std::string>& addresses, std::string_view address) {
  for (const std::string& known : addresses) {
    if (same_address(known, address)) return true;
  }
  return false;
}

template <std::size_t N>
bool has_cue(std::string_view folded_before, const std::array<std::string_view, N>& cues) {
  for (std::string_view cue : cues) {
    if (folded_before.find(cue) != std::string_view::npos) return true;
  }
  return false;
}

template <std::size_t N>
bool matches_any(std::string_view folded, const std::array<std::string_view, N>& patterns) {
  for (std::string_view pattern : patterns) {
    if (pattern_matches(folded, pattern)) return true;
  }
  return false;
}

bool is_digit_char(char c) { return c >= '0' && c <= '9'; }

bool is_blank_line(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

// Is the address that starts at `begin` in `text` part of a URL
// ("https://host/x?to=a@b")?
bool inside_url(std::string_view text, std::size_t begin) {
  std::size_t start = begin;
  while (start > 0 && begin - start < 512) {
    char c = text[start - 1];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '<' || c == '"' || c == '(' ||
        c == '[')
      break;
    --start;
  }
  std::string_view token = text.substr(start, begin - start);
  return token.find("://") != std::string_view::npos || token.starts_with("www.");
}

// The reporting system's own mailboxes, and a list manager's return and
// command addresses ("list-bounces@", "list-request@", "list-ctl@").
bool system_mailbox(std::string_view address) {
  std::string local = fold_for_matching(address.substr(0, address.find('@')));
  for (std::string_view name : kSystemLocalParts) {
    if (local == name) return true;
  }
  return local.starts_with("bounce-") || local.starts_with("bounces+") ||
         local.starts_with("mailer-daemon") || local.ends_with("-bounces") ||
         local.ends_with("-request") || local.ends_with("-owner") || local.ends_with("-ctl") ||
         local.ends_with("-help") || local.ends_with("-subscribe") ||
         local.ends_with("-unsubscribe");
}

// A bare mailbox name listed under a lead-in ("\tscreenname",
// " jdoe    No matches to nameserver query"): the indented first word, when it
// could only be a local part.
std::string_view bare_mailbox(std::string_view line) {
  if (line.empty() || (line.front() != ' ' && line.front() != '\t')) return {};
  std::size_t begin = line.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  std::size_t end = begin;
  bool letter = false;
  while (end < line.size()) {
    char c = line[end];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool ok = alpha || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '+';
    if (!ok) break;
    letter = letter || alpha;
    ++end;
  }
  if (!letter || end - begin < 2 || end - begin > 64) return {};
  std::string_view rest = line.substr(end);
  // Alone on its line, or followed by a gap and the reason.
  if (!is_blank_line(rest) && !rest.starts_with("  ") && !rest.starts_with("\t")) return {};
  std::string_view word = line.substr(begin, end - begin);
  if (word.front() == '.' || word.back() == '.' || word.front() == '-') return {};
  return word;
}

// Exchange's X.400 form of an Internet address, "dda:RFC-822=jdoe(a)example.com;",
// where "(a)" stands for '@' (RFC 2156 section 4.2 mapping of the characters
// X.400 lacks).
std::string x400_rfc822_address(std::string_view line) {
  std::size_t key = common::ascii_lower(line).find("rfc-822=");
  if (key == std::string::npos) return {};
  std::size_t begin = key + 8;
  std::size_t end = line.find_first_of("; \t", begin);
  std::string value(line.substr(begin, end == std::string_view::npos ? end : end - begin));
  std::size_t at = value.find("(a)");
  if (at == std::string::npos) return {};
  value.replace(at, 3, "@");
  return clean_address(value);
}

// "Message-ID:", "References:", "In-Reply-To:" ... (also with nothing after the
// colon, the identifier on the next line): what follows looks like an address.
bool names_message_id_field(std::string_view line) {
  std::string head = fold_for_matching(line.substr(0, 32));
  for (std::string_view name :
       {"message-id:", "message id:", "references:", "in-reply-to:", "content-id:", "x-message-id:",
        "original-message-id:", "x-original-message-id:"}) {
    if (head.starts_with(name)) return true;
  }
  return false;
}

// Does `text` hold an SMTP reply code of a failure ("550 ", "550-", "4.2.2")?
bool has_failure_reply(std::string_view text) {
  for (std::size_t i = 0; i + 4 <= text.size(); ++i) {
    char c = text[i];
    if (c != '4' && c != '5') continue;
    if (i > 0 && (is_digit_char(text[i - 1]) || text[i - 1] == '.')) continue;
    bool reply = is_digit_char(text[i + 1]) && is_digit_char(text[i + 2]) &&
                 (text[i + 3] == ' ' || text[i + 3] == '-');
    bool enhanced = text[i + 1] == '.' && is_digit_char(text[i + 2]) && text[i + 3] == '.';
    if (reply || enhanced) return true;
  }
  return false;
}

std::vector<NoticeRecipient> kept_if(std::vector<NoticeRecipient> found, auto keep) {
  std::vector<NoticeRecipient> kept;
  for (NoticeRecipient& recipient : found) {
    if (keep(recipient.address)) kept.push_back(std::move(recipient));
  }
  return kept;
}

void add_recipient(std::vector<NoticeRecipient>& found, std::string address, std::string context) {
  for (const NoticeRecipient& known : found) {
    if (same_address(known.address, address)) return;
  }
  found.push_back({std::move(address), std::move(context)});
}

}  // namespace

NoticeRecipients::NoticeRecipients(std::string_view notice) : notice_(notice) {
  std::size_t pos = 0;
  while (pos < notice_.size()) {
    std::size_t end = notice_.find('\n', pos);
    if (end == std::string_view::npos) end = notice_.size();
    lines_.push_back({pos, end});
    pos = end + 1;
  }
  std::vector<std::size_t> starts;
  bool in_id_field = false;  // a quoted Message-ID/References field and its continuation lines
  for (std::size_t i = 0; i < lines_.size() && opening_.size() < kMaxNoticeRecipients; ++i) {
    std::string_view line = line_text(i);
    bool continuation = !line.empty() && (line.front() == ' ' || line.front() == '\t');
    if (!continuation) in_id_field = names_message_id_field(line);
    if (in_id_field) continue;
    std::string address = address_opening_line(line);
    if (address.empty()) continue;
    // The same address again right below (a wrapped diagnostic) continues it.
    if (!opening_.empty() && same_address(opening_.back().address, address)) continue;
    opening_.push_back({address, {}});
    starts.push_back(i);
  }
  for (std::size_t k = 0; k < opening_.size(); ++k) {
    opening_[k].context =
        join_lines(starts[k], k + 1 < starts.size() ? starts[k + 1] : lines_.size());
  }
  // Addresses that appear only inside URLs (help pages, unsubscribe links).
  std::vector<std::string> outside_urls;
  for (const AddressMatch& match : find_addresses(notice_, kMaxNoticeRecipients * 4)) {
    if (inside_url(notice_, match.begin)) {
      if (!listed(url_addresses_, match.address)) url_addresses_.push_back(match.address);
    } else if (!listed(outside_urls, match.address)) {
      outside_urls.push_back(match.address);
    }
  }
  std::erase_if(url_addresses_,
                [&](const std::string& address) { return listed(outside_urls, address); });
}

std::string_view NoticeRecipients::line_text(std::size_t index) const {
  return notice_.substr(lines_[index].begin, lines_[index].end - lines_[index].begin);
}

std::string NoticeRecipients::join_lines(std::size_t first, std::size_t last) const {
  std::string out;
  for (std::size_t i = first; i < last && i < lines_.size() && i - first < kMaxContextLines; ++i) {
    if (!out.empty()) out += '\n';
    out += line_text(i);
  }
  return out;
}

bool NoticeRecipients::is_decoy(std::string_view address, std::string_view reporting_domain) const {
  if (listed(url_addresses_, address)) return true;
  if (!system_mailbox(address)) return false;
  if (reporting_domain.empty()) return true;
  // Only the reporting system's own (a postmaster@ elsewhere can bounce).
  std::string domain = fold_for_matching(address.substr(address.find('@') + 1));
  std::string own = fold_for_matching(reporting_domain);
  return domain == own || domain.ends_with("." + own);
}

// Addresses that follow a recipient cue on their line or the line before.
std::vector<NoticeRecipient> NoticeRecipients::from_cues() const {
  std::vector<NoticeRecipient> found;
  std::size_t line_index = 0;
  for (const AddressMatch& match : find_addresses(notice_, kMaxNoticeRecipients * 4)) {
    while (line_index + 1 < lines_.size() && lines_[line_index].end < match.begin) ++line_index;
    std::size_t window_begin =
        line_index > 0 ? lines_[line_index - 1].begin : lines_[line_index].begin;
    if (match.begin - window_begin > kCueWindow) window_begin = match.begin - kCueWindow;
    std::string before =
        fold_for_matching(notice_.substr(window_begin, match.begin - window_begin));
    // A "not the recipient" cue counts only right before the address.
    std::string_view nearest =
        std::string_view(before).substr(before.size() > 24 ? before.size() - 24 : 0);
    if (has_cue(nearest, kNotRecipientCues) || !has_cue(before, kRecipientCues)) continue;
    add_recipient(found, match.address, join_lines(line_index, line_index + kMaxContextLines));
    if (found.size() >= kMaxNoticeRecipients) break;
  }
  return found;
}

// The recipients listed under a lead-in line: the first address of each line
// below it (or a bare mailbox name, completed with the reporting domain), up to
// the next section of the notice.
std::vector<NoticeRecipient> NoticeRecipients::from_lead_ins(
    std::string_view reporting_domain) const {
  constexpr std::size_t kMaxListLines = 40;
  std::vector<NoticeRecipient> found;
  for (std::size_t i = 0; i < lines_.size() && found.size() < kMaxNoticeRecipients; ++i) {
    std::string_view lead = line_text(i);
    if (lead.size() > 200) continue;
    std::string folded_lead = fold_for_matching(lead);
    if (!matches_any(folded_lead, kListLeadIns)) continue;
    // "Your message to a@b could not be delivered to the following ..." names
    // the list's owner, not a member: only lines below count.
    bool listed_any = false;
    std::size_t j = i + 1;
    for (; j < lines_.size() && j - i <= kMaxListLines; ++j) {
      std::string_view line = line_text(j);
      if (is_blank_line(line)) {
        if (!listed_any) continue;
        // A blank line ends the list unless another entry follows.
        std::size_t next = j + 1;
        while (next < lines_.size() && is_blank_line(line_text(next))) ++next;
        if (next >= lines_.size()) break;
        std::vector<AddressMatch> head = find_addresses(line_text(next).substr(0, 120), 1);
        if (head.empty()) break;
        continue;
      }
      std::string folded = fold_for_matching(line);
      if (line.size() < 200 && matches_any(folded, kListEnds)) break;
      if (line.starts_with("---") || line.starts_with("___") || line.starts_with("===")) {
        if (listed_any) break;
        continue;
      }
      bool took = false;
      for (const AddressMatch& match : find_addresses(line, 8)) {
        std::string before = fold_for_matching(line.substr(0, match.begin));
        std::string_view nearest =
            std::string_view(before).substr(before.size() > 24 ? before.size() - 24 : 0);
        if (has_cue(nearest, kNotRecipientCues)) continue;
        add_recipient(found, match.address, join_lines(j, j + kMaxContextLines));
        took = true;
        break;
      }
      if (!took) {
        std::string address = x400_rfc822_address(line);
        if (!address.empty()) {
          add_recipient(found, std::move(address), join_lines(j, j + kMaxContextLines));
          took = true;
        }
      }
      if (!took && !listed_any && !reporting_domain.empty() &&
          line.find('@') == std::string_view::npos) {
        std::string_view name = bare_mailbox(line);
        if (!name.empty()) {
          add_recipient(found, std::string(name) + "@" + std::string(reporting_domain),
                        join_lines(j, j + kMaxContextLines));
          took = true;
        }
      }
      listed_any = listed_any || took;
      if (!listed_any && j - i > 3) break;  // nothing listed right below: not a list
    }
    i = j > i ? j - 1 : i;
  }
  return found;
}

// The first address of each line that also carries a failure reply from the
// remote server ("user:000:<a@b> : 192.0.2.1 : 550 5.1.1 ... User unknown").
std::vector<NoticeRecipient> NoticeRecipients::from_reply_lines() const {
  std::vector<NoticeRecipient> found;
  for (std::size_t i = 0; i < lines_.size() && found.size() < kMaxNoticeRecipients; ++i) {
    std::string_view line = line_text(i);
    if (line.find('@') == std::string_view::npos || line.size() > 1000) continue;
    if (!has_failure_reply(line)) continue;
    for (const AddressMatch& match : find_addresses(line, 8)) {
      std::string before = fold_for_matching(line.substr(0, match.begin));
      std::string_view nearest =
          std::string_view(before).substr(before.size() > 24 ? before.size() - 24 : 0);
      if (has_cue(nearest, kNotRecipientCues) || inside_url(line, match.begin)) continue;
      add_recipient(found, match.address, join_lines(i, i + kMaxContextLines));
      break;
    }
  }
  return found;
}

// Addresses the notice mentions (outside URLs) that the original was sent to.
std::vector<NoticeRecipient> NoticeRecipients::from_original_recipients(
    const std::vector<std::string>& original_recipients) const {
  std::vector<NoticeRecipient> found;
  if (original_recipients.empty()) return found;
  for (const AddressMatch& match : find_addresses(notice_, kMaxNoticeRecipients * 4)) {
    if (!listed(original_recipients, match.address) || inside_url(notice_, match.begin)) continue;
    add_recipient(found, match.address, context_for(match.address));
  }
  return found;
}

std::vector<NoticeRecipient> NoticeRecipients::named(const NoticeHints& hints) const {
  // A line that opens with a system mailbox of another domain is that
  // mailbox's own failure ("<postmaster@example.org>: host ... said: 550");
  // weaker evidence takes none.
  auto opening_plausible = [&](std::string_view address) {
    return !listed(hints.unlikely, address) && !is_decoy(address, hints.reporting_domain);
  };
  auto plausible = [&](std::string_view address) {
    return !listed(hints.unlikely, address) && !is_decoy(address, {});
  };
  auto not_unlikely = [&](std::string_view address) { return !listed(hints.unlikely, address); };
  std::vector<NoticeRecipient> likely = kept_if(opening_, opening_plausible);
  if (!likely.empty()) return likely;
  std::vector<NoticeRecipient> listed_below =
      kept_if(from_lead_ins(hints.reporting_domain), plausible);
  if (!listed_below.empty()) return listed_below;
  std::vector<NoticeRecipient> cued_all = from_cues();
  std::vector<NoticeRecipient> cued = kept_if(cued_all, plausible);
  if (!cued.empty()) return cued;
  std::vector<NoticeRecipient> replied = kept_if(from_reply_lines(), plausible);
  if (!replied.empty()) return replied;
  std::vector<NoticeRecipient> sent_to =
      kept_if(from_original_recipients(hints.original_recipients), plausible);
  if (!sent_to.empty()) return sent_to;
  // Only decoys: a system mailbox may bounce too (postmaster@ of a dead domain).
  likely = kept_if(opening_, not_unlikely);
  if (!likely.empty()) return likely;
  cued = kept_if(std::move(cued_all), not_unlikely);
  if (!cued.empty()) return cued;
  return opening_;  // only "unlikely" ones: a mailbox that bounced its own mail
}

std::string NoticeRecipients::context_for(std::string_view address) const {
  for (const NoticeRecipient& recipient : opening_) {
    if (same_address(recipient.address, address)) return recipient.context;
  }
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    std::string_view line = line_text(i);
    if (line.find('@') == std::string_view::npos) continue;
    for (const AddressMatch& match : find_addresses(line, 16)) {
      if (same_address(match.address, address)) return join_lines(i, i + 4);
    }
  }
  return {};
}

}  // namespace bounced
