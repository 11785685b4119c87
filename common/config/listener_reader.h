// Reads the `listeners:` list (ListenerConfig) of either daemon's config file.
//
// Owns the listener schema, its defaults and the checks that span listeners
// (unique names, unique addresses). Whether a trusted network's tenant exists is
// the daemon's knowledge, so it comes in as a callback. Binding is not done here.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/map_reader.h"
#include "common/smtp/listener_config.h"

namespace common::config {

// Says why `tenant` cannot be used in trusted_networks, or nullopt when it can.
using TenantCheck = std::function<std::optional<std::string>(std::string_view tenant)>;

// One listener: name and address required, the rest defaulted. `check_tenant`
// may be empty (any tenant name is accepted).
common::smtp::ListenerConfig read_listener(MapReader& listener, const TenantCheck& check_tenant);

// The required, non-empty list under `key`, with names unique and addresses
// (ip:port, unless the port is 0) unique across the listeners.
std::vector<common::smtp::ListenerConfig> read_listeners(MapReader& parent, std::string_view key,
                                                         const TenantCheck& check_tenant);

}  // namespace common::config
