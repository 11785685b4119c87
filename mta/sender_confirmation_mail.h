// The confirmation mail of `stampctl sender add`: sent from the operator's
// address to the address a tenant wants to send from, carrying the single-use
// token that proves someone who reads that mailbox agreed.
//
// Pure text: the caller queues it (SubmissionHandler::queue_operator_message),
// the header rewriter adds Message-ID and Date.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "mta/mta_config.h"

namespace mta {

struct SenderConfirmationRequest {
  std::string tenant;
  std::string address;     // the address to confirm; already checked by stampctl
  std::string token;       // base64url, as made by SenderConfirmationStore
  std::int64_t expires_at = 0;  // unix seconds
};

// The control request "sender-confirmation TENANT ADDRESS TOKEN EXPIRES" (the
// words after the command), checked: a configured tenant, a plain address, a
// base64url token and a future expiry. stampctl checked them already; the daemon
// checks again because the socket is an input like any other.
std::expected<SenderConfirmationRequest, std::string> parse_sender_confirmation_request(
    const std::vector<std::string>& args, const MtaConfig& config);

// The whole message (header section and body), CRLF line ends, ASCII only.
std::string sender_confirmation_mail(const OperatorConfig& op, const SenderConfirmationRequest& request);

// Where the operator's web front end confirms tokens: operator.sender_confirmation_url
// with "{token}" replaced, or "" when none is configured.
std::string sender_confirmation_link(const OperatorConfig& op, const std::string& token);

}  // namespace mta
