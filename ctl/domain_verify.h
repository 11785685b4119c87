// `stampctl domain verify NAME`: checks with real DNS lookups that a tenant
// domain's records are published as `domain add` printed them, says what is
// wrong and what to publish, and records the result in the state database
// (common/store/domain_status_store.h) for stamp-mta.
//
// Checks, each `ok` or `FAIL` with a plain explanation:
//   dkim         the TXT at SELECTOR._domainkey.NAME carries the public key of
//                the configured key file (p= compared without whitespace)
//   return_path  the Return-Path name is a CNAME for operator.bounce_domain
//   spf ADDRESS  SPF for the Return-Path domain (followed through its CNAME)
//                gives `pass` for each of operator.sending_addresses (libspf2)
// Lookups go through libunbound's ub_resolve against dns.resolver (or the
// system resolver). Exit code: 0 when every check passes, 1 otherwise.
#pragma once

#include <string>

#include "mta/mta_config.h"

namespace ctl {

int run_domain_verify(const mta::MtaConfig& config, const std::string& domain, bool json);

}  // namespace ctl
