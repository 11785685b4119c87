// FsSpool: durable queue files with group commit. See fs_spool.h.
#include "mta/queue/fs_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "common/base/log.h"
#include "mta/queue/queue_id.h"

namespace mta {
namespace {

common::Result<common::OwnedFd> open_directory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return common::fail("cannot create " + dir.string() + ": " + ec.message());
  common::OwnedFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return common::fail_errno("cannot open directory " + dir.string());
  return fd;
}

common::Status write_all(int fd, std::string_view bytes, const char* what = "write to spool file") {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return common::fail_errno(what);
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// The whole file `name` (relative to `dir_fd`, or a path with AT_FDCWD);
// `label` names it in errors. A missing file keeps ENOENT in sys_errno.
common::Result<std::string> read_file_at(int dir_fd, const std::string& name, const std::string& label) {
  common::OwnedFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return common::fail_errno("open " + label);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return common::fail_errno("stat " + label);
  std::string contents(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::read(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return common::fail_errno("read " + label);
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  contents.resize(done);
  return contents;
}

// A state file's text, parsed; nullopt when there is none.
common::Result<std::optional<QueueState>> read_state_at(int dir_fd, const std::string& name,
                                                        const std::string& id) {
  if (!is_queue_id(id)) return common::fail("not a queue id: " + id);
  auto text = read_file_at(dir_fd, name, "state/" + id);
  if (!text) {
    if (text.error().sys_errno == ENOENT) return std::optional<QueueState>();
    return std::unexpected(text.error());
  }
  auto state = parse_queue_state(*text);
  if (!state) return common::fail("state/" + id + ": " + state.error().message);
  return std::optional<QueueState>(std::move(*state));
}

}  // namespace

// --- SpoolWriter -------------------------------------------------------------

SpoolWriter::SpoolWriter(FsSpool& spool, std::string id, common::OwnedFd fd)
    : spool_(spool), id_(std::move(id)), fd_(std::move(fd)) {
  buffer_.reserve(kBufferSize);
}

SpoolWriter::~SpoolWriter() {
  if (committed_) return;
  // Abandoned (client gone, message refused): the temporary file goes.
  fd_ = common::OwnedFd();
  ::unlinkat(spool_.tmp_dir_fd_.get(), id_.c_str(), 0);
}

void SpoolWriter::write(std::string_view bytes) {
  if (error_) return;
  message_bytes_ += bytes.size();
  buffer_.append(bytes);
  if (buffer_.size() >= kBufferSize) flush();
}

void SpoolWriter::flush() {
  if (error_ || buffer_.empty()) return;
  if (auto st = write_all(fd_.get(), buffer_); !st) error_ = st.error();
  buffer_.clear();
}

void SpoolWriter::commit(const LateFields& late, std::function<void(common::Status)> done) {
  buffer_ += encode_queue_tail(late, message_bytes_);
  flush();
  if (error_) {
    common::log::error("queue.write_failed").kv("queue_id", id_).kv("error", error_->message);
    auto error = *error_;
    spool_.loop_.post([done = std::move(done), error] { done(std::unexpected(error)); });
    return;  // not committed: the destructor removes the temporary file
  }
  committed_ = true;
  spool_.make_durable(id_, std::move(fd_), std::move(done));
}

// --- FsSpool -----------------------------------------------------------------

FsSpool::FsSpool(std::filesystem::path directory, std::size_t sync_workers, common::event::EventLoop& loop)
    : directory_(std::move(directory)),
      tmp_dir_(directory_ / "tmp"),
      queue_dir_(directory_ / "queue"),
      state_dir_(directory_ / "state"),
      corrupt_dir_(directory_ / "corrupt"),
      loop_(loop),
      sync_pool_(std::make_unique<common::WorkerPool>("stamp-fsync", sync_workers)) {}

FsSpool::~FsSpool() { sync_pool_.reset(); }

common::Result<std::unique_ptr<FsSpool>> FsSpool::open(const std::filesystem::path& directory,
                                                       std::size_t sync_workers, common::event::EventLoop& loop) {
  std::unique_ptr<FsSpool> spool(new FsSpool(directory, sync_workers, loop));
  auto tmp = open_directory(spool->tmp_dir_);
  if (!tmp) return std::unexpected(tmp.error());
  auto queue = open_directory(spool->queue_dir_);
  if (!queue) return std::unexpected(queue.error());
  auto state = open_directory(spool->state_dir_);
  if (!state) return std::unexpected(state.error());
  auto corrupt = open_directory(spool->corrupt_dir_);
  if (!corrupt) return std::unexpected(corrupt.error());
  spool->tmp_dir_fd_ = std::move(*tmp);
  spool->queue_dir_fd_ = std::move(*queue);
  spool->state_dir_fd_ = std::move(*state);
  return spool;
}

common::Result<std::unique_ptr<SpoolWriter>> FsSpool::create(const QueuedMessage& meta) {
  common::OwnedFd fd(::openat(tmp_dir_fd_.get(), meta.id.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return common::fail_errno("cannot create spool file tmp/" + meta.id);
  std::unique_ptr<SpoolWriter> writer(new SpoolWriter(*this, meta.id, std::move(fd)));
  writer->buffer_ = encode_queue_header(meta);
  return writer;
}

void FsSpool::make_durable(std::string id, common::OwnedFd fd, std::function<void(common::Status)> done) {
  // Runs on a sync worker; the outcome is posted back to the loop.
  sync_pool_->submit([this, id = std::move(id), fd = std::make_shared<common::OwnedFd>(std::move(fd)),
                      done = std::move(done)]() mutable {
    common::Status status;
    if (::fdatasync(fd->get()) != 0) {
      status = common::fail_errno("fdatasync tmp/" + id);
    } else if (::close(fd->release()) != 0) {
      status = common::fail_errno("close tmp/" + id);
    } else if (::renameat2(tmp_dir_fd_.get(), id.c_str(), queue_dir_fd_.get(), id.c_str(), RENAME_NOREPLACE) != 0) {
      status = common::fail_errno("rename tmp/" + id + " to queue/");
    } else {
      std::uint64_t sequence;
      {
        std::lock_guard lock(dir_sync_mutex_);
        sequence = ++renamed_;
      }
      status = sync_queue_directory_covering(sequence);
    }
    if (!status) {
      common::log::error("queue.sync_failed").kv("queue_id", id).kv("error", status.error().message);
      ::unlinkat(tmp_dir_fd_.get(), id.c_str(), 0);
    }
    loop_.post([done = std::move(done), status = std::move(status)] { done(status); });
  });
}

// Waits until a directory fsync that started after rename number `sequence`
// has finished, running one itself if none is in progress.
common::Status FsSpool::sync_queue_directory_covering(std::uint64_t sequence) {
  std::unique_lock lock(dir_sync_mutex_);
  while (synced_ < sequence) {
    if (dir_sync_running_) {
      dir_sync_done_.wait(lock);
      continue;
    }
    dir_sync_running_ = true;
    std::uint64_t target = renamed_;
    lock.unlock();
    int rc = ::fsync(queue_dir_fd_.get());
    int err = errno;
    lock.lock();
    dir_sync_running_ = false;
    synced_ = target;
    if (rc != 0) {
      failed_through_ = target;
      common::log::error("queue.dir_sync_failed").kv("error", std::strerror(err));
    }
    dir_sync_done_.notify_all();
  }
  if (sequence <= failed_through_) return common::fail("fsync of the queue directory failed");
  return {};
}

std::vector<std::string> FsSpool::recover() {
  std::error_code ec;
  std::size_t abandoned = 0;
  for (const auto& entry : std::filesystem::directory_iterator(tmp_dir_, ec)) {
    // Never acknowledged: the client did not get 250 and will retry.
    std::filesystem::remove(entry.path(), ec);
    ++abandoned;
  }
  if (abandoned) common::log::info("queue.tmp_cleared").kv("files", abandoned);
  std::vector<std::string> ids;
  std::map<std::string, std::size_t> recipients_by_id;
  for (const auto& entry : std::filesystem::directory_iterator(queue_dir_, ec)) {
    std::string name = entry.path().filename().string();
    auto contents = read(name);
    common::Status problem;
    if (!is_queue_id(name)) {
      problem = common::fail("file name is not a queue id");
    } else if (!contents) {
      problem = std::unexpected(contents.error());
    } else if (auto parsed = parse_queue_file(*contents); !parsed) {
      problem = std::unexpected(parsed.error());
    } else if (parsed->meta.id != name) {
      problem = common::fail("envelope id does not match the file name");
    } else {
      recipients_by_id[name] = parsed->meta.envelope.recipients.size();
    }
    if (!problem) {
      std::filesystem::rename(entry.path(), corrupt_dir_ / name, ec);
      common::log::error("queue.corrupt").kv("file", name).kv("error", problem.error().message)
          .kv("moved_to", (corrupt_dir_ / name).string());
      continue;
    }
    ids.push_back(name);
  }
  std::sort(ids.begin(), ids.end());
  recover_states(recipients_by_id);
  common::log::info("queue.recovered").kv("messages", ids.size());
  return ids;
}

void FsSpool::recover_states(const std::map<std::string, std::size_t>& recipients_by_id) {
  std::error_code ec;
  std::size_t stale = 0;
  for (const auto& entry : std::filesystem::directory_iterator(state_dir_, ec)) {
    std::string name = entry.path().filename().string();
    auto queued = recipients_by_id.find(name);
    if (queued == recipients_by_id.end()) {
      // The message is gone (delivered, deleted, quarantined), or this is a
      // .ID.tmp left by a write_state() that was cut short.
      std::error_code remove_ec;
      std::filesystem::remove(entry.path(), remove_ec);
      ++stale;
      continue;
    }
    auto state = read_state(name);
    common::Status problem;
    if (!state) {
      problem = std::unexpected(state.error());
    } else if (*state && (*state)->recipients.size() != queued->second) {
      problem = common::fail("state has " + std::to_string((*state)->recipients.size()) +
                             " recipients, the queue file " + std::to_string(queued->second));
    }
    if (problem) continue;
    // Without it the message counts as never attempted: at worst a recipient
    // gets the message twice, and nobody is forgotten.
    auto moved_to = corrupt_dir_ / (name + ".state");
    std::error_code rename_ec;
    std::filesystem::rename(entry.path(), moved_to, rename_ec);
    auto line = common::log::error("queue.state_corrupt");
    line.kv("queue_id", name).kv("error", problem.error().message);
    if (rename_ec) {
      line.kv("move_failed", rename_ec.message());
    } else {
      line.kv("moved_to", moved_to.string());
    }
  }
  if (ec) common::log::error("queue.state_scan_failed").kv("error", ec.message());
  if (stale) common::log::info("queue.state_stale_removed").kv("files", stale);
}

common::Result<std::string> FsSpool::read(const std::string& id) const {
  return read_file_at(queue_dir_fd_.get(), id, "queue/" + id);
}

common::Status FsSpool::remove(const std::string& id) {
  if (::unlinkat(queue_dir_fd_.get(), id.c_str(), 0) != 0) return common::fail_errno("unlink queue/" + id);
  // The queue file goes first: a state file left behind by a crash here is
  // removed by recover(), while the other order could retry delivered mail.
  if (::unlinkat(state_dir_fd_.get(), id.c_str(), 0) != 0 && errno != ENOENT) {
    int err = errno;
    common::log::warning("queue.state_remove_failed").kv("queue_id", id).kv("error", std::strerror(err));
  }
  return {};
}

common::Status FsSpool::write_state(const std::string& id, const QueueState& state) {
  if (!is_queue_id(id)) return common::fail("not a queue id: " + id);
  std::string tmp_name = "." + id + ".tmp";
  common::OwnedFd fd(::openat(state_dir_fd_.get(), tmp_name.c_str(),
                              O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return common::fail_errno("create state/" + tmp_name);
  common::Status status = write_all(fd.get(), encode_queue_state(state), "write state file");
  // No fsync (see queue_state.h): rename makes the swap atomic, not durable.
  if (status && ::close(fd.release()) != 0) status = common::fail_errno("close state/" + tmp_name);
  if (status && ::renameat(state_dir_fd_.get(), tmp_name.c_str(), state_dir_fd_.get(), id.c_str()) != 0) {
    status = common::fail_errno("rename state/" + tmp_name + " to state/" + id);
  }
  if (!status) {
    fd = common::OwnedFd();
    ::unlinkat(state_dir_fd_.get(), tmp_name.c_str(), 0);
  }
  return status;
}

common::Result<std::optional<QueueState>> FsSpool::read_state(const std::string& id) const {
  return read_state_at(state_dir_fd_.get(), id, id);
}

std::vector<std::string> FsSpool::list_queue_ids(const std::filesystem::path& directory) {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory / "queue", ec)) {
    std::string name = entry.path().filename().string();
    if (is_queue_id(name)) ids.push_back(std::move(name));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

// --- without an FsSpool ------------------------------------------------------

common::Result<std::string> read_queue_file(const std::filesystem::path& directory, const std::string& id) {
  if (!is_queue_id(id)) return common::fail("not a queue id: " + id);
  return read_file_at(AT_FDCWD, (directory / "queue" / id).string(), "queue/" + id);
}

common::Result<std::optional<QueueState>> read_queue_state(const std::filesystem::path& directory,
                                                           const std::string& id) {
  return read_state_at(AT_FDCWD, (directory / "state" / id).string(), id);
}

}  // namespace mta
