// The bounce tables: rows go in and are found, the same report is recognised
// by its digest, and a purge forgets old rows (and the reports left without
// rows) but nothing newer.
#include "bounced/bounce_store.h"

#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <string>

#include "common/store/state_database.h"

namespace fs = std::filesystem;

namespace {

struct TempDatabase {
  fs::path dir;
  common::store::OwnedSqlite db;
  TempDatabase() {
    char pattern[] = "/tmp/stamp-bounce-store-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
    auto opened = common::store::open_state_database(dir / "state.db", "test");
    BOOST_REQUIRE(opened);
    db = std::move(*opened);
    BOOST_REQUIRE(bounced::create_bounce_schema(db.get()));
  }
  ~TempDatabase() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  long long count(const char* table) {
    auto value = common::store::query_text(db.get(), (std::string("SELECT count(*) FROM ") + table).c_str());
    BOOST_REQUIRE(value);
    return std::stoll(*value);
  }
};

std::int64_t add(sqlite3* db, const std::string& digest, std::int64_t at) {
  bounced::ReportRow report;
  report.sha256 = digest;
  report.received_at = at;
  report.raw = "Subject: report\r\n\r\nbody\r\n";
  auto report_id = bounced::insert_report(db, report);
  BOOST_REQUIRE(report_id);
  bounced::BounceRow bounce;
  bounce.report_id = *report_id;
  bounce.tenant = "acme";
  bounce.stream = "outbound";
  bounce.email = "Bob@Example.net";
  bounce.bounce_class = "hard";
  bounce.bounced_at = at;
  auto bounce_id = bounced::insert_bounce(db, bounce);
  BOOST_REQUIRE(bounce_id);
  return *report_id;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_same_report_is_found_by_its_digest) {
  TempDatabase t;
  std::int64_t id = add(t.db.get(), "aaaa", 1000);
  auto found = bounced::find_report(t.db.get(), "aaaa");
  BOOST_REQUIRE(found);
  BOOST_TEST(found->value() == id);
  auto missing = bounced::find_report(t.db.get(), "bbbb");
  BOOST_REQUIRE(missing);
  BOOST_TEST(!missing->has_value());
}

BOOST_AUTO_TEST_CASE(a_purge_forgets_only_what_is_older_than_its_cutoff) {
  TempDatabase t;
  add(t.db.get(), "old1", 1000);
  add(t.db.get(), "old2", 2000);
  add(t.db.get(), "new", 5000);
  auto removed = bounced::purge_bounces(t.db.get(), 3000, 100);
  BOOST_REQUIRE(removed);
  BOOST_TEST(*removed == 4u);  // two bounce rows, then their two reports
  BOOST_TEST(t.count("bounce") == 1);
  BOOST_TEST(t.count("bounce_report") == 1);
  auto kept = bounced::find_report(t.db.get(), "new");
  BOOST_REQUIRE(kept);
  BOOST_TEST(kept->has_value());
}

BOOST_AUTO_TEST_CASE(a_purge_is_bounded_per_call) {
  TempDatabase t;
  for (int i = 0; i < 5; ++i) add(t.db.get(), "r" + std::to_string(i), 1000 + i);
  auto removed = bounced::purge_bounces(t.db.get(), 9000, 2);
  BOOST_REQUIRE(removed);
  BOOST_TEST(t.count("bounce") == 3);
}
