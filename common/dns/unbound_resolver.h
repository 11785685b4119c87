// UnboundResolver: Resolver on libunbound, running inside our libevent loop
// (ub_ctx_create_event: no thread, no fork). Forwards to a configured server
// (host@port) or to the system's resolv.conf servers.
//
// Deliberate settings (see research/dependencies.md, libunbound pitfalls):
// queries to 127.0.0.1 are allowed (a local resolver is the norm), and the
// RFC 6761 name "test." is passed through instead of answered NXDOMAIN
// locally, so test zones served by a real DNS server work.
#pragma once

#include <event2/event.h>
#include <unbound.h>

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/base/owned.h"
#include "common/base/result.h"
#include "common/dns/resolver.h"

namespace common::dns {

using OwnedUbCtx = Owned<ub_ctx, &ub_ctx_delete>;

class UnboundResolver final : public Resolver {
 public:
  // `forwarder` is "ip" or "ip@port"; empty: use /etc/resolv.conf.
  static Result<std::unique_ptr<UnboundResolver>> create(event_base* base, const std::string& forwarder);
  ~UnboundResolver() override;

  void resolve_mx(const std::string& domain, std::function<void(MxAnswer)> done) override;
  void resolve_addresses(const std::string& host, std::function<void(AddressAnswer)> done) override;

 private:
  struct Query;
  UnboundResolver(event_base* base) : base_(base) {}
  void start(const std::string& name, int rrtype, std::function<void(int, const unsigned char*, int)> done);
  static void on_answer(void* arg, int err, void* packet, int len, int sec, char* why_bogus, int ratelimited) noexcept;
  static void on_deliver(evutil_socket_t, short, void* arg) noexcept;

  event_base* base_;
  OwnedUbCtx ctx_;
  std::set<Query*> pending_;  // freed in the destructor if unbound never answers
};

}  // namespace common::dns
