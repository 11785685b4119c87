// sd_notify wrappers. See service_notify.h.
#include "common/base/service_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <string>

namespace common::service {
namespace {

void send(const std::string& state) {
  // 0 = unset_environment false; a negative result (no socket, or systemd gone)
  // is nothing a daemon can act on.
  (void)sd_notify(0, state.c_str());
}

std::string status_line(std::string_view status) {
  std::string line;
  for (char c : status) line += (c == '\n' || c == '\r') ? ' ' : c;
  return line;
}

}  // namespace

void notify_ready(std::string_view status) { send("READY=1\nSTATUS=" + status_line(status)); }

void notify_reloading() {
  // systemd 253+ wants the monotonic time with RELOADING=1 (Type=notify-reload);
  // older ones ignore it.
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const unsigned long long usec =
      static_cast<unsigned long long>(now.tv_sec) * 1000000ULL + static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notify_stopping(std::string_view status) { send("STOPPING=1\nSTATUS=" + status_line(status)); }

}  // namespace common::service
