// `stampctl domain verify`. See domain_verify.h.
//
// Every explanation says what was found and what to publish instead, so an
// operator can paste it to the tenant. Text that came from DNS is quoted with
// control characters escaped before it reaches the terminal.
#include "ctl/domain_verify.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "common/base/json.h"
#include "common/base/quoting.h"
#include "common/dns/blocking_resolver.h"
#include "common/store/domain_status_store.h"
#include "ctl/command_support.h"
#include "ctl/dkim_key.h"
#include "ctl/service_user.h"
#include "ctl/spf_checker.h"

namespace ctl {
namespace {

using common::dns::BlockingResolver;
using common::dns::Outcome;
using common::dns::RecordAnswer;

constexpr mode_t kStateDirectoryMode = 0750;
constexpr std::size_t kMaxShownLength = 200;  // of a DNS value repeated in a message
constexpr std::size_t kCheckNameWidth = 20;

struct Check {
  std::string name;  // "dkim", "return_path", "spf 192.0.2.10"
  bool ok = false;
  std::string message;
};

Check pass(std::string name, std::string message) { return {std::move(name), true, std::move(message)}; }
Check fail(std::string name, std::string message) { return {std::move(name), false, std::move(message)}; }

// DNS data for a message: quoted, escaped, capped.
std::string shown(std::string_view text) {
  std::string out;
  common::append_quoted(out, text, kMaxShownLength);
  return out;
}

std::string lookup_failure(const std::string& type, const std::string& name,
                           const RecordAnswer& answer) {
  return "the DNS lookup of " + type + " " + name + " failed (" + answer.error +
         "); try again later, or check dns.resolver";
}

// RFC 6376 3.2 tag-list: "tag=value" pairs separated by ';', whitespace around
// each part ignored. Later duplicates are ignored (a duplicate makes the record
// invalid for verifiers, which the p= comparison then reports).
std::map<std::string, std::string, std::less<>> parse_tags(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  std::map<std::string, std::string, std::less<>> tags;
  while (!text.empty()) {
    std::size_t end = std::min(text.find(';'), text.size());
    std::string_view part = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    std::size_t equals = part.find('=');
    if (equals == std::string_view::npos) continue;
    tags.emplace(std::string(trim(part.substr(0, equals))),
                 std::string(trim(part.substr(equals + 1))));
  }
  return tags;
}

std::string without_whitespace(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

// A key record: v=DKIM1 first if present (RFC 6376 3.6.1), and a p= tag.
bool is_key_record(std::string_view text, const std::map<std::string, std::string, std::less<>>& tags) {
  std::string_view start = text.substr(0, text.find(';'));
  bool version_ok = !tags.contains("v") || without_whitespace(start) == "v=DKIM1";
  return version_ok && tags.contains("p");
}

Check check_dkim(const BlockingResolver& dns, const std::string& domain, const mta::DkimKeyRef& key,
                 DkimAlgorithm algorithm = DkimAlgorithm::Rsa) {
  const bool rsa = algorithm == DkimAlgorithm::Rsa;
  const std::string name = rsa ? "dkim" : "dkim_ed25519";
  const std::string k = rsa ? "rsa" : "ed25519";
  const std::string host = key.selector + "._domainkey." + domain;
  auto expected = dkim_public_key_of(key.key_file);
  if (!expected) return fail(name, "cannot read the configured key: " + expected.error().message);
  const std::string publish = "publish TXT " + host + " \"" + dkim_txt_value(*expected, algorithm) + "\"";

  RecordAnswer answer = dns.query(host, ns_t_txt);
  if (answer.outcome == Outcome::TempFail) return fail(name, lookup_failure("TXT", host, answer));
  if (answer.outcome != Outcome::Ok) {
    return fail(name, "there is no TXT record at " + host + ": " + publish);
  }
  std::vector<std::string> keys;  // the p= of every key record
  std::string other_k;
  for (const std::string& rdata : answer.rdata) {
    std::string text = common::dns::txt_record_text(rdata);  // strings joined (RFC 6376 3.6.2.2)
    auto tags = parse_tags(text);
    if (!is_key_record(text, tags)) continue;
    keys.push_back(without_whitespace(tags.find("p")->second));
    // RFC 6376 3.6.1: k= defaults to rsa.
    const std::string given_k = tags.contains("k") ? without_whitespace(tags.find("k")->second) : "rsa";
    if (given_k != k) other_k = given_k;
  }
  if (keys.empty()) {
    return fail(name, "the TXT record at " + host + " is not a DKIM key record (no p=): " + publish);
  }
  if (keys.size() > 1) {
    return fail(name, host + " has " + std::to_string(keys.size()) +
                          " DKIM key records; verifiers need exactly one: keep only " + publish);
  }
  if (keys.front().empty()) {
    return fail(name, "the key at " + host + " is revoked (empty p=): " + publish);
  }
  if (keys.front() != *expected) {
    return fail(name, "the TXT record at " + host + " carries a different key: " + publish);
  }
  if (!other_k.empty()) {
    return fail(name, "the TXT record at " + host + " says k=" + shown(other_k) + " but the key is " +
                          (rsa ? "RSA" : "Ed25519") + ": " + publish);
  }
  return pass(name, "the TXT record at " + host + " carries the key in " + key.key_file.string());
}

struct ReturnPathResult {
  Check check;
  std::string target;  // where the CNAME points ("" without one): SPF is read there
};

ReturnPathResult check_return_path(const BlockingResolver& dns, const std::string& return_path,
                                   const std::string& bounce_domain) {
  const std::string name = "return_path";
  const std::string publish = "publish " + return_path + " CNAME " + bounce_domain;
  RecordAnswer answer = dns.query(return_path, ns_t_cname);
  if (answer.outcome == Outcome::TempFail) {
    return {fail(name, lookup_failure("CNAME", return_path, answer)), ""};
  }
  std::string target;
  if (answer.outcome == Outcome::Ok && !answer.rdata.empty()) {
    target = common::dns::wire_name_text(answer.rdata.front());
  }
  if (target.empty()) {
    std::string why = answer.outcome == Outcome::NxDomain
                          ? "there is no CNAME record at " + return_path + " (the name does not exist)"
                          : "there is no CNAME record at " + return_path;
    return {fail(name, why + ": " + publish), ""};
  }
  // wire_name_text gives lower case without the trailing dot; so does the config.
  if (target != bounce_domain) {
    return {fail(name, "the CNAME at " + return_path + " points at " + shown(target) +
                           ", not at " + bounce_domain + ": " + publish + " instead"),
            target};
  }
  return {pass(name, return_path + " is a CNAME for " + bounce_domain), target};
}

bool is_loopback(const std::string& ip) {
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

// "v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all"
std::string suggested_spf(const std::vector<std::string>& addresses) {
  std::string record = "v=spf1";
  for (const std::string& ip : addresses) {
    record += (ip.find(':') == std::string::npos ? " ip4:" : " ip6:") + ip;
  }
  return record + " -all";
}

// What is wrong with SPF for `return_path` and where to fix it. `where` is the
// name its TXT record was read at: the CNAME target, or `return_path` itself
// when it has no CNAME (then the fix is the CNAME, which the return_path check
// reports too).
std::string spf_explanation(const std::string& ip, const std::string& return_path,
                            const std::string& where, const std::string& bounce_domain,
                            const SpfOutcome& outcome, const std::vector<std::string>& addresses) {
  const std::string detail = outcome.detail.empty() ? "" : " (" + shown(outcome.detail) + ")";
  if (outcome.result == "temperror") {
    return "SPF for " + return_path + " could not be evaluated" + detail +
           ": a DNS lookup failed; try again later";
  }
  if (where == return_path) {
    return "SPF for " + return_path + " gives " + outcome.result + " for " + ip + detail +
           ": publish the Return-Path CNAME (" + return_path + " CNAME " + bounce_domain +
           ") so that the SPF record at " + bounce_domain + " applies";
  }
  const std::string read_at = " (read at " + where + ")";
  const std::string publish = "publish TXT \"" + suggested_spf(addresses) + "\" at " + where;
  if (outcome.result == "none") {
    return "there is no SPF record for " + return_path + read_at + ": " + publish;
  }
  if (outcome.result == "permerror") {
    return "the SPF record for " + return_path + read_at + " is broken" + detail + ": " + publish;
  }
  const std::string mechanism = (ip.find(':') == std::string::npos ? "ip4:" : "ip6:") + ip;
  return "SPF for " + return_path + " gives " + outcome.result + " for " + ip +
         ": the record at " + where + " does not authorize it; add " + mechanism +
         " to it, e.g. " + publish;
}

std::vector<Check> check_spf(const BlockingResolver& dns, const mta::MtaConfig& config,
                             const std::string& return_path, const std::string& cname_target) {
  const auto& addresses = config.operator_config.sending_addresses;
  if (addresses.empty()) {
    return {fail("spf", "operator.sending_addresses is empty in " + config.file.string() +
                            ": list the addresses stamp-mta sends from, so SPF can be checked")};
  }
  auto checker = SpfChecker::create(dns, config.hostname);
  if (!checker) return {fail("spf", checker.error().message)};
  const std::string where = cname_target.empty() ? return_path : cname_target;
  std::vector<Check> checks;
  for (const std::string& ip : addresses) {
    const std::string name = "spf " + ip;
    // libspf2 passes loopback without looking at any record.
    if (is_loopback(ip)) {
      checks.push_back(fail(name, ip + " is a loopback address, which SPF cannot check: list the "
                                       "public addresses stamp-mta sends from in "
                                       "operator.sending_addresses"));
      continue;
    }
    auto outcome = (*checker)->check(ip, return_path, config.delivery.helo_name);
    if (!outcome) {
      checks.push_back(fail(name, outcome.error().message));
    } else if (outcome->result == "pass") {
      checks.push_back(pass(name, ip + " passes SPF for " + return_path));
    } else {
      checks.push_back(fail(name, spf_explanation(ip, return_path, where,
                                                  config.operator_config.bounce_domain, *outcome,
                                                  addresses)));
    }
  }
  return checks;
}

struct Report {
  std::string domain;
  std::string tenant;
  std::string selector;
  std::int64_t checked_at = 0;
  std::vector<Check> checks;

  bool verified() const {
    return std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
  }
};

std::string render_json(const Report& report) {
  auto field = [](const char* name, const std::string& value) {
    return common::json_quote(name) + ":" + common::json_quote(value);
  };
  std::string out = "{" + field("domain", report.domain) + "," + field("tenant", report.tenant) +
                    "," + field("status", report.verified() ? "verified" : "failed") +
                    ",\"checked_at\":" + std::to_string(report.checked_at) + "," +
                    field("selector", report.selector) + ",\"checks\":[";
  for (std::size_t i = 0; i < report.checks.size(); ++i) {
    const Check& c = report.checks[i];
    out += std::string(i ? "," : "") + "{" + field("check", c.name) + ",\"ok\":" +
           (c.ok ? "true" : "false") + "," + field("message", c.message) + "}";
  }
  return out + "]}";
}

std::string render_text(const Report& report) {
  std::string out = "domain " + report.domain + " (tenant " + report.tenant + ", selector " +
                    report.selector + ")\n";
  std::size_t passed = 0;
  for (const Check& c : report.checks) {
    std::string name = c.name;
    name.resize(std::max(name.size(), kCheckNameWidth), ' ');
    out += "  " + name + (c.ok ? "ok    " : "FAIL  ") + c.message + "\n";
    passed += c.ok ? 1 : 0;
  }
  out += "status: " + std::string(report.verified() ? "verified" : "failed") + " (" +
         std::to_string(passed) + " of " + std::to_string(report.checks.size()) +
         " checks passed)\n";
  return out;
}

// Writes the result where stamp-mta reads it; the database (and its directory)
// may not exist yet when the daemon has never run.
common::Status record(const mta::MtaConfig& config, const Report& report, const std::string& details) {
  const std::filesystem::path& database = config.state.database;
  auto warnings = make_service_directories(database.parent_path(), kStateDirectoryMode);
  if (!warnings) return std::unexpected(warnings.error());
  StateDatabaseOwner owner(database);
  auto store = common::store::DomainStatusStore::open(database);
  if (!store) return std::unexpected(store.error());
  if (auto st = (*store)->set(report.domain, report.tenant, report.verified(), details,
                              report.checked_at);
      !st) {
    return st;
  }
  store->reset();  // closed (and the WAL checkpointed) before `owner` gives the file away
  for (const auto& w : *warnings) {
    if (!w.empty()) std::fprintf(stderr, "stampctl domain: warning: %s\n", w.c_str());
  }
  return {};
}

}  // namespace

int run_domain_verify(const mta::MtaConfig& config, const std::string& domain, bool json) {
  const mta::TenantConfig* tenant = nullptr;
  const mta::TenantDomain* entry = nullptr;
  for (const auto& t : config.tenants) {
    for (const auto& d : t.domains) {
      if (d.name == domain) {
        tenant = &t;
        entry = &d;
      }
    }
  }
  if (entry == nullptr) {
    std::fprintf(stderr, "stampctl domain: %s is not configured for any tenant\n", domain.c_str());
    return kExitFailed;
  }
  const std::string& bounce_domain = config.operator_config.bounce_domain;
  if (bounce_domain.empty()) {
    std::fprintf(stderr,
                 "stampctl domain: operator.bounce_domain is not set in %s: it is what the "
                 "Return-Path CNAME must point at\n",
                 config.file.c_str());
    return kExitFailed;
  }
  std::string forwarder;
  if (config.dns.resolver) {
    forwarder = config.dns.resolver->host + "@" + std::to_string(config.dns.resolver->port);
  }
  auto dns = BlockingResolver::create(forwarder);
  if (!dns) {
    std::fprintf(stderr, "stampctl domain: %s\n", dns.error().message.c_str());
    return kExitFailed;
  }

  Report report{domain, tenant->name, entry->dkim.selector,
                static_cast<std::int64_t>(std::time(nullptr)), {}};
  report.checks.push_back(check_dkim(**dns, domain, entry->dkim));
  if (entry->dkim_ed25519) {
    report.checks.push_back(check_dkim(**dns, domain, *entry->dkim_ed25519, DkimAlgorithm::Ed25519));
  }
  ReturnPathResult return_path = check_return_path(**dns, entry->return_path, bounce_domain);
  report.checks.push_back(return_path.check);
  for (Check& c : check_spf(**dns, config, entry->return_path, return_path.target)) {
    report.checks.push_back(std::move(c));
  }

  const std::string details = render_json(report);
  std::string out = json ? details + "\n" : render_text(report);
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  if (auto st = record(config, report, details); !st) {
    std::fprintf(stderr, "stampctl domain: cannot record the result: %s\n",
                 st.error().message.c_str());
    return kExitFailed;
  }
  return report.verified() ? kExitOk : kExitFailed;
}

}  // namespace ctl
