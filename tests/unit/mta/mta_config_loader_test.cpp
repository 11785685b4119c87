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
      "queue, delivery, dns)"}},
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
      "{dir}/tenants.d/zed.yaml:5:1: unknown key \"quota\" (allowed: smtp_users)"}},
    {"delivery over SMTP is not in this build",
     "hostname: mta.example.net\n"
     "listeners:\n"
     "  - { name: submission, address: 127.0.0.1:2587, tls: none, allow_plaintext_auth: true }\n"
     "queue: { directory: spool }\n"
     "delivery: { mode: smtp, sandbox_directory: sandbox }\n",
     {},
     {"{dir}/mta.yaml:5:19: delivery.mode: must be one of: sandbox (SMTP delivery arrives with the "
      "outbound engine)"}},
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
