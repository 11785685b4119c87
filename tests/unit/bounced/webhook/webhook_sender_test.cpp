// Tests of HttpWebhookSender against a real endpoint on loopback
// (tests/integration/webhook_receiver.py, HTTPS with a test CA made by the
// openssl command line): what goes over the wire (method, path, Host, headers,
// body), certificate and name verification (on by default: an untrusted
// certificate or a name the certificate does not carry never gets the body),
// names resolved through the Resolver, plain HTTP only when the URL says so,
// and every way a request can fail (refused, timeout, bad URL, big answers,
// cancellation) giving a reason rather than a hang.
#include "bounced/webhook/webhook_sender.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <optional>

#include "tests/unit/bounced/webhook/webhook_test_support.h"

using namespace bounced::webhook;
using namespace std::chrono_literals;
using webhook_test::Receiver;
using webhook_test::ReceiverOptions;

namespace {

// Writing to a peer that has gone away must not kill the test (dependencies.md section 4).
struct IgnoreSigpipe {
  IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }
};
BOOST_TEST_GLOBAL_FIXTURE(IgnoreSigpipe);

// A loopback port nothing listens on (bound, then closed).
int closed_port() {
  common::OwnedFd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t length = sizeof addr;
  BOOST_REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  return ntohs(addr.sin_port);
}

struct Fixture {
  std::unique_ptr<common::event::EventLoop> loop;
  std::unique_ptr<webhook_test::FakeResolver> resolver;
  WebhookSettings settings;

  Fixture() {
    auto created = common::event::EventLoop::create();
    BOOST_REQUIRE(created);
    loop = std::move(*created);
    resolver = std::make_unique<webhook_test::FakeResolver>(*loop);
    resolver->hosts["webhook.test"] = {"127.0.0.1"};
    resolver->hosts["other.test"] = {"127.0.0.1"};
    settings.ca_file = webhook_test::TestPki::get().ca_cert.string();
    settings.request_timeout = 5s;
  }

  std::unique_ptr<HttpWebhookSender> sender() {
    auto created = HttpWebhookSender::create(*loop, *resolver, settings);
    BOOST_REQUIRE_MESSAGE(created, (created ? "" : created.error().message));
    return std::move(*created);
  }

  // Posts and runs the loop until the answer (or a generous deadline).
  WebhookResponse send(HttpWebhookSender& s, WebhookRequest request) {
    std::optional<WebhookResponse> response;
    int calls = 0;
    s.post(std::move(request), [&](WebhookResponse r) {
      ++calls;
      response = std::move(r);
    });
    BOOST_REQUIRE(webhook_test::run_until(
        *loop, [&] { return response.has_value(); }, 20s));
    webhook_test::run_for(*loop, 20ms);  // a second call would show up here
    BOOST_TEST(calls == 1);
    BOOST_TEST(s.open_requests() == 0u);
    return *response;
  }
};

