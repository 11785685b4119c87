// WebhookSender: one HTTP POST to a webhook endpoint, answered with the status
// or the reason there was none. The interface is the dispatcher's test seam;
// HttpWebhookSender is the real one, on libevent's evhttp client and OpenSSL.
//
// HttpWebhookSender, deliberately:
// - https:// verifies the certificate by default (system CA store or a CA
//   file) and the name in the URL: SNI + SSL_set1_host for names,
//   X509_VERIFY_PARAM_set1_ip_asc for IP literals (no SNI for those, RFC 6066
//   section 3). http:// is used only when the URL says so, with a warning
//   logged once per URL.
// - Names are resolved through common::dns::Resolver, inside the event loop
//   (evhttp's own lookup blocks when it has no evdns_base; dependencies.md
//   section 4); IP literals are not looked up. The connection goes to one of
//   the addresses, picked at random, so retries spread over them.
// - The whole exchange has one deadline (request_timeout). The answer's headers
//   and body are bounded; only the status and a short excerpt of a failure's
//   body are kept. Redirects are not followed (a 3xx is a failure).
// - URLs with user info are refused; user info and queries never reach a log
//   line (loggable_url).
//
// It does not sign, schedule, retry or log outcomes; the dispatcher does.
#pragma once

#include <event2/http.h>
#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bounced/webhook/webhook_settings.h"
#include "common/base/result.h"
#include "common/dns/resolver.h"
#include "common/event/event_loop.h"
#include "common/tls/tls_context.h"

namespace bounced::webhook {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct WebhookRequest {
  std::string url;
  Headers headers;  // besides Host and Content-Length, which the sender sets
  std::string body;
};

struct WebhookResponse {
  int status = 0;          // the HTTP status; 0 when no answer arrived
  std::string error;       // empty for a 2xx; else what went wrong, for logs and last_error
  bool permanent = false;  // retrying cannot help (bad URL, unsupported scheme)
  bool ok() const { return status >= 200 && status <= 299; }
};

class WebhookSender {
 public:
  using Handle = std::uint64_t;
  using Done = std::function<void(WebhookResponse)>;
  virtual ~WebhookSender() = default;
  // Starts a POST. `done` runs exactly once, later, on the event loop (never
  // inside this call), unless cancel(handle) comes first.
  virtual Handle post(WebhookRequest request, Done done) = 0;
  // Abandons the request; its `done` never runs. Unknown handles are ignored.
  virtual void cancel(Handle handle) = 0;
};

// Limits on what an endpoint may send back.
inline constexpr std::size_t kMaxResponseHeaderBytes = 16 * 1024;
inline constexpr std::size_t kMaxResponseBodyBytes = 64 * 1024;
// How much of a failed answer's body goes into the error text.
inline constexpr std::size_t kMaxErrorExcerptBytes = 200;
inline constexpr std::size_t kMaxUrlLength = 2048;
// URLs remembered for the once-per-URL plain-HTTP warning; forgotten past this.
inline constexpr std::size_t kMaxWarnedUrls = 1024;
inline constexpr const char* kUserAgent = "stamp-bounced/0.1";

// The URL for logs: user info and query (where passwords and tokens go)
// replaced by "***", fragment dropped.
std::string loggable_url(const std::string& url);

class HttpWebhookSender final : public WebhookSender {
 public:
  // Reads request_timeout, ca_file and tls_verify.
  static common::Result<std::unique_ptr<HttpWebhookSender>> create(common::event::EventLoop& loop,
                                                                   common::dns::Resolver& resolver,
                                                                   const WebhookSettings& settings);
  ~HttpWebhookSender() override;  // cancels whatever is still open
  HttpWebhookSender(const HttpWebhookSender&) = delete;
  HttpWebhookSender& operator=(const HttpWebhookSender&) = delete;

  Handle post(WebhookRequest request, Done done) override;
  void cancel(Handle handle) override;

  std::size_t open_requests() const { return exchanges_.size(); }

 private:
  struct Exchange;
  HttpWebhookSender(common::event::EventLoop& loop, common::dns::Resolver& resolver,
                    const WebhookSettings& settings, common::tls::OwnedSslCtx tls);

  void start(Handle handle);
  void on_resolved(Handle handle, const common::dns::AddressAnswer& answer);
  void connect(Exchange& exchange, const std::string& address);
  void complete(Exchange& exchange, WebhookResponse response);
  void bury(std::unique_ptr<Exchange> exchange);
  void warn_plain_http(const std::string& url);
  std::string transport_error(Exchange& exchange) const;

  static void on_request_done(struct evhttp_request* request, void* arg) noexcept;
  static void on_request_error(enum evhttp_request_error error, void* arg) noexcept;
  static int on_response_headers(struct evhttp_request* request, void* arg) noexcept;
  static void on_deadline(evutil_socket_t, short, void* arg) noexcept;

  common::event::EventLoop& loop_;
  common::dns::Resolver& resolver_;
  std::chrono::milliseconds request_timeout_;
  bool allow_private_addresses_;
  bool tls_verify_;
  common::tls::OwnedSslCtx tls_;
  Handle next_handle_ = 1;
  std::map<Handle, std::unique_ptr<Exchange>> exchanges_;
  // Finished exchanges, freed from the loop after the callback that finished
  // them has returned (evhttp must not see its connection freed under it).
  std::vector<std::unique_ptr<Exchange>> graveyard_;
  std::set<std::string> warned_plain_urls_;
  std::mt19937 random_{std::random_device{}()};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace bounced::webhook
