// SenderPolicy: which of the three sender modes a submitted message uses, from
// its From header and its tenant's configuration (DESIGN.md, "Three ways to
// send for a tenant"):
//
//  - aligned domain: the From address is in one of the tenant's domains, and
//    that domain is verified (or verification is switched off for dev). DKIM
//    d= that domain; envelope sender on its Return-Path domain.
//  - verified address: the From address is one the tenant confirmed. DKIM and
//    envelope sender on the operator's domain.
//  - display name: asked for with "X-Stamp-Sender-Mode: display-name", or as
//    the tenant's configured fallback. From becomes the operator's address with
//    "NAME via OPERATOR"; the tenant's address goes to Reply-To.
//
// Anything else is refused with a 5.7.x reply naming the allowed choices. Pure
// decisions, no I/O: the caller applies them to the headers.
#pragma once

#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/smtp/reply.h"
#include "mta/mta_config.h"

namespace mta {

enum class SenderMode { AlignedDomain, VerifiedAddress, DisplayName };
const char* sender_mode_name(SenderMode mode);  // "aligned", "verified-address", "display-name"

struct SenderDecision {
  SenderMode mode = SenderMode::AlignedDomain;
  std::string signing_domain;      // DKIM d=
  DkimKeyRef signing_key;          // the key to sign with ("" key_file: do not sign)
  std::optional<DkimKeyRef> ed25519_key;  // a second signature, ed25519-sha256, when configured
  std::string return_path_domain;  // MAIL FROM becomes TOKEN@this
  std::string new_from;            // display-name mode: the whole new From value
  std::string reply_to;            // display-name mode: Reply-To value when the message has none
};

struct SenderRequest {
  std::string_view from_header;        // the From field's value as received
  bool display_name_requested = false; // X-Stamp-Sender-Mode: display-name
};

using DomainVerified = std::function<bool(const std::string& domain)>;

std::expected<SenderDecision, common::smtp::Reply> decide_sender(const TenantConfig& tenant,
                                                                 const OperatorConfig& op,
                                                                 const DomainVerified& verified,
                                                                 const SenderRequest& request);

}  // namespace mta
