// WebhookSettings: every limit and delay of webhook delivery, with its default
// and its allowed range, in one place for the config loader to fill and check.
// The dispatcher reads the scheduling fields, the HTTP sender the rest.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace bounced::webhook {

struct WebhookSettings {
  // Requests open at once, over all endpoints (1..1000).
  std::size_t max_in_flight = 8;
  // Whole request, from name lookup to the last byte of the answer (1 s..10 min).
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  // Backoff after the first failure, doubling per attempt, with +-20% jitter
  // (1 s..1 day), capped at max_retry_delay (first_retry_delay..7 days).
  std::chrono::seconds first_retry_delay{30};
  std::chrono::seconds max_retry_delay{std::chrono::hours(1)};
  // A webhook still failing this long after it was created is abandoned (1 s..30 days).
  std::chrono::seconds retry_for{std::chrono::hours(24)};
  // How often the outbox is checked for due rows besides wake() (10 ms..1 min).
  std::chrono::milliseconds poll_interval{std::chrono::seconds(1)};
  // CA certificates (PEM) that endpoint certificates must chain to; empty: the system store.
  std::string ca_file;
  // Verify endpoint certificates and names. Only for tests and closed networks.
  bool tls_verify = true;
  // Whether endpoints may be on loopback, private (RFC 1918, RFC 4193), link-local
  // or carrier-grade NAT addresses. The daemon refuses them by default
  // (webhooks.allow_private_addresses): a tenant's URL must not reach the
  // operator's internal services or cloud metadata (server-side request forgery).
  bool allow_private_addresses = true;
  // stop(): how long in-flight requests may still finish before they are cancelled (0..1 min).
  std::chrono::milliseconds stop_grace{std::chrono::seconds(5)};
  // Delivered and abandoned rows stay this long for inspection, then are deleted (1 h..365 days).
  std::chrono::seconds keep_finished{std::chrono::hours(24 * 7)};
};

// One message per setting out of range ("max_in_flight: must be 1..1000, got 0");
// empty when every setting is acceptable.
std::vector<std::string> settings_problems(const WebhookSettings& settings);

}  // namespace bounced::webhook
