// SenderPolicy decisions. See sender_policy.h.
#include "mta/sender_policy.h"

#include <algorithm>
#include <cctype>

#include "common/base/ascii.h"
#include "common/mime/address_header.h"

namespace mta {
namespace {

using common::smtp::Reply;

constexpr std::size_t kMaxAuthorNameChars = 100;

std::string domain_of(const std::string& address) {
  auto at = address.rfind('@');
  return at == std::string::npos ? std::string() : common::ascii_lower(address.substr(at + 1));
}

// "{name} via {operator}" with both placeholders filled, in one pass over the
// pattern: text inside the author's name is never expanded (a name "{operator}"
// stays those characters and cannot pose as the operator).
std::string expand_pattern(const std::string& pattern, const std::string& name, const std::string& op_name) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, 6, "{name}") == 0) {
      out += name;
      i += 6;
    } else if (pattern.compare(i, 10, "{operator}") == 0) {
      out += op_name;
      i += 10;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

// Verified-address and display-name mail: signed by the operator, envelope on
// the operator's bounce domain.
SenderDecision operator_decision(const OperatorConfig& op, SenderMode mode) {
  SenderDecision d;
  d.mode = mode;
  d.signing_domain = op.domain;
  if (op.dkim) d.signing_key = *op.dkim;
  d.ed25519_key = op.dkim_ed25519;
  d.return_path_domain = op.bounce_domain;
  return d;
}

SenderDecision display_name_decision(const OperatorConfig& op, const common::mime::MailboxAddress& from) {
  SenderDecision d = operator_decision(op, SenderMode::DisplayName);
  // The author's part of "NAME via OPERATOR" is bounded, so the operator's part always shows.
  std::string shown = common::mime::clean_display_name(
      from.display_name.empty() ? from.address.substr(0, from.address.find('@')) : from.display_name,
      kMaxAuthorNameChars);
  d.new_from = common::mime::format_mailbox(
      expand_pattern(op.display_name_pattern, shown, op.name.empty() ? op.domain : op.name), op.from_address);
  d.reply_to = common::mime::format_mailbox(from.display_name, from.address);
  return d;
}

}  // namespace

const char* sender_mode_name(SenderMode mode) {
  switch (mode) {
    case SenderMode::AlignedDomain: return "aligned";
    case SenderMode::VerifiedAddress: return "verified-address";
    case SenderMode::DisplayName: return "display-name";
  }
  return "?";
}

std::expected<SenderDecision, Reply> decide_sender(const TenantConfig& tenant, const OperatorConfig& op,
                                                   const DomainVerified& verified, const SenderRequest& request) {
  auto mailboxes = common::mime::parse_address_list(request.from_header);
  if (mailboxes.empty()) {
    return std::unexpected(Reply::make(550, "5.6.0", "The message has no usable From address (RFC 5322 3.6.2)"));
  }
  if (mailboxes.size() > 1) {
    // RFC 5322 3.6.2 would then require a Sender; one author keeps the policy clear.
    return std::unexpected(Reply::make(550, "5.7.1", "Only one From address is allowed"));
  }
  const auto& from = mailboxes.front();
  const std::string from_domain = domain_of(from.address);
  const bool display_name_allowed = tenant.display_name_mode && !op.domain.empty() && !op.from_address.empty();

  if (request.display_name_requested) {
    if (!display_name_allowed) {
      return std::unexpected(Reply::make(550, "5.7.1", "Display-name sending is not enabled for this account"));
    }
    return display_name_decision(op, from);
  }
  for (const auto& domain : tenant.domains) {
    if (domain.name != from_domain) continue;
    if (op.require_verified_domains && !verified(domain.name)) {
      return std::unexpected(Reply::make(550, "5.7.1", "Domain " + domain.name +
                                                           " is not verified yet: publish its DNS records and run "
                                                           "`stampctl domain verify " + domain.name + "`"));
    }
    SenderDecision d;
    d.mode = SenderMode::AlignedDomain;
    d.signing_domain = domain.name;
    d.signing_key = domain.dkim;
    d.ed25519_key = domain.dkim_ed25519;
    d.return_path_domain = domain.return_path;
    return d;
  }
  if (std::any_of(tenant.verified_senders.begin(), tenant.verified_senders.end(),
                  [&](const std::string& a) { return common::equals_ignoring_ascii_case(a, from.address); })) {
    return operator_decision(op, SenderMode::VerifiedAddress);
  }
  if (tenant.fallback_to_display_name && display_name_allowed) return display_name_decision(op, from);

  std::string choices = "send From an address in a verified domain";
  if (!tenant.domains.empty()) {
    choices += " (";
    for (std::size_t i = 0; i < tenant.domains.size(); ++i) choices += (i ? ", " : "") + tenant.domains[i].name;
    choices += ")";
  }
  choices += ", from a verified sender address";
  if (display_name_allowed) choices += ", or ask for display-name mode with X-Stamp-Sender-Mode: display-name";
  return std::unexpected(Reply::make(550, "5.7.1", "From <" + from.address + "> is not allowed for this account: " + choices));
}

}  // namespace mta
