// `stampctl sender`. See sender_command.h.
#include "ctl/sender_command.h"

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "common/base/ascii.h"
#include "common/base/email_syntax.h"
#include "common/base/quoting.h"
#include "common/base/time_format.h"
#include "common/store/sender_confirmation_store.h"
#include "ctl/command_support.h"
#include "ctl/command_words.h"
#include "ctl/control_client.h"
#include "ctl/queue_command.h"
#include "ctl/service_user.h"
#include "ctl/tenant_file_editor.h"

namespace ctl {
namespace {

using common::store::SenderConfirmationStore;

constexpr int kDefaultExpiryHours = 48;
constexpr int kMaxExpiryHours = 30 * 24;

struct Invocation {
  std::filesystem::path config = kDefaultMtaConfig;
  std::string tenant;
  int expiry_hours = kDefaultExpiryHours;
  std::string subcommand;
  std::vector<std::string> args;
};

const CommandErrors kErrors{"sender", print_sender_usage};

std::filesystem::path control_socket(const mta::MtaConfig& config) { return config.queue.directory / "control.sock"; }

const mta::TenantConfig* find_tenant(const mta::MtaConfig& config, const std::string& name) {
  auto found = std::find_if(config.tenants.begin(), config.tenants.end(),
                            [&](const mta::TenantConfig& t) { return t.name == name; });
  return found == config.tenants.end() ? nullptr : &*found;
}

bool lists_sender(const mta::TenantConfig& tenant, const std::string& address) {
  const std::string wanted = common::ascii_lower(address);
  return std::any_of(tenant.verified_senders.begin(), tenant.verified_senders.end(),
                     [&](const std::string& a) { return common::ascii_lower(a) == wanted; });
}

int cmd_add(const Invocation& inv, const mta::MtaConfig& config) {
  const std::string& address = inv.args.front();
  if (!common::plausible_email(address)) {
    return kErrors.usage_error("not a plain e-mail address: " + common::escape_controls(address));
  }
  const mta::TenantConfig* tenant = find_tenant(config, inv.tenant);
  if (!tenant) {
    return kErrors.failed("no tenant " + common::escape_controls(inv.tenant) + " in " + config.file.string());
  }
  if (lists_sender(*tenant, address)) {
    std::printf("%s is already a verified sender of %s\n", address.c_str(), tenant->name.c_str());
    return kExitOk;
  }
  const mta::OperatorConfig& op = config.operator_config;
  if (op.domain.empty() || op.from_address.empty()) {
    return kErrors.failed("operator.domain and operator.from_address must be set in " + config.file.string() +
                  ": the confirmation is mailed from the operator's address");
  }
  StateDatabaseOwner owner(config.state.database);
  auto store = SenderConfirmationStore::open(config.state.database);
  if (!store) return kErrors.failed(store.error().message);
  auto made = (*store)->create(tenant->name, address, static_cast<std::int64_t>(inv.expiry_hours) * 3600);
  if (!made) return kErrors.failed(made.error().message);

  const std::string request = "sender-confirmation " + tenant->name + " " + address + " " + made->token + " " +
                              std::to_string(made->expires_at);
  ControlReply reply = send_control_request(control_socket(config), request);
  if (reply.kind != ControlReply::Kind::Ok) {
    (void)(*store)->cancel(made->token);  // never mailed: it must not confirm anything
    if (reply.kind == ControlReply::Kind::NotRunning) {
      return kErrors.failed("stamp-mta is not running (no control socket at " + control_socket(config).string() +
                    "): start it, then run this again; the confirmation mail is sent by it");
    }
    return kErrors.failed("stamp-mta did not queue the confirmation mail: " + common::escape_controls(reply.text));
  }
  std::printf("confirmation mail for %s (tenant %s) %s\n", address.c_str(), tenant->name.c_str(),
              common::escape_controls(reply.text).c_str());
  std::printf("the token works once, until %s\n",
              common::rfc5322_date(static_cast<std::time_t>(made->expires_at)).c_str());
  return kExitOk;
}

int cmd_confirm(const Invocation& inv, const mta::MtaConfig& config) {
  const std::string& token = inv.args.front();
  StateDatabaseOwner owner(config.state.database);
  auto store = SenderConfirmationStore::open(config.state.database);
  if (!store) return kErrors.failed(store.error().message);
  auto redeemed = (*store)->redeem(token);
  if (!redeemed) return kErrors.failed(redeemed.error().message);
  if (!*redeemed) return kErrors.failed(common::store::redeem_failure_text(redeemed->error()));
  const auto& [tenant_name, address] = **redeemed;
  const mta::TenantConfig* tenant = find_tenant(config, tenant_name);
  if (!tenant) {
    (void)(*store)->unredeem(token);
    return kErrors.failed("the token names tenant " + tenant_name + ", which is no longer configured");
  }
  common::Status edited = edit_tenant_file(tenant->file, [&](YAML::Node& root) -> common::Status {
    const YAML::Node& read_only = root;
    const YAML::Node senders = read_only["verified_senders"];
    if (senders && !senders.IsSequence() && !senders.IsNull()) {
      return common::fail("verified_senders in " + tenant->file.string() + " is not a list");
    }
    if (senders && senders.IsSequence()) {
      for (const auto& entry : senders) {
        if (entry.IsScalar() && common::ascii_lower(entry.Scalar()) == common::ascii_lower(address)) return {};
      }
    }
    root["verified_senders"].push_back(address);
    root["verified_senders"].SetStyle(YAML::EmitterStyle::Block);
    return {};
  });
  if (!edited) {
    (void)(*store)->unredeem(token);  // nothing changed: the token may be used again
    return kErrors.failed(edited.error().message);
  }
  std::printf("confirmed %s as a verified sender of %s (%s)\n", address.c_str(), tenant_name.c_str(),
              tenant->file.c_str());
  ControlReply reply = send_control_request(control_socket(config), "reload");
  switch (reply.kind) {
    case ControlReply::Kind::Ok:
      std::printf("stamp-mta reloaded: the address may be used now\n");
      return kExitOk;
    case ControlReply::Kind::NotRunning:
      std::printf("stamp-mta is not running; it reads the change when it starts\n");
      return kExitOk;
    default:
      return kErrors.failed("the tenant file is updated, but stamp-mta did not reload: " +
                    common::escape_controls(reply.text) + " (fix that, then: systemctl reload stamp-mta)");
  }
}

struct Subcommand {
  std::string_view name;
  bool needs_tenant;
  int (*run)(const Invocation&, const mta::MtaConfig&);
};

constexpr Subcommand kSubcommands[] = {
    {"add", true, cmd_add},
    {"confirm", false, cmd_confirm},
};

}  // namespace

void print_sender_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: stampctl sender [--config FILE] SUBCOMMAND\n"
               "  add ADDRESS --tenant T [--expires HOURS]\n"
               "                   mail a confirmation code to ADDRESS (from operator.from_address,\n"
               "                   through the running stamp-mta); it works once, for HOURS\n"
               "                   (default %d, at most %d)\n"
               "  confirm TOKEN    confirm the address the code was mailed to: it is added to\n"
               "                   the tenant's verified_senders and stamp-mta reloads\n"
               "--config defaults to %s.\n",
               kDefaultExpiryHours, kMaxExpiryHours, kDefaultMtaConfig);
}

