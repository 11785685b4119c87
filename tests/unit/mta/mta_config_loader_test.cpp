// load_mta_config: the server file plus tenants.d/, every problem from every file
// as an exact `file:line:col: message`, and the struct a valid config gives.
#include "mta/mta_config_loader.h"

#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/auth/password_hash.h"

namespace mta {
namespace {

namespace fs = std::filesystem;

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "stamp-config-test-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A real, cheap scrypt hash (ln=10) so valid tenants pass the format check.
const std::string& valid_hash() {
  static const std::string hash = *common::auth::hash_password("secret", {10, 8, 1});
  return hash;
}

std::string expand(std::string text, const fs::path& dir) {
  auto replace_all = [&](std::string_view from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  };
  replace_all("{dir}", dir.string());
  replace_all("{hash}", valid_hash());
  return text;
}

void write_file(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file);
  out << text;
  BOOST_REQUIRE(out.good());
}

struct TenantFile {
  std::string name;  // file name in tenants.d/
  std::string yaml;
};

// Writes mta.yaml (unless `mta_yaml` is null) and tenants.d/ into `dir` and loads.
MtaConfigLoad load(const TempDir& dir, const char* mta_yaml,
                   const std::vector<TenantFile>& tenants = {}) {
  if (mta_yaml != nullptr) write_file(dir.path() / "mta.yaml", expand(mta_yaml, dir.path()));
  for (const TenantFile& t : tenants) {
    write_file(dir.path() / "tenants.d" / t.name, expand(t.yaml, dir.path()));
  }
  return load_mta_config(dir.path() / "mta.yaml");
}

std::vector<std::string> printed(const MtaConfigLoad& load) {
  std::vector<std::string> out;
  for (const auto& d : load.problems) out.push_back(d.to_string());
  return out;
}

// The smallest valid server file; the error cases below change one thing each.
constexpr const char* kMinimal =
    "hostname: mta.example.net\n"
    "listeners:\n"
    "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
    "queue: { directory: spool }\n"
    "delivery: { sandbox_directory: sandbox }\n";

const std::vector<TenantFile> kAcme = {
    {"acme.yaml", "smtp_users:\n  - username: alice\n    password_hash: \"{hash}\"\n"}};

struct ErrorCase {
  std::string name;
  const char* mta_yaml;
  std::vector<TenantFile> tenants;
  std::vector<std::string> problems;  // "{dir}" is the temp directory
};

const std::vector<ErrorCase> kErrorCases = {
    {"unknown key",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
     "queue: { directory: spool }\n"
     "delivery: { sandbox_directory: sandbox }\n"
     "colour: blue\n",
     {},
     {"{dir}/mta.yaml:6:1: unknown key \"colour\" (allowed: hostname, log, listeners, tls, smtp, "
      "queue, delivery, dns, state, operator)"}},
    {"wrong type",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
     "queue: { directory: spool, sync_workers: many }\n"
     "delivery: { sandbox_directory: sandbox }\n",
     {},
     {"{dir}/mta.yaml:4:42: queue.sync_workers: wrong type: expected an unsigned integer, got "
      "\"many\""}},
    {"out of range names the range",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
     "queue: { directory: spool }\n"
     "delivery: { sandbox_directory: sandbox }\n"
     "smtp:\n"
     "  max_recipients_per_message: 0\n"
     "  timeouts: { tls_handshake: 1h }\n",
     {},
     {"{dir}/mta.yaml:7:31: smtp.max_recipients_per_message: must be 100..100000, got 0",
      "{dir}/mta.yaml:8:30: smtp.timeouts.tls_handshake: must be 1s..10m, got 1h"}},
    {"missing required key",
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
     "queue: { directory: spool }\n"
     "delivery: { sandbox_directory: sandbox }\n",
     {},
     {"{dir}/mta.yaml:1:1: missing required key \"hostname\""}},
    {"missing required key in a block",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
     "queue: { sync_workers: 2 }\n"
     "delivery: { sandbox_directory: sandbox }\n",
     {},
     {"{dir}/mta.yaml:4:8: queue: missing required key \"directory\""}},
    {"duplicate key",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
     "queue: { directory: spool }\n"
     "delivery: { sandbox_directory: sandbox }\n"
     "hostname: other.example.net\n",
     {},
     {"{dir}/mta.yaml:6:1: duplicate key \"hostname\" (first at line 1)"}},
    {"YAML syntax error",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
     "queue: { directory: spool }\n"
     "  delivery: { sandbox_directory: sandbox }\n",
     {},
     {"{dir}/mta.yaml:5:3: end of map not found"}},
    {"YAML 1.1 booleans are refused",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: yes }\n"
     "queue: { directory: spool }\n"
     "delivery: { sandbox_directory: sandbox }\n",
     {},
     {"{dir}/mta.yaml:3:83: listeners[0].allow_plaintext_auth: wrong type: expected true or "
      "false, got \"yes\""}},
    {"bad password hash",
     kMinimal,
     {{"acme.yaml", "smtp_users:\n  - username: alice\n    password_hash: hunter2\n"}},
     {"{dir}/tenants.d/acme.yaml:3:20: smtp_users[0].password_hash: invalid password hash: not a "
      "\"$scrypt$...\" hash from `stampctl passwd`"}},
    {"unknown trusted tenant",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true,\n"
     "      trusted_networks: [ { network: 10.0.0.0/8, tenant: ghost } ] }\n"
     "queue: { directory: spool }\n"
     "delivery: { sandbox_directory: sandbox }\n",
     kAcme,
     {"{dir}/mta.yaml:4:58: listeners[0].trusted_networks[0].tenant: unknown tenant \"ghost\" "
      "(there is no tenants.d/ghost.yaml)"}},
    {"duplicate username across tenants",
     kMinimal,
     {kAcme[0], {"beta.yaml", "smtp_users:\n  - username: alice\n    password_hash: \"{hash}\"\n"}},
     {"{dir}/tenants.d/beta.yaml:2:15: smtp_users[0].username: duplicate username \"alice\" "
      "(first in tenant \"acme\")"}},
    {"tenant file problems",
     kMinimal,
     {{"Acme.yaml", "smtp_users: []\n"},
      {"zed.yaml",
       "smtp_users:\n  - username: \"bob\\x01\"\n    password_hash: \"{hash}\"\n    role: admin\n"
       "quota: 5\n"}},
     {"{dir}/tenants.d/Acme.yaml:1:1: tenant name \"Acme\" (the file name without .yaml) must "
      "match [a-z0-9][a-z0-9_-]{0,62}",
      "{dir}/tenants.d/zed.yaml:2:15: smtp_users[0].username: must not contain control "
      "characters, got \"bob\\x01\"",
      "{dir}/tenants.d/zed.yaml:4:5: smtp_users[0]: unknown key \"role\" (allowed: username, "
      "password_hash)",
      "{dir}/tenants.d/zed.yaml:5:1: unknown key \"quota\" (allowed: smtp_users, domains, "
      "verified_senders, display_name_mode, fallback_to_display_name, streams, webhooks)"}},
    {"STARTTLS needs the tls block",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587 }\n"
     "queue: { directory: spool }\n"
     "delivery: { sandbox_directory: sandbox }\n",
     {},
     {"{dir}/mta.yaml:1:1: missing required key \"tls\" (listener \"submission\" uses tls: "
      "starttls)"}},
    {"listener names and addresses are unique",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: a, address: \"[::1]:2587\", tls: none, auth: false }\n"
     "  - { name: a, address: \"[0:0::1]:2587\", tls: none, auth: false }\n"
     "  - { name: b, address: 127.0.0.1:0, tls: none, auth: false }\n"
     "  - { name: c, address: 127.0.0.1:0, tls: none, auth: false }\n"
     "queue: { directory: spool }\n"
     "delivery: { sandbox_directory: sandbox }\n",
     {},
     {"{dir}/mta.yaml:4:13: listeners[1].name: duplicate listener name \"a\" (first at line 3)",
      "{dir}/mta.yaml:4:25: listeners[1].address: [::1]:2587 is already the address of listener "
      "\"a\" (line 3)"}},
    {"listener checks",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - name: smtp\n"
     "    address: localhost:25\n"
     "    tls: none\n"
     "    bare_lf: drop\n"
     "    trusted_networks: [ { network: 10.0.0.0/33, tenant: acme } ]\n"
     "queue: { directory: spool }\n"
     "delivery: { sandbox_directory: sandbox }\n",
     kAcme,
     {"{dir}/mta.yaml:3:5: listeners[0]: AUTH on a listener without TLS needs "
      "allow_plaintext_auth: true",
      "{dir}/mta.yaml:4:14: listeners[0].address: host must be an IP address, got \"localhost\"",
      "{dir}/mta.yaml:6:14: listeners[0].bare_lf: must be one of: normalize, reject",
      "{dir}/mta.yaml:7:36: listeners[0].trusted_networks[0].network: must be a network like "
      "192.0.2.0/24 or 2001:db8::/32, got \"10.0.0.0/33\""}},
    {"an empty listener list",
     "hostname: mta.example.net\n"
     "listeners: []\n"
     "queue: { directory: spool }\n"
     "delivery: { sandbox_directory: sandbox }\n",
     {},
     {"{dir}/mta.yaml:2:12: listeners: must not be empty"}},
    {"three mistakes in two files give three problems",
     "hostname: mta_example\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
     "queue: { directory: spool, sync_workers: 0 }\n"
     "delivery: { sandbox_directory: sandbox }\n",
     {{"acme.yaml", "smtp_users:\n  - username: alice\n    pasword_hash: x\n"}},
     {"{dir}/mta.yaml:1:11: hostname: must be a domain name like mta.example.net, got "
      "\"mta_example\"",
      "{dir}/mta.yaml:4:42: queue.sync_workers: must be 1..64, got 0",
      "{dir}/tenants.d/acme.yaml:2:5: smtp_users[0]: missing required key \"password_hash\"",
      "{dir}/tenants.d/acme.yaml:3:5: smtp_users[0]: unknown key \"pasword_hash\" (allowed: "
      "username, password_hash)"}},
    {"a missing config file",
     nullptr,
     {},
     {"{dir}/mta.yaml:1:1: cannot read: No such file or directory"}},
};

