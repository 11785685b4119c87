// BounceReceiver. See bounce_receiver.h.
#include "bounced/bounce_receiver.h"

#include <algorithm>

#include "common/base/ascii.h"
#include "common/base/log.h"
#include "mta/mta_config_loader.h"

namespace bounced {
namespace {

using common::smtp::Reply;

// Collects the report; the processor stores it when the client ends DATA.
class ReportSink final : public common::smtp::MessageSink {
 public:
  ReportSink(BounceProcessor& processor, IncomingReport report) : processor_(processor), report_(std::move(report)) {}

  void write(std::string_view bytes) override { report_.raw.append(bytes); }

  void finish(std::function<void(Reply)> done) override {
    const std::string session = report_.session_id;
    processor_.submit(std::move(report_), [session, done = std::move(done)](common::Result<ProcessOutcome> outcome) {
      if (!outcome) {
        common::log::error("bounce.store_failed").kv("session", session).kv("error", outcome.error().message);
        done(Reply::make(451, "4.3.0", "Temporary failure storing the report, try again later"));
        return;
      }
      if (outcome->duplicate) {
        common::log::info("bounce.duplicate").kv("session", session).kv("report_id", outcome->report_id);
      }
      done(Reply::make(250, "2.0.0", "Ok: report " + std::to_string(outcome->report_id) +
                                         (outcome->duplicate ? " (already received)" : " stored")));
    });
  }

 private:
  BounceProcessor& processor_;
  IncomingReport report_;
};

}  // namespace

void BounceReceiver::configure(std::shared_ptr<const BouncedConfig> config,
                               std::shared_ptr<const common::verp::VerpCodec> verp) {
  return_path_domains_ = mta::return_path_domains(config->mta);
  config_ = std::move(config);
  verp_ = std::move(verp);
}

void BounceReceiver::authenticate(const common::smtp::SessionContext&, std::string_view, std::string_view,
                                  std::function<void(std::optional<std::string>)> done) {
  done(std::nullopt);  // listeners offer no AUTH (the loader insists); refuse anyway
}

Reply BounceReceiver::on_mail_from(const common::smtp::SessionContext&, const common::smtp::MailFrom&) {
  // RFC 3464 2 and RFC 5321 4.5.5: reports come from the null sender; feedback
  // reports and auto-replies from real addresses. Both are welcome.
  return Reply::make(250, "2.1.0", "Ok");
}

Reply BounceReceiver::on_rcpt_to(const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env,
                                 const common::smtp::Recipient& rcpt) {
  const std::string address = rcpt.address.to_string();
  const std::string domain = common::ascii_lower(rcpt.address.domain);
  if (return_path_domains_.contains(domain)) {
    if (verp_ && verp_->decode(rcpt.address.local_part)) return Reply::make(250, "2.1.5", "Ok");
    common::log::warning("bounce.forged_rcpt").kv("session", ctx.session_id).kv("client", ctx.client_address)
        .kv("from", env.mail_from.sender.to_string()).kv("rcpt", address);
    return Reply::make(550, "5.7.1", "Not a valid bounce address");
  }
  const std::string lower = common::ascii_lower(address);
  if (config_ && std::find(config_->accept_addresses.begin(), config_->accept_addresses.end(), lower) !=
                     config_->accept_addresses.end()) {
    return Reply::make(250, "2.1.5", "Ok");
  }
  common::log::info("bounce.rcpt_refused").kv("session", ctx.session_id).kv("client", ctx.client_address)
      .kv("from", env.mail_from.sender.to_string()).kv("rcpt", address);
  return Reply::make(550, "5.1.1", "No such mailbox here: this server only takes bounces for its senders");
}

std::expected<std::unique_ptr<common::smtp::MessageSink>, Reply> BounceReceiver::on_data(
    const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env) {
  IncomingReport report;
  report.session_id = ctx.session_id;
  report.envelope_from = env.mail_from.sender.to_string();
  for (const auto& rcpt : env.recipients) {
    report.envelope_to.push_back(rcpt.address.to_string());
    if (!report.token && verp_ && return_path_domains_.contains(common::ascii_lower(rcpt.address.domain))) {
      report.token = verp_->decode(rcpt.address.local_part);
      report.token_domain = common::ascii_lower(rcpt.address.domain);
    }
  }
  return std::make_unique<ReportSink>(processor_, std::move(report));
}

}  // namespace bounced
