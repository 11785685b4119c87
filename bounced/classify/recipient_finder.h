// The recipients of a bounce that has no machine-readable part: the notice
// names them in prose. Layers of evidence, strongest first; the first layer
// that names anyone plausible wins:
//   1. lines that open with an address ("<a@b>: host ... said: 550 ...",
//      "  a@b", "> a@b", "550 <a@b>... User unknown", "550-5.1.1 <a@b>") --
//      Postfix, qmail, Exim, Gmail, Yahoo, MDaemon, Sendmail transcripts, ...;
//   2. the lines listed under a lead-in ("did not reach the following
//      recipient(s):", "Delivery has failed to these recipients or groups:",
//      "Message not delivered to the following:") -- Exchange (also its X.400
//      "dda:SMTP=a@b" form and "Name (a@b)"), AOL, list managers; a bare
//      mailbox name there gets the reporting system's domain;
//   3. an address right after a recipient cue ("Intended recipient: a@b",
//      "could not be delivered to a@b", "RCPT TO:<a@b>", and the same in a few
//      other languages);
//   4. the first address of a line that carries the remote server's failure
//      reply ("user:000:<a@b> : 192.0.2.1 : 550 5.1.1 ... User unknown");
//   5. an address the notice mentions that the returned original was sent to.
// Never taken while anything else is found: addresses the caller calls
// unlikely (the bounce's own From/To, the original's sender), the reporting
// system's own mailboxes (postmaster@, MAILER-DAEMON@, help and no-reply
// addresses), addresses inside URLs, and addresses right after "From:",
// "Message-ID:", "contact", ...
// Each recipient comes with its context: the lines of the notice about it,
// which is where the remote server's diagnostic is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bounced {

// What the caller knows about the report, to tell recipients from decoys.
struct NoticeHints {
  std::vector<std::string> unlikely;  // the bounce's own From/To, the original's sender
  // The domain of the reporting system, for a notice that lists bare mailbox
  // names ("\tscreenname"); empty when unknown.
  std::string reporting_domain;
  // The returned original's To/Cc: a notice address among them is a recipient.
  std::vector<std::string> original_recipients;
};

struct NoticeRecipient {
  std::string address;
  std::string context;  // the notice's lines about this recipient
};

// Reads one notice (the human-readable text without the returned message)
// once; the notice must outlive it.
class NoticeRecipients {
 public:
  explicit NoticeRecipients(std::string_view notice);

  // The recipients the notice names, in order (see the layers above). Unlikely
  // addresses and decoys are dropped unless nothing else is found.
  std::vector<NoticeRecipient> named(const NoticeHints& hints) const;

  // The lines about `address`: from the line that opens with it to the next
  // recipient's, else from its first mention; bounded. Empty when not named.
  std::string context_for(std::string_view address) const;

 private:
  struct Line {
    std::size_t begin;
    std::size_t end;
  };

  std::string join_lines(std::size_t first, std::size_t last) const;
  std::string_view line_text(std::size_t index) const;
  std::vector<NoticeRecipient> from_cues() const;
  std::vector<NoticeRecipient> from_lead_ins(std::string_view reporting_domain) const;
  std::vector<NoticeRecipient> from_reply_lines() const;
  std::vector<NoticeRecipient> from_original_recipients(
      const std::vector<std::string>& original_recipients) const;
  // In a URL, or a system mailbox (of the reporting domain, when one is given).
  bool is_decoy(std::string_view address, std::string_view reporting_domain) const;

  std::string_view notice_;
  std::vector<Line> lines_;
  std::vector<NoticeRecipient> opening_;    // recipients from lines that open with an address
  std::vector<std::string> url_addresses_;  // addresses seen only inside URLs
};

}  // namespace bounced
