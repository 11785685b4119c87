// DomainStatusStore: a result is stored and read back, the next result replaces
// it, pending forgets an earlier verification, domains compare in lower case,
// rows survive a reopen, and the table shares its file with the message log
// (whose PRAGMA user_version the store leaves alone).
#include "common/store/domain_status_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <ctime>
#include <filesystem>
#include <string>

#include "mta/state/message_log.h"

namespace fs = std::filesystem;
using common::store::DomainStatus;
using common::store::DomainStatusStore;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/stamp-domain-status-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::unique_ptr<DomainStatusStore> open_store(const fs::path& file) {
  auto store = DomainStatusStore::open(file);
  BOOST_REQUIRE_MESSAGE(store, (store ? "" : store.error().message));
  return std::move(*store);
}

DomainStatus get(const DomainStatusStore& store, const std::string& domain) {
  auto found = store.get(domain);
  BOOST_REQUIRE_MESSAGE(found, (found ? "" : found.error().message));
  BOOST_REQUIRE_MESSAGE(found->has_value(), "no row for " + domain);
  return **found;
}

int user_version(const fs::path& file) {
  sqlite3* raw = nullptr;
  BOOST_REQUIRE(sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  common::Owned<sqlite3, &sqlite3_close_v2> db(raw);
  sqlite3_stmt* statement = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &statement, nullptr) ==
                SQLITE_OK);
  common::Owned<sqlite3_stmt, &sqlite3_finalize> owned(statement);
  BOOST_REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
  return sqlite3_column_int(statement, 0);
}

}  // namespace

BOOST_AUTO_TEST_CASE(an_unknown_domain_has_no_row) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  auto found = store->get("acme.test");
  BOOST_REQUIRE(found);
  BOOST_TEST(!found->has_value());
}

BOOST_AUTO_TEST_CASE(the_last_result_is_kept) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  BOOST_REQUIRE(store->set("acme.test", "acme", false, "dkim: FAIL", 1000));
  DomainStatus first = get(*store, "acme.test");
  BOOST_TEST(first.tenant == "acme");
  BOOST_TEST(first.status == "failed");
  BOOST_TEST(!first.verified);
  BOOST_TEST(first.checked_at == 1000);
  BOOST_TEST(first.details == "dkim: FAIL");

  std::int64_t before = std::time(nullptr);
  BOOST_REQUIRE(store->set("ACME.Test", "acme", true, "dkim: ok"));  // 0: now
  DomainStatus second = get(*store, "acme.test");
  BOOST_TEST(second.status == "verified");
  BOOST_TEST(second.verified);
  BOOST_TEST(second.checked_at >= before);
  BOOST_TEST(second.checked_at <= static_cast<std::int64_t>(std::time(nullptr)));
  BOOST_TEST(second.details == "dkim: ok");
}

BOOST_AUTO_TEST_CASE(pending_forgets_an_earlier_verification) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  BOOST_REQUIRE(store->set("acme.test", "acme", true, "all ok", 1000));
  BOOST_REQUIRE(store->set_pending("acme.test", "beta"));
  DomainStatus pending = get(*store, "acme.test");
  BOOST_TEST(pending.status == "pending");
  BOOST_TEST(!pending.verified);
  BOOST_TEST(pending.tenant == "beta");
  BOOST_TEST(pending.checked_at == 0);
  BOOST_TEST(pending.details == "");
}

BOOST_AUTO_TEST_CASE(rows_survive_a_reopen_next_to_the_message_log) {
  TempDir dir;
  fs::path file = dir.path / "state.db";
  {
    auto log = mta::MessageLog::open(file);
    BOOST_REQUIRE_MESSAGE(log, (log ? "" : log.error().message));
  }
  int version = user_version(file);
  {
    auto store = open_store(file);
    BOOST_REQUIRE(store->set("acme.test", "acme", true, "ok", 42));
    BOOST_REQUIRE(store->set("beta.test", "beta", false, "no", 43));
  }
  BOOST_TEST(user_version(file) == version);
  auto store = open_store(file);
  BOOST_TEST(get(*store, "acme.test").verified);
  BOOST_TEST(get(*store, "beta.test").checked_at == 43);
  auto log = mta::MessageLog::open(file);  // still opens: its schema is untouched
  BOOST_REQUIRE_MESSAGE(log, (log ? "" : log.error().message));
}

BOOST_AUTO_TEST_CASE(an_unopenable_database_is_an_error) {
  auto store = DomainStatusStore::open("/nonexistent-dir/state.db");
  BOOST_REQUIRE(!store);
  BOOST_TEST(store.error().message.find("cannot open") != std::string::npos);
}
