// The recipients of a bounce that has no machine-readable part: the notice
// names them in prose. Two kinds of evidence, strongest first:
//   - lines that open with an address ("<a@b>: host ... said: 550 ...",
//     "  a@b", "> a@b", "550 <a@b>... User unknown") -- Postfix, qmail, Exim,
//     Gmail, Yahoo, MDaemon, Sendmail transcripts, ...;
//   - an address right after a recipient cue ("Intended recipient: a@b",
//     "could not be delivered to a@b", "RCPT TO:<a@b>").
// Each recipient comes with its context: the lines of the notice about it,
// which is where the remote server's diagnostic is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bounced {

struct NoticeRecipient {
  std::string address;
  std::string context;  // the notice's lines about this recipient
};

// Reads one notice (the human-readable text without the returned message)
// once; the notice must outlive it.
class NoticeRecipients {
 public:
  explicit NoticeRecipients(std::string_view notice);

  // The recipients the notice names, in order. Addresses in `unlikely` (the
  // bounce's own From/To, the original sender) are dropped unless nothing else
  // is found.
  std::vector<NoticeRecipient> named(const std::vector<std::string>& unlikely) const;

  // The lines about `address`: from the line that opens with it to the next
  // recipient's, else from its first mention; bounded. Empty when not named.
  std::string context_for(std::string_view address) const;

 private:
  struct Line {
    std::size_t begin;
    std::size_t end;
  };

  std::string join_lines(std::size_t first, std::size_t last) const;
  std::vector<NoticeRecipient> from_cues() const;

  std::string_view notice_;
  std::vector<Line> lines_;
  std::vector<NoticeRecipient> opening_;  // recipients from lines that open with an address
};

}  // namespace bounced
