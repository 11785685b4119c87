// SubmissionHandler: stamp-mta's decisions for the shared SMTP core.
//  - AUTH: tenants' SMTP users (CredentialChecker);
//  - relay: only an identified tenant (AUTH or a trusted network) may name
//    recipients; everyone else gets 530 5.7.0 at RCPT (RFC 4954 section 6);
//  - suppression: a recipient on the tenant's suppression list (stream
//    "outbound") gets 550 at RCPT naming the reason; a failed lookup is logged
//    and the recipient accepted, so a database problem never loses mail. A
//    message on another stream (X-Stamp-Stream, known only after the headers)
//    is refused at the end of DATA when any recipient is suppressed there;
//  - DATA: a spool file and a MessageWriter; the queued message goes to
//    `on_queued` (delivery) once it is durable.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>

#include "common/smtp/session_handler.h"
#include "common/store/suppression_store.h"
#include "mta/credential_checker.h"
#include "mta/message_writer.h"
#include "mta/queue/fs_spool.h"
#include "mta/sender_policy.h"
#include "mta/signing/dkim_signer.h"
#include "mta/state/message_log.h"

namespace mta {

class SubmissionHandler final : public common::smtp::SessionHandler {
 public:
  // `suppressions` may be null (no RCPT check), as may `message_log` (accepted
  // messages are not recorded); both must outlive the handler.
  SubmissionHandler(std::string hostname, FsSpool& spool, CredentialChecker& credentials,
                    std::function<void(const std::string& queue_id)> on_queued,
                    const common::store::SuppressionStore* suppressions = nullptr,
                    MessageLog* message_log = nullptr);

  // Tenants and the operator for the sender policy (at start and on SIGHUP),
  // the DKIM signer (may be null) and whether a tenant domain is verified.
  void configure(std::shared_ptr<const MtaConfig> config, const DkimSigner* signer, DomainVerified verified);

  // The stream whose suppressions apply to submitted mail (Postmark's default
  // transactional stream); other streams are not selectable over SMTP yet.
  static constexpr const char* kDefaultStream = "outbound";

  void authenticate(const common::smtp::SessionContext& ctx, std::string_view user, std::string_view password,
                    std::function<void(std::optional<std::string>)> done) override;
  common::smtp::Reply on_mail_from(const common::smtp::SessionContext& ctx,
                                   const common::smtp::MailFrom& mail) override;
  common::smtp::Reply on_rcpt_to(const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env,
                                 const common::smtp::Recipient& rcpt) override;
  std::expected<std::unique_ptr<common::smtp::MessageSink>, common::smtp::Reply> on_data(
      const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env) override;

  // Queues a message the operator itself sends on behalf of `tenant` (sender
  // confirmations). `message` is a whole RFC 5322 message with CRLF line ends
  // whose From is operator.from_address: it goes through the same writer as a
  // submission, so it is signed with the operator's key and its envelope sender
  // is on the operator's bounce domain, like verified-address mail. `done` gets
  // the queue id, or why the message was not queued.
  void queue_operator_message(const std::string& tenant, const std::string& recipient, const std::string& message,
                              std::function<void(common::Result<std::string>)> done);

 private:
  std::string hostname_;
  FsSpool& spool_;
  CredentialChecker& credentials_;
  std::function<void(const std::string&)> on_queued_;
  const common::store::SuppressionStore* suppressions_;
  MessageLog* message_log_;
  std::shared_ptr<const MtaConfig> config_;
  const DkimSigner* signer_ = nullptr;
  DomainVerified verified_;
  std::unordered_map<std::string, std::string> keys_;  // key file -> PEM, loop thread only

  common::Result<std::string> load_key(const std::filesystem::path& file);
  std::optional<common::smtp::Reply> stream_suppression_refusal(const std::string& tenant, const std::string& stream,
                                                                const common::smtp::Envelope& env) const;
  static constexpr std::size_t kMaxNamedSuppressed = 5;  // in the refusal's text
  std::unique_ptr<MessageWriter> make_writer(std::unique_ptr<SpoolWriter> spool, HeaderContext header_context,
                                             std::string received, const std::string& session,
                                             const QueuedMessage& meta);
};

}  // namespace mta
