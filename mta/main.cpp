// stamp-mta: loads the configuration, wires the parts together and runs the loop.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/log.h"
#include "common/base/service_notify.h"
#include "common/dns/unbound_resolver.h"
#include "common/event/event_loop.h"
#include "common/smtp/graceful_shutdown.h"
#include "common/smtp/smtp_server.h"
#include "common/store/domain_status_store.h"
#include "common/store/suppression_store.h"
#include "common/verp/verp_codec.h"
#include "common/verp/verp_key_file.h"
#include "common/tls/tls_context.h"
#include "mta/control_server.h"
#include "mta/credential_checker.h"
#include "mta/delivery/delivery_scheduler.h"
#include "mta/delivery/sandbox_delivery.h"
#include "mta/mta_config_loader.h"
#include "mta/queue/fs_spool.h"
#include "mta/sender_confirmation_mail.h"
#include "mta/signing/dkim_signer.h"
#include "mta/state/message_log.h"
#include "mta/submission_handler.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/stamp/stamp-mta.yaml";
// Sessions in the middle of a transaction get this long to finish on SIGTERM.
constexpr std::chrono::seconds kShutdownGrace{10};
constexpr std::size_t kAuthThreads = 2;
constexpr std::chrono::hours kPruneInterval{1};

struct Options {
  std::string config = kDefaultConfig;
  bool check_config = false;
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: stamp-mta [--config FILE] [--check-config]\n"
               "  --config FILE    server configuration (default %s); tenants are read\n"
               "                   from the tenants.d/ directory next to it\n"
               "  --check-config   validate the configuration, print every problem, and exit\n",
               kDefaultConfig);
}

std::optional<Options> parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      options.config = argv[++i];
    } else if (arg.starts_with("--config=")) {
      options.config = std::string(arg.substr(9));
    } else if (arg == "--check-config") {
      options.check_config = true;
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "stamp-mta: unknown argument: %s\n", argv[i]);
      usage(stderr);
      return std::nullopt;
    }
  }
  return options;
}

std::optional<mta::MtaConfig> load_config(const std::string& file) {
  auto load = mta::load_mta_config(file);
  for (const auto& problem : load.problems) std::fprintf(stderr, "%s\n", problem.to_string().c_str());
  if (!load.config) {
    std::fprintf(stderr, "stamp-mta: %zu configuration problem%s\n", load.problems.size(),
                 load.problems.size() == 1 ? "" : "s");
  }
  return std::move(load.config);
}

