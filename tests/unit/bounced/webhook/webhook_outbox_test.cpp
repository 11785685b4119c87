// Unit tests of the webhook outbox: enqueue inside the caller's transaction
// (a rollback leaves nothing, a commit is seen by the dispatcher's own
// connection), claiming (due rows only, oldest first, limit, exclusions,
// lease and attempt count), the three outcomes, ids never reused, the purge,
// and rows surviving a reopen.
#include "bounced/webhook/webhook_outbox.h"

#include <sqlite3.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <ostream>
#include <string>

#include "common/store/state_database.h"
#include "tests/unit/bounced/webhook/webhook_test_support.h"

using namespace bounced::webhook;
namespace fs = std::filesystem;

// So Boost.Test can print a state in a failed comparison.
namespace bounced::webhook {
std::ostream& operator<<(std::ostream& out, OutboxState state) {
  return out << outbox_state_name(state);
}
}  // namespace bounced::webhook

namespace {

constexpr std::int64_t kNow = 1795000000;

struct Fixture {
  webhook_test::TempDir dir{"stamp-webhook-outbox"};
  fs::path file = dir.path / "state.db";
  common::store::OwnedSqlite producer;  // the bounce processor's connection
  std::unique_ptr<WebhookOutbox> outbox;

  Fixture() {
    auto db = common::store::open_state_database(file, "test producer");
    BOOST_REQUIRE_MESSAGE(db, (db ? "" : db.error().message));
    producer = std::move(*db);
    BOOST_REQUIRE(create_outbox_schema(producer.get()));
    reopen();
  }
  void reopen() {
    outbox.reset();
    auto opened = WebhookOutbox::open(file);
    BOOST_REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().message));
    outbox = std::move(*opened);
  }
  std::int64_t enqueue(const std::string& url, std::int64_t now = kNow,
                       const std::string& event = "Bounce") {
    auto id = enqueue_webhook(
        producer.get(), {"acme", "outbound", event, url, R"({"RecordType":")" + event + "\"}"},
        now);
    BOOST_REQUIRE_MESSAGE(id, (id ? "" : id.error().message));
    return *id;
  }
  std::vector<ClaimedWebhook> claim(std::int64_t now, std::size_t limit,
                                    const std::set<std::int64_t>& exclude = {},
                                    std::int64_t lease_until = kNow + 40) {
    auto claimed = outbox->claim_due(now, limit, exclude, lease_until);
    BOOST_REQUIRE_MESSAGE(claimed, (claimed ? "" : claimed.error().message));
    return *claimed;
  }
  OutboxRecord record(std::int64_t id) {
    auto found = outbox->find(id);
    BOOST_REQUIRE(found);
    BOOST_REQUIRE(found->has_value());
    return **found;
  }
  std::int64_t pending() {
    auto n = outbox->count_pending();
    BOOST_REQUIRE(n);
    return *n;
  }
};

void exec(sqlite3* db, const char* sql) { BOOST_REQUIRE(common::store::exec(db, sql)); }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(webhook_outbox, Fixture)

BOOST_AUTO_TEST_CASE(enqueue_in_a_rolled_back_transaction_leaves_nothing) {
  exec(producer.get(), "BEGIN IMMEDIATE");
  enqueue("https://a.example/hook");
  enqueue("https://b.example/hook");
  exec(producer.get(), "ROLLBACK");
  BOOST_TEST(pending() == 0);
  BOOST_TEST(claim(kNow + 100, 10).empty());
}

BOOST_AUTO_TEST_CASE(enqueue_in_a_committed_transaction_is_seen_by_the_dispatcher) {
  exec(producer.get(), "BEGIN IMMEDIATE");
  exec(producer.get(), "CREATE TABLE IF NOT EXISTS suppressions_demo(email TEXT)");
  exec(producer.get(), "INSERT INTO suppressions_demo VALUES ('john@example.com')");
  const auto id = enqueue("https://a.example/hook");
  BOOST_TEST(pending() == 0);  // not yet committed: the other connection sees nothing
  exec(producer.get(), "COMMIT");
  BOOST_TEST(pending() == 1);
  const auto r = record(id);
  BOOST_TEST(r.event.tenant == "acme");
  BOOST_TEST(r.event.stream == "outbound");
  BOOST_TEST(r.event.event == "Bounce");
  BOOST_TEST(r.event.url == "https://a.example/hook");
  BOOST_TEST(r.event.body == R"({"RecordType":"Bounce"})");
  BOOST_TEST(r.created_at == kNow);
  BOOST_TEST(r.next_attempt_at == kNow);
  BOOST_TEST(r.attempts == 0);
  BOOST_TEST(r.state == OutboxState::Pending);
  BOOST_TEST(!r.finished_at.has_value());
}

