// SubmissionHandler implementation. See submission_handler.h.
#include "mta/submission_handler.h"

#include <ctime>
#include <fstream>
#include <iterator>

#include "common/base/log.h"
#include "common/base/time_format.h"
#include "mta/message_writer.h"
#include "mta/queue/queue_id.h"

namespace mta {

using common::smtp::Reply;

namespace {

// The reply to a suppressed recipient. 5.1.1 for a hard bounce: the address
// was found not to exist (RFC 3463 3.2); 5.7.1 for the others: delivery is
// refused by policy (RFC 3463 3.8).
Reply suppressed_reply(common::store::SuppressionReason reason) {
  using common::store::SuppressionReason;
  switch (reason) {
    case SuppressionReason::HardBounce:
      return Reply::make(550, "5.1.1",
                         "Recipient suppressed: hard bounce (HardBounce); an earlier message to this "
                         "address bounced permanently");
    case SuppressionReason::SpamComplaint:
      return Reply::make(550, "5.7.1",
                         "Recipient suppressed: spam complaint (SpamComplaint); the recipient "
                         "reported an earlier message as spam");
    case SuppressionReason::ManualSuppression:
      break;
  }
  return Reply::make(550, "5.7.1", "Recipient suppressed (ManualSuppression)");
}

}  // namespace

SubmissionHandler::SubmissionHandler(std::string hostname, FsSpool& spool, CredentialChecker& credentials,
                                     std::function<void(const std::string&)> on_queued,
                                     const common::store::SuppressionStore* suppressions, MessageLog* message_log)
    : hostname_(std::move(hostname)),
      spool_(spool),
      credentials_(credentials),
      on_queued_(std::move(on_queued)),
      suppressions_(suppressions),
      message_log_(message_log) {}

void SubmissionHandler::authenticate(const common::smtp::SessionContext&, std::string_view user,
                                     std::string_view password,
                                     std::function<void(std::optional<std::string>)> done) {
  credentials_.check(std::string(user), std::string(password), std::move(done));
}

Reply SubmissionHandler::on_mail_from(const common::smtp::SessionContext&, const common::smtp::MailFrom&) {
  return Reply::make(250, "2.1.0", "Ok");
}

Reply SubmissionHandler::on_rcpt_to(const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env,
                                    const common::smtp::Recipient& rcpt) {
  if (!ctx.identity) {
    common::log::info("smtp.relay_denied").kv("session", ctx.session_id).kv("client", ctx.client_address)
        .kv("from", env.mail_from.sender.to_string()).kv("rcpt", rcpt.address.to_string());
    return Reply::make(530, "5.7.0", "Authentication required");
  }
  if (suppressions_) {
    // A primary-key read on the loop thread: microseconds; WAL readers do not
    // wait for stamp-bounced or stampctl writing.
    const std::string address = rcpt.address.to_string();
    auto found = suppressions_->find(*ctx.identity, kDefaultStream, address);
    if (!found) {
      common::log::error("smtp.suppression_lookup_failed").kv("session", ctx.session_id)
          .kv("tenant", *ctx.identity).kv("rcpt", address).kv("error", found.error().message);
    } else if (*found) {
      Reply reply = suppressed_reply((*found)->reason);
      common::log::info("smtp.rcpt_suppressed").kv("session", ctx.session_id).kv("tenant", *ctx.identity)
          .kv("from", env.mail_from.sender.to_string()).kv("rcpt", address).kv("stream", kDefaultStream)
          .kv("reason", common::store::reason_name((*found)->reason)).kv("origin", (*found)->origin)
          .kv("created_at", static_cast<long long>((*found)->created_at));
      return reply;
    }
  }
  return Reply::make(250, "2.1.5", "Ok");
}

std::expected<std::unique_ptr<common::smtp::MessageSink>, Reply> SubmissionHandler::on_data(
    const common::smtp::SessionContext& ctx, const common::smtp::Envelope& env) {
  QueuedMessage meta;
  meta.id = new_queue_id();
  meta.arrival = std::time(nullptr);
  meta.tenant = ctx.identity.value_or("");
  meta.client_address = ctx.client_address;
  meta.helo = ctx.helo;
  meta.envelope = env;
  auto writer = spool_.create(meta);
  if (!writer) {
    common::log::error("queue.create_failed").kv("session", ctx.session_id).kv("error", writer.error().message);
    return std::unexpected(Reply::make(451, "4.3.0", "Temporary failure writing the queue, try again later"));
  }
  std::string received = make_received_header(ctx, hostname_, meta.id, env, meta.arrival);
  HeaderContext header_context;
  if (suppressions_ && ctx.identity) {
    header_context.check_stream_suppressions = [this, tenant = *ctx.identity, env](const std::string& stream) {
      return stream_suppression_refusal(tenant, stream, env);
    };
  }
  header_context.hostname = hostname_;
  header_context.verified = verified_;
  if (config_ && !config_->operator_config.domain.empty() && ctx.identity) {
    // The sender policy applies once the operator's identity is configured.
    header_context.op = &config_->operator_config;
    for (const auto& t : config_->tenants) {
      if (t.name == *ctx.identity) header_context.tenant = &t;
    }
  }
  return make_writer(std::move(*writer), std::move(header_context), std::move(received), ctx.session_id, meta);
}

std::unique_ptr<MessageWriter> SubmissionHandler::make_writer(std::unique_ptr<SpoolWriter> spool,
                                                              HeaderContext header_context, std::string received,
                                                              const std::string& session, const QueuedMessage& meta) {
  std::string tenant = meta.tenant;
  std::string from = meta.envelope.mail_from.sender.to_string();
  std::size_t recipients = meta.envelope.recipients.size();
  std::vector<std::string> recipient_list;
  for (const auto& r : meta.envelope.recipients) recipient_list.push_back(r.address.to_string());
  auto on_queued = [this, session, tenant, from, recipients, recipient_list, arrival = meta.arrival](
                       const std::string& queue_id, const LateFields& late, const HeaderSummary& summary) {
    common::log::info("queue.accepted").kv("queue_id", queue_id).kv("session", session).kv("tenant", tenant)
        .kv("from", from).kv("recipients", recipients).kv("sender_mode", late.sender_mode)
        .kv("stream", late.stream).kv("tag", late.tag).kv("signed", !late.prepend.empty());
    if (message_log_) {
      message_log_->record(AcceptedMessage{queue_id, tenant, late.stream.empty() ? kDefaultStream : late.stream,
                                           late.tag, late.metadata, summary.message_id, summary.from,
                                           summary.subject, from, recipient_list, arrival});
    }
    on_queued_(queue_id);
  };
  return std::make_unique<MessageWriter>(std::move(spool), std::move(header_context), std::move(received), signer_,
                                         [this](const std::filesystem::path& file) { return load_key(file); },
                                         std::move(on_queued));
}

void SubmissionHandler::queue_operator_message(const std::string& tenant, const std::string& recipient,
                                               const std::string& message,
                                               std::function<void(common::Result<std::string>)> done) {
  if (!config_ || config_->operator_config.domain.empty() || config_->operator_config.from_address.empty()) {
    done(common::fail("operator.domain and operator.from_address must be configured to send operator mail"));
    return;
  }
  const OperatorConfig& op = config_->operator_config;
  QueuedMessage meta;
  meta.id = new_queue_id();
  meta.arrival = std::time(nullptr);
  meta.tenant = tenant;
  meta.client_address = "local";
  meta.helo = hostname_;
  auto split = [](const std::string& address) {
    auto at = address.rfind('@');
    return common::smtp::Mailbox{address.substr(0, at), at == std::string::npos ? "" : address.substr(at + 1)};
  };
  meta.envelope.mail_from.sender = split(op.from_address);
  common::smtp::Recipient rcpt;
  rcpt.address = split(recipient);
  meta.envelope.recipients.push_back(rcpt);
  auto spool = spool_.create(meta);
  if (!spool) {
    done(common::fail("cannot create a queue file: " + spool.error().message));
    return;
  }
  // The operator sends as a verified sender of its own: its from_address.
  auto operator_sender = std::make_shared<TenantConfig>();
  operator_sender->name = tenant;
  operator_sender->verified_senders = {op.from_address};
  operator_sender->display_name_mode = false;
  HeaderContext header_context;
  header_context.hostname = hostname_;
  header_context.verified = verified_;
  header_context.op = &op;
  header_context.tenant = operator_sender.get();
  std::string received = "Received: by " + hostname_ + " (stamp-mta operator mail) id " + meta.id + ";\r\n\t" +
                         common::rfc5322_date(meta.arrival) + "\r\n";
  std::shared_ptr<MessageWriter> writer =
      make_writer(std::move(*spool), std::move(header_context), std::move(received), "operator", meta);
  writer->write(message);
  // The writer, the sender it points at and the configuration stay alive until the commit answers.
  writer->finish([writer, operator_sender, config = config_, id = meta.id,
                  done = std::move(done)](common::smtp::Reply reply) {
    if (!reply.positive()) {
      done(common::fail(reply.first_line()));
      return;
    }
    done(id);
  });
}

std::optional<Reply> SubmissionHandler::stream_suppression_refusal(const std::string& tenant,
                                                                   const std::string& stream,
                                                                   const common::smtp::Envelope& env) const {
  if (stream.empty() || stream == kDefaultStream) return std::nullopt;  // checked at RCPT already
  std::string suppressed;
  std::size_t count = 0;
  for (const auto& rcpt : env.recipients) {
    const std::string address = rcpt.address.to_string();
    auto found = suppressions_->find(tenant, stream, address);
    if (!found) {
      // As at RCPT: a database problem never loses mail.
      common::log::error("smtp.suppression_lookup_failed").kv("tenant", tenant).kv("stream", stream)
          .kv("rcpt", address).kv("error", found.error().message);
    } else if (*found) {
      if (count++ < kMaxNamedSuppressed) suppressed += (suppressed.empty() ? "" : ", ") + address;
    }
  }
  if (count == 0) return std::nullopt;
  if (count > kMaxNamedSuppressed) suppressed += " and " + std::to_string(count - kMaxNamedSuppressed) + " more";
  // RFC 5321 allows one reply to DATA for the whole message: refuse it, naming
  // the suppressed recipients, so the application can resend to the others.
  return Reply::make(550, "5.7.1", "Recipients suppressed on stream " + stream + ": " + suppressed +
                                       "; nothing was sent, resend without them");
}

void SubmissionHandler::configure(std::shared_ptr<const MtaConfig> config, const DkimSigner* signer,
                                  DomainVerified verified) {
  config_ = std::move(config);
  signer_ = signer;
  verified_ = std::move(verified);
  keys_.clear();  // a rotated key is read again
}

common::Result<std::string> SubmissionHandler::load_key(const std::filesystem::path& file) {
  if (auto it = keys_.find(file.string()); it != keys_.end()) return it->second;
  std::ifstream in(file, std::ios::binary);
  if (!in) return common::fail("cannot read DKIM key " + file.string());
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  keys_[file.string()] = pem;
  return pem;
}

}  // namespace mta