int run(const mta::MtaConfig& config, const std::string& config_file) {
  common::log::set_level(config.log_level);
  std::signal(SIGPIPE, SIG_IGN);  // a client that vanishes must not kill the daemon

  auto loop = common::event::EventLoop::create();
  if (!loop) {
    common::log::error("startup_failed").kv("error", loop.error().message);
    return 1;
  }
  common::tls::OwnedSslCtx tls;
  bool wants_tls = false;
  for (const auto& l : config.listeners) wants_tls |= l.tls == common::smtp::TlsMode::StartTls;
  if (wants_tls) {
    auto ctx = common::tls::make_server_context(config.tls, config.hostname);
    if (!ctx) {
      common::log::error("startup_failed").kv("error", ctx.error().message);
      return 1;
    }
    tls = std::move(*ctx);
  }
  auto spool = mta::FsSpool::open(config.queue.directory, config.queue.sync_workers, **loop);
  if (!spool) {
    common::log::error("startup_failed").kv("error", spool.error().message);
    return 1;
  }
  // The suppression list for the RCPT check, in the state database, in both delivery modes.
  auto suppressions = common::store::SuppressionStore::open(config.state.database);
  if (!suppressions) {
    common::log::error("startup_failed").kv("error", suppressions.error().message);
    return 1;
  }
  // Tenants' identity: the VERP key, the DKIM signer, verified domains.
  auto verp_file = config.operator_config.verp_key_file.empty() ? config.queue.directory / "verp.key"
                                                                 : config.operator_config.verp_key_file;
  auto verp_secret = common::verp::load_or_create_secret(verp_file);
  auto verp = verp_secret ? common::verp::VerpCodec::create(*verp_secret) : std::unexpected(verp_secret.error());
  auto signer = mta::DkimSigner::create();
  auto domain_status = common::store::DomainStatusStore::open(config.state.database);
  for (const common::Error* e : {verp ? nullptr : &verp.error(), signer ? nullptr : &signer.error(),
                                 domain_status ? nullptr : &domain_status.error()}) {
    if (e) {
      common::log::error("startup_failed").kv("error", e->message);
      return 1;
    }
  }
  if (config.operator_config.domain.empty()) {
    common::log::warning("sender_policy_off")
        .kv("reason", "no operator.domain configured: From is not checked, mail is not DKIM-signed");
  }
  mta::DomainVerified domain_verified = [store = domain_status->get()](const std::string& domain) {
    auto status = store->get(domain);
    return status && *status && (*status)->verified;
  };
  // Outbound: the sandbox (dev) or the real scheduler with its resolver, TLS
  // contexts and message log.
  std::unique_ptr<common::dns::UnboundResolver> resolver;
  // The message log: every accepted message and every delivery attempt, in both modes.
  auto opened_log = mta::MessageLog::open(config.state.database);
  if (!opened_log) {
    common::log::error("startup_failed").kv("error", opened_log.error().message);
    return 1;
  }
  std::unique_ptr<mta::MessageLog> message_log = std::move(*opened_log);
  common::tls::OwnedSslCtx client_tls, client_tls_verified;
  std::unique_ptr<mta::DeliveryAgent> delivery;
  if (config.delivery.mode == mta::DeliveryMode::Sandbox) {
    delivery = std::make_unique<mta::SandboxDelivery>(**loop, **spool, config.delivery.sandbox_directory, &*verp,
                                                      message_log.get());
  } else {
    std::string forwarder;
    if (config.dns.resolver) forwarder = config.dns.resolver->host + "@" + std::to_string(config.dns.resolver->port);
    auto made = common::dns::UnboundResolver::create((*loop)->base(), forwarder);
    auto plain_ctx = common::tls::make_client_context(false, "");
    auto verified_ctx = common::tls::make_client_context(true, config.delivery.tls_ca_file.string());
    for (const common::Error* e : {made ? nullptr : &made.error(),
                                   plain_ctx ? nullptr : &plain_ctx.error(), verified_ctx ? nullptr : &verified_ctx.error()}) {
      if (e) {
        common::log::error("startup_failed").kv("error", e->message);
        return 1;
      }
    }
    resolver = std::move(*made);
    client_tls = std::move(*plain_ctx);
    client_tls_verified = std::move(*verified_ctx);
    delivery = std::make_unique<mta::DeliveryScheduler>(
        **loop, **spool, *resolver, message_log.get(), config,
        mta::DeliveryScheduler::TlsContexts{client_tls.get(), client_tls_verified.get()}, &*verp);
  }
  auto control = mta::ControlServer::open(**loop, config.queue.directory / "control.sock", *delivery);
  if (!control) {
    common::log::error("startup_failed").kv("error", control.error().message);
    return 1;
  }
  mta::CredentialChecker credentials(**loop, kAuthThreads);
  credentials.load_users(config.tenants);
  mta::SubmissionHandler handler(config.hostname, **spool, credentials,
                                 [&delivery](const std::string& id) { delivery->enqueue(id); },
                                 suppressions->get(), message_log.get());
  handler.configure(std::make_shared<const mta::MtaConfig>(config), signer->get(), domain_verified);
  common::smtp::SmtpServer server(**loop, config.hostname, config.limits, tls.get(), handler);
  for (const auto& listener : config.listeners) {
    if (auto st = server.listen(listener); !st) {
      common::log::error("startup_failed").kv("error", st.error().message);
      return 1;
    }
  }
  for (const auto& id : (*spool)->recover()) delivery->enqueue(id);

  common::smtp::GracefulShutdown shutdown(
      **loop, server, [&](std::function<void()> done) { delivery->stop(std::move(done)); },
      "stopping: finishing sessions in progress", kShutdownGrace);
  shutdown.install();
  // Tenants and delivery policy reload in place; listeners, SMTP limits and TLS
  // certificates need a restart. Returns what went wrong, or "".
  std::shared_ptr<const mta::MtaConfig> current = std::make_shared<const mta::MtaConfig>(config);
  auto reload = [&]() -> std::string {
    common::service::notify_reloading();
    auto load = mta::load_mta_config(config_file);
    if (!load.config) {
      for (const auto& p : load.problems) common::log::error("reload_failed").kv("problem", p.to_string());
      common::service::notify_ready("reload failed, running with the previous configuration");
      return load.problems.empty() ? "cannot read the configuration" : load.problems.front().to_string();
    }
    current = std::make_shared<const mta::MtaConfig>(*load.config);
    credentials.load_users(current->tenants);
    delivery->reload(*current);
    handler.configure(current, signer->get(), domain_verified);
    common::log::info("reloaded").kv("tenants", current->tenants.size());
    common::service::notify_ready("running, " + std::to_string(current->tenants.size()) + " tenants");
    return "";
  };
  (void)(*loop)->on_signal(SIGHUP, [&] { (void)reload(); });
  // The message log keeps state.retention (45 days by default): pruned at start and every hour.
  (*loop)->run_every(kPruneInterval, [&] {
    const auto before = static_cast<std::int64_t>(std::time(nullptr)) - current->state.retention.count();
    message_log->purge(mta::PurgeBefore{before});
    return true;
  });
  (*control)->add_command("reload", [&](const std::vector<std::string>& args, mta::ControlServer::Reply reply) {
    if (!args.empty()) return reply("error reload takes no arguments");
    std::string problem = reload();
    reply(problem.empty() ? "ok reloaded" : "error " + problem);
  });
  // `stampctl sender add`: the token is already stored; this mails it.
  (*control)->add_command("sender-confirmation", [&](const std::vector<std::string>& args,
                                                     mta::ControlServer::Reply reply) {
    auto request = mta::parse_sender_confirmation_request(args, *current);
    if (!request) return reply("error " + request.error());
    std::string text = mta::sender_confirmation_mail(current->operator_config, *request);
    handler.queue_operator_message(request->tenant, request->address, text,
                                   [reply, request = *request](common::Result<std::string> queued) {
      if (!queued) return reply("error " + queued.error().message);
      common::log::info("sender.confirmation_queued").kv("queue_id", *queued).kv("tenant", request.tenant)
          .kv("address", request.address);
      reply("ok queued as " + *queued);
    });
  });

  common::log::info("ready").kv("hostname", config.hostname).kv("config", config_file)
      .kv("tenants", config.tenants.size());
  common::service::notify_ready("running, " + std::to_string(config.tenants.size()) + " tenants");
  if (auto st = (*loop)->run(); !st) {
    common::log::error("loop_failed").kv("error", st.error().message);
    return 1;
  }
  common::log::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto options = parse_options(argc, argv);
  if (!options) return 2;
  auto config = load_config(options->config);
  if (!config) return 1;
  if (options->check_config) {
    std::printf("configuration OK: %s (%zu tenant%s)\n", options->config.c_str(), config->tenants.size(),
                config->tenants.size() == 1 ? "" : "s");
    return 0;
  }
  return run(*config, options->config);
}
