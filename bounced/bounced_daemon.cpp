// stamp-bounced's wiring. See bounced_daemon.h.
#include "bounced/bounced_daemon.h"

#include <csignal>
#include <cstdio>
#include <memory>

#include "bounced/bounce_processor.h"
#include "bounced/bounce_receiver.h"
#include "bounced/bounced_config_loader.h"
#include "bounced/webhook/webhook_dispatcher.h"
#include "bounced/webhook/webhook_outbox.h"
#include "bounced/webhook/webhook_sender.h"
#include "common/base/log.h"
#include "common/base/service_notify.h"
#include "common/dns/unbound_resolver.h"
#include "common/event/event_loop.h"
#include "common/smtp/graceful_shutdown.h"
#include "common/smtp/smtp_server.h"
#include "common/tls/tls_context.h"
#include "common/verp/verp_key_file.h"

namespace bounced {
namespace {

// Sessions in the middle of a transaction get this long to finish on SIGTERM.
constexpr std::chrono::seconds kShutdownGrace{10};
constexpr std::chrono::seconds kDeliveryPollInterval{1};
constexpr std::chrono::hours kPurgeInterval{1};

std::shared_ptr<const BouncedConfig> load(const std::filesystem::path& file) {
  auto load = load_bounced_config(file);
  for (const auto& problem : load.problems)
    std::fprintf(stderr, "%s\n", problem.to_string().c_str());
  if (!load.config) {
    std::fprintf(stderr, "stamp-bounced: %zu configuration problem%s\n", load.problems.size(),
                 load.problems.size() == 1 ? "" : "s");
    return nullptr;
  }
  return std::make_shared<const BouncedConfig>(std::move(*load.config));
}

webhook::WebhookSettings webhook_settings(const WebhookConfig& config) {
  webhook::WebhookSettings settings;
  settings.max_in_flight = config.max_in_flight;
  settings.request_timeout = config.request_timeout;
  settings.first_retry_delay = config.first_retry_delay;
  settings.max_retry_delay = config.max_retry_delay;
  settings.retry_for = config.retry_for;
  settings.ca_file = config.ca_file.string();
  settings.allow_private_addresses = config.allow_private_addresses;
  return settings;
}

// The endpoint's secret in the live configuration (a rotated secret applies to
// webhooks still waiting; a removed endpoint gets none and is abandoned).
std::optional<std::string> find_secret(const BouncedConfig& config, const std::string& tenant,
                                       const std::string& url) {
  for (const auto& t : config.mta.tenants) {
    if (t.name != tenant) continue;
    for (const auto& endpoint : t.webhooks) {
      if (endpoint.url == url) return endpoint.secret;
    }
  }
  return std::nullopt;
}

std::shared_ptr<const common::verp::VerpCodec> load_verp(const BouncedConfig& config) {
  const auto& op = config.mta.operator_config;
  auto file = op.verp_key_file.empty() ? config.mta.queue.directory / "verp.key" : op.verp_key_file;
  auto secret = common::verp::load_or_create_secret(file);
  if (!secret) {
    common::log::error("verp_key_failed")
        .kv("file", file.string())
        .kv("error", secret.error().message);
    return nullptr;
  }
  auto codec = common::verp::VerpCodec::create(*secret);
  if (!codec) {
    common::log::error("verp_key_failed")
        .kv("file", file.string())
        .kv("error", codec.error().message);
    return nullptr;
  }
  return std::make_shared<const common::verp::VerpCodec>(std::move(*codec));
}

int fail_startup(const std::string& message) {
  common::log::error("startup_failed").kv("error", message);
  return 1;
}

}  // namespace

int run_bounced(const std::filesystem::path& config_file, bool check_only) {
  auto config = load(config_file);
  if (!config) return 1;
  if (check_only) {
    std::printf("configuration OK: %s (mta_config %s, %zu tenant%s)\n", config_file.c_str(),
                config->mta_config_file.c_str(), config->mta.tenants.size(),
                config->mta.tenants.size() == 1 ? "" : "s");
    return 0;
  }
  common::log::set_level(config->server.log_level);
  std::signal(SIGPIPE, SIG_IGN);  // a peer that vanishes must not kill the daemon

  auto loop = common::event::EventLoop::create();
  if (!loop) return fail_startup(loop.error().message);
  common::tls::OwnedSslCtx tls;
  bool wants_tls = false;
  for (const auto& l : config->server.listeners)
    wants_tls |= l.tls == common::smtp::TlsMode::StartTls;
  if (wants_tls) {
    auto ctx = common::tls::make_server_context(config->server.tls, config->server.hostname);
    if (!ctx) return fail_startup(ctx.error().message);
    tls = std::move(*ctx);
  }
  auto verp = load_verp(*config);
  if (!verp) return 1;
  const auto& database = config->mta.state.database;
  auto processor = BounceProcessor::open(**loop, database, config->workers);
  if (!processor) return fail_startup(processor.error().message);
  (*processor)->configure(config);

  // Webhooks: the outbox on its own connection, an HTTPS sender resolving
  // endpoint names through libunbound inside the loop.
  std::string forwarder;
  if (config->mta.dns.resolver) {
    forwarder =
        config->mta.dns.resolver->host + "@" + std::to_string(config->mta.dns.resolver->port);
  }
  auto resolver = common::dns::UnboundResolver::create((*loop)->base(), forwarder);
  if (!resolver) return fail_startup(resolver.error().message);
  auto outbox = webhook::WebhookOutbox::open(database);
  if (!outbox) return fail_startup(outbox.error().message);
  auto settings = webhook_settings(config->webhooks);
  if (auto problems = webhook::settings_problems(settings); !problems.empty())
    return fail_startup(problems.front());
  auto sender = webhook::HttpWebhookSender::create(**loop, **resolver, settings);
  if (!sender) return fail_startup(sender.error().message);
  std::shared_ptr<const BouncedConfig> current = config;
  webhook::WebhookDispatcher dispatcher(
      **loop, **outbox, **sender,
      [&current](const std::string& tenant, const std::string& url) {
        return find_secret(*current, tenant, url);
      },
      settings);
  (*processor)->on_webhooks_queued([&dispatcher] { dispatcher.wake(); });

  BounceReceiver receiver(**processor);
  receiver.configure(config, verp);
  common::smtp::SmtpServer server(**loop, config->server.hostname, config->server.limits, tls.get(),
                                  receiver);
  for (const auto& listener : config->server.listeners) {
    if (auto st = server.listen(listener); !st) return fail_startup(st.error().message);
  }
  dispatcher.start();
  common::smtp::GracefulShutdown shutdown(
      **loop, server, [&](std::function<void()> done) { dispatcher.stop(std::move(done)); },
      "stopping: finishing sessions and webhooks in progress", kShutdownGrace);
  shutdown.install();
  // Delivery webhooks: stamp-mta's message log is looked at every second.
  (*loop)->run_every(kDeliveryPollInterval, [&] {
    if (shutdown.stopping()) return false;
    (*processor)->poll_deliveries();
    return true;
  });
  // Stored bounces older than bounce_store.retention go, at start and every hour.
  (*loop)->run_every(kPurgeInterval, [&] {
    if (shutdown.stopping()) return false;
    (*processor)->purge_old_bounces();
    return true;
  });
  (void)(*loop)->on_signal(SIGHUP, [&] {
    // Tenants, accept_addresses and policies reload in place; listeners, SMTP
    // limits, TLS and webhook settings need a restart.
    common::service::notify_reloading();
    auto load = load_bounced_config(config_file);
    if (!load.config) {
      for (const auto& p : load.problems)
        common::log::error("reload_failed").kv("problem", p.to_string());
      common::service::notify_ready("reload failed, running with the previous configuration");
      return;
    }
    current = std::make_shared<const BouncedConfig>(std::move(*load.config));
    (*processor)->configure(current);
    receiver.configure(current, verp);
    common::log::info("reloaded").kv("tenants", current->mta.tenants.size());
    common::service::notify_ready("running, " + std::to_string(current->mta.tenants.size()) +
                                  " tenants");
  });

  common::log::info("ready")
      .kv("hostname", config->server.hostname)
      .kv("config", config_file.string())
      .kv("tenants", config->mta.tenants.size());
  common::service::notify_ready("running, " + std::to_string(config->mta.tenants.size()) +
                                " tenants");
  if (auto st = (*loop)->run(); !st) return fail_startup(st.error().message);
  common::log::info("stopped");
  return 0;
}

}  // namespace bounced
