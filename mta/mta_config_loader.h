// Loading stamp-mta's configuration: the server file (mta.yaml) plus one file
// per tenant in tenants.d/ next to it.
//
// Owns the mta schema, the checks across files (unknown tenants, usernames used
// twice) and collecting every problem from every file as `file:line:col:
// message`. The shared blocks (smtp, listeners, tls) are read by common/config.
// It does not open sockets, create directories or read certificates.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/config/diagnostics.h"
#include "mta/mta_config.h"

namespace mta {

struct MtaConfigLoad {
  std::optional<MtaConfig> config;                   // set only when there are no problems
  std::vector<common::config::Diagnostic> problems;  // sorted by file, line, column
};

MtaConfigLoad load_mta_config(const std::filesystem::path& file);

// Every Return-Path domain of this configuration, lower case: each tenant
// domain's return_path and operator.bounce_domain. Mail to these comes back to
// stamp-bounced.
std::set<std::string, std::less<>> return_path_domains(const MtaConfig& config);

}  // namespace mta
