// libspf2 over libunbound. See spf_checker.h.
#include "ctl/spf_checker.h"

#include <arpa/inet.h>

#include <cstring>
#include <string_view>

namespace ctl {
namespace {

using OwnedSpfRequest = common::Owned<SPF_request_t, &SPF_request_free>;
using OwnedSpfResponse = common::Owned<SPF_response_t, &SPF_response_free>;
using common::dns::Outcome;

// Shown by libspf2 in place of its default, which points at a dead openspf.org URL.
constexpr const char* kExplanation = "%{d} does not authorize %{i} to send mail";
constexpr std::size_t kMxPreferenceLength = 2;  // RFC 1035 3.3.9: PREFERENCE, then EXCHANGE

// RFC 7208 2.6 result names, as receivers write them in Received-SPF.
const char* result_name(SPF_result_t result) {
  switch (result) {
    case SPF_RESULT_PASS: return "pass";
    case SPF_RESULT_FAIL: return "fail";
    case SPF_RESULT_SOFTFAIL: return "softfail";
    case SPF_RESULT_NEUTRAL: return "neutral";
    case SPF_RESULT_NONE: return "none";
    case SPF_RESULT_TEMPERROR: return "temperror";
    case SPF_RESULT_PERMERROR: return "permerror";
    case SPF_RESULT_INVALID: break;
  }
  return "permerror";  // libspf2 documents INVALID as never returned
}

SPF_dns_stat_t herrno_of(Outcome outcome) {
  switch (outcome) {
    case Outcome::Ok: return NETDB_SUCCESS;
    case Outcome::NoData: return NO_DATA;
    case Outcome::NxDomain: return HOST_NOT_FOUND;
    case Outcome::TempFail: return TRY_AGAIN;
  }
  return TRY_AGAIN;
}

// Copies `bytes` plus a NUL into record `index` of `rr`.
bool store_text(SPF_dns_rr_t* rr, int index, std::string_view bytes) {
  if (SPF_dns_rr_buf_realloc(rr, index, bytes.size() + 1) != SPF_E_SUCCESS) return false;
  char* out = rr->rr[index]->txt;  // txt, mx and ptr share the union's storage
  std::memcpy(out, bytes.data(), bytes.size());
  out[bytes.size()] = '\0';
  return true;
}

// One answer record in the form libspf2 expects for its type; false to skip it.
bool store_record(SPF_dns_rr_t* rr, int index, ns_type type, std::string_view rdata) {
  switch (type) {
    case ns_t_a:
      if (rdata.size() != sizeof(in_addr)) return false;
      if (SPF_dns_rr_buf_realloc(rr, index, sizeof(in_addr)) != SPF_E_SUCCESS) return false;
      std::memcpy(&rr->rr[index]->a, rdata.data(), sizeof(in_addr));
      return true;
    case ns_t_aaaa:
      if (rdata.size() != sizeof(in6_addr)) return false;
      if (SPF_dns_rr_buf_realloc(rr, index, sizeof(in6_addr)) != SPF_E_SUCCESS) return false;
      std::memcpy(&rr->rr[index]->aaaa, rdata.data(), sizeof(in6_addr));
      return true;
    case ns_t_mx: {
      if (rdata.size() <= kMxPreferenceLength) return false;
      std::string host = common::dns::wire_name_text(rdata.substr(kMxPreferenceLength));
      return !host.empty() && store_text(rr, index, host);
    }
    case ns_t_ptr: {
      std::string host = common::dns::wire_name_text(rdata);
      return !host.empty() && store_text(rr, index, host);
    }
    case ns_t_txt:
    case ns_t_spf:
      return store_text(rr, index, common::dns::txt_record_text(rdata));
    default:
      return false;
  }
}

}  // namespace

SpfChecker::SpfChecker(const common::dns::BlockingResolver& resolver) : resolver_(resolver) {
  layer_.destroy = nullptr;  // ours: see the header
  layer_.lookup = &SpfChecker::lookup;
  layer_.layer_below = nullptr;
  layer_.name = "unbound";
  layer_.hook = this;
}

common::Result<std::unique_ptr<SpfChecker>> SpfChecker::create(
    const common::dns::BlockingResolver& resolver, const std::string& receiver) {
  std::unique_ptr<SpfChecker> checker(new SpfChecker(resolver));
  checker->server_.reset(SPF_server_new_dns(&checker->layer_, 0));
  if (!checker->server_) return common::fail("libspf2: cannot create a server");
  SPF_server_t* server = checker->server_.get();
  if (SPF_server_set_rec_dom(server, receiver.c_str()) != SPF_E_SUCCESS) {
    return common::fail("libspf2: cannot set the receiver name");
  }
  SPF_response_t* raw = nullptr;
  SPF_errcode_t err = SPF_server_set_explanation(server, kExplanation, &raw);
  OwnedSpfResponse messages(raw);
  if (err != SPF_E_SUCCESS) {
    return common::fail(std::string("libspf2: explanation: ") + SPF_strerror(err));
  }
  return checker;
}

// Called by libspf2 for every lookup. A null return makes libspf2 abort, so
// only running out of memory does that; DNS failures become TRY_AGAIN records.
SPF_dns_rr_t* SpfChecker::lookup(SPF_dns_server_t* layer, const char* domain, ns_type type,
                                 int) noexcept {
  const auto* self = static_cast<const SpfChecker*>(layer->hook);
  common::dns::RecordAnswer answer = self->resolver_.query(domain, type);
  SPF_dns_stat_t herrno = herrno_of(answer.outcome);
  SPF_dns_rr_t* rr = SPF_dns_rr_new_init(layer, domain, type, answer.ttl, herrno);
  if (rr == nullptr) return nullptr;
  int count = 0;
  for (const std::string& rdata : answer.rdata) {
    if (store_record(rr, count, type, rdata)) ++count;
  }
  rr->num_rr = count;
  if (count == 0 && herrno == NETDB_SUCCESS) rr->herrno = NO_DATA;
  return rr;
}

common::Result<SpfOutcome> SpfChecker::check(const std::string& ip, const std::string& domain,
                                             const std::string& helo) const {
  OwnedSpfRequest request(SPF_request_new(server_.get()));
  if (!request) return common::fail("libspf2: cannot create a request");
  in6_addr v6{};
  SPF_errcode_t err = inet_pton(AF_INET6, ip.c_str(), &v6) == 1
                          ? SPF_request_set_ipv6_str(request.get(), ip.c_str())
                          : SPF_request_set_ipv4_str(request.get(), ip.c_str());
  if (err != SPF_E_SUCCESS) return common::fail("libspf2: bad address " + ip);
  if (SPF_request_set_helo_dom(request.get(), helo.c_str()) != SPF_E_SUCCESS ||
      SPF_request_set_env_from(request.get(), ("postmaster@" + domain).c_str()) != 0) {
    return common::fail("libspf2: cannot set the identities for " + domain);
  }
  SPF_response_t* raw = nullptr;
  // The returned code repeats what the response holds (e.g. "not SPF" for none);
  // the result is what counts (research/dependencies.md).
  SPF_request_query_mailfrom(request.get(), &raw);
  OwnedSpfResponse response(raw);
  if (!response) return common::fail("libspf2: no response for " + domain);
  SpfOutcome outcome;
  outcome.result = result_name(SPF_response_result(response.get()));
  for (int i = 0; i < SPF_response_messages(response.get()); ++i) {
    SPF_error_t* message = SPF_response_message(response.get(), i);
    const char* text = message ? SPF_error_message(message) : nullptr;
    if (text == nullptr || *text == '\0') continue;
    if (!outcome.detail.empty()) outcome.detail += "; ";
    outcome.detail += text;
  }
  return outcome;
}

}  // namespace ctl
