// Unit tests of SuppressionStore: adding is idempotent, removing works except
// for a spam complaint without an administrator, tenants and streams do not
// see each other's entries, e-mail case does not matter, list is sorted, the
// entries survive a reopen, and the table shares its file with the message log
// (whose schema version the store leaves alone).
#include "common/store/suppression_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <ctime>
#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "common/base/owned.h"
#include "mta/state/message_log.h"

// So Boost.Test can print a reason in a failed comparison.
namespace common::store {
std::ostream& operator<<(std::ostream& out, SuppressionReason reason) {
  return out << reason_name(reason);
}
}  // namespace common::store

namespace fs = std::filesystem;
using common::store::parse_reason;
using common::store::reason_name;
using common::store::Suppression;
using common::store::SuppressionReason;
using common::store::SuppressionStore;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/stamp-suppression-test-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
};

struct Fixture {
  TempDir dir;
  fs::path file = dir.path / "state.db";
};

std::unique_ptr<SuppressionStore> open_store(const fs::path& file) {
  auto store = SuppressionStore::open(file);
  BOOST_REQUIRE_MESSAGE(store, (store ? "" : store.error().message));
  return std::move(*store);
}

Suppression entry(std::string email, SuppressionReason reason = SuppressionReason::HardBounce,
                  std::string tenant = "acme", std::string stream = "outbound") {
  Suppression s;
  s.tenant = std::move(tenant);
  s.stream = std::move(stream);
  s.email = std::move(email);
  s.reason = reason;
  s.origin = "Recipient";
  s.created_at = 1795000000;
  return s;
}

bool add(SuppressionStore& store, const Suppression& s) {
  auto added = store.add(s);
  BOOST_REQUIRE_MESSAGE(added, (added ? "" : added.error().message));
  return *added;
}

std::optional<Suppression> find(const SuppressionStore& store, const std::string& email,
                                const std::string& tenant = "acme",
                                const std::string& stream = "outbound") {
  auto found = store.find(tenant, stream, email);
  BOOST_REQUIRE_MESSAGE(found, (found ? "" : found.error().message));
  return *found;
}

std::vector<std::string> emails(const SuppressionStore& store, const std::string& tenant = "acme",
                                const std::string& stream = "outbound") {
  auto listed = store.list(tenant, stream);
  BOOST_REQUIRE_MESSAGE(listed, (listed ? "" : listed.error().message));
  std::vector<std::string> out;
  for (const auto& s : *listed) out.push_back(s.email);
  return out;
}

