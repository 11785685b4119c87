// Finding the recipients of a non-standard bounce in its notice. See recipient_finder.h.
#include "bounced/classify/recipient_finder.h"

#include <array>

#include "bounced/classify/address_scanner.h"
#include "bounced/classify/phrase_matcher.h"

namespace bounced {
namespace {

// The most lines of context kept per recipient, and the most recipients one
// notice may name (a list bounce may name many; a hostile one, millions).
constexpr std::size_t kMaxContextLines = 12;
constexpr std::size_t kMaxNoticeRecipients = 500;
// How far before an address a recipient cue may stand.
constexpr std::size_t kCueWindow = 48;

// Words that, just before an address, say it is the recipient (folded).
constexpr std::array<std::string_view, 28> kRecipientCues{"recipient",
                                                          "rcpt to",
                                                          "rcpt",
                                                          "delivered to",
                                                          "delivery to",
                                                          "deliver to",
                                                          "deliver your message to",
                                                          "addressed to",
                                                          "sent to",
                                                          "message to",
                                                          "mail to",
                                                          "mailbox",
                                                          "user",
                                                          "address:",
                                                          "to:",
                                                          "following address",
                                                          "destination",
                                                          "failed:",
                                                          "was rejected",
                                                          "delivering to",
                                                          "not be delivered to",
                                                          "n'a pas pu etre delivre a",
                                                          "an:",
                                                          "rejected recipient",
                                                          "attempts:",
                                                          "undeliverable to",
                                                          "failed to",
                                                          "was addressed,"};

// Words that, just before an address, say it is not the recipient.
constexpr std::array<std::string_view, 9> kNotRecipientCues{
    "from:",   "sender",        "mail from",   "message-id",   "reply-to",
    "contact", "postmaster at", "return-path", "envelope-from"};

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

std::vector<NoticeRecipient> without(std::vector<NoticeRecipient> found,
                                     const std::vector<std::string>& unlikely) {
  std::vector<NoticeRecipient> kept;
  for (NoticeRecipient& recipient : found) {
    if (!listed(unlikely, recipient.address)) kept.push_back(std::move(recipient));
  }
  return kept;
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
  for (std::size_t i = 0; i < lines_.size() && opening_.size() < kMaxNoticeRecipients; ++i) {
    std::string address =
        address_opening_line(notice_.substr(lines_[i].begin, lines_[i].end - lines_[i].begin));
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
}

std::string NoticeRecipients::join_lines(std::size_t first, std::size_t last) const {
  std::string out;
  for (std::size_t i = first; i < last && i < lines_.size() && i - first < kMaxContextLines; ++i) {
    if (!out.empty()) out += '\n';
    out += notice_.substr(lines_[i].begin, lines_[i].end - lines_[i].begin);
  }
  return out;
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
    bool seen = false;
    for (const NoticeRecipient& recipient : found)
      seen = seen || same_address(recipient.address, match.address);
    if (seen) continue;
    found.push_back({match.address, join_lines(line_index, line_index + kMaxContextLines)});
    if (found.size() >= kMaxNoticeRecipients) break;
  }
  return found;
}

std::vector<NoticeRecipient> NoticeRecipients::named(
    const std::vector<std::string>& unlikely) const {
  std::vector<NoticeRecipient> likely = without(opening_, unlikely);
  if (!likely.empty()) return likely;
  std::vector<NoticeRecipient> cued = without(from_cues(), unlikely);
  if (!cued.empty()) return cued;
  return opening_;  // only "unlikely" ones: a mailbox that bounced its own mail
}

std::string NoticeRecipients::context_for(std::string_view address) const {
  for (const NoticeRecipient& recipient : opening_) {
    if (same_address(recipient.address, address)) return recipient.context;
  }
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    std::string_view line = notice_.substr(lines_[i].begin, lines_[i].end - lines_[i].begin);
    if (line.find('@') == std::string_view::npos) continue;
    for (const AddressMatch& match : find_addresses(line, 16)) {
      if (same_address(match.address, address)) return join_lines(i, i + 4);
    }
  }
  return {};
}

}  // namespace bounced
