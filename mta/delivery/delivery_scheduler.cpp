// DeliveryScheduler implementation. See delivery_scheduler.h.
#include "mta/delivery/delivery_scheduler.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "common/base/ascii.h"
#include "common/base/log.h"
#include "common/smtp/dot_stuffing.h"
#include "mta/delivery/dsn_sender.h"
#include "mta/mta_config_loader.h"
#include "mta/state/message_log.h"

namespace mta {

using common::smtp::Reply;

struct DeliveryScheduler::Message {
  QueuedMessage meta;
  QueueState state;
  std::shared_ptr<const std::string> wire;  // while an attempt is in flight
  std::uint64_t size = 0;
  std::size_t jobs_outstanding = 0;
  bool in_flight = false;
  bool delete_requested = false;
  std::uint64_t timer_generation = 0;  // a retry timer fires only if still current
};

struct DeliveryScheduler::Client {
  std::unique_ptr<SmtpClient> smtp;
  std::size_t target_index = 0;
  bool offer_tls = true;
  bool busy = false;       // a transaction is under way
  bool announced = false;  // delivery.connect logged
  std::uint64_t idle_generation = 0;  // an idle timer quits only if still current
};

struct DeliveryScheduler::Destination {
  std::string key;     // the recipient domain, or "[relay]"
  std::string domain;  // for routing ("" for the relay)
  DestinationLimits limits;
  OutboundTls tls = OutboundTls::Opportunistic;
  std::deque<Job> ready;
  std::vector<std::unique_ptr<Client>> clients;
  std::optional<Route> route;
  std::chrono::steady_clock::time_point route_expires;
  bool resolving = false;
  std::deque<std::chrono::steady_clock::time_point> sent;  // for max_messages_per_minute
  bool rate_timer = false;
};

namespace {

RecipientStatus status_of(const Reply& reply) {
  if (reply.positive()) return RecipientStatus::Delivered;
  if (reply.transient_failure()) return RecipientStatus::Deferred;
  return RecipientStatus::Bounced;
}

// The RFC 3463 code of a reply, or one derived from its class.
std::string enhanced_of(const Reply& reply) {
  if (!reply.enhanced.empty()) return reply.enhanced;
  return reply.positive() ? "2.0.0" : reply.transient_failure() ? "4.0.0" : "5.0.0";
}

// "mx1.example.net[192.0.2.7]:25" -> "mx1.example.net" for DSN Remote-MTA.
std::string host_of(const std::string& remote) { return remote.substr(0, remote.find('[')); }

}  // namespace

DeliveryScheduler::DeliveryScheduler(common::event::EventLoop& loop, FsSpool& spool, common::dns::Resolver& resolver,
                                     MessageLog* log, const MtaConfig& config, TlsContexts tls,
                                     const common::verp::VerpCodec* verp)
    : loop_(loop),
      verp_(verp),
      spool_(spool),
      log_(log),
      delivery_(config.delivery),
      hostname_(config.hostname),
      tls_(tls),
      routes_(resolver, config.delivery.relay_host, config.delivery.mx_port),
      random_(std::random_device{}()),
      alive_(std::make_shared<bool>(true)) {
  handoff_domains_ = return_path_domains(config);
  routes_.set_bounce_handoff(config.delivery.bounce_handoff, handoff_domains_);
}

DeliveryScheduler::~DeliveryScheduler() { *alive_ = false; }

std::string DeliveryScheduler::destination_key(const std::string& domain) const {
  if (delivery_.bounce_handoff && handoff_domains_.contains(domain)) return domain;
  return delivery_.relay_host ? "[relay]" : domain;
}

DeliveryScheduler::Destination& DeliveryScheduler::destination_for(const std::string& domain) {
  std::string key = destination_key(domain);
  auto& slot = destinations_[key];
  if (!slot) {
    slot = std::make_unique<Destination>();
    slot->key = key;
    slot->domain = domain;
    apply_policy(*slot);
  }
  return *slot;
}

void DeliveryScheduler::apply_policy(Destination& destination) const {
  destination.limits = delivery_.destination_limits;
  for (const auto& d : delivery_.domain_limits) {
    if (d.domain == destination.domain) destination.limits = d.limits;
  }
  destination.tls = delivery_.tls_default;
  for (const auto& p : delivery_.tls_policies) {
    if (p.domain == destination.domain) destination.tls = p.mode;
  }
}

void DeliveryScheduler::reload(const MtaConfig& config) {
  const auto& next = config.delivery;
  if (next.mode != delivery_.mode || next.mx_port != delivery_.mx_port ||
      (next.relay_host.has_value() != delivery_.relay_host.has_value()) ||
      (next.relay_host && (next.relay_host->host != delivery_.relay_host->host ||
                           next.relay_host->port != delivery_.relay_host->port))) {
    common::log::warning("reload_partial").kv("reason", "delivery.mode, relay_host and mx_port change at restart");
  }
  auto keep_mode = delivery_.mode;
  auto keep_relay = delivery_.relay_host;
  auto keep_port = delivery_.mx_port;
  delivery_ = next;
  delivery_.mode = keep_mode;
  delivery_.relay_host = keep_relay;
  delivery_.mx_port = keep_port;
  hostname_ = config.hostname;
  handoff_domains_ = return_path_domains(config);
  routes_.set_bounce_handoff(delivery_.bounce_handoff, handoff_domains_);
  for (auto& [key, destination] : destinations_) {
    apply_policy(*destination);
    pump(*destination);
  }
}

void DeliveryScheduler::enqueue(const std::string& queue_id) {
  if (auto it = messages_.find(queue_id); it != messages_.end()) {
    if (!it->second->in_flight && !it->second->state.held) dispatch(it->second);
    return;
  }
  auto contents = spool_.read(queue_id);
  if (!contents) {
    common::log::error("delivery.read_failed").kv("queue_id", queue_id).kv("error", contents.error().message);
    return;
  }
  auto parsed = parse_queue_file(*contents);
  if (!parsed) {
    common::log::error("delivery.read_failed").kv("queue_id", queue_id).kv("error", parsed.error().message);
    return;
  }
  auto message = std::make_shared<Message>();
  message->meta = std::move(parsed->meta);
  const std::size_t recipients = message->meta.envelope.recipients.size();
  if (auto state = spool_.read_state(queue_id); state && *state && (*state)->recipients.size() == recipients) {
    message->state = std::move(**state);
  } else {
    message->state.recipients.assign(recipients, RecipientState{});
  }
  messages_[queue_id] = message;
  if (message->state.finished()) {
    finish_message(message);  // a crash came between the last attempt and the cleanup
  } else if (message->state.held) {
    common::log::info("delivery.held").kv("queue_id", queue_id);
  } else if (message->state.next_attempt > std::time(nullptr)) {
    auto wait = std::chrono::seconds(message->state.next_attempt - std::time(nullptr));
    std::uint64_t generation = ++message->timer_generation;
    loop_.run_after(wait, [this, alive = alive_, message, generation] {
      if (*alive && message->timer_generation == generation && !message->in_flight) dispatch(message);
    });
  } else {
    dispatch(message);
  }
}

bool DeliveryScheduler::uses_verp(const Message& message) const {
  return verp_ != nullptr && !message.meta.late.return_path_domain.empty() &&
         !message.meta.envelope.mail_from.sender.is_null();
}

bool DeliveryScheduler::load_body(Message& message) {
  auto contents = spool_.read(message.meta.id);
  if (!contents) return false;
  auto parsed = parse_queue_file(*contents);
  if (!parsed) return false;
  std::string outgoing = parsed->wire_message();  // DKIM-Signature in front
  message.size = outgoing.size();
  message.wire = std::make_shared<const std::string>(common::smtp::dot_stuff(outgoing));
  return true;
}

void DeliveryScheduler::dispatch(const std::shared_ptr<Message>& message) {
  if (stopping_ || message->in_flight || message->state.held) return;
  if (!load_body(*message)) {
    common::log::error("delivery.read_failed").kv("queue_id", message->meta.id);
    return;
  }
  // Pending and deferred recipients, grouped by destination domain.
  std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
  const auto& recipients = message->meta.envelope.recipients;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    auto status = message->state.recipients[i].status;
    if (status != RecipientStatus::Pending && status != RecipientStatus::Deferred) continue;
    // One transaction per destination: with a relay host, every domain's
    // recipients travel together. With a VERP envelope sender each recipient
    // has its own MAIL FROM, so its own transaction.
    std::string domain = common::ascii_lower(recipients[i].address.domain);
    const std::size_t per_transaction = uses_verp(*message) ? 1 : kMaxRecipientsPerTransaction;
    auto group = std::find_if(groups.begin(), groups.end(), [&](const auto& g) {
      return destination_key(g.first) == destination_key(domain) && g.second.size() < per_transaction;
    });
    if (group == groups.end()) {
      groups.push_back({domain, {}});
      group = groups.end() - 1;
    }
    group->second.push_back(i);
  }
  if (groups.empty()) {
    finish_message(message);
    return;
  }
  message->in_flight = true;
  message->jobs_outstanding = groups.size();
  std::vector<Destination*> touched;
  for (auto& [domain, indexes] : groups) {
    Destination& destination = destination_for(domain);
    destination.ready.push_back(Job{message, std::move(indexes)});
    if (std::find(touched.begin(), touched.end(), &destination) == touched.end()) touched.push_back(&destination);
  }
  for (Destination* destination : touched) pump(*destination);
}