int run_sender_command(const std::vector<std::string>& words) {
  auto parsed = parse_command_words(words, {"--config", "--tenant", "--expires"}, {});
  if (!parsed) return kErrors.usage_error(parsed.error());
  if (parsed->help) {
    print_sender_usage(stdout);
    return kExitOk;
  }
  Invocation inv;
  if (auto config = parsed->value("--config")) inv.config = *config;
  if (auto tenant = parsed->value("--tenant")) inv.tenant = *tenant;
  if (auto expires = parsed->value("--expires")) {
    if (!parse_whole_number(*expires, inv.expiry_hours) || inv.expiry_hours < 1 || inv.expiry_hours > kMaxExpiryHours) {
      return kErrors.usage_error("--expires takes hours, 1 to " + std::to_string(kMaxExpiryHours));
    }
  }
  inv.subcommand = std::move(parsed->subcommand);
  inv.args = std::move(parsed->args);
  const Subcommand* command = find_subcommand(kSubcommands, inv.subcommand);
  if (command == nullptr) return kErrors.usage_error("unknown subcommand " + common::escape_controls(inv.subcommand));
  if (inv.args.size() != 1) return kErrors.usage_error(inv.subcommand + " takes one argument");
  if (command->needs_tenant && inv.tenant.empty()) return kErrors.usage_error("--tenant is required");
  if (!command->needs_tenant && !inv.tenant.empty()) return kErrors.usage_error("--tenant is for add");
  if (parsed->value("--expires") && command->name != "add") return kErrors.usage_error("--expires is for add");

  auto config = load_config_or_report(inv.config, kErrors);
  if (!config) return kExitFailed;
  return command->run(inv, *config);
}

}  // namespace ctl
