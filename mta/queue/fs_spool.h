// FsSpool: the durable message queue on disk.
//
//   DIR/tmp/      messages being received (never acknowledged; emptied at start)
//   DIR/queue/    accepted messages, one QueueFile each, named by queue id
//   DIR/state/    one QueueState per message that has been tried (queue_state.h)
//   DIR/corrupt/  files that failed to parse at start: kept for a human, never deleted
//
// Durability contract (DESIGN.md): a message is written to tmp/, fdatasync'ed,
// renamed into queue/, and queue/ is fsync'ed before the client hears 250. The
// fsyncs run on a pool of sync workers; the directory fsync is shared by every
// rename that happened before it started (group commit), so many concurrent
// sessions pay for one directory sync rather than one each.
//
// State files are not fsync'ed (see queue_state.h): they are rewritten after
// every attempt, and losing the latest one only repeats a delivery.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/base/owned.h"
#include "common/base/result.h"
#include "common/base/worker_pool.h"
#include "common/event/event_loop.h"
#include "mta/queue/queue_file.h"
#include "mta/queue/queue_state.h"

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
  void commit(const LateFields& late, std::function<void(common::Status)> done);

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
  // ids of the complete messages in queue/, oldest first. In state/, files of
  // messages no longer queued are deleted; unparsable ones (or ones that do not
  // match their queue file) move to corrupt/ID.state, so that message counts as
  // never attempted.
  std::vector<std::string> recover();

  common::Result<std::string> read(const std::string& id) const;  // the whole queue file
  // Removes the queue file, then the state file (a missing state file is fine).
  common::Status remove(const std::string& id);
  const std::filesystem::path& directory() const { return directory_; }

  // Replaces state/ID atomically (state/.ID.tmp, then rename); no fsync.
  common::Status write_state(const std::string& id, const QueueState& state);
  // std::nullopt when the message has no state file yet (never attempted).
  common::Result<std::optional<QueueState>> read_state(const std::string& id) const;

  // For tools that read a spool without an event loop (stampctl): the queue
  // ids in DIR/queue/, sorted (oldest first); files that are not named like a
  // queue id are left out. An unreadable directory gives an empty list.
  static std::vector<std::string> list_queue_ids(const std::filesystem::path& directory);

 private:
  friend class SpoolWriter;
  FsSpool(std::filesystem::path directory, std::size_t sync_workers, common::event::EventLoop& loop);
  void make_durable(std::string id, common::OwnedFd fd, std::function<void(common::Status)> done);
  common::Status sync_queue_directory_covering(std::uint64_t rename_sequence);
  // recover() for state/, given each queued id's number of recipients.
  void recover_states(const std::map<std::string, std::size_t>& recipients_by_id);

  std::filesystem::path directory_;
  std::filesystem::path tmp_dir_, queue_dir_, state_dir_, corrupt_dir_;
  common::OwnedFd tmp_dir_fd_, queue_dir_fd_, state_dir_fd_;
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

// The same reads as FsSpool::read and FsSpool::read_state, given only the spool
// directory (DIR, not DIR/queue), for tools without an event loop. The id must
// be a queue id (it becomes a file name).
common::Result<std::string> read_queue_file(const std::filesystem::path& directory, const std::string& id);
common::Result<std::optional<QueueState>> read_queue_state(const std::filesystem::path& directory,
                                                           const std::string& id);

}  // namespace mta
