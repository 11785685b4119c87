// The daemons' side of systemd's notification protocol (sd_notify(3)), for
// units of Type=notify: READY=1 once the listeners are open, RELOADING=1 ...
// READY=1 around a SIGHUP reload, STOPPING=1 when shutdown starts, and STATUS=
// lines systemctl status shows. Without NOTIFY_SOCKET (not started by systemd,
// tests) every call does nothing.
#pragma once

#include <string_view>

namespace common::service {

void notify_ready(std::string_view status);
void notify_reloading();
void notify_stopping(std::string_view status);

}  // namespace common::service
