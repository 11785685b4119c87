// Cidr: an IPv4 or IPv6 network, parsed from "192.0.2.0/24" or "2001:db8::/32".
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace common {

class Cidr {
 public:
  static std::optional<Cidr> parse(std::string_view text);  // a bare address is a /32 or /128
  bool contains(const sockaddr* addr) const;
  std::string to_string() const;

 private:
  int family_ = AF_INET;
  std::array<std::uint8_t, 16> bytes_{};
  int prefix_ = 32;
};

// "192.0.2.1" or "2001:db8::1" for an IPv4/IPv6 socket address (IPv4-mapped IPv6
// addresses print as IPv4, so limits and trust rules see one client as one).
std::string address_text(const sockaddr* addr);

}  // namespace common
