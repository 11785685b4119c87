// BouncedConfig: everything stamp-bounced reads: its own server file, plus the
// stamp-mta configuration it names (`mta_config`), which holds the tenants
// (their Return-Path domains, streams and webhook endpoints), the operator's
// bounce domain, the VERP secret and the state database. One source of truth:
// a tenant added for stamp-mta is known to stamp-bounced after a reload.
// Loading lives in bounced_config_loader.cpp; this header is data only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/config/server_reader.h"
#include "mta/mta_config.h"

namespace bounced {

// Soft bounces in a row that suppress a recipient too (issue 5): `limit` soft
// bounces for the same tenant, stream and address within `window`, with no
// delivery in between. 0 switches it off.
struct SoftBouncePolicy {
  std::size_t limit = 5;                                       // 0..1000
  std::chrono::seconds window{std::chrono::days{7}};           // 1h..90d
};

struct BounceStoreConfig {
  std::size_t max_raw_message = 256 * 1024;  // the stored copy of a report is cut here (4KiB..10MiB)
  std::chrono::seconds retention{std::chrono::days{45}};  // 1d..3650d: reports and bounce rows are kept this long
};

struct WebhookConfig {
  std::size_t max_in_flight = 8;                                // 1..256
  std::chrono::seconds request_timeout{30};                     // 1s..300s
  std::chrono::seconds first_retry_delay{30};                   // 1s..1h
  std::chrono::seconds max_retry_delay{3600};                   // 1s..1d
  std::chrono::seconds retry_for{std::chrono::hours{24}};       // 1m..7d: then the event is abandoned
  std::filesystem::path ca_file;                                // empty: the system's CA store
  bool allow_private_addresses = false;  // endpoints on loopback/private/link-local addresses (SSRF guard)
};

struct BouncedConfig {
  std::filesystem::path file;
  common::config::ServerSettings server;
  std::filesystem::path mta_config_file;  // `mta_config`
  mta::MtaConfig mta;                     // loaded from it
  // Besides signed VERP addresses, RCPT accepts these (postmaster@, abuse@, a
  // DMARC report address): their reports are parsed and logged the same way.
  std::vector<std::string> accept_addresses;  // lower case
  SoftBouncePolicy soft_bounces;
  BounceStoreConfig bounce_store;
  WebhookConfig webhooks;
  std::size_t workers = 2;  // threads that classify and store reports (1..16)
};

}  // namespace bounced
