// UnboundResolver: libunbound in our event loop; answers parsed with glibc's
// ns_* functions (libresolv). See unbound_resolver.h.
#include "common/dns/unbound_resolver.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <resolv.h>
#include <unbound-event.h>

#include <memory>

#include "common/base/log.h"

namespace common::dns {

struct UnboundResolver::Query {
  UnboundResolver* resolver = nullptr;
  std::function<void(int, const unsigned char*, int)> done;
  common::Owned<::event, &event_free> deliver;
  int err = 0;
  std::string packet;
};

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::Ok: return "ok";
    case Outcome::NoData: return "nodata";
    case Outcome::NxDomain: return "nxdomain";
    case Outcome::TempFail: return "tempfail";
  }
  return "?";
}

namespace {

// The answer section's records of `type`, after the RCODE has been looked at.
// Returns false (with `outcome` and `error` set) when there is nothing to read.
bool open_answer(int err, const unsigned char* packet, int len, ns_msg& msg, Outcome& outcome, std::string& error) {
  if (err != 0) {
    outcome = Outcome::TempFail;
    error = std::string("resolver: ") + ub_strerror(err);
    return false;
  }
  if (ns_initparse(packet, len, &msg) < 0) {
    outcome = Outcome::TempFail;
    error = "malformed DNS answer";
    return false;
  }
  int rcode = ns_msg_getflag(msg, ns_f_rcode);
  if (rcode == ns_r_nxdomain) {
    outcome = Outcome::NxDomain;
    error = "NXDOMAIN";
    return false;
  }
  if (rcode != ns_r_noerror) {
    outcome = Outcome::TempFail;
    error = rcode == ns_r_servfail ? "SERVFAIL" : rcode == ns_r_refused ? "REFUSED" : "RCODE " + std::to_string(rcode);
    return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<UnboundResolver>> UnboundResolver::create(event_base* base, const std::string& forwarder) {
  std::unique_ptr<UnboundResolver> resolver(new UnboundResolver(base));
  resolver->ctx_.reset(ub_ctx_create_event(base));
  if (!resolver->ctx_) return fail("libunbound: ub_ctx_create_event failed");
  ub_ctx* ctx = resolver->ctx_.get();
  int rc = ub_ctx_set_option(ctx, "do-not-query-localhost:", "no");
  if (rc == 0) rc = ub_ctx_set_option(ctx, "local-zone:", "test. transparent");
  if (rc == 0) {
    rc = forwarder.empty() ? ub_ctx_resolvconf(ctx, nullptr) : ub_ctx_set_fwd(ctx, forwarder.c_str());
  }
  if (rc != 0) return fail(std::string("libunbound: ") + ub_strerror(rc));
  return resolver;
}

UnboundResolver::~UnboundResolver() {
  ctx_.reset();  // cancels outstanding queries: their callbacks never run
  for (Query* q : pending_) delete q;
}

void UnboundResolver::start(const std::string& name, int rrtype,
                            std::function<void(int, const unsigned char*, int)> done) {
  auto* query = new Query();  // owned by pending_ until delivered
  query->resolver = this;
  query->done = std::move(done);
  query->deliver.reset(evtimer_new(base_, &UnboundResolver::on_deliver, query));
  pending_.insert(query);
  int id = 0;
  int rc = ub_resolve_event(ctx_.get(), name.c_str(), rrtype, ns_c_in, query, &UnboundResolver::on_answer, &id);
  if (rc != 0) on_answer(query, rc, nullptr, 0, 0, nullptr, 0);
}

void UnboundResolver::on_answer(void* arg, int err, void* packet, int len, int, char*, int) noexcept {
  auto* query = static_cast<Query*>(arg);
  query->err = err;
  if (packet && len > 0) query->packet.assign(static_cast<const char*>(packet), static_cast<std::size_t>(len));
  // Deliver from the loop: unbound may answer inside ub_resolve_event itself.
  timeval now{0, 0};
  evtimer_add(query->deliver.get(), &now);
}

void UnboundResolver::on_deliver(evutil_socket_t, short, void* arg) noexcept {
  std::unique_ptr<Query> query(static_cast<Query*>(arg));
  query->resolver->pending_.erase(query.get());
  query->done(query->err, reinterpret_cast<const unsigned char*>(query->packet.data()),
              static_cast<int>(query->packet.size()));
}

void UnboundResolver::resolve_mx(const std::string& domain, std::function<void(MxAnswer)> done) {
  start(domain, ns_t_mx, [domain, done = std::move(done)](int err, const unsigned char* packet, int len) {
    MxAnswer answer;
    ns_msg msg;
    if (!open_answer(err, packet, len, msg, answer.outcome, answer.error)) {
      done(std::move(answer));
      return;
    }
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
      ns_rr rr;
      if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_mx || ns_rr_rdlen(rr) < 3) continue;
      MxRecord record;
      record.preference = ns_get16(ns_rr_rdata(rr));
      char name[NS_MAXDNAME];
      if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, name, sizeof name) < 0) continue;
      record.host = name;
      if (record.host == ".") record.host.clear();
      if (!record.host.empty() && record.host.back() == '.') record.host.pop_back();
      answer.records.push_back(std::move(record));
    }
    answer.outcome = answer.records.empty() ? Outcome::NoData : Outcome::Ok;
    if (answer.records.empty()) answer.error = "no MX records";
    done(std::move(answer));
  });
}

void UnboundResolver::resolve_addresses(const std::string& host, std::function<void(AddressAnswer)> done) {
  struct Both {
    AddressAnswer v4, v6;
    int waiting = 2;
    std::function<void(AddressAnswer)> done;
  };
  auto both = std::make_shared<Both>();
  both->done = std::move(done);
  auto finish = [both] {
    if (--both->waiting > 0) return;
    AddressAnswer merged;
    merged.addresses = both->v4.addresses;
    merged.addresses.insert(merged.addresses.end(), both->v6.addresses.begin(), both->v6.addresses.end());
    if (!merged.addresses.empty()) {
      merged.outcome = Outcome::Ok;
    } else if (both->v4.outcome == Outcome::TempFail || both->v6.outcome == Outcome::TempFail) {
      merged.outcome = Outcome::TempFail;
      merged.error = both->v4.outcome == Outcome::TempFail ? both->v4.error : both->v6.error;
    } else if (both->v4.outcome == Outcome::NxDomain) {
      merged.outcome = Outcome::NxDomain;
      merged.error = "NXDOMAIN";
    } else {
      merged.outcome = Outcome::NoData;
      merged.error = "no A or AAAA records";
    }
    both->done(std::move(merged));
  };
  for (int type : {ns_t_a, ns_t_aaaa}) {
    start(host, type, [both, finish, type](int err, const unsigned char* packet, int len) {
      AddressAnswer& answer = type == ns_t_a ? both->v4 : both->v6;
      ns_msg msg;
      if (open_answer(err, packet, len, msg, answer.outcome, answer.error)) {
        const int family = type == ns_t_a ? AF_INET : AF_INET6;
        const unsigned size = type == ns_t_a ? 4 : 16;
        for (int i = 0; i < ns_msg_count(msg, ns_s_an); ++i) {
          ns_rr rr;
          // CNAME chains come along in the answer; only the final type counts.
          if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != type || ns_rr_rdlen(rr) != size) continue;
          char text[INET6_ADDRSTRLEN];
          if (inet_ntop(family, ns_rr_rdata(rr), text, sizeof text)) answer.addresses.push_back(text);
        }
        answer.outcome = answer.addresses.empty() ? Outcome::NoData : Outcome::Ok;
      }
      finish();
    });
  }
}

}  // namespace common::dns
