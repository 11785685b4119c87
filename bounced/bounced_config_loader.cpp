// stamp-bounced's configuration schema. See bounced_config_loader.h.
#include "bounced/bounced_config_loader.h"

#include <algorithm>
#include <set>

#include "common/base/ascii.h"
#include "common/base/email_syntax.h"
#include "common/base/quoting.h"
#include "common/config/map_reader.h"
#include "common/config/yaml_document.h"
#include "mta/mta_config_loader.h"

namespace bounced {
namespace {

using common::config::Diagnostics;
using common::config::MapReader;
using common::config::Need;
using common::config::Range;
using common::config::YamlDocument;
using namespace std::chrono_literals;

constexpr Range<std::uint64_t> kSoftBounceLimit{0, 1000};
constexpr Range<std::chrono::seconds> kSoftBounceWindow{std::chrono::seconds{3600}, std::chrono::days{90}};
constexpr Range<std::uint64_t> kMaxRawMessage{4 * 1024, 10 * 1024 * 1024};
constexpr Range<std::uint64_t> kMaxInFlight{1, 256};
constexpr Range<std::chrono::seconds> kRequestTimeout{1s, 300s};
constexpr Range<std::chrono::seconds> kFirstRetryDelay{1s, std::chrono::seconds{3600}};
constexpr Range<std::chrono::seconds> kMaxRetryDelay{1s, std::chrono::days{1}};
constexpr Range<std::chrono::seconds> kRetryFor{std::chrono::seconds{60}, std::chrono::days{7}};
constexpr Range<std::uint64_t> kWorkers{1, 16};
constexpr Range<std::chrono::seconds> kRetention{std::chrono::days{1}, std::chrono::days{3650}};

// accept_addresses: plain addresses, lower-cased, each once.
void read_accept_addresses(MapReader& root, std::vector<std::string>& out) {
  std::set<std::string, std::less<>> seen;
  root.read_string_list("accept_addresses", out, Need::Optional, [&](std::string& address) -> std::optional<std::string> {
    address = common::ascii_lower(address);
    if (!common::plausible_email(address)) return "not a plain e-mail address: " + common::config::quote_text(address);
    if (!seen.insert(address).second) return "duplicate address " + common::config::quote_text(address);
    return std::nullopt;
  });
}

void read_webhooks(MapReader& root, WebhookConfig& webhooks) {
  MapReader block = root.read_map("webhooks");
  block.read_unsigned("max_in_flight", webhooks.max_in_flight, kMaxInFlight);
  block.read_duration("request_timeout", webhooks.request_timeout, kRequestTimeout);
  block.read_duration("first_retry_delay", webhooks.first_retry_delay, kFirstRetryDelay);
  if (block.read_duration("max_retry_delay", webhooks.max_retry_delay, kMaxRetryDelay) &&
      webhooks.max_retry_delay < webhooks.first_retry_delay) {
    block.error("max_retry_delay", "must be at least first_retry_delay");
  }
  block.read_duration("retry_for", webhooks.retry_for, kRetryFor);
  block.read_path("ca_file", webhooks.ca_file);
  block.read_bool("allow_private_addresses", webhooks.allow_private_addresses);
  block.finish();
}

// The server file; returns the `mta_config` path (empty when missing or wrong).
void read_server_file(const YamlDocument& document, Diagnostics& diagnostics, BouncedConfig& config) {
  MapReader root(document, diagnostics);
  // Bounces come from anyone: no listener trusts a network as a tenant.
  auto no_tenants = [](std::string_view) -> std::optional<std::string> {
    return std::string("stamp-bounced has no trusted networks: bounces are accepted by their address");
  };
  config.server = common::config::read_server_settings(root, no_tenants);
  for (std::size_t i = 0; i < config.server.listeners.size(); ++i) {
    const auto& listener = config.server.listeners[i];
    if (listener.auth) {
      // read_listener defaults auth to true for submission; reports never authenticate.
      root.error("listeners", "listener " + common::config::quote_text(listener.name) +
                                  ": stamp-bounced takes no AUTH, set auth: false");
    }
  }
  root.read_path("mta_config", config.mta_config_file, Need::Required);
  read_accept_addresses(root, config.accept_addresses);

  MapReader suppression = root.read_map("suppression");
  suppression.read_unsigned("soft_bounce_limit", config.soft_bounces.limit, kSoftBounceLimit);
  suppression.read_duration("soft_bounce_window", config.soft_bounces.window, kSoftBounceWindow);
  suppression.finish();

  MapReader store = root.read_map("bounce_store");
  store.read_byte_size("max_raw_message", config.bounce_store.max_raw_message, kMaxRawMessage);
  store.read_duration("retention", config.bounce_store.retention, kRetention);
  store.finish();

  read_webhooks(root, config.webhooks);
  root.read_unsigned("workers", config.workers, kWorkers);
  root.finish();
}

}  // namespace

BouncedConfigLoad load_bounced_config(const std::filesystem::path& file) {
  Diagnostics diagnostics;
  BouncedConfig config;
  config.file = file;
  if (auto document = YamlDocument::load(file, diagnostics)) read_server_file(*document, diagnostics, config);

  BouncedConfigLoad load;
  if (!config.mta_config_file.empty()) {
    auto mta = mta::load_mta_config(config.mta_config_file);
    if (mta.config) {
      config.mta = std::move(*mta.config);
    } else {
      for (auto& problem : mta.problems) diagnostics.add(std::move(problem));
    }
  }
  load.problems = diagnostics.sorted();
  if (diagnostics.empty()) load.config = std::move(config);
  return load;
}

}  // namespace bounced