void DeliveryScheduler::pump(Destination& destination) {
  if (stopping_ || destination.ready.empty()) return;
  // Idle connections first. A snapshot: giving out work can open or close clients.
  std::vector<Client*> idle;
  for (auto& client : destination.clients) {
    if (client->smtp->state() == SmtpClient::State::Ready && !client->busy) idle.push_back(client.get());
  }
  for (Client* client : idle) {
    if (destination.ready.empty()) return;
    if (client->smtp->state() == SmtpClient::State::Ready && !client->busy) on_client_ready(destination, *client);
  }
  if (destination.ready.empty()) return;
  auto now = std::chrono::steady_clock::now();
  if (!destination.route || now >= destination.route_expires) {
    if (destination.resolving) return;
    destination.resolving = true;
    routes_.resolve(destination.domain, [this, alive = alive_, &destination](Route route) {
      if (!*alive) return;
      destination.resolving = false;
      if (route.kind != Route::Kind::Targets) {
        destination.route.reset();
        int code = route.kind == Route::Kind::PermanentFailure ? 550 : 451;
        common::log::info("delivery.route_failed").kv("destination", destination.key).kv("dsn", route.status)
            .kv("reason", route.reason);
        fail_ready_jobs(destination, Reply::make(code, route.status, route.reason), "");
        return;
      }
      destination.route = std::move(route);
      destination.route_expires = std::chrono::steady_clock::now() + kRouteCacheLifetime;
      pump(destination);
    });
    return;
  }
  // Open connections while there is more work than connections about to take it.
  std::size_t coming = 0;
  for (const auto& client : destination.clients) {
    if (client->smtp->state() != SmtpClient::State::Ready && !client->busy) ++coming;
  }
  while (destination.ready.size() > coming && destination.clients.size() < destination.limits.max_connections &&
         connections_ < delivery_.max_connections) {
    open_connection(destination, 0, true);
    ++coming;
  }
  if (destination.ready.size() > coming && connections_ >= delivery_.max_connections) release_idle_connection(destination);
}

