// The common head of the daemons' server files. See server_reader.h.
#include "common/config/server_reader.h"

#include <algorithm>

#include "common/base/quoting.h"
#include "common/config/smtp_limits_reader.h"
#include "common/config/tls_reader.h"

namespace common::config {

ServerSettings read_server_settings(MapReader& root, const TenantCheck& check_tenant) {
  ServerSettings settings;
  root.read_domain("hostname", settings.hostname, Need::Required);

  MapReader log = root.read_map("log");
  log.read_enum("level", settings.log_level,
                {{"debug", common::log::Level::Debug},
                 {"info", common::log::Level::Info},
                 {"warning", common::log::Level::Warning},
                 {"error", common::log::Level::Error}});
  log.finish();

  settings.listeners = read_listeners(root, "listeners", check_tenant);

  MapReader tls = root.read_map("tls");
  if (root.has("tls")) {
    settings.tls = read_tls(tls);
  } else {
    auto starttls = std::find_if(settings.listeners.begin(), settings.listeners.end(),
                                 [](const auto& l) { return l.tls == common::smtp::TlsMode::StartTls; });
    if (starttls != settings.listeners.end()) {
      root.error("missing required key \"tls\" (listener " + quote_text(starttls->name) + " uses tls: starttls)");
    }
  }
  tls.finish();

  MapReader smtp = root.read_map("smtp");
  settings.limits = read_smtp_limits(smtp);
  smtp.finish();
  return settings;
}

}  // namespace common::config
