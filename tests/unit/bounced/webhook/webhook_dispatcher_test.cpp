// Tests of WebhookDispatcher against a real HTTPS endpoint on loopback
// (tests/integration/webhook_receiver.py, certificate from a test CA): rows
// enqueued in the state database arrive signed (checked here with
// verify_signature and the tenant's secret), a 500 then 200 is retried and
// delivered, an untrusted certificate never gets a webhook, an unreachable
// endpoint is retried then abandoned after retry_for, rows pending when a
// dispatcher goes away are delivered by the next one on the same database,
// at most max_in_flight requests are open at once (counted by the receiver),
// a missing secret abandons, and stop() waits for or cancels what is open.
#include "bounced/webhook/webhook_dispatcher.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <boost/test/unit_test.hpp>
#include <ctime>
#include <map>
#include <ostream>

#include "bounced/webhook/webhook_payloads.h"
#include "bounced/webhook/webhook_signature.h"
#include "tests/unit/bounced/webhook/webhook_test_support.h"

using namespace bounced::webhook;
using namespace std::chrono_literals;
using webhook_test::Receiver;
using webhook_test::ReceiverOptions;

namespace bounced::webhook {
std::ostream& operator<<(std::ostream& out, OutboxState state) {
  return out << outbox_state_name(state);
}
}  // namespace bounced::webhook

namespace {

struct IgnoreSigpipe {
  IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }
};
BOOST_TEST_GLOBAL_FIXTURE(IgnoreSigpipe);

constexpr const char* kSecret = "whsec_acme_0123456789";

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
  webhook_test::TempDir dir{"stamp-webhook-dispatcher"};
  std::filesystem::path database = dir.path / "state.db";
  std::unique_ptr<common::event::EventLoop> loop;
  std::unique_ptr<webhook_test::FakeResolver> resolver;
  common::store::OwnedSqlite producer;
  std::unique_ptr<WebhookOutbox> outbox;
  std::unique_ptr<HttpWebhookSender> sender;
  std::unique_ptr<WebhookDispatcher> dispatcher;
  WebhookSettings settings;
  std::map<std::string, std::string> secrets{{"acme", kSecret}};

  Fixture() {
    auto created = common::event::EventLoop::create();
    BOOST_REQUIRE(created);
    loop = std::move(*created);
    resolver = std::make_unique<webhook_test::FakeResolver>(*loop);
    auto db = common::store::open_state_database(database, "test producer");
    BOOST_REQUIRE(db);
    producer = std::move(*db);
    BOOST_REQUIRE(create_outbox_schema(producer.get()));
    auto opened = WebhookOutbox::open(database);
    BOOST_REQUIRE(opened);
    outbox = std::move(*opened);
    settings.ca_file = webhook_test::TestPki::get().ca_cert.string();
    settings.poll_interval = 50ms;
    settings.request_timeout = 5s;
    settings.first_retry_delay = 1s;
    settings.max_retry_delay = 2s;
    settings.stop_grace = 2s;
  }
  ~Fixture() {
    dispatcher.reset();
    sender.reset();
  }

  void start_dispatcher() {
    BOOST_REQUIRE(settings_problems(settings).empty());
    dispatcher.reset();
    auto created = HttpWebhookSender::create(*loop, *resolver, settings);
    BOOST_REQUIRE_MESSAGE(created, (created ? "" : created.error().message));
    sender = std::move(*created);
    dispatcher = std::make_unique<WebhookDispatcher>(
        *loop, *outbox, *sender,
        [this](const std::string& tenant, const std::string&) -> std::optional<std::string> {
          auto it = secrets.find(tenant);
          if (it == secrets.end()) return std::nullopt;
          return it->second;
        },
        settings);
    dispatcher->start();
  }

  std::int64_t enqueue(const std::string& url, const std::string& event = "Bounce",
                       const std::string& tenant = "acme", std::int64_t bounce_id = 1) {
    BounceFacts facts;
    facts.id = bounce_id;
    facts.type = "HardBounce";
    facts.email = "john@example.com";
    facts.details = "smtp; 550 5.1.1 \"unknown\"\n user";
    facts.bounced_at = std::time(nullptr);
    facts.inactive = true;
    const std::string body =
        event == "SpamComplaint" ? spam_complaint_payload(facts) : bounce_payload(facts);
    auto id =
        enqueue_webhook(producer.get(), {tenant, "outbound", event, url, body}, std::time(nullptr));
    BOOST_REQUIRE_MESSAGE(id, (id ? "" : id.error().message));
    return *id;
  }
  OutboxRecord record(std::int64_t id) {
    auto found = outbox->find(id);
    BOOST_REQUIRE(found && found->has_value());
    return **found;
  }
  OutboxState state(std::int64_t id) { return record(id).state; }
  bool all_finished(const std::vector<std::int64_t>& ids) {
    for (auto id : ids) {
      if (state(id) == OutboxState::Pending) return false;
    }
    return true;
  }
  bool until(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 20s) {
    return webhook_test::run_until(*loop, condition, timeout);
  }
};