// All connection slots are taken: an idle connection kept for another
// destination makes way (it is only waiting on the chance of more mail).
void DeliveryScheduler::release_idle_connection(const Destination& for_destination) {
  for (auto& [key, other] : destinations_) {
    if (other.get() == &for_destination) continue;
    for (auto& client : other->clients) {
      if (client->smtp->state() == SmtpClient::State::Ready && !client->busy) {
        client->smtp->quit();
        return;
      }
    }
  }
}

void DeliveryScheduler::open_connection(Destination& destination, std::size_t target_index, bool offer_tls) {
  const RouteTarget& target = destination.route->targets[target_index];
  ClientSettings settings;
  settings.helo_name = delivery_.helo_name.empty() ? hostname_ : delivery_.helo_name;
  settings.timeouts = delivery_.timeouts;
  settings.tls = destination.tls;
  settings.tls_context = destination.tls == OutboundTls::Require ? tls_.verified : tls_.opportunistic;
  settings.offer_tls = offer_tls && settings.tls_context != nullptr;
  auto client = std::make_unique<Client>();
  client->target_index = target_index;
  client->offer_tls = settings.offer_tls;
  Client* raw = client.get();
  SmtpClient::Events events;
  events.on_ready = [this, &destination, raw] { on_client_ready(destination, *raw); };
  events.on_failed = [this, &destination, raw](const Reply& why) { on_client_failed(destination, *raw, why); };
  events.on_closed = [this, &destination, raw] { on_client_closed(destination, *raw); };
  client->smtp = std::make_unique<SmtpClient>(loop_, target, settings, std::move(events));
  destination.clients.push_back(std::move(client));
  ++connections_;
  raw->smtp->connect();
}

