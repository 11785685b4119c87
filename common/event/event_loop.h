// EventLoop: the libevent event_base of a daemon, with signal handling and a
// thread-safe way for workers (fsync, password hashing) to hand results back.
//
// Everything that touches sessions runs on the loop thread; workers only ever
// post() closures here. Callbacks into libevent are noexcept trampolines.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "common/base/owned.h"
#include "common/base/result.h"

namespace common::event {

using OwnedEventBase = Owned<event_base, &event_base_free>;
using OwnedEvent = Owned<::event, &event_free>;

class EventLoop {
 public:
  static Result<std::unique_ptr<EventLoop>> create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  event_base* base() const { return base_.get(); }
  Status run();  // until stop()
  void stop();

  // Thread-safe: runs `fn` on the loop thread soon. Also the way to delay work
  // (such as deleting a connection) until the current callback has returned.
  void post(std::function<void()> fn);

  // Loop thread only: runs `fn` once after `delay`.
  void run_after(std::chrono::milliseconds delay, std::function<void()> fn);
  // Loop thread only: runs `fn` now, then every `interval` for as long as it
  // returns true (periodic housekeeping: polls, retention purges).
  void run_every(std::chrono::milliseconds interval, std::function<bool()> fn);

  // Runs `fn` on the loop whenever `signo` arrives (SIGTERM, SIGINT, SIGHUP).
  Status on_signal(int signo, std::function<void()> fn);

 private:
  EventLoop() = default;
  static void on_posted(evutil_socket_t, short, void* arg) noexcept;
  static void on_signal_event(evutil_socket_t, short, void* arg) noexcept;
  static void on_timer(evutil_socket_t, short, void* arg) noexcept;
  void run_posted();

  struct SignalHandler {
    OwnedEvent event;
    std::function<void()> fn;
  };

  OwnedEventBase base_;
  OwnedEvent posted_event_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  std::vector<std::unique_ptr<SignalHandler>> signals_;
  struct Timer {
    EventLoop* loop;
    OwnedEvent event;
    std::function<void()> fn;
  };
  std::vector<std::unique_ptr<Timer>> timers_;
};

}  // namespace common::event
