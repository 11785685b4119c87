// Synchronous lookups over ub_resolve. See blocking_resolver.h.
#include "common/dns/blocking_resolver.h"

#include <algorithm>
#include <cctype>
#include <utility>

namespace common::dns {
namespace {

using OwnedUbResult = Owned<ub_result, &ub_resolve_free>;

constexpr int kClassIn = 1;
constexpr int kRcodeNxDomain = 3;
constexpr int kRcodeServFail = 2;
constexpr int kRcodeRefused = 5;
constexpr std::size_t kMaxNameLength = 255;  // RFC 1035 2.3.4, in wire form

std::string rcode_text(int rcode) {
  switch (rcode) {
    case kRcodeServFail: return "SERVFAIL";
    case kRcodeNxDomain: return "NXDOMAIN";
    case kRcodeRefused: return "REFUSED";
    default: return "RCODE " + std::to_string(rcode);
  }
}

std::string lower_without_trailing_dot(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

}  // namespace

Result<std::unique_ptr<BlockingResolver>> BlockingResolver::create(const std::string& forwarder) {
  OwnedUbCtx ctx(ub_ctx_create());
  if (!ctx) return fail("libunbound: ub_ctx_create failed");
  ub_ctx* c = ctx.get();
  int rc = ub_ctx_set_option(c, "do-not-query-localhost:", "no");
  if (rc == 0) rc = ub_ctx_set_option(c, "local-zone:", "test. transparent");
  if (rc == 0) rc = forwarder.empty() ? ub_ctx_resolvconf(c, nullptr) : ub_ctx_set_fwd(c, forwarder.c_str());
  if (rc != 0) return fail(std::string("libunbound: ") + ub_strerror(rc));
  return std::unique_ptr<BlockingResolver>(new BlockingResolver(std::move(ctx)));
}

RecordAnswer BlockingResolver::query(const std::string& name, int rrtype) const {
  RecordAnswer answer;
  ub_result* raw = nullptr;
  int err = ub_resolve(ctx_.get(), name.c_str(), rrtype, kClassIn, &raw);
  OwnedUbResult result(raw);
  if (err != 0 || !result) {
    answer.error = std::string("resolver: ") + ub_strerror(err);
    return answer;
  }
  if (result->canonname) answer.canonical_name = lower_without_trailing_dot(result->canonname);
  answer.ttl = result->ttl;
  if (result->nxdomain) {
    answer.outcome = Outcome::NxDomain;
    answer.error = "NXDOMAIN";
    return answer;
  }
  if (result->rcode != 0) {
    answer.error = rcode_text(result->rcode);
    return answer;
  }
  if (!result->havedata) {
    answer.outcome = Outcome::NoData;
    answer.error = "no records of that type";
    return answer;
  }
  for (int i = 0; result->data[i] != nullptr; ++i) {
    answer.rdata.emplace_back(result->data[i], static_cast<std::size_t>(result->len[i]));
  }
  answer.outcome = Outcome::Ok;
  return answer;
}

std::string txt_record_text(std::string_view rdata) {
  std::string text;
  while (!rdata.empty()) {
    auto length = static_cast<unsigned char>(rdata.front());
    rdata.remove_prefix(1);
    std::size_t take = std::min<std::size_t>(length, rdata.size());  // a short last string
    text.append(rdata.substr(0, take));
    rdata.remove_prefix(take);
  }
  return text;
}

std::string wire_name_text(std::string_view rdata) {
  if (rdata.size() > kMaxNameLength) return "";
  std::string name;
  while (!rdata.empty()) {
    auto length = static_cast<unsigned char>(rdata.front());
    rdata.remove_prefix(1);
    if (length == 0) return lower_without_trailing_dot(name.empty() ? "." : name);
    // Compression pointers (0xC0) cannot appear: unbound hands out uncompressed rdata.
    if (length > 63 || length > rdata.size()) return "";
    name.append(rdata.substr(0, length));
    name += '.';
    rdata.remove_prefix(length);
  }
  return "";  // no terminating root label
}

}  // namespace common::dns
