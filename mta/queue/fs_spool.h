// FsSpool: the durable message queue on disk.
//
//   DIR/tmp/      messages being received (never acknowledged; emptied at start)
//   DIR/queue/    accepted messages, one QueueFile each, named by queue id
//   DIR/corrupt/  files that failed to parse at start: kept for a human, never deleted
//
// Durability contract (DESIGN.md): a message is written to tmp/, fdatasync'ed,
// renamed into queue/, and queue/ is fsync'ed before the client hears 250. The
// fsyncs run on a pool of sync workers; the directory fsync is shared by every
// rename that happened before it started (group commit), so many concurrent
// sessions pay for one directory sync rather than one each.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/base/owned.h"
#include "common/base/result.h"
#include "common/base/worker_pool.h"
#include "common/event/event_loop.h"
#include "mta/queue/queue_file.h"

namespace mta {

class FsSpool;

// One message being written. Destroyed without commit(), it leaves nothing behind.
class SpoolWriter {
 public:
  ~SpoolWriter();
  SpoolWriter(const SpoolWriter&) = delete;
  SpoolWriter& operator=(const SpoolWriter&) = delete;

  const std::string& id() const { return id_; }
  void write(std::string_view bytes);  // buffered; a failure is reported by commit()
  // Makes the message durable; `done` runs on the loop thread with the outcome.
  void commit(std::function<void(common::Status)> done);

  static constexpr std::size_t kBufferSize = 64 * 1024;

 private:
  friend class FsSpool;
  SpoolWriter(FsSpool& spool, std::string id, common::OwnedFd fd);
  void flush();

  FsSpool& spool_;
  std::string id_;
  common::OwnedFd fd_;
  std::string buffer_;
  std::uint64_t message_bytes_ = 0;
  bool committed_ = false;
  std::optional<common::Error> error_;
};

class FsSpool {
 public:
  static common::Result<std::unique_ptr<FsSpool>> open(const std::filesystem::path& directory,
                                                       std::size_t sync_workers, common::event::EventLoop& loop);
  ~FsSpool();

  // Starts a new message with its envelope; the caller streams the message in.
  common::Result<std::unique_ptr<SpoolWriter>> create(const QueuedMessage& meta);

  // At start: empties tmp/, moves unparsable files to corrupt/, and returns the
  // ids of the complete messages in queue/, oldest first.
  std::vector<std::string> recover();

  common::Result<std::string> read(const std::string& id) const;  // the whole queue file
  common::Status remove(const std::string& id);
  const std::filesystem::path& directory() const { return directory_; }

 private:
  friend class SpoolWriter;
  FsSpool(std::filesystem::path directory, std::size_t sync_workers, common::event::EventLoop& loop);
  void make_durable(std::string id, common::OwnedFd fd, std::function<void(common::Status)> done);
  common::Status sync_queue_directory_covering(std::uint64_t rename_sequence);

  std::filesystem::path directory_;
  std::filesystem::path tmp_dir_, queue_dir_, corrupt_dir_;
  common::OwnedFd tmp_dir_fd_, queue_dir_fd_;
  common::event::EventLoop& loop_;

  // Group commit of the queue/ directory (see the file comment).
  std::mutex dir_sync_mutex_;
  std::condition_variable dir_sync_done_;
  std::uint64_t renamed_ = 0;        // renames completed
  std::uint64_t synced_ = 0;         // renames covered by a finished directory fsync
  std::uint64_t failed_through_ = 0; // renames whose directory fsync failed
  bool dir_sync_running_ = false;

  std::unique_ptr<common::WorkerPool> sync_pool_;  // last: joined first on destruction
};

}  // namespace mta
