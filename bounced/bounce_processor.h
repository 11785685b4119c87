// BounceProcessor: what stamp-bounced does with a report it accepted over SMTP,
// off the event loop, on a small pool of worker threads each with its own
// connection to the state database:
//
//  1. classify it (bounced/classify);
//  2. find the message it is about: the VERP token of the address it came to
//     names the queue id, which stamp-mta's `message` table maps to the tenant,
//     stream, tag, metadata, Message-ID, From and Subject; without a token, the
//     Message-ID of the returned original;
//  3. in ONE transaction (BEGIN IMMEDIATE): store the report (size-capped) and
//     one bounce row per recipient, add the suppressions it causes (hard bounce,
//     spam complaint, too many soft bounces in a row), and queue the tenant's
//     webhooks (Bounce, SpamComplaint, SubscriptionChange) in the outbox.
//
// The reply to DATA waits for the commit, so an accepted report is never lost.
// The same report twice (same bytes) is stored once and changes nothing the
// second time. Only recipients of the message the token names are suppressed:
// a report cannot suppress addresses the message was not sent to.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "bounced/bounced_config.h"
#include "common/base/result.h"
#include "common/base/worker_pool.h"
#include "common/event/event_loop.h"
#include "common/store/state_database.h"
#include "common/verp/verp_codec.h"

namespace bounced {

struct IncomingReport {
  std::string raw;
  std::string session_id;
  std::string envelope_from;                       // "" for the null sender
  std::vector<std::string> envelope_to;            // the accepted recipients
  std::optional<common::verp::BounceToken> token;  // from the first VERP recipient
  std::string token_domain;                        // that recipient's domain
};

struct ProcessOutcome {
  std::int64_t report_id = 0;
  bool duplicate = false;
  std::size_t results = 0;
  std::size_t suppressions_added = 0;
  std::size_t webhooks_queued = 0;
};

class BounceProcessor {
 public:
  static common::Result<std::unique_ptr<BounceProcessor>> open(common::event::EventLoop& loop,
                                                               const std::filesystem::path& database,
                                                               std::size_t workers);
  ~BounceProcessor();  // finishes the reports already submitted
  BounceProcessor(const BounceProcessor&) = delete;
  BounceProcessor& operator=(const BounceProcessor&) = delete;

  // The configuration the next reports are processed with (loop thread).
  void configure(std::shared_ptr<const BouncedConfig> config);
  // `done` runs on the loop thread after the commit (or the failure).
  void submit(IncomingReport report, std::function<void(common::Result<ProcessOutcome>)> done);
  // Looks for new deliveries in stamp-mta's message log and queues Delivery
  // webhooks (delivery_events.h), on a worker; at most one pass at a time.
  void poll_deliveries();
  // Forgets stored bounces older than bounce_store.retention, on a worker.
  void purge_old_bounces();
  // Called on the loop thread whenever webhooks were queued (wakes the dispatcher).
  void on_webhooks_queued(std::function<void()> callback) { on_webhooks_queued_ = std::move(callback); }

 private:
  BounceProcessor(common::event::EventLoop& loop, std::vector<common::store::OwnedSqlite> connections);
  common::store::OwnedSqlite take_connection();
  void give_back(common::store::OwnedSqlite connection);

  common::event::EventLoop& loop_;
  std::mutex mutex_;
  std::vector<common::store::OwnedSqlite> idle_;  // one per worker
  std::shared_ptr<const BouncedConfig> config_;   // replaced on reload; workers keep their snapshot
  std::function<void()> on_webhooks_queued_;
  bool polling_deliveries_ = false;  // loop thread only
  static constexpr std::size_t kPurgeBatch = 50000;  // rows per table per purge
  std::shared_ptr<bool> alive_;
  std::int64_t started_at_;  // unix seconds: Delivery webhooks start with what is logged after
  std::unique_ptr<common::WorkerPool> workers_;   // last: stopped first
};

// The work itself, on one connection, for tests and the workers.
common::Result<ProcessOutcome> process_report(sqlite3* db, const BouncedConfig& config, const IncomingReport& report,
                                              std::int64_t now);

}  // namespace bounced
