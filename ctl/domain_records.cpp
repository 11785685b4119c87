// DNS record values and their text and JSON forms. See domain_records.h.
#include "ctl/domain_records.h"

#include "common/base/json.h"
#include "ctl/dkim_key.h"

namespace ctl {
namespace {

// A TXT character-string holds at most 255 bytes (RFC 1035 3.3.14); most DNS
// hosts split longer values themselves, some want the pieces given separately.
constexpr std::size_t kMaxTxtString = 255;

void append_record_text(std::string& out, const DnsRecord& record) {
  out += record.label + "\n";
  out += "  host:  " + record.host + "\n";
  out += "  type:  " + record.type + "\n";
  out += "  value: " + record.value + "\n";
  if (record.type == "TXT" && record.value.size() > kMaxTxtString) {
    out += "  (longer than 255 characters: if your DNS host asks for it, enter it as several\n"
           "   quoted strings of at most 255 characters; they are joined without spaces)\n";
  }
}

std::string json_field(const char* name, const std::string& value) {
  return common::json_quote(name) + ":" + common::json_quote(value);
}

}  // namespace

DnsRecord dkim_record(const std::string& domain, const std::string& selector, const std::string& public_base64,
                      DkimAlgorithm algorithm) {
  const bool rsa = algorithm == DkimAlgorithm::Rsa;
  return DnsRecord{rsa ? "dkim" : "dkim_ed25519", rsa ? "DKIM" : "DKIM (Ed25519, second signature)",
                   selector + "._domainkey." + domain, "TXT", dkim_txt_value(public_base64, algorithm)};
}

std::vector<DnsRecord> domain_records(const std::string& domain, const std::string& selector,
                                      const std::string& public_base64,
                                      const std::string& return_path,
                                      const std::string& bounce_domain) {
  return {
      dkim_record(domain, selector, public_base64),
      DnsRecord{"return_path", "Return-Path", return_path, "CNAME", bounce_domain},
      DnsRecord{"dmarc", "DMARC (suggested)", "_dmarc." + domain, "TXT",
                "v=DMARC1; p=none; rua=mailto:dmarc@" + bounce_domain},
  };
}

std::string render_setup_text(const DomainSetup& setup) {
  std::string out;
  if (setup.action == "added") {
    out += "added " + setup.domain + " to tenant " + setup.tenant + " (" + setup.tenant_file +
           ")\n";
    out += "DKIM key: " + setup.key_file + " (selector " + setup.selector + ")\n\n";
    out += "Publish these DNS records:\n\n";
  } else {
    out += "new DKIM key for " + setup.domain + ": " + setup.key_file + " (selector " +
           setup.selector + ")\n";
    out += "the key with selector " + setup.previous_selector +
           " is now previous_dkim; keep its record published until the new one verifies\n\n";
    out += "Publish this DNS record:\n\n";
  }
  for (const DnsRecord& record : setup.records) {
    append_record_text(out, record);
    out += "\n";
  }
  if (!setup.status.empty()) out += "status: " + setup.status + "\n";
  out += "then run: stampctl domain verify " + setup.domain + "\n";
  return out;
}

std::string render_setup_json(const DomainSetup& setup) {
  std::string out = "{" + json_field("action", setup.action) + "," +
                    json_field("domain", setup.domain) + "," + json_field("tenant", setup.tenant) +
                    "," + json_field("tenant_file", setup.tenant_file) + "," +
                    json_field("selector", setup.selector) + "," +
                    json_field("key_file", setup.key_file);
  if (!setup.previous_selector.empty()) {
    out += "," + json_field("previous_selector", setup.previous_selector);
  }
  if (!setup.return_path.empty()) out += "," + json_field("return_path", setup.return_path);
  if (!setup.status.empty()) out += "," + json_field("status", setup.status);
  out += ",\"records\":[";
  for (std::size_t i = 0; i < setup.records.size(); ++i) {
    const DnsRecord& r = setup.records[i];
    out += std::string(i ? "," : "") + "{" + json_field("purpose", r.purpose) + "," +
           json_field("host", r.host) + "," + json_field("type", r.type) + "," +
           json_field("value", r.value) + "}";
  }
  return out + "]}\n";
}

}  // namespace ctl
