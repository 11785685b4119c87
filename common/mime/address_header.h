// Address headers (From, Reply-To) through GMime 3: parsing RFC 5322
// address lists, including RFC 2047 encoded display names, and writing a
// mailbox back out encoded, so a display name can never break out of its header
// (no CR, LF or unbalanced quote survives). We do not parse mail addresses by
// hand when GMime does it for every mail client on Linux.
#pragma once

#include <cstddef>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace common::mime {

struct MailboxAddress {
  std::string display_name;  // decoded UTF-8
  std::string address;       // local@domain
};

// The mailboxes of an address-list header value (groups are flattened).
std::vector<MailboxAddress> parse_address_list(std::string_view header_value);

// "Jane via Vendor <notify@vendor.example>", with control characters removed
// from the name and the name cut to kMaxDisplayNameChars characters. A name
// that is not plain ASCII is written as RFC 2047 B encoded words of at most 75
// characters (section 2), folded with CRLF SP between them (RFC 5322 2.2.3),
// so every line stays far below 998 octets whatever the name.
std::string format_mailbox(std::string_view display_name, std::string_view address);

inline constexpr std::size_t kMaxDisplayNameChars = 256;

// `name` without control characters and cut to at most `max_chars` UTF-8
// characters (never inside one).
std::string clean_display_name(std::string_view name, std::size_t max_chars);

}  // namespace common::mime