bool DeliveryScheduler::rate_allows(Destination& destination) {
  const std::size_t limit = destination.limits.max_messages_per_minute;
  if (limit == 0) return true;
  auto now = std::chrono::steady_clock::now();
  while (!destination.sent.empty() && now - destination.sent.front() >= std::chrono::minutes(1)) {
    destination.sent.pop_front();
  }
  if (destination.sent.size() < limit) return true;
  if (!destination.rate_timer) {
    destination.rate_timer = true;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(destination.sent.front() + std::chrono::minutes(1) - now);
    loop_.run_after(wait, [this, alive = alive_, &destination] {
      if (!*alive) return;
      destination.rate_timer = false;
      pump(destination);
    });
  }
  return false;
}

void DeliveryScheduler::on_client_ready(Destination& destination, Client& client) {
  client.busy = false;
  if (!client.announced) {
    client.announced = true;
    common::log::info("delivery.connect").kv("destination", destination.key)
        .kv("relay", client.smtp->target().label()).kv("tls", client.smtp->tls_active());
  }
  if (stopping_ || client.smtp->transactions() >= destination.limits.max_messages_per_connection) {
    client.smtp->quit();
    return;
  }
  if (destination.ready.empty() || !rate_allows(destination)) {
    // Keep the connection a moment for the next message to this destination
    // (as Postfix's connection cache does), then say goodbye.
    std::uint64_t generation = ++client.idle_generation;
    Client* raw = &client;
    loop_.run_after(kConnectionIdleTime, [this, alive = alive_, &destination, raw, generation] {
      if (!*alive) return;
      auto it = std::find_if(destination.clients.begin(), destination.clients.end(),
                             [raw](const auto& c) { return c.get() == raw; });
      if (it == destination.clients.end() || raw->idle_generation != generation || raw->busy) return;
      if (raw->smtp->state() == SmtpClient::State::Ready) raw->smtp->quit();
    });
    return;
  }
  ++client.idle_generation;
  Job job = std::move(destination.ready.front());
  destination.ready.pop_front();
  if (destination.limits.max_messages_per_minute) destination.sent.push_back(std::chrono::steady_clock::now());
  Transaction tx;
  tx.mail_from = job.message->meta.envelope.mail_from;
  if (uses_verp(*job.message)) {
    // MAIL FROM:<TOKEN@RETURN-PATH-DOMAIN>: the bounce will name this message
    // and recipient, and stamp-bounced can check it came from us.
    tx.mail_from.sender.local_part =
        verp_->encode({job.message->meta.id, static_cast<std::uint32_t>(job.recipients.front())});
    tx.mail_from.sender.domain = job.message->meta.late.return_path_domain;
  }
  for (std::size_t index : job.recipients) tx.recipients.push_back(job.message->meta.envelope.recipients[index]);
  tx.wire = job.message->wire;
  tx.size = job.message->size;
  client.busy = true;
  std::string remote = client.smtp->target().label();
  SmtpClient* smtp = client.smtp.get();
  smtp->send(std::move(tx), [this, job, remote, smtp](std::vector<Reply> replies) {
    job_done(job, remote, smtp->tls_active(), replies);
  });
}