BOOST_AUTO_TEST_CASE(reports_every_problem_with_its_position) {
  for (const ErrorCase& c : kErrorCases) {
    BOOST_TEST_CONTEXT(c.name) {
      TempDir dir;
      MtaConfigLoad result = load(dir, c.mta_yaml, c.tenants);
      std::vector<std::string> expected;
      for (const std::string& p : c.problems) expected.push_back(expand(p, dir.path()));
      BOOST_TEST(printed(result) == expected, boost::test_tools::per_element());
      BOOST_TEST(!result.config.has_value());
    }
  }
}

// The minimal file up to its delivery block: the cases below append theirs at line 5.
constexpr std::string_view kHead =
    "hostname: mta.example.net\n"
    "listeners:\n"
    "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
    "queue: { directory: spool }\n";

struct TailCase {
  std::string name;
  std::string tail;                   // appended to kHead
  std::vector<std::string> problems;  // "{dir}" is the temp directory
};

const std::vector<TailCase> kDeliveryErrorCases = {
    {"delivery scalars out of range",
     "delivery:\n"
     "  sandbox_directory: sandbox\n"
     "  relay_host: smarthost.example.net:0\n"
     "  mx_port: 0\n"
     "  max_connections: 100001\n"
     "  helo_name: \"-bad-\"\n",
     {"{dir}/mta.yaml:7:15: delivery.relay_host: port must be 1..65535, got 0",
      "{dir}/mta.yaml:8:12: delivery.mx_port: must be 1..65535, got 0",
      "{dir}/mta.yaml:9:20: delivery.max_connections: must be 1..100000, got 100001",
      "{dir}/mta.yaml:10:14: delivery.helo_name: must be a domain name like mta.example.net, got "
      "\"-bad-\""}},
    {"relay_host is HOST:PORT",
     "delivery: { sandbox_directory: sandbox, relay_host: smarthost.example.net }\n",
     {"{dir}/mta.yaml:5:53: delivery.relay_host: wrong type: expected HOST:PORT like "
      "mx.example.net:25, 192.0.2.1:25 or [2001:db8::1]:25, got \"smarthost.example.net\" (the "
      "port is missing)"}},
    {"destination limits out of range",
     "delivery:\n"
     "  sandbox_directory: sandbox\n"
     "  limits:\n"
     "    max_connections: 0\n"
     "    max_messages_per_connection: 100001\n"
     "    max_messages_per_minute: 1000001\n"
     "  domain_limits:\n"
     "    - domain: example.com\n"
     "      max_connections: 1001\n"
     "      max_messages_per_connection: 0\n"
     "      max_messages_per_minute: -1\n",
     {"{dir}/mta.yaml:8:22: delivery.limits.max_connections: must be 1..1000, got 0",
      "{dir}/mta.yaml:9:34: delivery.limits.max_messages_per_connection: must be 1..100000, got "
      "100001",
      "{dir}/mta.yaml:10:30: delivery.limits.max_messages_per_minute: must be 0..1000000, got "
      "1000001",
      "{dir}/mta.yaml:13:24: delivery.domain_limits[0].max_connections: must be 1..1000, got 1001",
      "{dir}/mta.yaml:14:36: delivery.domain_limits[0].max_messages_per_connection: must be "
      "1..100000, got 0",
      "{dir}/mta.yaml:15:32: delivery.domain_limits[0].max_messages_per_minute: must be "
      "0..1000000, got -1"}},
    {"retry out of range",
     "delivery:\n"
     "  sandbox_directory: sandbox\n"
     "  retry: { first_delay: 2d, max_delay: 8d, max_queue_lifetime: 31d }\n",
     {"{dir}/mta.yaml:7:25: delivery.retry.first_delay: must be 1s..1d, got 2d",
      "{dir}/mta.yaml:7:40: delivery.retry.max_delay: must be 1s..7d, got 8d",
      "{dir}/mta.yaml:7:64: delivery.retry.max_queue_lifetime: must be 1s..30d, got 31d"}},
    {"client timeouts out of range",
     "delivery:\n"
     "  sandbox_directory: sandbox\n"
     "  timeouts:\n"
     "    connect: 601s\n"
     "    greeting: 0s\n"
     "    command: 2h\n"
     "    data_init: 3601\n"
     "    data_block: 0\n"
     "    data_done: 1d\n",
     {"{dir}/mta.yaml:8:14: delivery.timeouts.connect: must be 1s..10m, got 601s",
      "{dir}/mta.yaml:9:15: delivery.timeouts.greeting: must be 1s..1h, got 0s",
      "{dir}/mta.yaml:10:14: delivery.timeouts.command: must be 1s..1h, got 2h",
      "{dir}/mta.yaml:11:16: delivery.timeouts.data_init: must be 1s..1h, got 3601",
      "{dir}/mta.yaml:12:17: delivery.timeouts.data_block: must be 1s..1h, got 0",
      "{dir}/mta.yaml:13:16: delivery.timeouts.data_done: must be 1s..1h, got 1d"}},
    {"TLS modes and policy entries",
     "delivery:\n"
     "  sandbox_directory: sandbox\n"
     "  tls:\n"
     "    default: must\n"
     "    domains:\n"
     "      - { domain: example.com, mode: maybe }\n"
     "      - { domain: bad_domain, mode: require }\n"
     "      - { mode: require }\n"
     "      - example.org\n",
     {"{dir}/mta.yaml:8:14: delivery.tls.default: must be one of: opportunistic, require",
      "{dir}/mta.yaml:10:38: delivery.tls.domains[0].mode: must be one of: opportunistic, require",
      "{dir}/mta.yaml:11:19: delivery.tls.domains[1].domain: must be a domain name like "
      "mta.example.net, got \"bad_domain\"",
      "{dir}/mta.yaml:12:9: delivery.tls.domains[2]: missing required key \"domain\"",
      "{dir}/mta.yaml:13:9: delivery.tls.domains[3]: wrong type: expected a mapping, got "
      "\"example.org\""}},
    {"a domain appears once per list, in any case",
     "delivery:\n"
     "  sandbox_directory: sandbox\n"
     "  tls:\n"
     "    domains:\n"
     "      - { domain: Example.COM, mode: require }\n"
     "      - { domain: example.com, mode: opportunistic }\n"
     "  domain_limits:\n"
     "    - { domain: example.com, max_connections: 2 }\n"
     "    - { domain: mail.example.org, max_connections: 3 }\n"
     "    - { domain: MAIL.example.org, max_connections: 4 }\n",
     {"{dir}/mta.yaml:10:19: delivery.tls.domains[1].domain: duplicate domain \"example.com\" "
      "(first at line 9)",
      "{dir}/mta.yaml:14:17: delivery.domain_limits[2].domain: duplicate domain "
      "\"mail.example.org\" (first at line 13)"}},
    {"max_delay below first_delay",
     "delivery:\n"
     "  sandbox_directory: sandbox\n"
     "  retry: { first_delay: 2h, max_delay: 90m }\n",
     {"{dir}/mta.yaml:7:40: delivery.retry.max_delay: must be at least first_delay (2h), got "
      "90m"}},
    {"the default max_delay below first_delay",
     "delivery:\n"
     "  sandbox_directory: sandbox\n"
     "  retry: { first_delay: 1d }\n",
     {"{dir}/mta.yaml:7:10: delivery.retry.max_delay: must be at least first_delay (1d), got 1h "
      "(the default)"}},
    {"sandbox mode without sandbox_directory",
     "delivery: { mode: sandbox, relay_host: \"[::1]:25\" }\n",
     {"{dir}/mta.yaml:5:11: delivery: missing required key \"sandbox_directory\""}},
    {"no delivery block means sandbox mode without sandbox_directory",
     "",
     {"{dir}/mta.yaml:1:1: delivery: missing required key \"sandbox_directory\""}},
    {"unknown keys in delivery and state",
     "delivery: { mode: smtp, retries: 3 }\n"
     "state: { database: state.db, journal: wal }\n",
     {"{dir}/mta.yaml:5:25: delivery: unknown key \"retries\" (allowed: mode, sandbox_directory, "
      "relay_host, bounce_handoff, helo_name, mx_port, tls, max_connections, limits, domain_limits, retry, "
      "timeouts)",
      "{dir}/mta.yaml:6:30: state: unknown key \"journal\" (allowed: database, retention)"}},
    {"unknown keys in nested delivery blocks list every allowed key",
     "delivery:\n"
     "  sandbox_directory: sandbox\n"
     "  retry: { backoff: 2 }\n"
     "  timeouts: { idle: 5s }\n"
     "  tls: { domains: [ { domain: example.com, mode: require, verify: true } ] }\n"
     "  limits: { burst: 3 }\n"
     "  domain_limits: [ { domain: example.com, burst: 3 } ]\n",
     {"{dir}/mta.yaml:7:12: delivery.retry: unknown key \"backoff\" (allowed: first_delay, "
      "max_delay, max_queue_lifetime)",
      "{dir}/mta.yaml:8:15: delivery.timeouts: unknown key \"idle\" (allowed: connect, greeting, "
      "command, data_init, data_block, data_done)",
      "{dir}/mta.yaml:9:59: delivery.tls.domains[0]: unknown key \"verify\" (allowed: domain, "
      "mode)",
      "{dir}/mta.yaml:10:13: delivery.limits: unknown key \"burst\" (allowed: max_connections, "
      "max_messages_per_connection, max_messages_per_minute)",
      "{dir}/mta.yaml:11:43: delivery.domain_limits[0]: unknown key \"burst\" (allowed: domain, "
      "max_connections, max_messages_per_connection, max_messages_per_minute)"}},
    {"delivery.mode names both modes",
     "delivery: { mode: relay, sandbox_directory: sandbox }\n"
     "state: { database: [ a, b ] }\n",
     {"{dir}/mta.yaml:5:19: delivery.mode: must be one of: sandbox, smtp",
      "{dir}/mta.yaml:6:20: state.database: wrong type: expected a string, got a list"}},
};