WebhookRequest json_post(const std::string& url,
                         const std::string& body = R"({"RecordType":"Bounce"})") {
  return {url, {{"Content-Type", "application/json"}, {"X-Stamp-Event", "Bounce"}}, body};
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(webhook_sender, Fixture)

BOOST_AUTO_TEST_CASE(https_post_arrives_as_sent) {
  Receiver receiver;
  auto s = sender();
  const std::string body = "{\"Details\":\"caf\xc3\xa9\"}";
  const auto response = send(*s, json_post(receiver.url("127.0.0.1", "/hooks/stamp?x=1"), body));
  BOOST_TEST(response.status == 200);
  BOOST_TEST(response.ok());
  BOOST_TEST(response.error.empty());
  BOOST_TEST(resolver->lookups == 0);  // IP literals are not looked up
  const auto requests = receiver.requests();
  BOOST_REQUIRE(requests.size() == 1u);
  const auto& r = requests[0];
  BOOST_TEST(r.method == "POST");
  BOOST_TEST(r.path == "/hooks/stamp?x=1");
  BOOST_TEST(r.body == body);
  BOOST_TEST(r.header("host") == "127.0.0.1:" + std::to_string(receiver.port()));
  BOOST_TEST(r.header("content-length") == std::to_string(body.size()));
  BOOST_TEST(r.header("content-type") == "application/json");
  BOOST_TEST(r.header("x-stamp-event") == "Bounce");
}

BOOST_AUTO_TEST_CASE(names_are_resolved_and_must_match_the_certificate) {
  Receiver receiver;
  auto s = sender();
  auto response = send(*s, json_post(receiver.url("webhook.test")));
  BOOST_TEST(response.status == 200);
  BOOST_TEST(resolver->lookups == 1);
  BOOST_REQUIRE(receiver.requests().size() == 1u);
  BOOST_TEST(receiver.requests()[0].header("host") ==
             "webhook.test:" + std::to_string(receiver.port()));

  // other.test resolves to the same server, whose certificate does not name it.
  response = send(*s, json_post(receiver.url("other.test")));
  BOOST_TEST(response.status == 0);
  BOOST_TEST(response.error.find("certificate verify failed") != std::string::npos, response.error);
  BOOST_TEST(response.error.find("hostname mismatch") != std::string::npos, response.error);
  BOOST_TEST(receiver.requests().size() == 1u);  // the body never left

  // An IP literal must be in the certificate as an address: 127.0.0.2 is not.
  Receiver elsewhere({.listen = "127.0.0.2"});
  response = send(*s, json_post(elsewhere.url("127.0.0.2")));
  BOOST_TEST(response.status == 0);
  BOOST_TEST(response.error.find("IP address mismatch") != std::string::npos, response.error);
  BOOST_TEST(elsewhere.requests().empty());

  response = send(*s, json_post(receiver.url("missing.test")));
  BOOST_TEST(response.status == 0);
  BOOST_TEST(!response.permanent);
  BOOST_TEST(response.error.find("cannot resolve missing.test") != std::string::npos,
             response.error);
}

BOOST_AUTO_TEST_CASE(ipv6_literal_is_checked_as_an_address) {
  Receiver receiver({.listen = "::1"});
  auto s = sender();
  const auto response = send(*s, json_post(receiver.url("[::1]")));
  BOOST_TEST(response.status == 200, response.error);
  BOOST_TEST(resolver->lookups == 0);  // IP literals are not looked up
  BOOST_REQUIRE(receiver.requests().size() == 1u);
  BOOST_TEST(receiver.requests()[0].header("host") == "[::1]:" + std::to_string(receiver.port()));
}

BOOST_AUTO_TEST_CASE(untrusted_certificate_is_refused_by_default) {
  Receiver receiver({.untrusted_certificate = true});
  WebhookSettings defaults;  // verification on, system store: our test CA is not in it
  BOOST_TEST(defaults.tls_verify);
  settings.ca_file.clear();
  auto s = sender();
  auto response = send(*s, json_post(receiver.url()));
  BOOST_TEST(response.status == 0);
  BOOST_TEST(response.error.find("certificate verify failed") != std::string::npos, response.error);
  // Not trusted by the configured CA either.
  settings.ca_file = webhook_test::TestPki::get().ca_cert.string();
  auto with_ca = sender();
  response = send(*with_ca, json_post(receiver.url()));
  BOOST_TEST(response.status == 0);
  BOOST_TEST(response.error.find("certificate verify failed") != std::string::npos, response.error);
  BOOST_TEST(receiver.requests().empty());
}

BOOST_AUTO_TEST_CASE(verification_off_encrypts_without_checking) {
  Receiver receiver({.untrusted_certificate = true});
  settings.tls_verify = false;
  settings.ca_file.clear();
  auto s = sender();
  BOOST_TEST(send(*s, json_post(receiver.url())).status == 200);
  BOOST_TEST(receiver.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(plain_http_only_when_the_url_says_http) {
  Receiver plain({.tls = false});
  auto s = sender();
  BOOST_TEST(send(*s, json_post(plain.url())).status == 200);
  BOOST_TEST(plain.requests().size() == 1u);
  // An https:// URL never falls back to plaintext.
  const std::string https_url = "https://127.0.0.1:" + std::to_string(plain.port()) + "/";
  const auto response = send(*s, json_post(https_url));
  BOOST_TEST(response.status == 0);
  BOOST_TEST(!response.error.empty());
  BOOST_TEST(plain.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(statuses_other_than_2xx_are_failures_with_an_excerpt) {
  Receiver receiver({.statuses = "500,302,204"});
  auto s = sender();
  auto response = send(*s, json_post(receiver.url()));
  BOOST_TEST(response.status == 500);
  BOOST_TEST(!response.ok());
  BOOST_TEST(!response.permanent);
  BOOST_TEST(response.error == "HTTP 500: status 500\n");
  response = send(*s, json_post(receiver.url()));
  BOOST_TEST(response.status == 302);  // redirects are not followed
  BOOST_TEST(!response.ok());
  response = send(*s, json_post(receiver.url()));
  BOOST_TEST(response.status == 204);
  BOOST_TEST(response.ok());
}

BOOST_AUTO_TEST_CASE(answers_past_the_body_limit) {
  {
    Receiver big_ok({.response_body_bytes = 1024 * 1024});
    auto s = sender();
    const auto response = send(*s, json_post(big_ok.url()));
    BOOST_TEST(response.status == 200);  // the endpoint took it; its chatter does not matter
    BOOST_TEST(response.ok());
  }
  Receiver big_error({.statuses = "503", .response_body_bytes = 1024 * 1024});
  auto s = sender();
  const auto response = send(*s, json_post(big_error.url()));
  BOOST_TEST(response.status == 503);
  BOOST_TEST(!response.ok());
  BOOST_TEST(response.error.size() < 300u);
}

BOOST_AUTO_TEST_CASE(refused_connection_fails_at_once) {
  auto s = sender();
  for (const char* scheme : {"https", "http"}) {
    const auto started = std::chrono::steady_clock::now();
    const auto response = send(
        *s, json_post(std::string(scheme) + "://127.0.0.1:" + std::to_string(closed_port()) + "/"));
    BOOST_TEST(response.status == 0);
    BOOST_TEST(!response.permanent);
    BOOST_TEST(response.error.find("connection failed") != std::string::npos, response.error);
    BOOST_TEST((std::chrono::steady_clock::now() - started < 2s));  // not the request timeout
  }
}

BOOST_AUTO_TEST_CASE(slow_endpoint_times_out) {
  Receiver receiver({.delay_seconds = 5});
  settings.request_timeout = 500ms;
  auto s = sender();
  const auto started = std::chrono::steady_clock::now();
  const auto response = send(*s, json_post(receiver.url()));
  const auto took = std::chrono::steady_clock::now() - started;
  BOOST_TEST(response.status == 0);
  BOOST_TEST(response.error.find("timeout") != std::string::npos, response.error);
  BOOST_TEST(took < 3s);
  BOOST_TEST(took >= 450ms);
}

BOOST_AUTO_TEST_CASE(bad_urls_fail_permanently) {
  auto s = sender();
  const char* urls[] = {
      "ftp://127.0.0.1/hook",
      "not a url",
      "https://user:secret@127.0.0.1:1/",
      "https:///nohost",
      "https://127.0.0.1:99999/",
      "https://[zz::1]/",
  };
  for (const char* url : urls) {
    BOOST_TEST_CONTEXT(url) {
      const auto response = send(*s, json_post(url));
      BOOST_TEST(response.status == 0);
      BOOST_TEST(response.permanent);
      BOOST_TEST(response.error.find("secret") == std::string::npos);
    }
  }
  const auto long_url = send(*s, json_post("https://127.0.0.1/" + std::string(kMaxUrlLength, 'a')));
  BOOST_TEST(long_url.permanent);
  // Header values are refused rather than split into two headers.
  Receiver receiver;
  auto request = json_post(receiver.url());
  request.headers.push_back({"X-Stamp-Event", "Bounce\r\nX-Evil: 1"});
  const auto injected = send(*s, std::move(request));
  BOOST_TEST(injected.permanent);
  BOOST_TEST(receiver.requests().empty());
}

BOOST_AUTO_TEST_CASE(loggable_url_hides_user_info_and_query) {
  BOOST_TEST(loggable_url("https://user:pw@example.com/hook?token=abc@c") ==
             "https://***@example.com/hook?***");
  BOOST_TEST(loggable_url("https://example.com/a@b") == "https://example.com/a@b");
  BOOST_TEST(loggable_url("https://example.com/hook#frag") == "https://example.com/hook");
  BOOST_TEST(loggable_url("https://example.com") == "https://example.com");
  BOOST_TEST(loggable_url("https://u@example.com?x") == "https://***@example.com?***");
  BOOST_TEST(loggable_url("garbage@x") == "garbage@x");
}

BOOST_AUTO_TEST_CASE(cancelled_requests_never_call_back) {
  Receiver receiver({.delay_seconds = 1});
  auto s = sender();
  int calls = 0;
  // Cancelled before it started, and cancelled while the endpoint is thinking.
  const auto early = s->post(json_post(receiver.url()), [&](WebhookResponse) { ++calls; });
  s->cancel(early);
  const auto late = s->post(json_post(receiver.url()), [&](WebhookResponse) { ++calls; });
  BOOST_REQUIRE(webhook_test::run_until(
      *loop, [&] { return receiver.requests().size() == 1u; }, 10s));
  s->cancel(late);
  s->cancel(late);    // twice is harmless
  s->cancel(123456);  // unknown too
  webhook_test::run_for(*loop, 1500ms);
  BOOST_TEST(calls == 0);
  BOOST_TEST(s->open_requests() == 0u);
  // Destroying the sender with a request open is clean too (no callback, no leak under ASan).
  s->post(json_post(receiver.url()), [&](WebhookResponse) { ++calls; });
  webhook_test::run_for(*loop, 100ms);
  s.reset();
  webhook_test::run_for(*loop, 100ms);
  BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_SUITE_END()
