// BounceReceiver: stamp-bounced's decisions for the shared SMTP core.
//  - no AUTH: reports never authenticate;
//  - MAIL FROM: anything, the null sender included (RFC 3464 reports use <>);
//  - RCPT TO: a VERP address of a configured Return-Path domain whose token
//    verifies (the HMAC proves stamp-mta made it: forged bounces are refused
//    without any lookup, 550 5.7.1), or one of `accept_addresses`; anything
//    else 550 5.1.1;
//  - DATA: the report is kept in memory (the core bounds its size by
//    smtp.max_message_size) and handed to the BounceProcessor; the reply waits
//    for its commit: 250 stored, 451 on a database problem.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "bounced/bounce_processor.h"
#include "bounced/bounced_config.h"
#include "common/smtp/session_handler.h"
#include "common/verp/verp_codec.h"

namespace bounced {

class BounceReceiver final : public common::smtp::SessionHandler {
 public:
  explicit BounceReceiver(BounceProcessor& processor) : processor_(processor) {}

  // The configuration (Return-Path domains, accept_addresses) and the VERP
  // codec the next sessions use; on start and on SIGHUP.
  void configure(std::shared_ptr<const BouncedConfig> config, std::shared_ptr<const common::verp::VerpCodec> verp);

  void authenticate(const common::smtp::SessionContext& ctx, std::string_view user, std::string_view password,
                    std::function<void(std::optional<std::string>)> done) override;
  common::smtp::Reply on_mail_from(const common::smtp::SessionContext& ctx,
                                   const common::smtp::MailFrom& mail) override;
  common::smtp::Reply on_rcpt_to(const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env,
                                 const common::smtp::Recipient& rcpt) override;
  std::expected<std::unique_ptr<common::smtp::MessageSink>, common::smtp::Reply> on_data(
      const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env) override;

 private:
  BounceProcessor& processor_;
  std::shared_ptr<const BouncedConfig> config_;
  std::shared_ptr<const common::verp::VerpCodec> verp_;
  std::set<std::string, std::less<>> return_path_domains_;
};

}  // namespace bounced