std::string scalar(const fs::path& file, const char* sql) {
  sqlite3* raw = nullptr;
  BOOST_REQUIRE(sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  common::Owned<sqlite3, &sqlite3_close_v2> db(raw);
  sqlite3_stmt* raw_statement = nullptr;
  BOOST_REQUIRE_MESSAGE(
      sqlite3_prepare_v2(db.get(), sql, -1, &raw_statement, nullptr) == SQLITE_OK,
      sqlite3_errmsg(db.get()));
  common::Owned<sqlite3_stmt, &sqlite3_finalize> statement(raw_statement);
  BOOST_REQUIRE(sqlite3_step(statement.get()) == SQLITE_ROW);
  auto text = sqlite3_column_text(statement.get(), 0);
  return text ? reinterpret_cast<const char*>(text) : "NULL";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(suppression_store)

BOOST_AUTO_TEST_CASE(reason_names_round_trip) {
  for (auto reason : {SuppressionReason::HardBounce, SuppressionReason::SpamComplaint,
                      SuppressionReason::ManualSuppression}) {
    BOOST_TEST(parse_reason(reason_name(reason)).value_or(SuppressionReason::HardBounce) == reason);
    BOOST_TEST(parse_reason(reason_name(reason)).has_value());
  }
  BOOST_TEST(std::string(reason_name(SuppressionReason::SpamComplaint)) == "SpamComplaint");
  BOOST_TEST(!parse_reason("hardbounce").has_value());
  BOOST_TEST(!parse_reason("").has_value());
}

BOOST_FIXTURE_TEST_CASE(add_is_idempotent_and_keeps_the_first_entry, Fixture) {
  auto store = open_store(file);
  BOOST_TEST(add(*store, entry("user@example.net")));
  auto again = entry("user@example.net", SuppressionReason::ManualSuppression);
  again.origin = "Admin";
  again.created_at = 1795009999;
  BOOST_TEST(!add(*store, again));
  auto found = find(*store, "user@example.net");
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(found->tenant == "acme");
  BOOST_TEST(found->stream == "outbound");
  BOOST_TEST(found->email == "user@example.net");
  BOOST_TEST(found->reason == SuppressionReason::HardBounce);
  BOOST_TEST(found->origin == "Recipient");
  BOOST_TEST(found->created_at == 1795000000);
  BOOST_TEST(emails(*store).size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(created_at_zero_means_now, Fixture) {
  auto store = open_store(file);
  auto s = entry("now@example.net");
  s.created_at = 0;
  auto before = static_cast<std::int64_t>(std::time(nullptr));
  add(*store, s);
  auto found = find(*store, "now@example.net");
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(found->created_at >= before);
  BOOST_TEST(found->created_at <= static_cast<std::int64_t>(std::time(nullptr)));
}

BOOST_FIXTURE_TEST_CASE(empty_keys_are_refused, Fixture) {
  auto store = open_store(file);
  BOOST_TEST(!store->add(entry("")).has_value());
  BOOST_TEST(!store->add(entry("a@example.net", SuppressionReason::HardBounce, "")).has_value());
  BOOST_TEST(!store->add(entry("a@example.net", SuppressionReason::HardBounce, "acme", ""))
                  .has_value());
}

BOOST_FIXTURE_TEST_CASE(remove_deletes_and_reports_whether_there_was_an_entry, Fixture) {
  auto store = open_store(file);
  add(*store, entry("gone@example.net"));
  add(*store, entry("manual@example.net", SuppressionReason::ManualSuppression));
  for (const char* email : {"gone@example.net", "manual@example.net"}) {
    auto removed = store->remove("acme", "outbound", email, false);
    BOOST_REQUIRE(removed.has_value());
    BOOST_TEST(*removed);
    BOOST_TEST(!find(*store, email).has_value());
  }
  auto again = store->remove("acme", "outbound", "gone@example.net", false);
  BOOST_REQUIRE(again.has_value());
  BOOST_TEST(!*again);
  // Removed entries can be added again.
  BOOST_TEST(add(*store, entry("gone@example.net")));
}

BOOST_FIXTURE_TEST_CASE(a_spam_complaint_needs_an_administrator, Fixture) {
  auto store = open_store(file);
  add(*store, entry("complained@example.net", SuppressionReason::SpamComplaint));
  auto refused = store->remove("acme", "outbound", "Complained@Example.NET", false);
  BOOST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().message.find("spam complaint") != std::string::npos);
  BOOST_TEST(find(*store, "complained@example.net").has_value());
  // The refused write left no transaction open: later writes work.
  BOOST_TEST(add(*store, entry("next@example.net")));

  auto removed = store->remove("acme", "outbound", "complained@example.net", true);
  BOOST_REQUIRE(removed.has_value());
  BOOST_TEST(*removed);
  BOOST_TEST(!find(*store, "complained@example.net").has_value());
}

BOOST_FIXTURE_TEST_CASE(tenants_and_streams_are_separate, Fixture) {
  auto store = open_store(file);
  add(*store, entry("shared@example.net", SuppressionReason::HardBounce, "acme", "outbound"));
  add(*store,
      entry("shared@example.net", SuppressionReason::SpamComplaint, "acme", "broadcast"));
  add(*store, entry("other@example.net", SuppressionReason::HardBounce, "globex", "outbound"));

  BOOST_TEST((find(*store, "shared@example.net", "acme", "outbound")->reason ==
              SuppressionReason::HardBounce));
  BOOST_TEST((find(*store, "shared@example.net", "acme", "broadcast")->reason ==
              SuppressionReason::SpamComplaint));
  BOOST_TEST(!find(*store, "shared@example.net", "globex", "outbound").has_value());
  BOOST_TEST(!find(*store, "other@example.net", "acme", "outbound").has_value());
  BOOST_TEST(emails(*store, "globex") == std::vector<std::string>{"other@example.net"});
  BOOST_TEST(emails(*store, "acme", "broadcast") == std::vector<std::string>{"shared@example.net"});
  BOOST_TEST(emails(*store, "nobody").empty());

  // Removing in one stream leaves the other alone.
  auto removed = store->remove("acme", "outbound", "shared@example.net", false);
  BOOST_REQUIRE(removed.has_value());
  BOOST_TEST(*removed);
  BOOST_TEST(find(*store, "shared@example.net", "acme", "broadcast").has_value());
}

BOOST_FIXTURE_TEST_CASE(email_case_does_not_matter, Fixture) {
  auto store = open_store(file);
  BOOST_TEST(add(*store, entry("Mixed.Case@Example.NET")));
  BOOST_TEST(!add(*store, entry("mixed.case@example.net")));
  for (const char* spelling :
       {"mixed.case@example.net", "MIXED.CASE@EXAMPLE.NET", "Mixed.Case@example.net"}) {
    auto found = find(*store, spelling);
    BOOST_REQUIRE_MESSAGE(found.has_value(), spelling);
    BOOST_TEST(found->email == "mixed.case@example.net");
  }
  BOOST_TEST(emails(*store) == std::vector<std::string>{"mixed.case@example.net"});
  auto removed = store->remove("acme", "outbound", "MIXED.case@example.net", false);
  BOOST_REQUIRE(removed.has_value());
  BOOST_TEST(*removed);
}

BOOST_FIXTURE_TEST_CASE(list_returns_every_field_sorted_by_email, Fixture) {
  auto store = open_store(file);
  add(*store, entry("c@example.net", SuppressionReason::ManualSuppression));
  add(*store, entry("a@example.net", SuppressionReason::SpamComplaint));
  add(*store, entry("b@example.net", SuppressionReason::HardBounce));
  auto listed = store->list("acme", "outbound");
  BOOST_REQUIRE(listed.has_value());
  BOOST_REQUIRE(listed->size() == 3u);
  BOOST_TEST((*listed)[0].email == "a@example.net");
  BOOST_TEST(((*listed)[0].reason == SuppressionReason::SpamComplaint));
  BOOST_TEST((*listed)[1].email == "b@example.net");
  BOOST_TEST(((*listed)[1].reason == SuppressionReason::HardBounce));
  BOOST_TEST((*listed)[2].email == "c@example.net");
  BOOST_TEST(((*listed)[2].reason == SuppressionReason::ManualSuppression));
  for (const auto& s : *listed) {
    BOOST_TEST(s.tenant == "acme");
    BOOST_TEST(s.stream == "outbound");
    BOOST_TEST(s.origin == "Recipient");
    BOOST_TEST(s.created_at == 1795000000);
  }
}

BOOST_FIXTURE_TEST_CASE(entries_survive_a_reopen_and_a_second_connection_sees_them, Fixture) {
  {
    auto store = open_store(file);
    add(*store, entry("kept@example.net", SuppressionReason::SpamComplaint));
  }
  auto store = open_store(file);
  auto other = open_store(file);  // as stampctl next to a running daemon
  auto found = find(*store, "kept@example.net");
  BOOST_REQUIRE(found.has_value());
  BOOST_TEST(found->reason == SuppressionReason::SpamComplaint);
  add(*other, entry("late@example.net"));
  BOOST_TEST(find(*store, "late@example.net").has_value());
  BOOST_TEST(scalar(file, "PRAGMA journal_mode") == "wal");
}

BOOST_FIXTURE_TEST_CASE(shares_the_file_with_the_message_log, Fixture) {
  // Either may create the file first; both tables end up there, and the
  // message log's schema version stays its own.
  for (bool store_first : {true, false}) {
    fs::remove(file);
    fs::remove(fs::path(file.string() + "-wal"));
    fs::remove(fs::path(file.string() + "-shm"));
    std::unique_ptr<SuppressionStore> store;
    std::unique_ptr<mta::MessageLog> log;
    if (store_first) store = open_store(file);
    auto opened = mta::MessageLog::open(file);
    BOOST_REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().message));
    log = std::move(*opened);
    if (!store_first) store = open_store(file);

    add(*store, entry("shared-file@example.net"));
    mta::MessageLogEntry row;
    row.queue_id = "0193A4F2C1D0000A";
    row.recipient = "someone@example.net";
    row.status = "delivered";
    row.at = 1795000000;
    log->record(row);
    log->flush();
    BOOST_TEST(log->stats().written == 1u);
    BOOST_TEST(find(*store, "shared-file@example.net").has_value());
    BOOST_TEST(scalar(file, "PRAGMA user_version") == "2");
    BOOST_TEST(scalar(file, "SELECT count(*) FROM message_log") == "1");
    BOOST_TEST(scalar(file, "SELECT count(*) FROM suppressions") == "1");

    // And both open again on the existing file.
    log.reset();
    store.reset();
    store = open_store(file);
    auto reopened = mta::MessageLog::open(file);
    BOOST_REQUIRE_MESSAGE(reopened, (reopened ? "" : reopened.error().message));
    BOOST_TEST(find(*store, "shared-file@example.net").has_value());
  }
}

BOOST_AUTO_TEST_CASE(an_unusable_path_is_an_error) {
  auto store = SuppressionStore::open("/nonexistent-directory/for/stamp/state.db");
  BOOST_REQUIRE(!store.has_value());
  BOOST_TEST(store.error().message.find("/nonexistent-directory") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