BOOST_AUTO_TEST_CASE(claim_takes_due_rows_oldest_first_with_a_lease) {
  const auto late = enqueue("https://late.example/", kNow + 50);
  const auto second = enqueue("https://second.example/", kNow - 5);
  const auto first = enqueue("https://first.example/", kNow - 10);
  const auto third = enqueue("https://third.example/", kNow);
  auto claimed = claim(kNow, 2, {}, kNow + 40);
  BOOST_REQUIRE(claimed.size() == 2u);
  BOOST_TEST(claimed[0].id == first);
  BOOST_TEST(claimed[1].id == second);
  BOOST_TEST(claimed[0].attempts == 1);
  BOOST_TEST(claimed[0].created_at == kNow - 10);
  BOOST_TEST(claimed[0].event.url == "https://first.example/");
  // Leased: not due again until the lease ends, and the attempt is counted.
  BOOST_TEST(record(first).next_attempt_at == kNow + 40);
  BOOST_TEST(record(first).attempts == 1);
  BOOST_TEST(record(first).state == OutboxState::Pending);
  claimed = claim(kNow, 10);
  BOOST_REQUIRE(claimed.size() == 1u);
  BOOST_TEST(claimed[0].id == third);
  BOOST_TEST(claim(kNow + 39, 10).empty());  // leases still running; `late` not due
  // A crashed dispatcher's rows come back when the lease ends.
  claimed = claim(kNow + 40, 10, {}, kNow + 100);
  BOOST_TEST(claimed.size() == 3u);
  for (const auto& c : claimed) BOOST_TEST(c.id != late);
  BOOST_TEST(record(first).attempts == 2);
}

BOOST_AUTO_TEST_CASE(claim_skips_excluded_ids_but_still_fills_the_limit) {
  const auto a = enqueue("https://a.example/", kNow - 3);
  const auto b = enqueue("https://b.example/", kNow - 2);
  const auto c = enqueue("https://c.example/", kNow - 1);
  const auto claimed = claim(kNow, 2, {a, b});
  BOOST_REQUIRE(claimed.size() == 1u);
  BOOST_TEST(claimed[0].id == c);
  BOOST_TEST(claim(kNow, 0).empty());
}

BOOST_AUTO_TEST_CASE(outcomes_delivered_rescheduled_abandoned) {
  const auto ok = enqueue("https://ok.example/");
  const auto retry = enqueue("https://retry.example/");
  const auto dead = enqueue("https://dead.example/");
  BOOST_TEST(claim(kNow, 10).size() == 3u);

  BOOST_TEST(*outbox->mark_delivered(ok, kNow + 1));
  BOOST_TEST(*outbox->reschedule(retry, kNow + 30, "HTTP 500: oops"));
  BOOST_TEST(*outbox->abandon(dead, "no webhook secret configured", kNow + 2));

  BOOST_TEST(record(ok).state == OutboxState::Delivered);
  BOOST_TEST(record(ok).finished_at.value() == kNow + 1);
  BOOST_TEST(record(retry).state == OutboxState::Pending);
  BOOST_TEST(record(retry).next_attempt_at == kNow + 30);
  BOOST_TEST(record(retry).last_error == "HTTP 500: oops");
  BOOST_TEST(record(dead).state == OutboxState::Abandoned);
  BOOST_TEST(record(dead).last_error == "no webhook secret configured");
  BOOST_TEST(record(dead).finished_at.value() == kNow + 2);
  BOOST_TEST(pending() == 1);

  BOOST_TEST(claim(kNow + 29, 10).empty());
  const auto again = claim(kNow + 30, 10);
  BOOST_REQUIRE(again.size() == 1u);
  BOOST_TEST(again[0].id == retry);
  BOOST_TEST(again[0].attempts == 2);

  // Finished rows stay finished: no second outcome, no resurrection.
  BOOST_TEST(!*outbox->reschedule(ok, kNow, "late"));
  BOOST_TEST(!*outbox->abandon(ok, "late", kNow));
  BOOST_TEST(!*outbox->mark_delivered(dead, kNow));
  BOOST_TEST(record(ok).state == OutboxState::Delivered);
  BOOST_TEST(record(dead).state == OutboxState::Abandoned);
  BOOST_TEST(!outbox->find(999999)->has_value());
}

