// The daemons' shutdown. See graceful_shutdown.h.
#include "common/smtp/graceful_shutdown.h"

#include <csignal>

#include "common/base/log.h"
#include "common/base/service_notify.h"

namespace common::smtp {

GracefulShutdown::GracefulShutdown(event::EventLoop& loop, SmtpServer& server, StopPart stop_other, std::string status,
                                   std::chrono::seconds grace)
    : loop_(loop), server_(server), stop_other_(std::move(stop_other)), status_(std::move(status)), grace_(grace) {}

void GracefulShutdown::install() {
  (void)loop_.on_signal(SIGTERM, [this] { stop("SIGTERM"); });
  (void)loop_.on_signal(SIGINT, [this] { stop("SIGINT"); });
}

void GracefulShutdown::part_stopped() {
  if (--parts_running_ == 0) loop_.stop();
}

void GracefulShutdown::stop(const char* signal_name) {
  if (stopping_) {
    log::info("shutdown_forced").kv("signal", signal_name);
    server_.abort_connections();
    loop_.stop();
    return;
  }
  stopping_ = true;
  service::notify_stopping(status_);
  log::info("shutdown").kv("signal", signal_name).kv("connections", server_.connection_count());
  stop_other_([this] { part_stopped(); });
  server_.shutdown([this] { part_stopped(); });
  loop_.run_after(grace_, [this] {
    log::info("shutdown_grace_expired").kv("connections", server_.connection_count());
    server_.abort_connections();
    loop_.stop();
  });
}

}  // namespace common::smtp
