// DeliveryScheduler: sends queued messages to the recipients' servers.
//
// A message's pending recipients are grouped by destination (the recipient
// domain, or the relay host) into jobs of at most kMaxRecipientsPerTransaction.
// Each destination has a route (RouteResolver), a ready queue of jobs and a set
// of SmtpClient connections bounded by its limits (connections, transactions
// per connection, messages per minute) and by a total; an idle connection takes
// the next job, so a busy domain reuses its connections.
//
// Outcomes per recipient: 2xx delivered, 4xx or no connection deferred, 5xx
// bounced. A message whose every recipient is final leaves the queue, with one
// DSN for its bounced recipients; one with deferred recipients is retried after
// an exponential backoff with jitter, until its queue lifetime runs out and
// those recipients bounce with 4.4.7. Each attempt is written to the queue's
// state file and to the message log.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/dns/resolver.h"
#include "common/event/event_loop.h"
#include "common/verp/verp_codec.h"
#include "mta/delivery/delivery_agent.h"
#include "mta/delivery/route_resolver.h"
#include "mta/delivery/smtp_client.h"
#include "mta/mta_config.h"
#include "mta/queue/fs_spool.h"
#include "mta/queue/queue_state.h"

namespace mta {

class MessageLog;

class DeliveryScheduler final : public DeliveryAgent {
 public:
  struct TlsContexts {
    SSL_CTX* opportunistic = nullptr;  // no verification
    SSL_CTX* verified = nullptr;       // verifies against the configured CAs
  };

  // `verp` (may be null) rewrites the envelope sender of messages whose
  // submission chose a Return-Path domain.
  DeliveryScheduler(common::event::EventLoop& loop, FsSpool& spool, common::dns::Resolver& resolver,
                    MessageLog* log, const MtaConfig& config, TlsContexts tls, const common::verp::VerpCodec* verp);
  ~DeliveryScheduler() override;

  void enqueue(const std::string& queue_id) override;
  void stop(std::function<void()> done) override;
  std::string control(const std::string& command, const std::string& queue_id) override;
  // SIGHUP: limits, TLS policies, retry and timeouts apply from now on; the
  // mode, relay host and MX port only at the next start.
  void reload(const MtaConfig& config) override;

  static constexpr std::size_t kMaxRecipientsPerTransaction = 100;
  static constexpr std::chrono::seconds kRouteCacheLifetime{60};
  // How long an idle connection waits for more mail to its destination.
  static constexpr std::chrono::seconds kConnectionIdleTime{5};

 private:
  struct Message;
  struct Job {
    std::shared_ptr<Message> message;
    std::vector<std::size_t> recipients;  // indexes into the envelope
  };
  struct Destination;
  struct Client;

  void dispatch(const std::shared_ptr<Message>& message);
  void pump(Destination& destination);
  void open_connection(Destination& destination, std::size_t target_index, bool offer_tls);
  void on_client_ready(Destination& destination, Client& client);
  void on_client_failed(Destination& destination, Client& client, const common::smtp::Reply& why);
  void on_client_closed(Destination& destination, Client& client);
  void fail_ready_jobs(Destination& destination, const common::smtp::Reply& why, const std::string& remote);
  void job_done(const Job& job, const std::string& remote, bool tls, const std::vector<common::smtp::Reply>& replies);
  void attempt_finished(const std::shared_ptr<Message>& message);
  void finish_message(const std::shared_ptr<Message>& message);
  void schedule_retry(const std::shared_ptr<Message>& message);
  void remove_message(const std::shared_ptr<Message>& message, const char* event);
  bool rate_allows(Destination& destination);
  Destination& destination_for(const std::string& domain);
  void apply_policy(Destination& destination) const;
  void release_idle_connection(const Destination& for_destination);
  std::string destination_key(const std::string& domain) const;
  bool load_body(Message& message);
  bool uses_verp(const Message& message) const;

  common::event::EventLoop& loop_;
  const common::verp::VerpCodec* verp_;
  FsSpool& spool_;
  MessageLog* log_;
  DeliveryConfig delivery_;
  std::string hostname_;
  TlsContexts tls_;
  RouteResolver routes_;
  std::set<std::string, std::less<>> handoff_domains_;  // Return-Path domains (bounce hand-off)
  std::unordered_map<std::string, std::shared_ptr<Message>> messages_;
  std::unordered_map<std::string, std::unique_ptr<Destination>> destinations_;
  std::size_t connections_ = 0;  // all destinations, against delivery.max_connections
  bool stopping_ = false;
  std::function<void()> on_stopped_;
  std::mt19937 random_;
  std::shared_ptr<bool> alive_;
};

}  // namespace mta