BOOST_AUTO_TEST_CASE(errors_are_capped) {
  const auto id = enqueue("https://a.example/");
  BOOST_TEST(*outbox->reschedule(id, kNow, std::string(100000, 'e')));
  BOOST_TEST(record(id).last_error.size() == kMaxOutboxErrorLength);
}

BOOST_AUTO_TEST_CASE(next_due_is_the_earliest_pending) {
  BOOST_TEST(!outbox->next_due()->has_value());
  enqueue("https://a.example/", kNow + 20);
  const auto b = enqueue("https://b.example/", kNow + 10);
  BOOST_TEST(outbox->next_due()->value() == kNow + 10);
  claim(kNow + 10, 1, {}, kNow + 500);
  BOOST_TEST(*outbox->mark_delivered(b, kNow));
  BOOST_TEST(outbox->next_due()->value() == kNow + 20);
}

BOOST_AUTO_TEST_CASE(purge_deletes_old_finished_rows_only_and_ids_are_never_reused) {
  const auto old_done = enqueue("https://a.example/");
  const auto old_dead = enqueue("https://b.example/");
  const auto recent = enqueue("https://c.example/");
  const auto waiting = enqueue("https://d.example/");
  BOOST_TEST(*outbox->mark_delivered(old_done, kNow));
  BOOST_TEST(*outbox->abandon(old_dead, "x", kNow));
  BOOST_TEST(*outbox->mark_delivered(recent, kNow + 100));
  BOOST_TEST(*outbox->purge_finished(kNow + 50, 1) == 1);  // the batch limit holds
  BOOST_TEST(*outbox->purge_finished(kNow + 50, 100) == 1);
  BOOST_TEST(!outbox->find(old_done)->has_value());
  BOOST_TEST(!outbox->find(old_dead)->has_value());
  BOOST_TEST(outbox->find(recent)->has_value());
  BOOST_TEST(outbox->find(waiting)->has_value());
  BOOST_TEST(*outbox->purge_finished(kNow + 1000000, 100) == 1);  // `recent`; never `waiting`
  BOOST_TEST(pending() == 1);
  // Receivers deduplicate on the id: a purged highest id is not handed out again.
  BOOST_TEST(*outbox->abandon(waiting, "x", kNow));
  BOOST_TEST(*outbox->purge_finished(kNow + 1000000, 100) == 1);
  const auto next = enqueue("https://e.example/");
  BOOST_TEST(next > waiting);
}

BOOST_AUTO_TEST_CASE(rows_survive_a_reopen) {
  const auto id = enqueue("https://a.example/");
  claim(kNow, 1, {}, kNow + 40);
  reopen();
  BOOST_TEST(pending() == 1);
  BOOST_TEST(record(id).attempts == 1);
  BOOST_TEST(claim(kNow + 40, 1).size() == 1u);
}

BOOST_AUTO_TEST_CASE(schema_creation_is_idempotent_and_state_is_checked) {
  BOOST_REQUIRE(create_outbox_schema(producer.get()));
  BOOST_REQUIRE(create_outbox_schema(outbox->connection()));
  // The CHECK constraint keeps states to the three names.
  enqueue("https://a.example/");
  BOOST_TEST(!common::store::exec(producer.get(), "UPDATE webhook_outbox SET state = 'sent'"));
}

BOOST_AUTO_TEST_SUITE_END()
