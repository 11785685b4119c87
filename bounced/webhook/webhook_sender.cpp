// HttpWebhookSender on libevent's evhttp client. See webhook_sender.h.
//
// One connection per request, closed after it ("Connection: close"): webhooks
// to one endpoint are rare enough that keep-alive buys little, and a fresh
// connection per request keeps libevent's connection reuse (which mishandles
// TLS bufferevents after a failure) out of the picture.
//
// Lifetime: an Exchange (one request) is owned by exchanges_ until it
// completes or is cancelled. evhttp calls us from inside its own connection
// code, so a completed exchange moves to graveyard_ and is freed from a
// posted closure, never inside the callback that completed it. Freeing an
// evhttp_connection with its request still queued frees the request without
// calling back (how cancel() and the deadline stop a request).
#include "bounced/webhook/webhook_sender.h"

#include <arpa/inet.h>

#include <algorithm>

#include "common/base/ascii.h"
#include "common/base/cidr.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "common/base/log.h"
#include "common/base/owned.h"

namespace bounced::webhook {
namespace {

using common::fail;
using OwnedUri = common::Owned<evhttp_uri, &evhttp_uri_free>;
using OwnedConnection = common::Owned<evhttp_connection, &evhttp_connection_free>;
using OwnedBufferevent = common::Owned<bufferevent, &bufferevent_free>;

constexpr int kHttpsPort = 443;
constexpr int kHttpPort = 80;

struct Target {
  bool https = true;
  std::string host;  // without the brackets of an IPv6 literal
  bool ip_literal = false;
  int port = kHttpsPort;
  std::string request_uri;  // path and query, at least "/"
  std::string host_header;
};

// Networks a tenant's webhook must not reach unless the operator allows it:
// "this host", loopback, RFC 1918, CGNAT (RFC 6598), link-local (cloud metadata
// lives at 169.254.169.254), RFC 4193 unique-local, IPv6 link-local, and the
// IPv4-mapped forms of them all.
constexpr const char* kPrivateNetworks[] = {
    "0.0.0.0/8",       "10.0.0.0/8",      "100.64.0.0/10",   "127.0.0.0/8",
    "169.254.0.0/16",  "172.16.0.0/12",   "192.168.0.0/16",  "::/128",
    "::1/128",         "fc00::/7",        "fe80::/10",       "::ffff:0.0.0.0/104",
    "::ffff:10.0.0.0/104", "::ffff:100.64.0.0/106", "::ffff:127.0.0.0/104", "::ffff:169.254.0.0/112",
    "::ffff:172.16.0.0/108", "::ffff:192.168.0.0/112",
};

bool is_private_address(const std::string& address) {
  sockaddr_storage storage{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
  } else {
    return true;  // not an address we can judge: refuse
  }
  // Parsed once, not at every connect.
  static const std::vector<common::Cidr> kParsed = [] {
    std::vector<common::Cidr> parsed;
    for (const char* network : kPrivateNetworks) {
      if (auto cidr = common::Cidr::parse(network)) parsed.push_back(*cidr);
    }
    return parsed;
  }();
  const auto* address_ptr = reinterpret_cast<const sockaddr*>(&storage);
  return std::any_of(kParsed.begin(), kParsed.end(), [&](const common::Cidr& c) { return c.contains(address_ptr); });
}

bool is_ip_literal(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

// Errors from parse_target are permanent: the URL will not get better by retrying.
common::Result<Target> parse_target(const std::string& url) {
  if (url.size() > kMaxUrlLength)
    return fail("URL longer than " + std::to_string(kMaxUrlLength) + " bytes");
  OwnedUri uri(evhttp_uri_parse_with_flags(url.c_str(), 0));
  if (!uri) return fail("not a valid URL");
  const char* scheme = evhttp_uri_get_scheme(uri.get());
  const std::string lower_scheme = common::ascii_lower(scheme ? scheme : "");
  Target target;
  if (lower_scheme == "https") {
    target.https = true;
  } else if (lower_scheme == "http") {
    target.https = false;
  } else {
    return fail("unsupported URL scheme (only https and http)");
  }
  if (evhttp_uri_get_userinfo(uri.get()) != nullptr)
    return fail("URLs with user info are not supported");
  const char* host = evhttp_uri_get_host(uri.get());
  if (host == nullptr || *host == '\0') return fail("URL without a host");
  std::string bare = host;
  const bool bracketed = bare.size() > 2 && bare.front() == '[' && bare.back() == ']';
  if (bracketed) bare = bare.substr(1, bare.size() - 2);
  target.host = bare;
  target.ip_literal = is_ip_literal(bare);
  if (bracketed && !target.ip_literal) return fail("URL with a bad IPv6 literal");
  const int port = evhttp_uri_get_port(uri.get());
  const int default_port = target.https ? kHttpsPort : kHttpPort;
  if (port == 0 || port > 65535) return fail("URL with a bad port");
  target.port = port < 0 ? default_port : port;
  const char* path = evhttp_uri_get_path(uri.get());
  target.request_uri = path && *path ? path : "/";
  if (const char* query = evhttp_uri_get_query(uri.get()))
    target.request_uri += std::string("?") + query;
  target.host_header = std::string(host);  // keeps the brackets, as RFC 9110 section 7.2 wants
  if (target.port != default_port) target.host_header += ":" + std::to_string(target.port);
  return target;
}

const char* request_error_text(evhttp_request_error error) {
  switch (error) {
    case EVREQ_HTTP_TIMEOUT:
      return "timeout";
    case EVREQ_HTTP_EOF:
      return "connection closed before a complete answer";
    case EVREQ_HTTP_INVALID_HEADER:
      return "invalid answer headers (or longer than the limit)";
    case EVREQ_HTTP_BUFFER_ERROR:
      return "buffer error";
    case EVREQ_HTTP_REQUEST_CANCEL:
      return "cancelled";
    case EVREQ_HTTP_DATA_TOO_LONG:
      return "answer body longer than the limit";
  }
  return "request failed";
}

timeval to_timeval(std::chrono::milliseconds duration) {
  return timeval{static_cast<time_t>(duration.count() / 1000),
                 static_cast<suseconds_t>((duration.count() % 1000) * 1000)};
}

}  // namespace

struct HttpWebhookSender::Exchange {
  HttpWebhookSender* owner = nullptr;
  Handle handle = 0;
  WebhookRequest request;
  Done done;
  Target target;
  common::event::OwnedEvent deadline;
  OwnedConnection connection;
  SSL* ssl = nullptr;  // owned by the connection's bufferevent
  int status = 0;      // from the answer's status line, once its headers are in
  std::string body_excerpt;
  const char* request_error = nullptr;  // from evhttp's error callback
};

std::string loggable_url(const std::string& url) {
  // The query often carries the tenant's own token ("?key=..."): never logged.
  std::string out = url.substr(0, url.find('#'));
  if (const std::size_t query = out.find('?'); query != std::string::npos)
    out = out.substr(0, query) + "?***";
  const std::size_t scheme_end = out.find("://");
  if (scheme_end == std::string::npos) return out;
  const std::size_t authority = scheme_end + 3;
  const std::size_t authority_end = std::min(out.find_first_of("/?", authority), out.size());
  const std::size_t at = out.rfind('@', authority_end);
  if (at == std::string::npos || at < authority) return out;
  return out.substr(0, authority) + "***" + out.substr(at);
}

common::Result<std::unique_ptr<HttpWebhookSender>> HttpWebhookSender::create(
    common::event::EventLoop& loop, common::dns::Resolver& resolver,
    const WebhookSettings& settings) {
  // Verification on: the system store or ca_file. Off: encrypt without checking (tests only).
  auto tls = common::tls::make_client_context(settings.tls_verify, settings.ca_file);
  if (!tls) return std::unexpected(tls.error());
  return std::unique_ptr<HttpWebhookSender>(
      new HttpWebhookSender(loop, resolver, settings, std::move(*tls)));
}

HttpWebhookSender::HttpWebhookSender(common::event::EventLoop& loop,
                                     common::dns::Resolver& resolver,
                                     const WebhookSettings& settings, common::tls::OwnedSslCtx tls)
    : loop_(loop),
      resolver_(resolver),
      request_timeout_(settings.request_timeout),
      allow_private_addresses_(settings.allow_private_addresses),
      tls_verify_(settings.tls_verify),
      tls_(std::move(tls)) {}

HttpWebhookSender::~HttpWebhookSender() {
  *alive_ = false;  // resolver answers and posted closures still on their way find us gone
  exchanges_.clear();
  graveyard_.clear();
}

WebhookSender::Handle HttpWebhookSender::post(WebhookRequest request, Done done) {
  const Handle handle = next_handle_++;
  auto exchange = std::make_unique<Exchange>();
  exchange->owner = this;
  exchange->handle = handle;
  exchange->request = std::move(request);
  exchange->done = std::move(done);
  exchanges_.emplace(handle, std::move(exchange));
  // Started from the loop, so `done` never runs inside this call.
  loop_.post([this, alive = alive_, handle] {
    if (*alive) start(handle);
  });
  return handle;
}

void HttpWebhookSender::cancel(Handle handle) {
  auto it = exchanges_.find(handle);
  if (it == exchanges_.end()) return;
  auto exchange = std::move(it->second);
  exchanges_.erase(it);
  exchange->connection.reset();  // frees the queued request without calling back
  bury(std::move(exchange));
}

void HttpWebhookSender::start(Handle handle) {
  auto it = exchanges_.find(handle);
  if (it == exchanges_.end()) return;  // cancelled before it started
  Exchange& exchange = *it->second;
  exchange.deadline.reset(evtimer_new(loop_.base(), &HttpWebhookSender::on_deadline, &exchange));
  const timeval timeout = to_timeval(request_timeout_);
  if (!exchange.deadline || evtimer_add(exchange.deadline.get(), &timeout) != 0) {
    complete(exchange, {0, "cannot arm the request timer", false});
    return;
  }
  auto target = parse_target(exchange.request.url);
  if (!target) {
    complete(exchange, {0, target.error().message, true});
    return;
  }
  exchange.target = std::move(*target);
  if (!exchange.target.https) warn_plain_http(exchange.request.url);
  if (exchange.target.ip_literal) {
    connect(exchange, exchange.target.host);
    return;
  }
  resolver_.resolve_addresses(exchange.target.host,
                              [this, alive = alive_, handle](common::dns::AddressAnswer answer) {
                                if (*alive) on_resolved(handle, answer);
                              });
}

void HttpWebhookSender::on_resolved(Handle handle, const common::dns::AddressAnswer& answer) {
  auto it = exchanges_.find(handle);
  if (it == exchanges_.end()) return;  // cancelled or timed out meanwhile
  Exchange& exchange = *it->second;
  if (answer.outcome != common::dns::Outcome::Ok || answer.addresses.empty()) {
    std::string why =
        "cannot resolve " + exchange.target.host + ": " + common::dns::outcome_name(answer.outcome);
    if (!answer.error.empty()) why += " (" + answer.error + ")";
    complete(exchange, {0, why, false});
    return;
  }
  std::uniform_int_distribution<std::size_t> pick(0, answer.addresses.size() - 1);
  connect(exchange, answer.addresses[pick(random_)]);
}

void HttpWebhookSender::connect(Exchange& exchange, const std::string& address) {
  if (!allow_private_addresses_ && is_private_address(address)) {
    complete(exchange, {0, "refused: " + address + " is a private, loopback or link-local address "
                           "(webhooks.allow_private_addresses)", true});
    return;
  }
  event_base* base = loop_.base();
  const Target& target = exchange.target;
  OwnedBufferevent bev;
  if (target.https) {
    common::tls::OwnedSsl ssl(SSL_new(tls_.get()));
    if (!ssl) {
      complete(exchange, {0, "cannot set up TLS: " + common::tls::last_openssl_error(), false});
      return;
    }
    // SNI only for names (RFC 6066 section 3); the certificate must name what
    // the URL names, an IP literal as an iPAddress entry.
    bool ok = target.ip_literal || SSL_set_tlsext_host_name(ssl.get(), target.host.c_str()) == 1;
    if (ok && tls_verify_) {
      ok = target.ip_literal
               ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), target.host.c_str()) == 1
               : SSL_set1_host(ssl.get(), target.host.c_str()) == 1;
    }
    if (!ok) {
      complete(exchange,
               {0, "cannot set the TLS host name: " + common::tls::last_openssl_error(), false});
      return;
    }
    bev.reset(bufferevent_openssl_socket_new(base, -1, ssl.get(), BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
    if (!bev) {
      complete(exchange, {0, "cannot set up TLS", false});
      return;
    }
    exchange.ssl = ssl.release();  // freed with `bev` (BEV_OPT_CLOSE_ON_FREE)
  } else {
    bev.reset(bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
    if (!bev) {
      complete(exchange, {0, "cannot create a socket buffer", false});
      return;
    }
  }
  // The address is an IP literal, so evhttp connects without a (blocking) lookup.
  exchange.connection.reset(evhttp_connection_base_bufferevent_new(
      base, nullptr, bev.get(), address.c_str(), static_cast<unsigned short>(target.port)));
  if (!exchange.connection) {
    complete(exchange, {0, "cannot create an HTTP connection", false});
    return;
  }
  bev.release();  // freed with the connection
  evhttp_connection* connection = exchange.connection.get();
  const timeval timeout = to_timeval(request_timeout_);
  evhttp_connection_set_timeout_tv(connection, &timeout);
  evhttp_connection_set_retries(connection, 0);
  evhttp_connection_set_max_headers_size(connection, kMaxResponseHeaderBytes);
  evhttp_connection_set_max_body_size(connection, kMaxResponseBodyBytes);

  evhttp_request* request = evhttp_request_new(&HttpWebhookSender::on_request_done, &exchange);
  if (!request) {
    complete(exchange, {0, "cannot create an HTTP request", false});
    return;
  }
  evhttp_request_set_error_cb(request, &HttpWebhookSender::on_request_error);
  evhttp_request_set_header_cb(request, &HttpWebhookSender::on_response_headers);
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  bool ok = evhttp_add_header(headers, "Host", target.host_header.c_str()) == 0 &&
            evhttp_add_header(headers, "Connection", "close") == 0;
  for (const auto& [name, value] : exchange.request.headers) {
    ok = ok &&
         evhttp_add_header(headers, name.c_str(), value.c_str()) == 0;  // refuses CR/LF in values
  }
  ok = ok && evbuffer_add(evhttp_request_get_output_buffer(request), exchange.request.body.data(),
                          exchange.request.body.size()) == 0;
  if (!ok) {
    evhttp_request_free(request);  // not handed to evhttp yet
    complete(exchange, {0, "cannot build the HTTP request (bad header?)", true});
    return;
  }
  // From here evhttp owns `request`. It may call on_request_done before this
  // returns (a connect that fails at once), which completes `exchange`.
  const Handle handle = exchange.handle;
  if (evhttp_make_request(connection, request, EVHTTP_REQ_POST, target.request_uri.c_str()) != 0) {
    auto it = exchanges_.find(handle);
    if (it != exchanges_.end()) complete(*it->second, {0, "cannot start the HTTP request", false});
  }
}

int HttpWebhookSender::on_response_headers(evhttp_request* request, void* arg) noexcept {
  static_cast<Exchange*>(arg)->status = evhttp_request_get_response_code(request);
  return 0;
}

void HttpWebhookSender::on_request_error(evhttp_request_error error, void* arg) noexcept {
  static_cast<Exchange*>(arg)->request_error = request_error_text(error);
}

void HttpWebhookSender::on_request_done(evhttp_request* request, void* arg) noexcept {
  auto* exchange = static_cast<Exchange*>(arg);
  HttpWebhookSender* self = exchange->owner;
  if (request != nullptr && evhttp_request_get_response_code(request) > 0) {
    exchange->status = evhttp_request_get_response_code(request);
    evbuffer* body = evhttp_request_get_input_buffer(request);
    const std::size_t length = std::min(evbuffer_get_length(body), kMaxErrorExcerptBytes);
    exchange->body_excerpt.resize(length);
    if (length > 0 && evbuffer_copyout(body, exchange->body_excerpt.data(), length) < 0)
      exchange->body_excerpt.clear();
  }
  WebhookResponse response;
  response.status = exchange->status;
  if (!response.ok()) {
    if (response.status > 0) {
      response.error = "HTTP " + std::to_string(response.status);
      if (!exchange->body_excerpt.empty()) response.error += ": " + exchange->body_excerpt;
    } else {
      response.error = self->transport_error(*exchange);
    }
  }
  // A 2xx whose body then broke a limit still counts: the endpoint took the webhook.
  self->complete(*exchange, std::move(response));
}

void HttpWebhookSender::on_deadline(evutil_socket_t, short, void* arg) noexcept {
  auto* exchange = static_cast<Exchange*>(arg);
  // Our own timer, not inside evhttp: the connection can go now, taking its
  // queued request with it (no callback).
  exchange->connection.reset();
  exchange->owner->complete(
      *exchange,
      {0, "timeout after " + std::to_string(exchange->owner->request_timeout_.count()) + " ms",
       false});
}

std::string HttpWebhookSender::transport_error(Exchange& exchange) const {
  std::string tls;
  if (exchange.ssl != nullptr) {
    // Without verification OpenSSL still records a result; it explains nothing then.
    const long verify = tls_verify_ ? SSL_get_verify_result(exchange.ssl) : X509_V_OK;
    if (verify != X509_V_OK) {
      tls = std::string("TLS: certificate verify failed: ") + X509_verify_cert_error_string(verify);
    } else if (bufferevent* bev = exchange.connection
                                      ? evhttp_connection_get_bufferevent(exchange.connection.get())
                                      : nullptr) {
      // libevent queues OpenSSL error codes, and also bare SSL_get_error()
      // values (SSL_ERROR_SYSCALL for a refused or reset connection), which
      // carry no library and explain nothing: those are skipped.
      while (unsigned long code = bufferevent_get_openssl_error(bev)) {
        if (tls.empty() && ERR_GET_LIB(code) != 0) {
          char text[256];
          ERR_error_string_n(code, text, sizeof text);
          tls = std::string("TLS: ") + text;
        }
      }
    }
  }
  if (!tls.empty()) return tls;
  if (exchange.request_error != nullptr) return exchange.request_error;
  // evhttp reports a failed connect with no reason, and errno is long gone
  // by the time it calls back (the TLS layer has been at the socket since).
  return "connection failed (refused, unreachable, or closed before an answer)";
}

void HttpWebhookSender::complete(Exchange& exchange, WebhookResponse response) {
  auto it = exchanges_.find(exchange.handle);
  if (it == exchanges_.end()) return;  // already completed or cancelled
  auto owned = std::move(it->second);
  exchanges_.erase(it);
  owned->deadline.reset();
  Done done = std::move(owned->done);
  bury(std::move(owned));
  if (done) done(std::move(response));  // last: it may post or cancel other requests
}

void HttpWebhookSender::bury(std::unique_ptr<Exchange> exchange) {
  graveyard_.push_back(std::move(exchange));
  if (graveyard_.size() == 1) {
    loop_.post([this, alive = alive_] {
      if (*alive) graveyard_.clear();
    });
  }
}

void HttpWebhookSender::warn_plain_http(const std::string& url) {
  if (warned_plain_urls_.contains(url)) return;
  if (warned_plain_urls_.size() >= kMaxWarnedUrls) warned_plain_urls_.clear();
  warned_plain_urls_.insert(url);
  common::log::warning("webhook.plain_http")
      .kv("url", loggable_url(url))
      .kv("reason",
          "endpoint URL is http://, "
          "not encrypted");
}

}  // namespace bounced::webhook
