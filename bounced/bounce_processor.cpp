// BounceProcessor. See bounce_processor.h.
#include "bounced/bounce_processor.h"

#include <algorithm>
#include <array>
#include <ctime>

#include "bounced/bounce_store.h"
#include "bounced/delivery_events.h"
#include "bounced/classify/bounce_classifier.h"
#include "bounced/webhook/webhook_outbox.h"
#include "bounced/webhook/webhook_payloads.h"
#include "common/base/ascii.h"
#include "common/base/digest.h"
#include "common/base/log.h"
#include "common/store/suppression_store.h"

namespace bounced {
namespace {

using common::store::SuppressionReason;
namespace wh = bounced::webhook;

constexpr const char* kDefaultStream = "outbound";
constexpr const char* kRecipientOrigin = "Recipient";

const mta::TenantConfig* find_tenant(const mta::MtaConfig& config, const std::string& name) {
  for (const auto& t : config.tenants) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

// The tenant whose return_path is `domain` (the operator's bounce domain is shared: none).
const mta::TenantConfig* tenant_for_return_path(const mta::MtaConfig& config, const std::string& domain) {
  const std::string lower = common::ascii_lower(domain);
  for (const auto& t : config.tenants) {
    for (const auto& d : t.domains) {
      if (d.return_path == lower) return &t;
    }
  }
  return nullptr;
}

bool contains_address(const std::vector<std::string>& list, const std::string& address) {
  const std::string lower = common::ascii_lower(address);
  return std::any_of(list.begin(), list.end(), [&](const std::string& a) { return common::ascii_lower(a) == lower; });
}

// Queues `body` for every endpoint of `tenant` that wants `event` on `stream`.
common::Result<std::size_t> queue_webhooks(sqlite3* db, const mta::TenantConfig& tenant, std::string_view event,
                                           const std::string& stream, const std::string& body, std::int64_t now) {
  std::size_t queued = 0;
  for (const auto& endpoint : tenant.webhooks) {
    if (endpoint.event != event || (!endpoint.stream.empty() && endpoint.stream != stream)) continue;
    auto id = wh::enqueue_webhook(db, wh::WebhookEvent{tenant.name, stream, std::string(event), endpoint.url, body},
                                  now);
    if (!id) return std::unexpected(id.error());
    ++queued;
  }
  return queued;
}

// What a report says about the message it is about.
struct Context {
  const mta::TenantConfig* tenant = nullptr;
  std::optional<MessageFacts> message;
  std::string queue_id;
  std::string stream = kDefaultStream;
};

common::Result<Context> find_context(sqlite3* db, const BouncedConfig& config, const IncomingReport& incoming,
                                     const BounceReport& report) {
  Context context;
  if (incoming.token) {
    auto found = find_message_by_queue_id(db, incoming.token->queue_id);
    if (!found) return std::unexpected(found.error());
    context.message = std::move(*found);
    context.queue_id = incoming.token->queue_id;
  } else if (!report.original.stamp_queue_id.empty()) {
    auto found = find_message_by_queue_id(db, report.original.stamp_queue_id);
    if (!found) return std::unexpected(found.error());
    context.message = std::move(*found);
  } else if (!report.original.message_id.empty()) {
    auto found = find_message_by_message_id(db, report.original.message_id);
    if (!found) return std::unexpected(found.error());
    context.message = std::move(*found);
  }
  if (context.message) {
    context.queue_id = context.message->queue_id;
    context.tenant = find_tenant(config.mta, context.message->tenant);
    if (!context.message->stream.empty()) context.stream = context.message->stream;
  } else if (incoming.token) {
    context.tenant = tenant_for_return_path(config.mta, incoming.token_domain);
  }
  return context;
}

ReportRow report_row(const IncomingReport& incoming, const BounceReport& report, const BouncedConfig& config,
                     std::string digest, std::int64_t now) {
  ReportRow row;
  row.sha256 = std::move(digest);
  row.received_at = now;
  row.envelope_from = incoming.envelope_from;
  for (const auto& to : incoming.envelope_to) row.envelope_to += (row.envelope_to.empty() ? "" : ",") + to;
  row.kind = std::string(report_kind_name(report.kind));
  row.size = incoming.raw.size();
  row.truncated = incoming.raw.size() > config.bounce_store.max_raw_message;
  row.raw = std::string_view(incoming.raw).substr(0, config.bounce_store.max_raw_message);
  return row;
}

BounceRow bounce_row(const BounceResult& result, std::int64_t report_id, const Context& context, std::int64_t now) {
  BounceRow bounce;
  bounce.report_id = report_id;
  bounce.tenant = context.tenant ? context.tenant->name : "";
  bounce.stream = context.stream;
  bounce.queue_id = context.queue_id;
  bounce.email = common::ascii_lower(result.recipient);
  bounce.bounce_class = std::string(bounce_class_name(result.bounce_class));
  bounce.type = result.type;
  bounce.type_code = result.type_code;
  bounce.reason = std::string(reason_name(result.reason));
  bounce.status = result.status;
  bounce.diagnostic = result.diagnostic;
  bounce.remote_mta = result.remote_mta;
  bounce.action = result.action;
  bounce.feedback_type = result.feedback_type;
  bounce.bounced_at = now;
  if (context.message) {
    bounce.message_id = context.message->message_id;
    bounce.tag = context.message->tag;
    bounce.from = context.message->from;
    bounce.subject = context.message->subject;
  }
  return bounce;
}

// The suppression a result causes: hard bounce, spam complaint, or the
// configured number of soft bounces in a row (this one already stored).
common::Result<std::optional<SuppressionReason>> suppression_for(sqlite3* db, const BouncedConfig& config,
                                                                 const BounceResult& result, const BounceRow& bounce) {
  switch (result.bounce_class) {
    case BounceClass::Hard:
      return std::optional(SuppressionReason::HardBounce);
    case BounceClass::Complaint:
      return std::optional(SuppressionReason::SpamComplaint);
    case BounceClass::Soft: {
      if (config.soft_bounces.limit == 0) break;
      auto in_a_row = soft_bounces_in_a_row(db, bounce.tenant, bounce.stream, bounce.email,
                                            bounce.bounced_at - config.soft_bounces.window.count());
      if (!in_a_row) return std::unexpected(in_a_row.error());
      if (*in_a_row < config.soft_bounces.limit) break;
      common::log::info("bounce.soft_limit").kv("tenant", bounce.tenant).kv("rcpt", bounce.email)
          .kv("soft_bounces", *in_a_row).kv("window_s", static_cast<long long>(config.soft_bounces.window.count()));
      return std::optional(SuppressionReason::HardBounce);
    }
    default:
      break;
  }
  return std::optional<SuppressionReason>();
}

// Queues the tenant's webhooks for one result: Bounce or SpamComplaint, and
// SubscriptionChange when it suppressed the address just now.
common::Result<std::size_t> announce(sqlite3* db, const mta::TenantConfig& tenant, const BounceResult& result,
                                     const BounceRow& bounce, std::int64_t bounce_id, const MessageFacts* message,
                                     std::optional<SuppressionReason> suppress, bool newly_suppressed) {
  std::size_t queued = 0;
  wh::BounceFacts facts;
  facts.id = bounce_id;
  facts.type = result.type;
  facts.tag = bounce.tag;
  facts.message_id = bounce.message_id;
  facts.stream = bounce.stream;
  facts.details = result.diagnostic;
  facts.email = bounce.email;
  facts.from = bounce.from;
  facts.subject = bounce.subject;
  if (message) facts.metadata = message->metadata;
  facts.bounced_at = static_cast<std::time_t>(bounce.bounced_at);
  facts.dump_available = true;
  facts.inactive = suppress.has_value();
  facts.can_activate = suppress != SuppressionReason::SpamComplaint;
  std::optional<std::string> body;
  std::string_view event;
  switch (result.bounce_class) {
    case BounceClass::Hard:
    case BounceClass::Soft:
    case BounceClass::Undeliverable:
      event = wh::kEventBounce;
      body = wh::bounce_payload(facts);
      break;
    case BounceClass::Complaint:
      event = wh::kEventSpamComplaint;
      body = wh::spam_complaint_payload(facts);
      break;
    default:
      break;  // auto-replies, deliveries and unknowns are stored, not announced
  }
  if (body) {
    auto n = queue_webhooks(db, tenant, event, bounce.stream, *body, bounce.bounced_at);
    if (!n) return std::unexpected(n.error());
    queued += *n;
  }
  if (newly_suppressed) {
    wh::SubscriptionChangeFacts change;
    if (!bounce.message_id.empty()) change.message_id = bounce.message_id;
    change.stream = bounce.stream;
    change.recipient = bounce.email;
    change.origin = kRecipientOrigin;
    change.suppress_sending = true;
    change.suppression_reason = common::store::reason_name(*suppress);
    if (!bounce.tag.empty()) change.tag = bounce.tag;
    if (message) change.metadata = message->metadata;
    change.changed_at = static_cast<std::time_t>(bounce.bounced_at);
    auto n = queue_webhooks(db, tenant, wh::kEventSubscriptionChange, bounce.stream,
                            wh::subscription_change_payload(change), bounce.bounced_at);
    if (!n) return std::unexpected(n.error());
    queued += *n;
  }
  return queued;
}

}  // namespace

common::Result<ProcessOutcome> process_report(sqlite3* db, const BouncedConfig& config, const IncomingReport& incoming,
                                              std::int64_t now) {
  BounceReport report = classify_message(incoming.raw);
  ProcessOutcome outcome;
  common::store::ImmediateTransaction tx(db);
  if (auto st = tx.begin(); !st) return std::unexpected(st.error());

  // The same bytes twice: stored once, acted on once.
  std::string digest = common::sha256_hex(incoming.raw);
  auto earlier = find_report(db, digest);
  if (!earlier) return std::unexpected(earlier.error());
  if (*earlier) {
    outcome.report_id = **earlier;
    outcome.duplicate = true;
    if (auto st = tx.commit(); !st) return std::unexpected(st.error());
    return outcome;
  }
  auto report_id = insert_report(db, report_row(incoming, report, config, std::move(digest), now));
  if (!report_id) return std::unexpected(report_id.error());
  outcome.report_id = *report_id;

  auto context = find_context(db, config, incoming, report);
  if (!context) return std::unexpected(context.error());
  const MessageFacts* message = context->message ? &*context->message : nullptr;
  const mta::TenantConfig* tenant = context->tenant;

  // A report that names no recipient speaks of the one its VERP token names.
  if (incoming.token && message && incoming.token->recipient_index < message->recipients.size()) {
    for (auto& r : report.results) {
      if (r.recipient.empty()) r.recipient = message->recipients[incoming.token->recipient_index];
    }
  }

  for (const auto& result : report.results) {
    ++outcome.results;
    BounceRow bounce = bounce_row(result, *report_id, *context, now);
    // Only an address this tenant's message went to may be suppressed or announced.
    const bool actionable = tenant && !bounce.email.empty() &&
                            (!message || contains_address(message->recipients, bounce.email));
    if (tenant && !bounce.email.empty() && !actionable) {
      common::log::warning("bounce.recipient_not_in_message").kv("report_id", *report_id)
          .kv("queue_id", context->queue_id).kv("rcpt", bounce.email);
    }
    auto bounce_id = insert_bounce(db, bounce);
    if (!bounce_id) return std::unexpected(bounce_id.error());
    std::optional<SuppressionReason> suppress;
    if (actionable) {
      auto decided = suppression_for(db, config, result, bounce);
      if (!decided) return std::unexpected(decided.error());
      suppress = *decided;
    }
    bool newly_suppressed = false;
    if (suppress) {
      auto added = common::store::add_suppression(
          db, common::store::Suppression{tenant->name, bounce.stream, bounce.email, *suppress, kRecipientOrigin, now});
      if (!added) return std::unexpected(added.error());
      newly_suppressed = *added;
      if (newly_suppressed) {
        ++outcome.suppressions_added;
        common::log::info("suppression.added").kv("tenant", tenant->name).kv("stream", bounce.stream)
            .kv("rcpt", bounce.email).kv("reason", common::store::reason_name(*suppress))
            .kv("report_id", *report_id);
      }
      if (auto st = mark_suppressed(db, *bounce_id); !st) return std::unexpected(st.error());
    }
    common::log::info("bounce.received").kv("report_id", *report_id).kv("bounce_id", *bounce_id)
        .kv("session", incoming.session_id).kv("tenant", bounce.tenant).kv("queue_id", bounce.queue_id)
        .kv("rcpt", bounce.email).kv("class", bounce.bounce_class).kv("type", bounce.type)
        .kv("reason", bounce.reason).kv("status", bounce.status).kv("suppressed", suppress.has_value());
    if (!actionable) continue;
    auto queued = announce(db, *tenant, result, bounce, *bounce_id, message, suppress, newly_suppressed);
    if (!queued) return std::unexpected(queued.error());
    outcome.webhooks_queued += *queued;
  }
  if (auto st = tx.commit(); !st) return std::unexpected(st.error());
  return outcome;
}

// --- BounceProcessor ---------------------------------------------------------

common::Result<std::unique_ptr<BounceProcessor>> BounceProcessor::open(common::event::EventLoop& loop,
                                                                       const std::filesystem::path& database,
                                                                       std::size_t workers) {
  std::vector<common::store::OwnedSqlite> connections;
  for (std::size_t i = 0; i < std::max<std::size_t>(workers, 1); ++i) {
    auto db = common::store::open_state_database(database, "bounce store " + database.string());
    if (!db) return std::unexpected(db.error());
    // A report is acknowledged only after its commit: make the commit durable
    // (WAL + FULL syncs the log at every commit), so a 250 is never lost.
    for (const char* sql : {"PRAGMA synchronous=FULL"}) {
      if (auto st = common::store::exec(db->get(), sql); !st) return std::unexpected(st.error());
    }
    if (i == 0) {
      for (auto create : {create_bounce_schema, common::store::create_suppression_schema,
                          webhook::create_outbox_schema, create_delivery_cursor_schema}) {
        if (auto st = create(db->get()); !st) return std::unexpected(st.error());
      }
    }
    connections.push_back(std::move(*db));
  }
  return std::unique_ptr<BounceProcessor>(new BounceProcessor(loop, std::move(connections)));
}

BounceProcessor::BounceProcessor(common::event::EventLoop& loop, std::vector<common::store::OwnedSqlite> connections)
    : loop_(loop),
      idle_(std::move(connections)),
      alive_(std::make_shared<bool>(true)),
      started_at_(static_cast<std::int64_t>(std::time(nullptr))),
      workers_(std::make_unique<common::WorkerPool>("stamp-bounces", idle_.size())) {}

BounceProcessor::~BounceProcessor() {
  *alive_ = false;
  workers_.reset();  // runs what is queued; their answers find alive_ false
}

void BounceProcessor::configure(std::shared_ptr<const BouncedConfig> config) {
  std::lock_guard lock(mutex_);
  config_ = std::move(config);
}

common::store::OwnedSqlite BounceProcessor::take_connection() {
  std::lock_guard lock(mutex_);
  auto db = std::move(idle_.back());  // one connection per worker: never empty here
  idle_.pop_back();
  return db;
}

void BounceProcessor::give_back(common::store::OwnedSqlite connection) {
  std::lock_guard lock(mutex_);
  idle_.push_back(std::move(connection));
}

void BounceProcessor::submit(IncomingReport report, std::function<void(common::Result<ProcessOutcome>)> done) {
  std::shared_ptr<const BouncedConfig> config;
  {
    std::lock_guard lock(mutex_);
    config = config_;
  }
  workers_->submit([this, config, alive = alive_, report = std::move(report), done = std::move(done)]() mutable {
    auto db = take_connection();
    auto outcome = config ? process_report(db.get(), *config, report, static_cast<std::int64_t>(std::time(nullptr)))
                          : common::Result<ProcessOutcome>(common::fail("not configured"));
    give_back(std::move(db));
    loop_.post([this, alive, outcome = std::move(outcome), done = std::move(done)]() mutable {
      if (!*alive) return;
      if (outcome && outcome->webhooks_queued > 0 && on_webhooks_queued_) on_webhooks_queued_();
      done(std::move(outcome));
    });
  });
}

void BounceProcessor::poll_deliveries() {
  std::shared_ptr<const BouncedConfig> config;
  {
    std::lock_guard lock(mutex_);
    config = config_;
  }
  if (!config || polling_deliveries_) return;
  polling_deliveries_ = true;
  workers_->submit([this, config, alive = alive_] {
    auto db = take_connection();
    auto queued = queue_delivery_webhooks(db.get(), *config, kDeliveryBatch, started_at_,
                                          static_cast<std::int64_t>(std::time(nullptr)));
    give_back(std::move(db));
    loop_.post([this, alive, queued = std::move(queued)] {
      if (!*alive) return;
      polling_deliveries_ = false;
      if (!queued) {
        common::log::error("delivery_events.failed").kv("error", queued.error().message);
      } else if (*queued > 0) {
        common::log::info("delivery_events.queued").kv("webhooks", *queued);
        if (on_webhooks_queued_) on_webhooks_queued_();
      }
    });
  });
}

void BounceProcessor::purge_old_bounces() {
  std::shared_ptr<const BouncedConfig> config;
  {
    std::lock_guard lock(mutex_);
    config = config_;
  }
  if (!config) return;
  const std::int64_t before = static_cast<std::int64_t>(std::time(nullptr)) - config->bounce_store.retention.count();
  workers_->submit([this, before, alive = alive_] {
    auto db = take_connection();
    auto removed = purge_bounces(db.get(), before, kPurgeBatch);
    give_back(std::move(db));
    loop_.post([alive, removed = std::move(removed)] {
      if (!*alive) return;
      if (!removed) {
        common::log::error("bounce_store.purge_failed").kv("error", removed.error().message);
      } else if (*removed > 0) {
        common::log::info("bounce_store.purged").kv("rows", *removed);
      }
    });
  });
}

}  // namespace bounced
