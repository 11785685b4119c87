// WorkerPool: a fixed set of threads for work that must stay off the event loop
// (fsync, password hashing, writing the sandbox). Jobs run in submission order
// per free thread; results go back to the loop with EventLoop::post.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace common {

class WorkerPool {
 public:
  WorkerPool(std::string name, std::size_t threads);
  ~WorkerPool();  // runs every job already submitted, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(std::function<void()> job);
  std::size_t queued() const;

 private:
  void run();

  std::string name_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace common
