// BlockingResolver: synchronous DNS lookups of any record type through
// libunbound's ub_resolve, for command-line tools and worker threads (never the
// event loop: each call waits for the answer).
//
// Configured like UnboundResolver (research/dependencies.md, libunbound
// pitfalls): a forwarder "ip@port" or the system's resolv.conf, queries to
// 127.0.0.1 allowed, and the RFC 6761 name "test." passed through. CNAMEs are
// followed by unbound; `canonical_name` says where the answer came from.
//
// It does not interpret record data beyond the two decoders below (TXT strings
// and a domain name in wire form); the SPF layer and the domain checks do.
#pragma once

#include <unbound.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/owned.h"
#include "common/base/result.h"
#include "common/dns/resolver.h"

namespace common::dns {

struct RecordAnswer {
  Outcome outcome = Outcome::TempFail;
  std::vector<std::string> rdata;  // raw record data, one entry per record
  std::string canonical_name;      // after CNAMEs, without the trailing dot; "" if none
  std::string error;               // why, for people: "NXDOMAIN", "SERVFAIL", ...
  int ttl = 0;
};

class BlockingResolver {
 public:
  // `forwarder` is "ip" or "ip@port"; empty: use /etc/resolv.conf.
  static Result<std::unique_ptr<BlockingResolver>> create(const std::string& forwarder);

  // Thread-safe (ub_resolve is); `rrtype` is a DNS type number (ns_t_txt, ...).
  RecordAnswer query(const std::string& name, int rrtype) const;

 private:
  using OwnedUbCtx = Owned<ub_ctx, &ub_ctx_delete>;
  explicit BlockingResolver(OwnedUbCtx ctx) : ctx_(std::move(ctx)) {}

  OwnedUbCtx ctx_;
};

// The character-strings of one TXT record joined without separators (RFC 7208
// 3.3 and RFC 6376 3.6.2.2 both read a record that way).
std::string txt_record_text(std::string_view rdata);
// A domain name in uncompressed wire form as text, lower-case, without the
// trailing dot; "" when malformed.
std::string wire_name_text(std::string_view rdata);

}  // namespace common::dns
