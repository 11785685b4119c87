// The sender confirmation mail. See sender_confirmation_mail.h.
#include "mta/sender_confirmation_mail.h"
#include "common/base/ascii.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "common/base/email_syntax.h"
#include "common/base/time_format.h"
#include "common/mime/address_header.h"

namespace mta {
namespace {

constexpr std::size_t kMaxTokenLength = 128;

bool base64url_token(const std::string& token) {
  return !token.empty() && token.size() <= kMaxTokenLength && std::all_of(token.begin(), token.end(), [](char c) {
    return common::ascii_isalnum(c) || c == '-' || c == '_';
  });
}

}  // namespace

std::expected<SenderConfirmationRequest, std::string> parse_sender_confirmation_request(
    const std::vector<std::string>& args, const MtaConfig& config) {
  if (args.size() != 4) return std::unexpected("usage: sender-confirmation TENANT ADDRESS TOKEN EXPIRES");
  SenderConfirmationRequest request{args[0], args[1], args[2], 0};
  if (std::none_of(config.tenants.begin(), config.tenants.end(),
                   [&](const TenantConfig& t) { return t.name == request.tenant; })) {
    return std::unexpected("unknown tenant " + request.tenant.substr(0, 64) + " (reload after adding its file)");
  }
  if (!common::plausible_email(request.address)) return std::unexpected("not a plain email address");
  if (!base64url_token(request.token)) return std::unexpected("malformed token");
  auto [end, ec] = std::from_chars(args[3].data(), args[3].data() + args[3].size(), request.expires_at);
  if (ec != std::errc() || end != args[3].data() + args[3].size() || request.expires_at <= std::time(nullptr)) {
    return std::unexpected("EXPIRES must be a future unix time");
  }
  if (config.operator_config.domain.empty() || config.operator_config.from_address.empty()) {
    return std::unexpected("no operator.domain and operator.from_address configured: nothing to send the "
                           "confirmation from");
  }
  return request;
}

std::string sender_confirmation_link(const OperatorConfig& op, const std::string& token) {
  std::string link = op.sender_confirmation_url;
  if (auto at = link.find("{token}"); at != std::string::npos) link.replace(at, 7, token);
  return link;
}

std::string sender_confirmation_mail(const OperatorConfig& op, const SenderConfirmationRequest& request) {
  const std::string operator_name = op.name.empty() ? op.domain : op.name;
  const std::string link = sender_confirmation_link(op, request.token);
  std::string text;
  auto line = [&text](const std::string& l) { text += l + "\r\n"; };
  line("From: " + common::mime::format_mailbox(operator_name, op.from_address));
  line("To: <" + request.address + ">");
  line("Subject: Confirm " + request.address + " as a sender address");
  line("MIME-Version: 1.0");
  line("Content-Type: text/plain; charset=us-ascii");
  line("Content-Transfer-Encoding: 7bit");
  line("Auto-Submitted: auto-generated");  // RFC 3834 5: no auto-replies, please
  line("");
  line("Hello,");
  line("");
  line("The account \"" + request.tenant + "\" at " + operator_name + " asked to send email");
  line("with " + request.address + " as its From address.");
  line("");
  if (!link.empty()) {
    line("If that is right, confirm it by opening this link:");
    line("");
    line("  " + link);
    line("");
    line("or give this confirmation code to " + operator_name + ":");
  } else {
    line("If that is right, give this confirmation code to " + operator_name + ":");
  }
  line("");
  line("  " + request.token);
  line("");
  line("(operators confirm it with: stampctl sender confirm " + request.token + ")");
  line("");
  line("The code works once and expires on " + common::rfc5322_date(static_cast<std::time_t>(request.expires_at)) +
       ".");
  line("If you did not expect this message, ignore it: nothing is sent from your");
  line("address unless it is confirmed.");
  return text;
}

}  // namespace mta
