// `stampctl domain`. See domain_command.h.
#include "ctl/domain_command.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string_view>

#include "ctl/command_support.h"
#include "ctl/command_words.h"
#include "common/base/ascii.h"
#include "common/config/map_reader.h"
#include "common/store/domain_status_store.h"
#include "ctl/atomic_file.h"
#include "ctl/dkim_key.h"
#include "ctl/domain_records.h"
#include "ctl/domain_verify.h"
#include "ctl/queue_command.h"
#include "ctl/service_user.h"
#include "ctl/tenant_file_editor.h"

namespace ctl {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSelectorPrefix = "stamp";
constexpr std::string_view kDefaultReturnPathLabel = "pm-bounces.";
constexpr const char* kKeyDirectory = "dkim";
constexpr mode_t kKeyDirectoryMode = 0750;  // the service user's group may read keys
constexpr mode_t kKeyFileMode = 0600;

struct Invocation {
  fs::path config = kDefaultMtaConfig;
  bool json = false;
  bool ed25519 = false;  // add: also an Ed25519 key for a second signature (RFC 8463)
  std::string subcommand;
  std::vector<std::string> args;  // after the subcommand: the domain
  std::optional<std::string> tenant;
  std::optional<std::string> return_path;
};

int cmd_add(const Invocation& inv, const mta::MtaConfig& config);
int cmd_rotate_key(const Invocation& inv, const mta::MtaConfig& config);
int cmd_verify(const Invocation& inv, const mta::MtaConfig& config);

struct Subcommand {
  std::string_view name;
  bool takes_tenant;       // --tenant (required when taken)
  bool takes_return_path;  // --return-path
  int (*run)(const Invocation&, const mta::MtaConfig&);
};

constexpr Subcommand kSubcommands[] = {
    {"add", true, true, cmd_add},
    {"rotate-key", false, false, cmd_rotate_key},
    {"verify", false, false, cmd_verify},
};

const CommandErrors kErrors{"domain", print_domain_usage};

fs::path absolute_path(const fs::path& path) {
  std::error_code ec;
  fs::path absolute = fs::absolute(path, ec);
  return (ec ? path : absolute).lexically_normal();
}

struct DomainOwner {
  const mta::TenantConfig* tenant = nullptr;
  const mta::TenantDomain* domain = nullptr;
};

std::optional<DomainOwner> find_domain(const mta::MtaConfig& config, const std::string& name) {
  for (const auto& tenant : config.tenants) {
    for (const auto& domain : tenant.domains) {
      if (domain.name == name) return DomainOwner{&tenant, &domain};
    }
  }
  return std::nullopt;
}

// "stamp20261101", then "stamp20261101b" ... "z" when that selector is taken
// (a rotation on the day of the add) or its key file exists (never overwritten).
std::optional<std::string> choose_selector(const fs::path& key_directory,
                                           const std::vector<std::string>& taken) {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char date[16];
  if (std::strftime(date, sizeof date, "%Y%m%d", &utc) == 0) return std::nullopt;
  const std::string base = std::string(kSelectorPrefix) + date;
  for (char suffix = 'a'; suffix <= 'z'; ++suffix) {
    std::string selector = suffix == 'a' ? base : base + suffix;
    std::error_code ec;
    bool exists = fs::exists(key_directory / (selector + ".pem"), ec);
    if (!ec && !exists && std::find(taken.begin(), taken.end(), selector) == taken.end()) {
      return selector;
    }
  }
  return std::nullopt;
}

struct NewKey {
  std::string selector;
  fs::path file;  // absolute
  std::string public_base64;
};

// Generates a key and writes it under CONFIG_DIR/dkim/DOMAIN/ with a fresh selector.
common::Result<NewKey> create_key(const mta::MtaConfig& config, const std::string& domain,
                                  const std::vector<std::string>& taken,
                                  DkimAlgorithm algorithm = DkimAlgorithm::Rsa) {
  const fs::path directory = absolute_path(config.file).parent_path() / kKeyDirectory / domain;
  auto warnings = make_service_directories(directory, kKeyDirectoryMode);
  if (!warnings) return std::unexpected(warnings.error());
  for (const auto& w : *warnings) kErrors.warn(w);
  auto selector = choose_selector(directory, taken);
  if (!selector) return common::fail("no free selector for today in " + directory.string());
  auto pair = generate_dkim_key(algorithm);
  if (!pair) return std::unexpected(pair.error());
  NewKey key{*selector, directory / (*selector + ".pem"), pair->public_base64};
  AtomicWrite options{.mode = kKeyFileMode, .replace = false};
  if (auto st = write_file_atomically(key.file, pair->private_pem, options); !st) {
    return std::unexpected(st.error());
  }
  kErrors.warn(give_to_service_user(key.file));
  return key;
}

// The key file as the tenant file should name it: relative to the tenant file's
// directory (the loader resolves it from there), so the configuration can move.
std::string key_file_entry(const fs::path& key_file, const fs::path& tenant_file) {
  return key_file.lexically_relative(absolute_path(tenant_file).parent_path()).string();
}

YAML::Node dkim_node(const std::string& selector, const std::string& key_file) {
  YAML::Node node(YAML::NodeType::Map);
  node.SetStyle(YAML::EmitterStyle::Flow);
  node["selector"] = selector;
  node["key_file"] = key_file;
  return node;
}

// The entry for `domain` in a tenant file's `domains` list (an invalid node when absent).
YAML::Node find_entry(YAML::Node& root, const std::string& domain) {
  const YAML::Node& read_only = root;
  const YAML::Node domains = read_only["domains"];
  if (domains && domains.IsSequence()) {
    for (YAML::Node entry : domains) {
      if (entry.IsMap() && entry["name"] && common::ascii_lower(entry["name"].as<std::string>("")) == domain) {
        return entry;
      }
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

// A domain verified with another key must verify again; only when the state
// database exists already (no database means no stale result).
void mark_pending(const mta::MtaConfig& config, const std::string& domain,
                  const std::string& tenant) {
  std::error_code ec;
  if (!fs::exists(config.state.database, ec)) return;
  auto store = common::store::DomainStatusStore::open(config.state.database);
  common::Status st = store ? (*store)->set_pending(domain, tenant)
                            : common::Status(std::unexpected(store.error()));
  if (!st) kErrors.warn("cannot reset the verification state: " + st.error().message);
}

void print_setup(const Invocation& inv, const DomainSetup& setup) {
  std::string out = inv.json ? render_setup_json(setup) : render_setup_text(setup);
  std::fputs(out.c_str(), stdout);
}

int cmd_add(const Invocation& inv, const mta::MtaConfig& config) {
  const std::string domain = common::ascii_lower(inv.args.front());
  if (!common::config::is_domain_name(domain)) {
    return kErrors.usage_error("not a domain name: " + inv.args.front());
  }
  const std::string return_path =
      inv.return_path ? common::ascii_lower(*inv.return_path) : std::string(kDefaultReturnPathLabel) + domain;
  if (!common::config::is_domain_name(return_path) || !return_path.ends_with("." + domain)) {
    return kErrors.usage_error("--return-path must be a subdomain of " + domain + ", like " +
                       std::string(kDefaultReturnPathLabel) + domain);
  }
  auto tenant = std::find_if(config.tenants.begin(), config.tenants.end(),
                             [&](const auto& t) { return t.name == *inv.tenant; });
  if (tenant == config.tenants.end()) {
    return kErrors.failed("no tenant " + *inv.tenant + " (no file " +
                  (absolute_path(config.file).parent_path() / "tenants.d" / *inv.tenant).string() +
                  ".yaml)");
  }
  if (auto owner = find_domain(config, domain)) {
    return kErrors.failed(domain + " is already configured for tenant " + owner->tenant->name + " (" +
                  owner->tenant->file.string() + ")");
  }
  const std::string& bounce_domain = config.operator_config.bounce_domain;
  if (bounce_domain.empty()) {
    return kErrors.failed("operator.bounce_domain is not set in " + config.file.string() +
                  ": it is what the Return-Path CNAME points at");
  }

  auto key = create_key(config, domain, {});
  if (!key) return kErrors.failed(key.error().message);
  const std::string key_entry = key_file_entry(key->file, tenant->file);
  std::optional<NewKey> ed_key;
  if (inv.ed25519) {
    auto made = create_key(config, domain, {key->selector}, DkimAlgorithm::Ed25519);
    if (!made) {
      ::unlink(key->file.c_str());
      return kErrors.failed(made.error().message);
    }
    ed_key = std::move(*made);
  }
  common::Status edited = edit_tenant_file(tenant->file, [&](YAML::Node& root) -> common::Status {
    if (find_entry(root, domain)) return common::fail(domain + " is in the file already");
    const YAML::Node& read_only = root;
    if (read_only["domains"] && !read_only["domains"].IsSequence() &&
        !read_only["domains"].IsNull()) {
      return common::fail("domains in " + tenant->file.string() + " is not a list");
    }
    YAML::Node entry(YAML::NodeType::Map);
    entry["name"] = domain;
    entry["return_path"] = return_path;
    entry["dkim"] = dkim_node(key->selector, key_entry);
    if (ed_key) entry["dkim_ed25519"] = dkim_node(ed_key->selector, key_file_entry(ed_key->file, tenant->file));
    root["domains"].push_back(entry);
    root["domains"].SetStyle(YAML::EmitterStyle::Block);  // "domains: []" would stay flow
    return {};
  });
  if (!edited) {
    ::unlink(key->file.c_str());  // nothing refers to it; the error below is what matters
    if (ed_key) ::unlink(ed_key->file.c_str());
    return kErrors.failed(edited.error().message);
  }
  mark_pending(config, domain, tenant->name);

  DomainSetup setup;
  setup.action = "added";
  setup.domain = domain;
  setup.tenant = tenant->name;
  setup.tenant_file = absolute_path(tenant->file).string();
  setup.selector = key->selector;
  setup.key_file = key->file.string();
  setup.return_path = return_path;
  setup.status = "pending";
  setup.records =
      domain_records(domain, key->selector, key->public_base64, return_path, bounce_domain);
  if (ed_key) {
    setup.records.insert(setup.records.begin() + 1,
                         dkim_record(domain, ed_key->selector, ed_key->public_base64, DkimAlgorithm::Ed25519));
  }
  print_setup(inv, setup);
  return kExitOk;
}

int cmd_rotate_key(const Invocation& inv, const mta::MtaConfig& config) {
  const std::string domain = common::ascii_lower(inv.args.front());
  auto owner = find_domain(config, domain);
  if (!owner) return kErrors.failed(domain + " is not configured for any tenant");
  const mta::TenantDomain& current = *owner->domain;
  std::vector<std::string> taken{current.dkim.selector};
  if (current.previous_dkim) taken.push_back(current.previous_dkim->selector);

  auto key = create_key(config, domain, taken);
  if (!key) return kErrors.failed(key.error().message);
  const fs::path& tenant_file = owner->tenant->file;
  const std::string key_entry = key_file_entry(key->file, tenant_file);
  common::Status edited = edit_tenant_file(tenant_file, [&](YAML::Node& root) -> common::Status {
    YAML::Node entry = find_entry(root, domain);
    if (!entry) return common::fail(domain + " is no longer in " + tenant_file.string());
    const YAML::Node old = entry["dkim"];
    if (!old || !old.IsMap()) return common::fail(domain + " has no dkim key to rotate");
    // New nodes from copied strings: yaml-cpp nodes are references, and the old
    // dkim node is about to be overwritten in place (which keeps the key order).
    YAML::Node previous = dkim_node(old["selector"].as<std::string>(""),
                                    old["key_file"].as<std::string>(""));
    entry["dkim"] = dkim_node(key->selector, key_entry);
    entry["previous_dkim"] = previous;
    return {};
  });
  if (!edited) {
    ::unlink(key->file.c_str());
    return kErrors.failed(edited.error().message);
  }

  DomainSetup setup;
  setup.action = "rotated";
  setup.domain = domain;
  setup.tenant = owner->tenant->name;
  setup.tenant_file = absolute_path(tenant_file).string();
  setup.selector = key->selector;
  setup.key_file = key->file.string();
  setup.previous_selector = current.dkim.selector;
  setup.records = {dkim_record(domain, key->selector, key->public_base64)};
  print_setup(inv, setup);
  return kExitOk;
}

int cmd_verify(const Invocation& inv, const mta::MtaConfig& config) {
  return run_domain_verify(config, common::ascii_lower(inv.args.front()), inv.json);
}

// Options may come anywhere; the first other word is the subcommand.
std::optional<int> parse(const std::vector<std::string>& words, Invocation& inv) {
  auto parsed = parse_command_words(words, {"--config", "--tenant", "--return-path"}, {"--json", "--ed25519"});
  if (!parsed) return kErrors.usage_error(parsed.error());
  if (parsed->help) {
    print_domain_usage(stdout);
    return kExitOk;
  }
  if (auto config = parsed->value("--config")) inv.config = *config;
  inv.tenant = parsed->value("--tenant");
  inv.return_path = parsed->value("--return-path");
  inv.json = parsed->flag("--json");
  inv.ed25519 = parsed->flag("--ed25519");
  inv.subcommand = std::move(parsed->subcommand);
  inv.args = std::move(parsed->args);
  return std::nullopt;
}

}  // namespace

void print_domain_usage(std::FILE* out) {
  std::fprintf(
      out,
      "usage: stampctl domain SUBCOMMAND NAME [--config FILE] [--json]\n"
      "  add NAME --tenant T [--return-path SUB.NAME] [--ed25519]\n"
      "                     make a DKIM key, add NAME to tenants.d/T.yaml and print the DNS\n"
      "                     records to publish (Return-Path default: pm-bounces.NAME);\n"
      "                     --ed25519: also an Ed25519 key, a second signature (RFC 8463)\n"
      "  rotate-key NAME    a new DKIM key and selector; the current key becomes previous_dkim\n"
      "  verify NAME        look the records up in DNS (DKIM key, Return-Path CNAME, SPF for\n"
      "                     operator.sending_addresses) and record the result in state.database\n"
      "--config defaults to %s; keys go to CONFIG_DIR/dkim/NAME/.\n"
      "add and rotate-key rewrite the tenant file, which drops comments in it.\n"
      "exit status: 0 done (verify: every check passed), 1 failed, 2 usage\n",
      kDefaultMtaConfig);
}

int run_domain_command(const std::vector<std::string>& words) {
  Invocation inv;
  if (auto done = parse(words, inv)) return *done;
  const Subcommand* command = find_subcommand(kSubcommands, inv.subcommand);
  if (command == nullptr) return kErrors.usage_error("unknown subcommand " + inv.subcommand);
  if (inv.args.empty()) return kErrors.usage_error(inv.subcommand + ": a domain name is needed");
  if (inv.args.size() > 1) return kErrors.usage_error(inv.subcommand + ": too many arguments");
  if (inv.tenant && !command->takes_tenant) {
    return kErrors.usage_error(inv.subcommand + ": --tenant is for add");
  }
  if (command->takes_tenant && !inv.tenant) return kErrors.usage_error(inv.subcommand + ": --tenant T is needed");
  if (inv.return_path && !command->takes_return_path) {
    return kErrors.usage_error(inv.subcommand + ": --return-path is for add");
  }

  auto config = load_config_or_report(inv.config, kErrors);
  if (!config) return kErrors.failed("fix " + inv.config.string() + " first");
  return command->run(inv, *config);
}

}  // namespace ctl
