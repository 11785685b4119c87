// Loading stamp-bounced's configuration: its server file (stamp-bounced.yaml)
// and the stamp-mta configuration it names with `mta_config`.
//
// Every problem of both, as `file:line:col: message`, sorted; the config is set
// only when there are none.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "bounced/bounced_config.h"
#include "common/config/diagnostics.h"

namespace bounced {

struct BouncedConfigLoad {
  std::optional<BouncedConfig> config;
  std::vector<common::config::Diagnostic> problems;
};

BouncedConfigLoad load_bounced_config(const std::filesystem::path& file);

}  // namespace bounced