BOOST_AUTO_TEST_CASE(reports_delivery_and_state_problems) {
  for (const TailCase& c : kDeliveryErrorCases) {
    BOOST_TEST_CONTEXT(c.name) {
      TempDir dir;
      std::string yaml = std::string(kHead) + c.tail;
      MtaConfigLoad result = load(dir, yaml.c_str());
      std::vector<std::string> expected;
      for (const std::string& p : c.problems) expected.push_back(expand(p, dir.path()));
      BOOST_TEST(printed(result) == expected, boost::test_tools::per_element());
      BOOST_TEST(!result.config.has_value());
    }
  }
}

struct TenantCase {
  std::string name;
  std::string server_tail;  // appended to kMinimal (line 6 onwards)
  std::vector<TenantFile> tenants;
  std::vector<std::string> problems;  // "{dir}" is the temp directory
};

const std::vector<TenantCase> kTenantErrorCases = {
    {"tenant domains",
     "",
     {{"acme.yaml",
       "domains:\n"
       "  - name: Acme.Test\n"
       "    return_path: bounces.other.test\n"
       "    dkim: { selector: bad_selector, key_file: k.pem }\n"
       "  - name: acme.test\n"
       "    dkim: { selector: s1 }\n"
       "  - name: beta.test\n"
       "    previous_dkim: { selector: s1, key_file: old.pem }\n"
       "  - { name: gamma.test, return_path: \"x_y.gamma.test\", dkim: { selector: a, key_file: "
       "a.pem }, extra: 1 }\n"}},
     {"{dir}/tenants.d/acme.yaml:3:18: domains[0].return_path: must be a subdomain of acme.test, "
      "like pm-bounces.acme.test, got \"bounces.other.test\"",
      "{dir}/tenants.d/acme.yaml:4:23: domains[0].dkim.selector: must be a DKIM selector like s1 "
      "or stamp20261101 (letters, digits and hyphens, dot-separated), got \"bad_selector\"",
      "{dir}/tenants.d/acme.yaml:5:11: domains[1].name: duplicate domain \"acme.test\" (first at "
      "line 2)",
      "{dir}/tenants.d/acme.yaml:6:11: domains[1].dkim: missing required key \"key_file\"",
      "{dir}/tenants.d/acme.yaml:7:5: domains[2]: missing required key \"dkim\"",
      "{dir}/tenants.d/acme.yaml:9:38: domains[3].return_path: must be a domain name like "
      "mta.example.net, got \"x_y.gamma.test\"",
      "{dir}/tenants.d/acme.yaml:9:96: domains[3]: unknown key \"extra\" (allowed: name, "
      "return_path, dkim, previous_dkim, dkim_ed25519)"}},
    {"a domain belongs to one tenant; rotation needs two selectors",
     "",
     {{"acme.yaml",
       "domains:\n"
       "  - name: acme.test\n"
       "    dkim: { selector: s2, key_file: new.pem }\n"
       "    previous_dkim: { selector: s2, key_file: old.pem }\n"},
      {"beta.yaml", "domains:\n  - { name: ACME.test, dkim: { selector: s, key_file: k.pem } }\n"}},
     {"{dir}/tenants.d/acme.yaml:4:20: domains[0].previous_dkim: selector must differ from "
      "dkim.selector (\"s2\")",
      "{dir}/tenants.d/beta.yaml:2:13: domains[0].name: duplicate domain \"acme.test\" (first in "
      "tenant \"acme\")"}},
    {"verified senders and display-name mode",
     "",
     {{"acme.yaml",
       "verified_senders: [jane@example.org, \"not an address\", jane@EXAMPLE.org, { a: b },\n"
       "                   \".x@example.org\", \"\"]\n"
       "display_name_mode: false\n"
       "fallback_to_display_name: true\n"},
      {"beta.yaml", "verified_senders: jane@example.org\ndisplay_name_mode: yes\n"}},
     {"{dir}/tenants.d/acme.yaml:1:38: verified_senders[1]: must be an address like "
      "jane@example.org, got \"not an address\"",
      "{dir}/tenants.d/acme.yaml:1:56: verified_senders[2]: duplicate address "
      "\"jane@example.org\"",
      "{dir}/tenants.d/acme.yaml:1:74: verified_senders[3]: wrong type: expected a string, got a "
      "mapping",
      "{dir}/tenants.d/acme.yaml:2:20: verified_senders[4]: must be an address like "
      "jane@example.org, got \".x@example.org\"",
      "{dir}/tenants.d/acme.yaml:2:38: verified_senders[5]: must not be empty",
      "{dir}/tenants.d/acme.yaml:4:27: fallback_to_display_name: needs display_name_mode: true",
      "{dir}/tenants.d/beta.yaml:1:19: verified_senders: wrong type: expected a list of strings, "
      "got \"jane@example.org\"",
      "{dir}/tenants.d/beta.yaml:2:20: display_name_mode: wrong type: expected true or false, got "
      "\"yes\""}},
    {"message streams",
     "",
     {{"acme.yaml",
       "streams:\n"
       "  - { name: news, type: broadcast }\n"
       "  - { name: News, type: bulk }\n"
       "  - { name: outbound, type: broadcast, unsubscribe_url: \"https://acme.test/u\" }\n"
       "  - name: promo\n"
       "    type: broadcast\n"
       "    unsubscribe_mailto: \"mailto:u@acme.test\"\n"
       "    unsubscribe_url: \"http://acme.test/u\"\n"
       "  - { name: promo, unsubscribe_mailto: u@acme.test }\n"}},
     {"{dir}/tenants.d/acme.yaml:2:5: streams[0]: a broadcast stream needs unsubscribe_mailto or "
      "unsubscribe_url",
      "{dir}/tenants.d/acme.yaml:3:13: streams[1].name: must match [a-z0-9][a-z0-9_-]{0,62}, got "
      "\"News\"",
      "{dir}/tenants.d/acme.yaml:3:25: streams[1].type: must be one of: transactional, broadcast",
      "{dir}/tenants.d/acme.yaml:4:29: streams[2].type: the \"outbound\" stream is transactional",
      "{dir}/tenants.d/acme.yaml:7:25: streams[3].unsubscribe_mailto: must be an address like "
      "jane@example.org, got \"mailto:u@acme.test\"",
      "{dir}/tenants.d/acme.yaml:8:22: streams[3].unsubscribe_url: must be an https:// URL, got "
      "\"http://acme.test/u\"",
      "{dir}/tenants.d/acme.yaml:9:13: streams[4].name: duplicate stream \"promo\" (first at line "
      "5)"}},
    {"webhooks",
     "",
     {{"acme.yaml",
       "streams:\n"
       "  - { name: news, type: broadcast, unsubscribe_mailto: unsub@acme.test }\n"
       "webhooks:\n"
       "  - { stream: ghost, event: Bounce, url: \"https://app.acme.test/h\", secret: s }\n"
       "  - { event: Open, url: \"ftp://x\", secret: s }\n"
       "  - { url: \"https://app.acme.test/h\" }\n"}},
     {"{dir}/tenants.d/acme.yaml:4:15: webhooks[0].stream: unknown stream \"ghost\" (streams: "
      "outbound, news)",
      "{dir}/tenants.d/acme.yaml:5:14: webhooks[1].event: must be one of: Bounce, SpamComplaint, "
      "Delivery, SubscriptionChange",
      "{dir}/tenants.d/acme.yaml:5:25: webhooks[1].url: must be an http:// or https:// URL, got "
      "\"ftp://x\"",
      "{dir}/tenants.d/acme.yaml:6:5: webhooks[2]: missing required key \"event\"",
      "{dir}/tenants.d/acme.yaml:6:5: webhooks[2]: missing required key \"secret\""}},
    {"operator block",
     "operator:\n"
     "  from_address: notify\n"
     "  bounce_domain: \"-x-\"\n"
     "  display_name_pattern: \"via {operator}\"\n"
     "  dkim: { selector: s1, key_file: op.pem }\n"
     "  sending_addresses: [192.0.2.10, localhost, \"2001:DB8::10\", 192.0.2.10]\n"
     "  require_verified_domains: yes\n"
     "  colour: blue\n",
     {{"acme.yaml", "display_name_mode: true\n"}},
     {"{dir}/mta.yaml:7:3: operator: missing required key \"domain\" (tenant \"acme\" sets "
      "display_name_mode: true)",
      "{dir}/mta.yaml:7:17: operator.from_address: must be an address like jane@example.org, got "
      "\"notify\"",
      "{dir}/mta.yaml:8:18: operator.bounce_domain: must be a domain name like mta.example.net, "
      "got \"-x-\"",
      "{dir}/mta.yaml:9:25: operator.display_name_pattern: must contain {name}, got \"via "
      "{operator}\"",
      "{dir}/mta.yaml:10:9: operator.dkim: needs operator.domain (the d= of the signature)",
      "{dir}/mta.yaml:11:35: operator.sending_addresses[1]: must be an IP address like 192.0.2.10 "
      "or 2001:db8::10, got \"localhost\"",
      "{dir}/mta.yaml:11:62: operator.sending_addresses[3]: duplicate address \"192.0.2.10\"",
      "{dir}/mta.yaml:12:29: operator.require_verified_domains: wrong type: expected true or "
      "false, got \"yes\"",
      "{dir}/mta.yaml:13:3: operator: unknown key \"colour\" (allowed: domain, from_address, "
      "bounce_domain, name, display_name_pattern, dkim, dkim_ed25519, sending_addresses, "
      "require_verified_domains, sender_confirmation_url, verp_key_file)"}},
    {"verified senders need operator.domain",
     "",
     {{"acme.yaml", "verified_senders: [jane@example.org]\n"}},
     {"{dir}/mta.yaml:1:1: operator: missing required key \"domain\" (tenant \"acme\" lists "
      "verified_senders)"}},
};