// Every request the receiver got carries a valid signature over its body,
// made at most a minute ago, and the dispatcher's headers.
void check_signed(const webhook_test::ReceivedRequest& r, const std::string& event) {
  BOOST_TEST(r.method == "POST");
  BOOST_TEST(r.header("content-type") == "application/json");
  BOOST_TEST(r.header("user-agent") == "stamp-bounced/0.1");
  BOOST_TEST(r.header("x-stamp-event") == event);
  const auto verified =
      verify_signature(r.header("x-stamp-signature"), kSecret, r.body, std::time(nullptr), 60s);
  BOOST_TEST(verified.has_value(), (verified ? "" : verified.error().message));
  BOOST_TEST(!verify_signature(r.header("x-stamp-signature"), "another secret", r.body,
                               std::time(nullptr), 60s));
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(webhook_dispatcher, Fixture)

BOOST_AUTO_TEST_CASE(delivers_signed_webhooks) {
  Receiver receiver;
  const auto bounce = enqueue(receiver.url(), "Bounce", "acme", 11);
  const auto complaint = enqueue(receiver.url(), "SpamComplaint", "acme", 12);
  start_dispatcher();
  BOOST_REQUIRE(until([&] { return all_finished({bounce, complaint}); }));
  BOOST_TEST(state(bounce) == OutboxState::Delivered);
  BOOST_TEST(state(complaint) == OutboxState::Delivered);
  BOOST_TEST(record(bounce).attempts == 1);
  BOOST_TEST(record(bounce).finished_at.has_value());
  BOOST_TEST(*outbox->count_pending() == 0);

  const auto requests = receiver.requests();
  BOOST_REQUIRE(requests.size() == 2u);
  std::map<std::string, webhook_test::ReceivedRequest> by_delivery;
  for (const auto& r : requests) by_delivery[r.header("x-stamp-delivery")] = r;
  const auto& b = by_delivery.at(std::to_string(bounce));
  const auto& c = by_delivery.at(std::to_string(complaint));
  check_signed(b, "Bounce");
  check_signed(c, "SpamComplaint");
  BOOST_TEST(b.body == record(bounce).event.body);  // byte for byte what was enqueued
  BOOST_TEST(c.body == record(complaint).event.body);
  BOOST_TEST(b.body.starts_with(R"({"RecordType":"Bounce","MessageStream":"outbound","ID":11,)"));
  BOOST_TEST(c.body.find(R"("TypeCode":100001)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(answer_500_then_200_is_retried_and_delivered) {
  Receiver receiver({.statuses = "500,200"});
  const auto id = enqueue(receiver.url());
  start_dispatcher();
  BOOST_REQUIRE(until(
      [&] { return record(id).attempts >= 1 && record(id).last_error.find("HTTP 500") == 0; }));
  BOOST_TEST(state(id) == OutboxState::Pending);  // after the 500: waiting for its retry
  BOOST_TEST(record(id).next_attempt_at > std::time(nullptr) - 1);
  BOOST_REQUIRE(until([&] { return state(id) != OutboxState::Pending; }));
  BOOST_TEST(state(id) == OutboxState::Delivered);
  BOOST_TEST(record(id).attempts == 2);
  const auto requests = receiver.requests();
  BOOST_REQUIRE(requests.size() == 2u);
  BOOST_TEST(requests[0].status == 500);
  BOOST_TEST(requests[1].status == 200);
  for (const auto& r : requests) {
    check_signed(r, "Bounce");
    BOOST_TEST(r.header("x-stamp-delivery") ==
               std::to_string(id));  // the same delivery, for deduplication
    BOOST_TEST(r.body == requests[0].body);
  }
}

BOOST_AUTO_TEST_CASE(untrusted_certificate_is_never_delivered) {
  Receiver receiver({.untrusted_certificate = true});
  const auto id = enqueue(receiver.url());
  start_dispatcher();
  BOOST_REQUIRE(until([&] { return record(id).attempts >= 2; }, 15s));
  BOOST_TEST(state(id) == OutboxState::Pending);
  BOOST_TEST(record(id).last_error.find("certificate verify failed") != std::string::npos,
             record(id).last_error);
  BOOST_TEST(receiver.requests().empty());  // not one byte of the payload reached it
}

BOOST_AUTO_TEST_CASE(unreachable_endpoint_is_retried_then_abandoned) {
  settings.retry_for = 3s;
  const auto id = enqueue("https://127.0.0.1:" + std::to_string(closed_port()) + "/hook");
  const auto started = std::chrono::steady_clock::now();
  start_dispatcher();
  BOOST_REQUIRE(until([&] { return state(id) != OutboxState::Pending; }, 20s));
  BOOST_TEST(state(id) == OutboxState::Abandoned);
  const auto r = record(id);
  BOOST_TEST(r.attempts >= 3);  // first try, a retry, and the last one at retry_for
  BOOST_TEST(r.last_error.find("still failing after") == 0u, r.last_error);
  BOOST_TEST(r.last_error.find("connection failed") != std::string::npos, r.last_error);
  BOOST_TEST(
      (std::chrono::steady_clock::now() - started >= 2s));  // not before retry_for (whole seconds)
}

BOOST_AUTO_TEST_CASE(pending_rows_survive_a_restart) {
  Receiver receiver({.delay_seconds = 1.0});
  settings.max_in_flight = 2;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(enqueue(receiver.url(), "Bounce", "acme", 100 + i));
  start_dispatcher();
  // Two requests on the wire, four rows waiting; then the dispatcher goes away.
  BOOST_REQUIRE(until([&] { return receiver.requests().size() == 2u; }));
  BOOST_TEST(dispatcher->in_flight() == 2u);
  dispatcher.reset();
  sender.reset();
  BOOST_TEST(*outbox->count_pending() == 6);
  for (auto id : ids)
    BOOST_TEST(record(id).next_attempt_at <= std::time(nullptr));  // no lease to wait out

  // A new dispatcher (as after a restart, on a fresh connection) delivers all.
  outbox.reset();
  auto reopened = WebhookOutbox::open(database);
  BOOST_REQUIRE(reopened);
  outbox = std::move(*reopened);
  settings.max_in_flight = 8;
  start_dispatcher();
  BOOST_REQUIRE(until([&] { return all_finished(ids); }));
  std::set<std::string> seen;
  for (const auto& r : receiver.requests()) {
    check_signed(r, "Bounce");
    seen.insert(r.header("x-stamp-delivery"));
  }
  for (auto id : ids) {
    BOOST_TEST(state(id) == OutboxState::Delivered);
    BOOST_TEST(seen.contains(std::to_string(id)));
  }
  // The two cut off by the restart arrived twice: at least once, never lost.
  BOOST_TEST(receiver.requests().size() == 8u);
}

BOOST_AUTO_TEST_CASE(at_most_max_in_flight_requests_are_open) {
  Receiver receiver({.delay_seconds = 0.4});
  settings.max_in_flight = 3;
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(enqueue(receiver.url(), "Bounce", "acme", i));
  start_dispatcher();
  std::size_t most = 0;
  BOOST_REQUIRE(until(
      [&] {
        most = std::max(most, dispatcher->in_flight());
        return all_finished(ids);
      },
      30s));
  BOOST_TEST(most == 3u);
  int receiver_most = 0;
  for (const auto& r : receiver.requests()) receiver_most = std::max(receiver_most, r.in_flight);
  BOOST_TEST(receiver_most <= 3);  // counted on the receiver's side
  BOOST_TEST(receiver_most >= 2);  // and the limit was actually used
  BOOST_TEST(receiver.requests().size() == 10u);
}

BOOST_AUTO_TEST_CASE(endpoint_without_a_secret_is_abandoned) {
  Receiver receiver;
  const auto id = enqueue(receiver.url(), "Bounce", "ghost");
  start_dispatcher();
  BOOST_REQUIRE(until([&] { return state(id) != OutboxState::Pending; }));
  BOOST_TEST(state(id) == OutboxState::Abandoned);
  BOOST_TEST(record(id).last_error.find("no webhook secret") != std::string::npos);
  BOOST_TEST(receiver.requests().empty());
}

BOOST_AUTO_TEST_CASE(url_that_cannot_work_is_abandoned_at_once) {
  const auto id = enqueue("ftp://127.0.0.1/hook");
  start_dispatcher();
  BOOST_REQUIRE(until([&] { return state(id) != OutboxState::Pending; }));
  BOOST_TEST(state(id) == OutboxState::Abandoned);
  BOOST_TEST(record(id).attempts == 1);
}

BOOST_AUTO_TEST_CASE(wake_sends_without_waiting_for_the_poll) {
  Receiver receiver;
  settings.poll_interval = 60s;
  start_dispatcher();
  webhook_test::run_for(*loop, 100ms);  // the first look found nothing
  const auto id = enqueue(receiver.url());
  dispatcher->wake();
  dispatcher->wake();  // coalesced
  BOOST_REQUIRE(until([&] { return state(id) != OutboxState::Pending; }, 10s));
  BOOST_TEST(state(id) == OutboxState::Delivered);
  BOOST_TEST(receiver.requests().size() == 1u);
}

BOOST_AUTO_TEST_CASE(stop_lets_open_requests_finish) {
  Receiver receiver({.delay_seconds = 0.5});
  const auto id = enqueue(receiver.url());
  start_dispatcher();
  BOOST_REQUIRE(until([&] { return dispatcher->in_flight() == 1u; }));
  const auto later = enqueue(receiver.url());
  bool stopped = false;
  dispatcher->stop([&] { stopped = true; });
  BOOST_REQUIRE(until([&] { return stopped; }, 10s));
  BOOST_TEST(state(id) == OutboxState::Delivered);
  BOOST_TEST(state(later) == OutboxState::Pending);  // nothing new claimed while stopping
  BOOST_TEST(record(later).attempts == 0);
}

BOOST_AUTO_TEST_CASE(stop_cancels_after_the_grace) {
  Receiver receiver({.delay_seconds = 5});
  settings.stop_grace = 200ms;
  const auto id = enqueue(receiver.url());
  start_dispatcher();
  BOOST_REQUIRE(until([&] { return receiver.requests().size() == 1u; }));
  bool stopped = false;
  const auto asked = std::chrono::steady_clock::now();
  dispatcher->stop([&] { stopped = true; });
  BOOST_REQUIRE(until([&] { return stopped; }, 10s));
  BOOST_TEST((std::chrono::steady_clock::now() - asked < 2s));
  BOOST_TEST(dispatcher->in_flight() == 0u);
  const auto r = record(id);
  BOOST_TEST(r.state == OutboxState::Pending);
  BOOST_TEST(r.next_attempt_at <= std::time(nullptr));  // due again at once for the next start
  BOOST_TEST(r.last_error.find("cancelled at shutdown") != std::string::npos, r.last_error);
}

BOOST_AUTO_TEST_CASE(retry_delay_doubles_with_jitter_up_to_the_cap) {
  WebhookSettings s;  // 30 s doubling, 1 h cap
  std::mt19937 random(12345);
  for (int round = 0; round < 200; ++round) {
    const auto first = retry_delay(s, 1, random).count();
    BOOST_TEST((first >= 24 && first <= 36));
    const auto second = retry_delay(s, 2, random).count();
    BOOST_TEST((second >= 48 && second <= 72));
    const auto sixth = retry_delay(s, 6, random).count();  // 960 s +- 20%
    BOOST_TEST((sixth >= 768 && sixth <= 1152));
    const auto late = retry_delay(s, 40, random).count();
    BOOST_TEST((late >= 2880 && late <= 3600));
  }
  s.first_retry_delay = 1s;
  s.max_retry_delay = 1s;
  BOOST_TEST(retry_delay(s, 1, random).count() == 1);  // never below a second
}

BOOST_AUTO_TEST_CASE(settings_are_range_checked) {
  BOOST_TEST(settings_problems(WebhookSettings{}).empty());
  WebhookSettings bad;
  bad.max_in_flight = 0;
  bad.request_timeout = 0ms;
  bad.first_retry_delay = 10s;
  bad.max_retry_delay = 5s;
  bad.retry_for = 0s;
  bad.poll_interval = 1ms;
  const auto problems = settings_problems(bad);
  BOOST_TEST(problems.size() == 5u);  // first_retry_delay 10s is fine
  BOOST_TEST(problems.at(0) == "max_in_flight: must be 1..1000, got 0");
  BOOST_TEST(problems.at(2) == "max_retry_delay: must be 10s..604800s, got 5s");
}

BOOST_AUTO_TEST_SUITE_END()
