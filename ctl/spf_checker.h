// SpfChecker: evaluates a domain's SPF policy (RFC 7208) for one client address
// with libspf2, whose DNS lookups go through a BlockingResolver (libunbound's
// ub_resolve), so the configured dns.resolver is used and a test DNS server on
// any port works (libspf2's own layer can only use /etc/resolv.conf).
//
// Owns the libspf2 server, the custom SPF_dns_server_t layer and turning
// libspf2's answer into a result name with its messages. Synchronous: for
// stampctl or a worker thread, never the event loop. Loopback addresses always
// pass inside libspf2 ("localhost is always allowed"), so callers that want a
// real answer must not ask about them (research/dependencies.md, libspf2 pitfalls).
#pragma once

#include <netinet/in.h>
#include <arpa/nameser.h>
#include <netdb.h>

extern "C" {
#include <spf2/spf.h>
}

#include <memory>
#include <string>

#include "common/base/owned.h"
#include "common/base/result.h"
#include "common/dns/blocking_resolver.h"

namespace ctl {

struct SpfOutcome {
  std::string result;  // "pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"
  std::string detail;  // libspf2's messages (syntax errors, failed lookups), "; "-joined
};

class SpfChecker {
 public:
  // `receiver` names this host in libspf2's comments (instead of gethostname()).
  static common::Result<std::unique_ptr<SpfChecker>> create(const common::dns::BlockingResolver& resolver,
                                                            const std::string& receiver);
  SpfChecker(const SpfChecker&) = delete;
  SpfChecker& operator=(const SpfChecker&) = delete;

  // check_host(ip, domain, "postmaster@domain"), with `helo` as the HELO identity.
  common::Result<SpfOutcome> check(const std::string& ip, const std::string& domain,
                                   const std::string& helo) const;

 private:
  using OwnedSpfServer = common::Owned<SPF_server_t, &SPF_server_free>;
  explicit SpfChecker(const common::dns::BlockingResolver& resolver);
  static SPF_dns_rr_t* lookup(SPF_dns_server_t* layer, const char* domain, ns_type type,
                              int should_cache) noexcept;

  const common::dns::BlockingResolver& resolver_;
  // Not destroyed by libspf2: SPF_server_new_dns leaves a caller's layer to the
  // caller (its `destroy` is null), so it lives here, next to the server using it.
  SPF_dns_server_t layer_{};
  OwnedSpfServer server_;  // after layer_: freed first
};

}  // namespace ctl
