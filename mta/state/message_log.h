// MessageLog: the per-recipient outcome of every delivery attempt, in the state
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

class MessageLog {
 public:
  // Opens (creating when needed) the database and its schema; starts the writer.
  static common::Result<std::unique_ptr<MessageLog>> open(const std::filesystem::path& database);
  ~MessageLog();  // writes what is queued, then stops

  void record(MessageLogEntry entry);  // any thread; never blocks on the disk
  void flush();                        // waits until everything recorded so far is committed (tests, shutdown)

  static constexpr std::size_t kMaxBatch = 1000;
  static constexpr std::size_t kMaxQueued = 100000;  // beyond this, entries are dropped and counted in the log

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
  std::vector<MessageLogEntry> queued_;
  std::uint64_t accepted_ = 0;         // entries record() queued, ever
  std::uint64_t handled_ = 0;          // of those, committed or failed
  std::uint64_t dropped_unreported_ = 0;  // since the writer last logged message_log.dropped
  Stats stats_;
  bool stopping_ = false;

  std::thread writer_;  // last: started once everything above exists
};

}  // namespace mta