void DeliveryScheduler::on_client_failed(Destination& destination, Client& client, const Reply& why) {
  const std::string remote = client.smtp->target().label();
  common::log::info("delivery.connect_failed").kv("destination", destination.key).kv("relay", remote)
      .kv("reply", why.first_line());
  if (stopping_ || !destination.route) return;
  if (client.smtp->tls_handshake_failed() && destination.tls == OutboundTls::Opportunistic && client.offer_tls &&
      client.target_index < destination.route->targets.size()) {
    // RFC 7435: opportunistic TLS that fails falls back to plaintext, to the same host.
    open_connection(destination, client.target_index, false);
    return;
  }
  if (client.target_index + 1 < destination.route->targets.size()) {
    // RFC 5321 5.1: on to the next address / the next MX.
    open_connection(destination, client.target_index + 1, true);
    return;
  }
  bool others_up = std::any_of(destination.clients.begin(), destination.clients.end(), [&](const auto& c) {
    return c.get() != &client && c->smtp->state() != SmtpClient::State::Closed;
  });
  if (!others_up) {
    destination.route.reset();  // look again next time
    fail_ready_jobs(destination, why, remote);
  }
}

void DeliveryScheduler::on_client_closed(Destination& destination, Client& client) {
  --connections_;
  Client* raw = &client;
  // Not inside the client's own callback: delete it from the loop.
  loop_.post([this, alive = alive_, &destination, raw] {
    if (!*alive) return;
    std::erase_if(destination.clients, [raw](const auto& c) { return c.get() == raw; });
    if (stopping_) {
      if (connections_ == 0 && on_stopped_) {
        auto done = std::move(on_stopped_);
        on_stopped_ = nullptr;
        done();
      }
      return;
    }
    pump(destination);
    // A slot is free: destinations that waited for one may go on.
    for (auto& [key, other] : destinations_) {
      if (connections_ >= delivery_.max_connections) break;
      if (other.get() != &destination && !other->ready.empty()) pump(*other);
    }
  });
}

void DeliveryScheduler::fail_ready_jobs(Destination& destination, const Reply& why, const std::string& remote) {
  std::deque<Job> jobs;
  jobs.swap(destination.ready);
  for (const Job& job : jobs) job_done(job, remote, false, std::vector<Reply>(job.recipients.size(), why));
}

void DeliveryScheduler::job_done(const Job& job, const std::string& remote, bool tls, const std::vector<Reply>& replies) {
  auto& message = *job.message;
  const std::int64_t now = std::time(nullptr);
  for (std::size_t i = 0; i < job.recipients.size() && i < replies.size(); ++i) {
    const std::size_t index = job.recipients[i];
    const Reply& reply = replies[i];
    RecipientState& state = message.state.recipients[index];
    state.status = status_of(reply);
    state.last_attempt = now;
    state.remote = remote;
    state.reply = reply.first_line();
    const auto& rcpt = message.meta.envelope.recipients[index];
    common::log::info("delivery.attempt").kv("queue_id", message.meta.id).kv("rcpt", rcpt.address.to_string())
        .kv("domain", common::ascii_lower(rcpt.address.domain)).kv("relay", remote.empty() ? "none" : remote)
        .kv("status", status_name(state.status)).kv("dsn", enhanced_of(reply)).kv("reply", state.reply)
        .kv("attempt", message.state.attempts + 1).kv("tls", tls);
    if (log_) {
      log_->record(MessageLogEntry{message.meta.id, message.meta.tenant, message.meta.envelope.mail_from.sender.to_string(),
                                   rcpt.address.to_string(), status_name(state.status), remote, state.reply,
                                   message.state.attempts + 1, now});
    }
    if (state.status != RecipientStatus::Delivered) message.state.last_error = state.reply;
  }
  if (--message.jobs_outstanding == 0) attempt_finished(job.message);
}

void DeliveryScheduler::attempt_finished(const std::shared_ptr<Message>& message) {
  message->in_flight = false;
  message->wire.reset();
  ++message->state.attempts;
  if (message->delete_requested) {
    remove_message(message, "queue.deleted");
    return;
  }
  if (message->state.finished()) {
    finish_message(message);
    return;
  }
  const std::int64_t now = std::time(nullptr);
  if (now >= message->meta.arrival + delivery_.retry.max_queue_lifetime.count()) {
    // Out of time: what is still deferred bounces now, with its last reply
    // (a 4xx reply on a bounced recipient reads as 4.4.7 in the DSN).
    for (auto& r : message->state.recipients) {
      if (r.status == RecipientStatus::Deferred || r.status == RecipientStatus::Pending) r.status = RecipientStatus::Bounced;
    }
    common::log::info("delivery.expired").kv("queue_id", message->meta.id).kv("attempts", message->state.attempts);
    finish_message(message);
    return;
  }
  schedule_retry(message);
}

