// MessageLog: every accepted message (table `message`) and the per-recipient
// outcome of every delivery attempt (table `message_log`), in the state
// database (SQLite, WAL), for webhooks, the API and operators to read later.
//
// record() is called on the event loop and only appends to a queue in memory;
// a writer thread commits the queue in batches (one BEGIN IMMEDIATE ... COMMIT
// per batch), so the delivery path never waits for the disk. The log is a
// record, not the queue's source of truth: a crash may lose the last batch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "common/base/result.h"

namespace mta {

struct MessageLogEntry {
  std::string queue_id;
  std::string tenant;
  std::string sender;     // envelope sender, "" for <>
  std::string recipient;
  std::string status;     // "delivered", "deferred", "bounced"
  std::string remote;     // "mx1.example.net[192.0.2.7]:25" or ""
  std::string reply;      // remote reply or our reason
  int attempt = 0;
  std::int64_t at = 0;    // unix seconds
};

// One accepted message: what stamp-bounced needs to turn a bounce into a webhook
// (Postmark's Tag, MessageStream, Metadata, MessageID, From, Subject), keyed by
// the queue id a VERP token carries. Table `message`.
struct AcceptedMessage {
  std::string queue_id;
  std::string tenant;
  std::string stream;
  std::string tag;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string message_id;  // the Message-ID header's value
  std::string from;        // the From header as sent (after the sender mode)
  std::string subject;     // the Subject header, unfolded, as received
  std::string sender;      // the envelope sender as the application gave it
  std::vector<std::string> recipients;  // in envelope order: the VERP token's index
  std::int64_t accepted_at = 0;         // unix seconds
};

// Forget what is older than `before` (unix seconds) in both tables, at most
// kMaxPurgeRows per table per request (stamp-mta asks every hour).
struct PurgeBefore {
  std::int64_t before = 0;
};

class MessageLog {
 public:
  // Opens (creating when needed) the database and its schema; starts the writer.
  static common::Result<std::unique_ptr<MessageLog>> open(const std::filesystem::path& database);
  ~MessageLog();  // writes what is queued, then stops

  void record(MessageLogEntry entry);  // any thread; never blocks on the disk
  void record(AcceptedMessage message);  // the same, for the `message` table
  void purge(PurgeBefore request);       // the same: done by the writer thread, in its turn
  void flush();                        // waits until everything recorded so far is committed (tests, shutdown)

  static constexpr std::size_t kMaxBatch = 1000;
  static constexpr std::size_t kMaxQueued = 100000;
  static constexpr std::size_t kMaxPurgeRows = 50000;  // beyond this, entries are dropped and counted in the log

  // What the writer has done so far (tests, metrics).
  struct Stats {
    std::uint64_t written = 0;   // rows committed
    std::uint64_t failed = 0;    // rows lost to a failed batch (logged as message_log.write_failed)
    std::uint64_t dropped = 0;   // rows refused by record() because kMaxQueued were waiting
    std::uint64_t batches = 0;   // transactions committed
  };
  Stats stats() const;

  MessageLog(const MessageLog&) = delete;
  MessageLog& operator=(const MessageLog&) = delete;

 private:
  struct Database;  // the connection and the prepared insert; only the writer thread uses them

  explicit MessageLog(std::unique_ptr<Database> db);
  void run();  // the writer thread

  std::unique_ptr<Database> db_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;       // entries queued, or stopping
  std::condition_variable progress_;   // a batch was handled (for flush)
  using Row = std::variant<MessageLogEntry, AcceptedMessage, PurgeBefore>;
  void queue_row(Row row);
  std::vector<Row> queued_;
  std::uint64_t accepted_ = 0;         // entries record() queued, ever
  std::uint64_t handled_ = 0;          // of those, committed or failed
  std::uint64_t dropped_unreported_ = 0;  // since the writer last logged message_log.dropped
  Stats stats_;
  bool stopping_ = false;

  std::thread writer_;  // last: started once everything above exists
};

}  // namespace mta
