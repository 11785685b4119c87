// DomainRecords: the DNS records a tenant publishes for an aligned sending
// domain, and how `stampctl domain add/rotate-key` print them, for people (one
// block per record: host, type, value) and for programs (--json).
//
// Owns the record values: the DKIM key TXT (RFC 6376 3.6.1), the Return-Path
// CNAME to the operator's bounce domain, and a starting DMARC policy (RFC 7489
// 6.3: p=none with aggregate reports to the operator). It reads nothing and
// writes nothing; domain_command.cpp does.
#pragma once

#include <string>
#include <vector>

#include "ctl/dkim_key.h"

namespace ctl {

struct DnsRecord {
  std::string purpose;  // "dkim", "return_path", "dmarc"
  std::string label;    // "DKIM", "Return-Path", "DMARC (suggested)"
  std::string host;
  std::string type;     // "TXT", "CNAME"
  std::string value;
};

// The DKIM key record for `selector` on `domain`; purpose "dkim" for RSA,
// "dkim_ed25519" for the Ed25519 key of the second signature.
DnsRecord dkim_record(const std::string& domain, const std::string& selector, const std::string& public_base64,
                      DkimAlgorithm algorithm = DkimAlgorithm::Rsa);
// DKIM, Return-Path CNAME and DMARC, in that order.
std::vector<DnsRecord> domain_records(const std::string& domain, const std::string& selector,
                                      const std::string& public_base64,
                                      const std::string& return_path,
                                      const std::string& bounce_domain);

// What `domain add` and `domain rotate-key` report.
struct DomainSetup {
  std::string action;  // "added", "rotated"
  std::string domain;
  std::string tenant;
  std::string tenant_file;
  std::string selector;
  std::string key_file;
  std::string previous_selector;  // rotated: the key that keeps signing for now
  std::string return_path;
  std::string status;             // "pending" after add; "" after a rotation
  std::vector<DnsRecord> records;
};

std::string render_setup_text(const DomainSetup& setup);
std::string render_setup_json(const DomainSetup& setup);  // one object, one line

}  // namespace ctl