void DeliveryScheduler::schedule_retry(const std::shared_ptr<Message>& message) {
  const auto& retry = delivery_.retry;
  // Exponential backoff from first_delay, capped at max_delay, with +-20%
  // jitter so that messages deferred together do not return together.
  double delay = static_cast<double>(retry.first_delay.count());
  for (int i = 1; i < message->state.attempts && delay < static_cast<double>(retry.max_delay.count()); ++i) delay *= 2;
  delay = std::min(delay, static_cast<double>(retry.max_delay.count()));
  delay *= std::uniform_real_distribution<double>(0.8, 1.2)(random_);
  const std::int64_t now = std::time(nullptr);
  const std::int64_t deadline = message->meta.arrival + retry.max_queue_lifetime.count();
  auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(delay * 1000));
  if (now + wait.count() / 1000 > deadline) wait = std::chrono::seconds(std::max<std::int64_t>(0, deadline - now));
  message->state.next_attempt = now + std::chrono::duration_cast<std::chrono::seconds>(wait).count();
  if (auto st = spool_.write_state(message->meta.id, message->state); !st) {
    common::log::error("queue.state_write_failed").kv("queue_id", message->meta.id).kv("error", st.error().message);
  }
  common::log::info("delivery.deferred").kv("queue_id", message->meta.id)
      .kv("next_attempt_in_s", static_cast<long long>(wait.count() / 1000)).kv("attempts", message->state.attempts);
  if (message->state.held) return;
  std::uint64_t generation = ++message->timer_generation;
  loop_.run_after(wait, [this, alive = alive_, message, generation] {
    if (*alive && message->timer_generation == generation && !message->in_flight) dispatch(message);
  });
}

void DeliveryScheduler::finish_message(const std::shared_ptr<Message>& message) {
  DsnInput input;
  input.reporting_mta = hostname_;
  input.queue_id = message->meta.id;
  input.envid = message->meta.envelope.mail_from.envid;
  input.original_sender = message->meta.envelope.mail_from.sender;
  input.arrival = static_cast<std::time_t>(message->meta.arrival);
  input.ret = message->meta.envelope.mail_from.ret;
  input.now = std::time(nullptr);
  for (std::size_t i = 0; i < message->state.recipients.size(); ++i) {
    const auto& r = message->state.recipients[i];
    const auto& rcpt = message->meta.envelope.recipients[i];
    if (r.status != RecipientStatus::Bounced || !wants_failure_report(message->meta.envelope.mail_from, rcpt)) continue;
    DsnRecipient d;
    d.recipient = rcpt;
    d.action = "failed";
    const bool expired = !r.reply.empty() && r.reply[0] == '4';
    auto enhanced = common::smtp::leading_enhanced_code(r.reply.size() > 4 ? std::string_view(r.reply).substr(4) : "");
    d.status = expired ? "4.4.7" : enhanced ? *enhanced : "5.0.0";
    d.remote_mta = host_of(r.remote);
    d.diagnostic = r.reply;
    d.last_attempt = static_cast<std::time_t>(r.last_attempt);
    input.recipients.push_back(std::move(d));
  }
  if (input.recipients.empty()) {
    remove_message(message, "queue.done");
    return;
  }
  // Until the DSN is queued, the final state must survive a crash, so that the
  // next start finishes the job. (Without a DSN the message simply goes: no
  // state file is written on that hot path.)
  (void)spool_.write_state(message->meta.id, message->state);
  auto contents = spool_.read(message->meta.id);
  auto parsed = contents ? parse_queue_file(*contents) : std::unexpected(contents.error());
  if (parsed) input.original_message = parsed->message;
  const std::size_t reported = input.recipients.size();
  // RFC 3464 goes to the envelope's return path, and for tenant mail that was
  // the VERP address on the wire, not the application's MAIL FROM: the report
  // reaches stamp-bounced (directly, with delivery.bounce_handoff), which
  // classifies it, suppresses and tells the tenant by webhook.
  std::optional<common::smtp::Mailbox> report_to;
  if (uses_verp(*message)) {
    std::uint32_t first_failed = 0;
    for (std::size_t i = 0; i < message->state.recipients.size(); ++i) {
      if (message->state.recipients[i].status == RecipientStatus::Bounced) {
        first_failed = static_cast<std::uint32_t>(i);
        break;
      }
    }
    report_to = common::smtp::Mailbox{verp_->encode({message->meta.id, first_failed}),
                                      message->meta.late.return_path_domain};
  }
  queue_dsn(spool_, message->meta, std::move(input), report_to,
            [this, alive = alive_, message, reported](common::Result<std::string> id) {
              if (!*alive) return;
              if (!id) {
                // The message stays queued with its final state; the next start retries this.
                common::log::error("delivery.dsn_failed").kv("queue_id", message->meta.id).kv("error", id.error().message);
                return;
              }
              common::log::info("delivery.dsn_queued").kv("queue_id", *id).kv("original", message->meta.id)
                  .kv("recipients", reported);
              remove_message(message, "queue.done");
              enqueue(*id);
            });
}

