// Cidr parsing and matching.
#include "common/base/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace common {
namespace {

// Returns the address bytes of `addr`, folding IPv4-mapped IPv6 to IPv4.
bool address_bytes(const sockaddr* addr, int& family, std::array<std::uint8_t, 16>& out) {
  if (addr->sa_family == AF_INET) {
    family = AF_INET;
    std::memcpy(out.data(), &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, 4);
    return true;
  }
  if (addr->sa_family == AF_INET6) {
    const auto* a6 = &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
      family = AF_INET;
      std::memcpy(out.data(), a6->s6_addr + 12, 4);
    } else {
      family = AF_INET6;
      std::memcpy(out.data(), a6->s6_addr, 16);
    }
    return true;
  }
  return false;
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  std::string address(text.substr(0, text.find('/')));
  Cidr cidr;
  if (inet_pton(AF_INET, address.c_str(), cidr.bytes_.data()) == 1) {
    cidr.family_ = AF_INET;
    cidr.prefix_ = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), cidr.bytes_.data()) == 1) {
    cidr.family_ = AF_INET6;
    cidr.prefix_ = 128;
  } else {
    return std::nullopt;
  }
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    int prefix = -1;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc() || end != digits.data() + digits.size() || prefix < 0 ||
        prefix > cidr.prefix_) {
      return std::nullopt;
    }
    cidr.prefix_ = prefix;
  }
  return cidr;
}

bool Cidr::contains(const sockaddr* addr) const {
  int family = 0;
  std::array<std::uint8_t, 16> bytes{};
  if (!address_bytes(addr, family, bytes) || family != family_) return false;
  int full = prefix_ / 8;
  if (std::memcmp(bytes.data(), bytes_.data(), static_cast<std::size_t>(full)) != 0) return false;
  int rest = prefix_ % 8;
  if (rest == 0) return true;
  std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (bytes[full] & mask) == (bytes_[full] & mask);
}

std::string Cidr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family_, bytes_.data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix_);
}

std::string address_text(const sockaddr* addr) {
  int family = 0;
  std::array<std::uint8_t, 16> bytes{};
  if (!address_bytes(addr, family, bytes)) return "unknown";
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

}  // namespace common
