// Mail addresses in free text: bounce notices name the failed recipients in
// prose ("<a@b>: host ... said", "  a@b", "Intended recipient: a@b"), not in
// fields. This finds them; deciding which ones are recipients is
// recipient_finder.cpp's job.
//
// Only the dot-atom form (RFC 5322 section 3.4.1) with a dotted domain is
// recognised: quoted local parts and address literals never name a bounced
// recipient in practice, and a looser scanner picks up Message-IDs and paths.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bounced {

struct AddressMatch {
  std::size_t begin = 0;  // byte offsets of the address in the scanned text
  std::size_t end = 0;
  std::string address;
};

// Every address in `text`, in order, at most `limit` of them.
std::vector<AddressMatch> find_addresses(std::string_view text, std::size_t limit = 512);

// The address a line opens with ("<a@b>:", "a@b", "> a@b (reason)"), or empty
// when the line does not start with one followed by the end of the line or a
// separator.
std::string address_opening_line(std::string_view line);

// Case-insensitive comparison (RFC 5321 section 2.4 leaves the local part's case
// to the receiving host; in bounces the same mailbox is often written twice in
// different case).
bool same_address(std::string_view a, std::string_view b);

// "<A@B> " -> "A@B"; empty unless what remains is one address.
std::string clean_address(std::string_view text);

}  // namespace bounced