void DeliveryScheduler::remove_message(const std::shared_ptr<Message>& message, const char* event) {
  if (auto st = spool_.remove(message->meta.id); !st) {
    common::log::error("queue.remove_failed").kv("queue_id", message->meta.id).kv("error", st.error().message);
  }
  ++message->timer_generation;
  messages_.erase(message->meta.id);
  common::log::info(event).kv("queue_id", message->meta.id);
}

void DeliveryScheduler::stop(std::function<void()> done) {
  stopping_ = true;
  on_stopped_ = std::move(done);
  // Jobs not yet started stay in the spool as they are; a started transaction finishes.
  for (auto& [key, destination] : destinations_) {
    std::deque<Job> jobs;
    jobs.swap(destination->ready);
    for (const Job& job : jobs) {
      if (--job.message->jobs_outstanding == 0) {
        job.message->in_flight = false;
        job.message->wire.reset();
        (void)spool_.write_state(job.message->meta.id, job.message->state);
      }
    }
    for (auto& client : destination->clients) {
      if (client->smtp->state() == SmtpClient::State::Ready && !client->busy) client->smtp->quit();
    }
  }
  if (connections_ == 0 && on_stopped_) {
    loop_.post([this, alive = alive_] {
      if (*alive && on_stopped_) {
        auto cb = std::move(on_stopped_);
        on_stopped_ = nullptr;
        cb();
      }
    });
  }
}

std::string DeliveryScheduler::control(const std::string& command, const std::string& queue_id) {
  if (command == "flush" && queue_id.empty()) {
    std::size_t flushed = 0;
    std::vector<std::shared_ptr<Message>> all;
    for (auto& [id, message] : messages_) all.push_back(message);
    for (auto& message : all) {
      if (message->in_flight || message->state.held) continue;
      ++message->timer_generation;
      dispatch(message);
      ++flushed;
    }
    return "ok " + std::to_string(flushed) + " message(s) flushed";
  }
  auto it = messages_.find(queue_id);
  if (it == messages_.end()) return "error no message " + queue_id + " in the queue";
  auto message = it->second;
  if (command == "flush") {
    if (message->state.held) return "error " + queue_id + " is held; release it first";
    if (message->in_flight) return "ok " + queue_id + " is being delivered now";
    ++message->timer_generation;
    dispatch(message);
    return "ok " + queue_id + " flushed";
  }
  if (command == "hold") {
    message->state.held = true;
    ++message->timer_generation;
    (void)spool_.write_state(queue_id, message->state);
    common::log::info("queue.held").kv("queue_id", queue_id);
    return "ok " + queue_id + " held" + (message->in_flight ? " (after the attempt in progress)" : "");
  }
  if (command == "release") {
    message->state.held = false;
    (void)spool_.write_state(queue_id, message->state);
    common::log::info("queue.released").kv("queue_id", queue_id);
    if (!message->in_flight) dispatch(message);
    return "ok " + queue_id + " released";
  }
  if (command == "delete") {
    if (message->in_flight) {
      message->delete_requested = true;
      return "ok " + queue_id + " will be deleted when the attempt in progress ends";
    }
    remove_message(message, "queue.deleted");
    return "ok " + queue_id + " deleted";
  }
  return "error unknown command " + command;
}

}  // namespace mta