BOOST_AUTO_TEST_CASE(reports_tenant_and_operator_problems) {
  for (const TenantCase& c : kTenantErrorCases) {
    BOOST_TEST_CONTEXT(c.name) {
      TempDir dir;
      std::string yaml = std::string(kMinimal) + c.server_tail;
      MtaConfigLoad result = load(dir, yaml.c_str(), c.tenants);
      std::vector<std::string> expected;
      for (const std::string& p : c.problems) expected.push_back(expand(p, dir.path()));
      BOOST_TEST(printed(result) == expected, boost::test_tools::per_element());
      BOOST_TEST(!result.config.has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(tenant_and_operator_config_gives_the_expected_struct) {
  TempDir dir;
  std::string yaml = std::string(kMinimal) +
                     "operator:\n"
                     "  domain: Vendor.Example\n"
                     "  from_address: notify@Vendor.Example\n"
                     "  bounce_domain: pm-bounces.vendor.example\n"
                     "  name: Vendor\n"
                     "  display_name_pattern: \"{name} (via {operator})\"\n"
                     "  dkim: { selector: s1, key_file: keys/operator.pem }\n"
                     "  sending_addresses: [192.0.2.10, \"2001:DB8:0::10\"]\n"
                     "  require_verified_domains: false\n"
                     "  verp_key_file: /var/lib/stamp/verp.key\n";
  MtaConfigLoad result = load(
      dir, yaml.c_str(),
      {{"acme.yaml",
        "smtp_users:\n  - username: alice\n    password_hash: \"{hash}\"\n"
        "domains:\n"
        "  - name: Acme.Test\n"
        "    dkim: { selector: stamp202611, key_file: ../dkim/acme.test/stamp202611.pem }\n"
        "    previous_dkim: { selector: stamp202605, key_file: /keys/old.pem }\n"
        "  - name: mail.acme.test\n"
        "    return_path: Bounces.Mail.Acme.Test\n"
        "    dkim: { selector: s.2026, key_file: k.pem }\n"
        "verified_senders: [jane@Example.ORG, Bob.Smith+x@example.org]\n"
        "display_name_mode: true\n"
        "fallback_to_display_name: true\n"
        "streams:\n"
        "  - { name: news, type: broadcast, unsubscribe_mailto: \"unsub@acme.test\", "
        "unsubscribe_url: \"https://acme.test/u\" }\n"
        "webhooks:\n"
        "  - { stream: outbound, event: Bounce, url: \"https://app.acme.test/hooks\", secret: "
        "\"k3y\" }\n"
        "  - { event: SpamComplaint, url: \"http://127.0.0.1:8080/h\", secret: other }\n"},
       {"beta.yaml",
        "streams: [ { name: outbound }, { name: alerts, type: transactional } ]\n"}});
  BOOST_TEST(printed(result).empty(), boost::test_tools::per_element());
  BOOST_REQUIRE(result.config.has_value());
  const MtaConfig& c = *result.config;

  const OperatorConfig& op = c.operator_config;
  BOOST_TEST(op.domain == "vendor.example");
  BOOST_TEST(op.from_address == "notify@vendor.example");
  BOOST_TEST(op.bounce_domain == "pm-bounces.vendor.example");
  BOOST_TEST(op.name == "Vendor");
  BOOST_TEST(op.display_name_pattern == "{name} (via {operator})");
  BOOST_REQUIRE(op.dkim.has_value());
  BOOST_TEST(op.dkim->selector == "s1");
  BOOST_TEST(op.dkim->key_file == dir.path() / "keys/operator.pem");
  BOOST_TEST(op.sending_addresses == (std::vector<std::string>{"192.0.2.10", "2001:db8::10"}),
             boost::test_tools::per_element());
  BOOST_TEST(!op.require_verified_domains);
  BOOST_TEST(op.verp_key_file == "/var/lib/stamp/verp.key");

  BOOST_REQUIRE(c.tenants.size() == 2u);
  const TenantConfig& acme = c.tenants[0];
  BOOST_REQUIRE(acme.domains.size() == 2u);
  const TenantDomain& first = acme.domains[0];
  BOOST_TEST(first.name == "acme.test");
  BOOST_TEST(first.return_path == "pm-bounces.acme.test");  // the default
  BOOST_TEST(first.dkim.selector == "stamp202611");
  // Relative to the tenant file's directory, like every path in it.
  BOOST_TEST(first.dkim.key_file == dir.path() / "dkim/acme.test/stamp202611.pem");
  BOOST_REQUIRE(first.previous_dkim.has_value());
  BOOST_TEST(first.previous_dkim->selector == "stamp202605");
  BOOST_TEST(first.previous_dkim->key_file == "/keys/old.pem");
  const TenantDomain& second = acme.domains[1];
  BOOST_TEST(second.name == "mail.acme.test");
  BOOST_TEST(second.return_path == "bounces.mail.acme.test");
  BOOST_TEST(second.dkim.selector == "s.2026");
  BOOST_TEST(second.dkim.key_file == dir.path() / "tenants.d/k.pem");
  BOOST_TEST(!second.previous_dkim.has_value());

  // The domain of an address is lower-cased; its local part is kept as written.
  BOOST_TEST(acme.verified_senders ==
                 (std::vector<std::string>{"jane@example.org", "Bob.Smith+x@example.org"}),
             boost::test_tools::per_element());
  BOOST_TEST(acme.display_name_mode);
  BOOST_TEST(acme.fallback_to_display_name);

  BOOST_REQUIRE(acme.streams.size() == 2u);  // "outbound" added in front
  BOOST_TEST(acme.streams[0].name == "outbound");
  BOOST_TEST((acme.streams[0].type == StreamType::Transactional));
  BOOST_TEST(acme.streams[1].name == "news");
  BOOST_TEST((acme.streams[1].type == StreamType::Broadcast));
  BOOST_TEST(acme.streams[1].unsubscribe_mailto == "unsub@acme.test");
  BOOST_TEST(acme.streams[1].unsubscribe_url == "https://acme.test/u");

  BOOST_REQUIRE(acme.webhooks.size() == 2u);
  BOOST_TEST(acme.webhooks[0].stream == "outbound");
  BOOST_TEST(acme.webhooks[0].event == "Bounce");
  BOOST_TEST(acme.webhooks[0].url == "https://app.acme.test/hooks");
  BOOST_TEST(acme.webhooks[0].secret == "k3y");
  BOOST_TEST(acme.webhooks[1].stream == "");  // every stream
  BOOST_TEST(acme.webhooks[1].event == "SpamComplaint");

  const TenantConfig& beta = c.tenants[1];
  BOOST_REQUIRE(beta.streams.size() == 2u);  // "outbound" given: not added again
  BOOST_TEST(beta.streams[0].name == "outbound");
  BOOST_TEST(beta.streams[1].name == "alerts");
  BOOST_TEST(beta.domains.empty());
}

BOOST_AUTO_TEST_CASE(tenant_and_operator_defaults) {
  TempDir dir;
  MtaConfigLoad result = load(dir, kMinimal, kAcme);
  BOOST_TEST(printed(result).empty(), boost::test_tools::per_element());
  BOOST_REQUIRE(result.config.has_value());
  const OperatorConfig& op = result.config->operator_config;
  BOOST_TEST(op.domain.empty());  // optional while no tenant needs it
  BOOST_TEST(op.from_address.empty());
  BOOST_TEST(op.bounce_domain.empty());
  BOOST_TEST(op.name.empty());
  BOOST_TEST(op.display_name_pattern == "{name} via {operator}");
  BOOST_TEST(!op.dkim.has_value());
  BOOST_TEST(op.sending_addresses.empty());
  BOOST_TEST(op.require_verified_domains);
  BOOST_TEST(op.verp_key_file == dir.path() / "spool" / "verp.key");

  BOOST_REQUIRE(result.config->tenants.size() == 1u);
  const TenantConfig& acme = result.config->tenants[0];
  BOOST_TEST(acme.domains.empty());
  BOOST_TEST(acme.verified_senders.empty());
  BOOST_TEST(acme.display_name_mode);
  BOOST_TEST(!acme.fallback_to_display_name);
  BOOST_REQUIRE(acme.streams.size() == 1u);
  BOOST_TEST(acme.streams[0].name == "outbound");
  BOOST_TEST((acme.streams[0].type == StreamType::Transactional));
  BOOST_TEST(acme.webhooks.empty());
}

BOOST_AUTO_TEST_CASE(operator_name_defaults_to_its_domain) {
  TempDir dir;
  std::string yaml = std::string(kMinimal) + "operator: { domain: vendor.example }\n";
  MtaConfigLoad result = load(dir, yaml.c_str(), {{"acme.yaml", "verified_senders: [a@b.example]\n"}});
  BOOST_TEST(printed(result).empty(), boost::test_tools::per_element());
  BOOST_REQUIRE(result.config.has_value());
  BOOST_TEST(result.config->operator_config.name == "vendor.example");
}

BOOST_AUTO_TEST_CASE(smtp_delivery_config_gives_the_expected_struct) {
  TempDir dir;
  std::string yaml = std::string(kHead) +
                     "delivery:\n"
                     "  mode: smtp\n"
                     "  relay_host: \"[2001:db8::25]:2525\"\n"
                     "  helo_name: out.example.net\n"
                     "  mx_port: 2525\n"
                     "  tls:\n"
                     "    default: require\n"
                     "    ca_file: certs/ca.pem\n"
                     "    domains:\n"
                     "      - { domain: Example.COM, mode: opportunistic }\n"
                     "      - { domain: bank.example, mode: require }\n"
                     "  max_connections: 50\n"
                     "  limits:\n"
                     "    max_connections: 20\n"
                     "    max_messages_per_connection: 50\n"
                     "    max_messages_per_minute: 600\n"
                     "  domain_limits:\n"
                     "    - { domain: Gmail.com, max_connections: 5 }\n"
                     "    - domain: example.org\n"
                     "      max_messages_per_connection: 1\n"
                     "      max_messages_per_minute: 0\n"
                     "  retry: { first_delay: 1m, max_delay: 2h, max_queue_lifetime: 5d }\n"
                     "  timeouts:\n"
                     "    connect: 10s\n"
                     "    greeting: 1m\n"
                     "    command: 2m\n"
                     "    data_init: 3m\n"
                     "    data_block: 4m\n"
                     "    data_done: 1h\n"
                     "state:\n"
                     "  database: /var/lib/stamp/state.db\n";
  MtaConfigLoad result = load(dir, yaml.c_str());
  BOOST_TEST(printed(result).empty(), boost::test_tools::per_element());
  BOOST_REQUIRE(result.config.has_value());
  const DeliveryConfig& d = result.config->delivery;

  BOOST_TEST((d.mode == DeliveryMode::Smtp));
  BOOST_TEST(d.sandbox_directory.empty());  // not needed in smtp mode
  BOOST_REQUIRE(d.relay_host.has_value());
  BOOST_TEST(d.relay_host->host == "2001:db8::25");
  BOOST_TEST(d.relay_host->port == 2525);
  BOOST_TEST(d.helo_name == "out.example.net");
  BOOST_TEST(d.mx_port == 2525);

  BOOST_TEST((d.tls_default == OutboundTls::Require));
  BOOST_TEST(d.tls_ca_file == dir.path() / "certs/ca.pem");
  BOOST_REQUIRE(d.tls_policies.size() == 2u);
  BOOST_TEST(d.tls_policies[0].domain == "example.com");
  BOOST_TEST((d.tls_policies[0].mode == OutboundTls::Opportunistic));
  BOOST_TEST(d.tls_policies[1].domain == "bank.example");
  BOOST_TEST((d.tls_policies[1].mode == OutboundTls::Require));

  BOOST_TEST(d.max_connections == 50u);
  BOOST_TEST(d.destination_limits.max_connections == 20u);
  BOOST_TEST(d.destination_limits.max_messages_per_connection == 50u);
  BOOST_TEST(d.destination_limits.max_messages_per_minute == 600u);
  BOOST_REQUIRE(d.domain_limits.size() == 2u);
  BOOST_TEST(d.domain_limits[0].domain == "gmail.com");
  BOOST_TEST(d.domain_limits[0].limits.max_connections == 5u);
  BOOST_TEST(d.domain_limits[0].limits.max_messages_per_connection == 50u);  // from limits
  BOOST_TEST(d.domain_limits[0].limits.max_messages_per_minute == 600u);     // from limits
  BOOST_TEST(d.domain_limits[1].domain == "example.org");
  BOOST_TEST(d.domain_limits[1].limits.max_connections == 20u);  // from limits
  BOOST_TEST(d.domain_limits[1].limits.max_messages_per_connection == 1u);
  BOOST_TEST(d.domain_limits[1].limits.max_messages_per_minute == 0u);

  BOOST_TEST(d.retry.first_delay.count() == 60);
  BOOST_TEST(d.retry.max_delay.count() == 7200);
  BOOST_TEST(d.retry.max_queue_lifetime.count() == 5 * 86400);

  BOOST_TEST(d.timeouts.connect.count() == 10);
  BOOST_TEST(d.timeouts.greeting.count() == 60);
  BOOST_TEST(d.timeouts.command.count() == 120);
  BOOST_TEST(d.timeouts.data_init.count() == 180);
  BOOST_TEST(d.timeouts.data_block.count() == 240);
  BOOST_TEST(d.timeouts.data_done.count() == 3600);

  BOOST_TEST(result.config->state.database == "/var/lib/stamp/state.db");
}

BOOST_AUTO_TEST_CASE(delivery_and_state_defaults) {
  TempDir dir;
  MtaConfigLoad result = load(dir, kMinimal);
  BOOST_TEST(printed(result).empty(), boost::test_tools::per_element());
  BOOST_REQUIRE(result.config.has_value());
  const DeliveryConfig& d = result.config->delivery;

  BOOST_TEST((d.mode == DeliveryMode::Sandbox));
  BOOST_TEST(d.sandbox_directory == dir.path() / "sandbox");
  BOOST_TEST(!d.relay_host.has_value());
  BOOST_TEST(d.helo_name == "mta.example.net");  // the top-level hostname
  BOOST_TEST(d.mx_port == 25);
  BOOST_TEST((d.tls_default == OutboundTls::Opportunistic));
  BOOST_TEST(d.tls_ca_file.empty());
  BOOST_TEST(d.tls_policies.empty());
  BOOST_TEST(d.max_connections == 200u);
  BOOST_TEST(d.destination_limits.max_connections == 10u);
  BOOST_TEST(d.destination_limits.max_messages_per_connection == 100u);
  BOOST_TEST(d.destination_limits.max_messages_per_minute == 0u);
  BOOST_TEST(d.domain_limits.empty());
  BOOST_TEST(d.retry.first_delay.count() == 300);
  BOOST_TEST(d.retry.max_delay.count() == 3600);
  BOOST_TEST(d.retry.max_queue_lifetime.count() == 3 * 86400);
  BOOST_TEST(d.timeouts.connect.count() == 30);
  BOOST_TEST(d.timeouts.greeting.count() == 300);
  BOOST_TEST(d.timeouts.command.count() == 300);
  BOOST_TEST(d.timeouts.data_init.count() == 120);
  BOOST_TEST(d.timeouts.data_block.count() == 180);
  BOOST_TEST(d.timeouts.data_done.count() == 600);

  // state.database follows queue.directory, which is relative to the config file.
  BOOST_TEST(result.config->state.database == dir.path() / "spool" / "state.db");
}

BOOST_AUTO_TEST_CASE(a_relative_state_database_resolves_against_the_config_directory) {
  TempDir dir;
  std::string yaml = std::string(kMinimal) + "state: { database: db/../state/stamp.db }\n";
  MtaConfigLoad result = load(dir, yaml.c_str());
  BOOST_TEST(printed(result).empty(), boost::test_tools::per_element());
  BOOST_REQUIRE(result.config.has_value());
  BOOST_TEST(result.config->state.database == dir.path() / "state" / "stamp.db");
}

BOOST_AUTO_TEST_CASE(a_valid_config_gives_the_expected_struct) {
  TempDir dir;
  MtaConfigLoad result = load(dir,
                              "hostname: mta.example.net\n"
                              "log: { level: debug }\n"
                              "tls:\n"
                              "  certificate: certs/server.pem\n"
                              "  private_key: /etc/stamp/key.pem\n"
                              "  create_self_signed: true\n"
                              "smtp:\n"
                              "  max_message_size: 10MiB\n"
                              "  max_recipients_per_message: 500\n"
                              "  timeouts: { command: 5m, data: 2m, tls_handshake: 30s }\n"
                              "listeners:\n"
                              "  - name: submission\n"
                              "    address: 127.0.0.1:2587\n"
                              "    trusted_networks:\n"
                              "      - { network: 10.0.0.0/8, tenant: acme }\n"
                              "  - name: local\n"
                              "    address: \"[::1]:0\"\n"
                              "    tls: none\n"
                              "    auth: false\n"
                              "    bare_lf: reject\n"
                              "queue:\n"
                              "  directory: spool\n"
                              "  sync_workers: 2\n"
                              "delivery:\n"
                              "  mode: sandbox\n"
                              "  sandbox_directory: ./sandbox/../outbox\n"
                              "  relay_host: smarthost.example.net:587\n"
                              "dns:\n"
                              "  resolver: 127.0.0.53:53\n",
                              {kAcme[0], {"empty.yaml", ""}, {"notes.txt", "not a tenant"}});
  BOOST_TEST(printed(result).empty(), boost::test_tools::per_element());
  BOOST_REQUIRE(result.config.has_value());
  const MtaConfig& c = *result.config;
  const fs::path& d = dir.path();

  BOOST_TEST(c.file == d / "mta.yaml");
  BOOST_TEST(c.hostname == "mta.example.net");
  BOOST_TEST((c.log_level == common::log::Level::Debug));

  BOOST_TEST(c.tls.certificate_file == (d / "certs/server.pem").string());
  BOOST_TEST(c.tls.private_key_file == "/etc/stamp/key.pem");
  BOOST_TEST(c.tls.create_self_signed);

  BOOST_TEST(c.limits.max_message_size == 10u * 1024 * 1024);
  BOOST_TEST(c.limits.max_recipients_per_message == 500u);
  BOOST_TEST(c.limits.max_command_line_length == 2048u);  // default
  BOOST_TEST(c.limits.command_timeout.count() == 300);
  BOOST_TEST(c.limits.data_timeout.count() == 120);
  BOOST_TEST(c.limits.tls_handshake_timeout.count() == 30);

  BOOST_REQUIRE(c.listeners.size() == 2u);
  const auto& submission = c.listeners[0];
  BOOST_TEST(submission.name == "submission");
  BOOST_TEST(submission.address == "127.0.0.1");
  BOOST_TEST(submission.port == 2587);
  BOOST_TEST((submission.tls == common::smtp::TlsMode::StartTls));
  BOOST_TEST(submission.auth);
  BOOST_TEST(!submission.allow_plaintext_auth);
  BOOST_TEST((submission.bare_lf == common::smtp::BareLfPolicy::Normalize));
  BOOST_REQUIRE(submission.trusted_networks.size() == 1u);
  BOOST_TEST(submission.trusted_networks[0].network.to_string() == "10.0.0.0/8");
  BOOST_TEST(submission.trusted_networks[0].tenant == "acme");
  const auto& local = c.listeners[1];
  BOOST_TEST(local.address == "::1");
  BOOST_TEST(local.port == 0);
  BOOST_TEST((local.tls == common::smtp::TlsMode::None));
  BOOST_TEST(!local.auth);
  BOOST_TEST((local.bare_lf == common::smtp::BareLfPolicy::Reject));

  BOOST_TEST(c.queue.directory == d / "spool");
  BOOST_TEST(c.queue.sync_workers == 2u);
  BOOST_TEST((c.delivery.mode == DeliveryMode::Sandbox));
  BOOST_TEST(c.delivery.sandbox_directory == d / "outbox");
  BOOST_REQUIRE(c.delivery.relay_host.has_value());
  BOOST_TEST(c.delivery.relay_host->host == "smarthost.example.net");
  BOOST_TEST(c.delivery.relay_host->port == 587);
  BOOST_REQUIRE(c.dns.resolver.has_value());
  BOOST_TEST(c.dns.resolver->host == "127.0.0.53");
  BOOST_TEST(c.dns.resolver->port == 53);

  BOOST_REQUIRE(c.tenants.size() == 2u);  // sorted by name; notes.txt is not a tenant
  BOOST_TEST(c.tenants[0].name == "acme");
  BOOST_TEST(c.tenants[0].file == d / "tenants.d" / "acme.yaml");
  BOOST_REQUIRE(c.tenants[0].smtp_users.size() == 1u);
  BOOST_TEST(c.tenants[0].smtp_users[0].username == "alice");
  BOOST_TEST(c.tenants[0].smtp_users[0].password_hash == valid_hash());
  BOOST_TEST(c.tenants[1].name == "empty");
  BOOST_TEST(c.tenants[1].smtp_users.empty());
}

BOOST_AUTO_TEST_CASE(defaults_apply_and_tenants_are_optional) {
  TempDir dir;
  MtaConfigLoad result = load(dir, kMinimal);
  BOOST_TEST(printed(result).empty(), boost::test_tools::per_element());
  BOOST_REQUIRE(result.config.has_value());
  const MtaConfig& c = *result.config;
  BOOST_TEST(c.tenants.empty());
  BOOST_TEST((c.log_level == common::log::Level::Info));
  BOOST_TEST(c.queue.sync_workers == 4u);
  BOOST_TEST(c.limits.max_message_size == 26214400u);
  BOOST_TEST(!c.delivery.relay_host.has_value());
  BOOST_TEST(!c.dns.resolver.has_value());
  BOOST_TEST(c.tls.certificate_file.empty());
}

BOOST_AUTO_TEST_CASE(relative_paths_resolve_against_the_config_directory) {
  // The config sits in a subdirectory and is named by a relative path from the
  // current directory; paths inside it must not depend on the current directory.
  TempDir dir;
  write_file(dir.path() / "etc" / "mta.yaml",
             "hostname: mta.example.net\n"
             "tls: { certificate: tls/cert.pem, private_key: ../keys/key.pem }\n"
             "listeners: [ { name: submission, address: 127.0.0.1:2587 } ]\n"
             "queue: { directory: spool }\n"
             "delivery: { sandbox_directory: /var/tmp/sandbox }\n");
  fs::path old_cwd = fs::current_path();
  fs::current_path(dir.path());
  MtaConfigLoad result = load_mta_config("etc/mta.yaml");
  fs::current_path(old_cwd);

  BOOST_TEST(printed(result).empty(), boost::test_tools::per_element());
  BOOST_REQUIRE(result.config.has_value());
  const fs::path etc = fs::canonical(dir.path()) / "etc";
  BOOST_TEST(fs::path(result.config->tls.certificate_file) == etc / "tls/cert.pem");
  BOOST_TEST(fs::path(result.config->tls.private_key_file) ==
             fs::canonical(dir.path()) / "keys/key.pem");
  BOOST_TEST(result.config->queue.directory == etc / "spool");
  BOOST_TEST(result.config->delivery.sandbox_directory == "/var/tmp/sandbox");
}

}  // namespace
}  // namespace mta
