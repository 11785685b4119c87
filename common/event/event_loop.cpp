// EventLoop implementation. See event_loop.h.
#include "common/event/event_loop.h"

#include <event2/thread.h>

#include <algorithm>
#include <csignal>

#include "common/base/log.h"

namespace common::event {

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  // Workers post() from other threads, so libevent needs its locks.
  static const int threads_ok = evthread_use_pthreads();
  if (threads_ok != 0) return fail("libevent: evthread_use_pthreads failed");
  std::unique_ptr<EventLoop> loop(new EventLoop());
  loop->base_.reset(event_base_new());
  if (!loop->base_) return fail("libevent: event_base_new failed");
  loop->posted_event_.reset(event_new(loop->base_.get(), -1, 0, &EventLoop::on_posted, loop.get()));
  if (!loop->posted_event_) return fail("libevent: event_new failed");
  return loop;
}

EventLoop::~EventLoop() {
  timers_.clear();
  signals_.clear();
  posted_event_.reset();
}

Status EventLoop::run() {
  // Keep running while nothing is pending: work posted from other threads
  // (fsync results) arrives through an event that is only ever activated.
  if (event_base_loop(base_.get(), EVLOOP_NO_EXIT_ON_EMPTY) < 0) return fail("libevent: event_base_loop failed");
  return {};
}

void EventLoop::stop() { event_base_loopbreak(base_.get()); }

void EventLoop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(fn));
  }
  event_active(posted_event_.get(), 0, 0);
}

void EventLoop::on_posted(evutil_socket_t, short, void* arg) noexcept {
  static_cast<EventLoop*>(arg)->run_posted();
}

void EventLoop::run_posted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mutex_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

void EventLoop::run_after(std::chrono::milliseconds delay, std::function<void()> fn) {
  auto timer = std::make_unique<Timer>();
  timer->loop = this;
  timer->fn = std::move(fn);
  timer->event.reset(evtimer_new(base_.get(), &EventLoop::on_timer, timer.get()));
  timeval tv{static_cast<time_t>(delay.count() / 1000), static_cast<suseconds_t>((delay.count() % 1000) * 1000)};
  if (!timer->event || evtimer_add(timer->event.get(), &tv) != 0) {
    log::error("event.timer_failed");
    return;
  }
  timers_.push_back(std::move(timer));
}

void EventLoop::run_every(std::chrono::milliseconds interval, std::function<bool()> fn) {
  if (!fn()) return;
  run_after(interval, [this, interval, fn = std::move(fn)]() mutable { run_every(interval, std::move(fn)); });
}

void EventLoop::on_timer(evutil_socket_t, short, void* arg) noexcept {
  auto* timer = static_cast<Timer*>(arg);
  EventLoop* loop = timer->loop;
  auto fn = std::move(timer->fn);
  auto it = std::find_if(loop->timers_.begin(), loop->timers_.end(), [timer](const auto& t) { return t.get() == timer; });
  if (it != loop->timers_.end()) loop->timers_.erase(it);  // frees the event; we are past its callback
  fn();
}

Status EventLoop::on_signal(int signo, std::function<void()> fn) {
  auto handler = std::make_unique<SignalHandler>();
  handler->fn = std::move(fn);
  handler->event.reset(evsignal_new(base_.get(), signo, &EventLoop::on_signal_event, handler.get()));
  if (!handler->event || event_add(handler->event.get(), nullptr) != 0) {
    return fail("libevent: cannot watch signal " + std::to_string(signo));
  }
  signals_.push_back(std::move(handler));
  return {};
}

void EventLoop::on_signal_event(evutil_socket_t, short, void* arg) noexcept {
  static_cast<SignalHandler*>(arg)->fn();
}

}  // namespace common::event
