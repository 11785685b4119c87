// Resolver: asynchronous DNS lookups for mail routing (MX, A, AAAA).
//
// The interface is what the delivery code depends on, so tests and other
// back ends can stand in; UnboundResolver is the real one. Answers always
// arrive from the event loop, never from inside the call that asked.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace common::dns {

enum class Outcome {
  Ok,        // records of the asked type
  NoData,    // the name exists, but has no records of that type
  NxDomain,  // the name does not exist (RCODE 3): a permanent answer
  TempFail,  // SERVFAIL, REFUSED, timeout, network: try again later
};

const char* outcome_name(Outcome outcome);

struct MxRecord {
  std::uint16_t preference = 0;
  std::string host;  // "" for the root: RFC 7505 null MX when alone with preference 0
};

struct MxAnswer {
  Outcome outcome = Outcome::TempFail;
  std::vector<MxRecord> records;
  std::string error;  // why, for logs and DSNs
};

struct AddressAnswer {
  Outcome outcome = Outcome::TempFail;
  std::vector<std::string> addresses;  // IPv4 first, then IPv6, as text
  std::string error;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual void resolve_mx(const std::string& domain, std::function<void(MxAnswer)> done) = 0;
  // A and AAAA together.
  virtual void resolve_addresses(const std::string& host, std::function<void(AddressAnswer)> done) = 0;
};

}  // namespace common::dns
