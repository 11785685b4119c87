// SubmissionHandler: stamp-mta's decisions for the shared SMTP core.
//  - AUTH: tenants' SMTP users (CredentialChecker);
//  - relay: only an identified tenant (AUTH or a trusted network) may name
//    recipients; everyone else gets 530 5.7.0 at RCPT (RFC 4954 section 6);
//  - DATA: a spool file and a MessageWriter; the queued message goes to
//    `on_queued` (delivery) once it is durable.
#pragma once

#include <functional>
#include <string>

#include "common/smtp/session_handler.h"
#include "mta/credential_checker.h"
#include "mta/queue/fs_spool.h"

namespace mta {

class SubmissionHandler final : public common::smtp::SessionHandler {
 public:
  SubmissionHandler(std::string hostname, FsSpool& spool, CredentialChecker& credentials,
                    std::function<void(const std::string& queue_id)> on_queued);

  void authenticate(const common::smtp::SessionContext& ctx, std::string_view user, std::string_view password,
                    std::function<void(std::optional<std::string>)> done) override;
  common::smtp::Reply on_mail_from(const common::smtp::SessionContext& ctx,
                                   const common::smtp::MailFrom& mail) override;
  common::smtp::Reply on_rcpt_to(const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env,
                                 const common::smtp::Recipient& rcpt) override;
  std::expected<std::unique_ptr<common::smtp::MessageSink>, common::smtp::Reply> on_data(
      const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env) override;

 private:
  std::string hostname_;
  FsSpool& spool_;
  CredentialChecker& credentials_;
  std::function<void(const std::string&)> on_queued_;
};

}  // namespace mta
