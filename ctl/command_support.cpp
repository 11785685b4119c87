// stampctl's shared error output and configuration loading. See command_support.h.
#include "ctl/command_support.h"

#include "mta/mta_config_loader.h"

namespace ctl {

int CommandErrors::usage_error(const std::string& message) const {
  std::fprintf(stderr, "stampctl %s: %s\n", noun_, message.c_str());
  usage_(stderr);
  return kExitUsage;
}

int CommandErrors::failed(const std::string& message) const {
  std::fprintf(stderr, "stampctl %s: %s\n", noun_, message.c_str());
  return kExitFailed;
}

void CommandErrors::warn(const std::string& message) const {
  if (!message.empty()) std::fprintf(stderr, "stampctl %s: warning: %s\n", noun_, message.c_str());
}

std::optional<mta::MtaConfig> load_config_or_report(const std::filesystem::path& file, const CommandErrors& errors) {
  auto load = mta::load_mta_config(file);
  if (load.config) return std::move(load.config);
  for (const auto& problem : load.problems) std::fprintf(stderr, "%s\n", problem.to_string().c_str());
  if (load.problems.empty()) errors.failed("cannot load " + file.string());
  return std::nullopt;
}

}  // namespace ctl
