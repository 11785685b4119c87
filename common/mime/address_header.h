// Address headers (From, Reply-To) through GMime 3: parsing RFC 5322
// address lists, including RFC 2047 encoded display names, and writing a
// mailbox back out encoded, so a display name can never break out of its header
// (no CR, LF or unbalanced quote survives). We do not parse mail addresses by
// hand when GMime does it for every mail client on Linux.
#pragma once

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

// "Jane via Vendor <notify@vendor.example>", with the name RFC 2047-encoded
// when it is not plain ASCII, and control characters removed from it.
std::string format_mailbox(std::string_view display_name, std::string_view address);

}  // namespace common::mime
