// GracefulShutdown: how both daemons stop on SIGTERM or SIGINT. The first
// signal stops accepting, lets SMTP sessions and the daemon's other work
// (stamp-mta's deliveries, stamp-bounced's webhooks) finish, and stops the loop
// when both have, or after `grace`; a second signal stops at once. systemd hears
// STOPPING=1 with `status`.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/event/event_loop.h"
#include "common/smtp/smtp_server.h"

namespace common::smtp {

class GracefulShutdown {
 public:
  // `stop_other` stops the other part and calls its argument once it has.
  using StopPart = std::function<void(std::function<void()> done)>;

  GracefulShutdown(event::EventLoop& loop, SmtpServer& server, StopPart stop_other, std::string status,
                   std::chrono::seconds grace);
  // Handles SIGTERM and SIGINT from now on.
  void install();
  bool stopping() const { return stopping_; }

 private:
  void stop(const char* signal_name);
  void part_stopped();

  event::EventLoop& loop_;
  SmtpServer& server_;
  StopPart stop_other_;
  std::string status_;
  std::chrono::seconds grace_;
  bool stopping_ = false;
  int parts_running_ = 2;  // the SMTP server and the other part
};

}  // namespace common::smtp
