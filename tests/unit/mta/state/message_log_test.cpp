// Unit tests of MessageLog: rows recorded from many threads all reach the
// database, in batches of at most kMaxBatch; they survive a reopen; the file is
// in WAL mode with schema version 1; a full queue drops (and counts) rather than
// grows, and a failed batch neither throws nor hangs flush().
#include "mta/state/message_log.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/base/owned.h"

namespace fs = std::filesystem;

namespace {

using OwnedSqlite = common::Owned<sqlite3, &sqlite3_close_v2>;

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/stamp-message-log-test-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
};

// A second connection, as another process (the API, an operator) would have.
OwnedSqlite connect(const fs::path& file) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
  OwnedSqlite db(raw);
  BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, "open " << file);
  BOOST_REQUIRE(sqlite3_busy_timeout(db.get(), 5000) == SQLITE_OK);
  return db;
}

void exec(sqlite3* db, const char* sql) {
  BOOST_REQUIRE_MESSAGE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK,
                        sql << ": " << sqlite3_errmsg(db));
}

// The rows of a query, each column as text ("NULL" for NULL).
std::vector<std::vector<std::string>> query(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  BOOST_REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) == SQLITE_OK,
                        sqlite3_errmsg(db));
  common::Owned<sqlite3_stmt, &sqlite3_finalize> statement(raw);
  std::vector<std::vector<std::string>> rows;
  int rc;
  while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW) {
    std::vector<std::string> row;
    for (int i = 0; i < sqlite3_column_count(statement.get()); ++i) {
      auto text = sqlite3_column_text(statement.get(), i);
      row.push_back(text ? reinterpret_cast<const char*>(text) : "NULL");
    }
    rows.push_back(std::move(row));
  }
  BOOST_REQUIRE_MESSAGE(rc == SQLITE_DONE, sqlite3_errmsg(db));
  return rows;
}

std::string scalar(sqlite3* db, const char* sql) {
  auto rows = query(db, sql);
  BOOST_REQUIRE(rows.size() == 1u);
  return rows[0].at(0);
}

long long row_count(const fs::path& file) {
  auto db = connect(file);
  return std::stoll(scalar(db.get(), "SELECT count(*) FROM message_log"));
}

mta::MessageLogEntry entry(const std::string& queue_id, int n) {
  mta::MessageLogEntry e;
  e.queue_id = queue_id;
  e.tenant = "acme";
  e.sender = "app@acme.example";
  e.recipient = "user" + std::to_string(n) + "@example.net";
  e.status = "delivered";
  e.remote = "mx1.example.net[192.0.2.7]:25";
  e.reply = "250 2.0.0 Ok: queued as " + std::to_string(n);
  e.attempt = 1;
  e.at = 1795000000 + n;
  return e;
}

std::unique_ptr<mta::MessageLog> open_log(const fs::path& file) {
  auto log = mta::MessageLog::open(file);
  BOOST_REQUIRE_MESSAGE(log, (log ? "" : log.error().message));
  return std::move(*log);
}

struct Fixture {
  TempDir dir;
  fs::path file = dir.path / "state.db";
};

}  // namespace

BOOST_AUTO_TEST_SUITE(message_log)

BOOST_FIXTURE_TEST_CASE(rows_recorded_from_several_threads_all_land, Fixture) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 750;
  auto log = open_log(file);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) log->record(entry("T" + std::to_string(t), i));
    });
  }
  for (auto& thread : threads) thread.join();
  log->flush();

  auto db = connect(file);
  auto rows = query(db.get(), "SELECT queue_id, recipient FROM message_log");
  BOOST_TEST(rows.size() == static_cast<std::size_t>(kThreads * kPerThread));
  std::set<std::vector<std::string>> distinct(rows.begin(), rows.end());
  BOOST_TEST(distinct.size() == rows.size());
  auto stats = log->stats();
  BOOST_TEST(stats.written == static_cast<std::uint64_t>(kThreads * kPerThread));
  BOOST_TEST(stats.failed == 0u);
  BOOST_TEST(stats.dropped == 0u);

  auto one = query(db.get(),
                   "SELECT queue_id, tenant, sender, recipient, status, remote, reply, attempt, at "
                   "FROM message_log WHERE queue_id = 'T2' AND recipient = 'user7@example.net'");
  BOOST_REQUIRE(one.size() == 1u);
  BOOST_TEST(one[0] ==
             (std::vector<std::string>{"T2", "acme", "app@acme.example", "user7@example.net",
                                       "delivered", "mx1.example.net[192.0.2.7]:25",
                                       "250 2.0.0 Ok: queued as 7", "1", "1795000007"}));
}

BOOST_FIXTURE_TEST_CASE(rows_are_committed_in_batches_of_at_most_kMaxBatch, Fixture) {
  constexpr std::size_t kRows = 2 * mta::MessageLog::kMaxBatch + mta::MessageLog::kMaxBatch / 2;
  auto log = open_log(file);
  auto other = connect(file);
  // While another connection holds the write lock, the writer takes what is
  // queued at most once and then waits in BEGIN IMMEDIATE, so the rows pile up.
  exec(other.get(), "BEGIN IMMEDIATE");
  for (std::size_t i = 0; i < kRows; ++i) log->record(entry("B", static_cast<int>(i)));
  exec(other.get(), "COMMIT");
  log->flush();
  auto stats = log->stats();
  BOOST_TEST(stats.written == kRows);
  // Two takes of the queue, each cut into batches of at most kMaxBatch rows.
  BOOST_TEST(stats.batches >= 3u);
  BOOST_TEST(stats.batches <= 4u);
  BOOST_TEST(row_count(file) == static_cast<long long>(kRows));
}

BOOST_FIXTURE_TEST_CASE(reopening_keeps_the_rows, Fixture) {
  {
    auto log = open_log(file);
    for (int i = 0; i < 10; ++i) log->record(entry("R1", i));
    // No flush(): the destructor writes what is queued.
  }
  BOOST_TEST(row_count(file) == 10);
  {
    auto log = open_log(file);
    for (int i = 0; i < 5; ++i) log->record(entry("R2", i));
    log->flush();
    BOOST_TEST(row_count(file) == 15);
  }
}

BOOST_FIXTURE_TEST_CASE(the_database_is_in_wal_mode_with_schema_version_2, Fixture) {
  auto log = open_log(file);
  auto db = connect(file);
  BOOST_TEST(scalar(db.get(), "PRAGMA journal_mode") == "wal");
  BOOST_TEST(scalar(db.get(), "PRAGMA user_version") == "2");
  auto indexes =
      query(db.get(),
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'message_log' "
            "ORDER BY name");
  BOOST_TEST(indexes == (std::vector<std::vector<std::string>>{{"message_log_queue_id"},
                                                               {"message_log_recipient_at"}}));
}

BOOST_FIXTURE_TEST_CASE(a_newer_schema_is_refused, Fixture) {
  {
    sqlite3* raw = nullptr;
    BOOST_REQUIRE(sqlite3_open(file.c_str(), &raw) == SQLITE_OK);
    OwnedSqlite db(raw);
    exec(db.get(), "PRAGMA user_version = 3");
  }
  auto log = mta::MessageLog::open(file);
  BOOST_REQUIRE(!log);
  BOOST_TEST(log.error().message.find("newer") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(accepted_messages_are_recorded_and_a_version_1_file_is_upgraded, Fixture) {
  {
    sqlite3* raw = nullptr;
    BOOST_REQUIRE(sqlite3_open(file.c_str(), &raw) == SQLITE_OK);
    OwnedSqlite db(raw);
    exec(db.get(), "CREATE TABLE message_log(id INTEGER PRIMARY KEY, queue_id TEXT NOT NULL, tenant TEXT, "
                   "sender TEXT, recipient TEXT NOT NULL, status TEXT NOT NULL, remote TEXT, reply TEXT, "
                   "attempt INTEGER, at INTEGER NOT NULL)");
    exec(db.get(), "PRAGMA user_version = 1");
  }
  auto log = open_log(file);
  mta::AcceptedMessage m;
  m.queue_id = "1A2B3C4D5E6F7081";
  m.tenant = "acme";
  m.stream = "outbound";
  m.tag = "welcome";
  m.metadata = {{"user-id", "42"}, {"quote\"d", "line\nbreak"}};
  m.message_id = "<id@acme.test>";
  m.from = "Ann <ann@acme.test>";
  m.subject = "Hello";
  m.sender = "app@acme.test";
  m.recipients = {"a@example.net", "b@example.net"};
  m.accepted_at = 1800000000;
  log->record(m);
  log->flush();
  auto db = connect(file);
  BOOST_TEST(scalar(db.get(), "PRAGMA user_version") == "2");
  auto rows = query(db.get(), "SELECT tenant, stream, tag, metadata, message_id, from_header, subject, recipients, "
                              "accepted_at FROM message WHERE queue_id = '1A2B3C4D5E6F7081'");
  BOOST_TEST(rows == (std::vector<std::vector<std::string>>{
                         {"acme", "outbound", "welcome", R"({"user-id":"42","quote\"d":"line\nbreak"})",
                          "<id@acme.test>", "Ann <ann@acme.test>", "Hello", R"(["a@example.net","b@example.net"])",
                          "1800000000"}}));
}

BOOST_FIXTURE_TEST_CASE(a_purge_forgets_rows_older_than_its_cutoff_in_both_tables, Fixture) {
  auto log = open_log(file);
  for (std::int64_t at : {1000, 2000, 3000}) {
    mta::MessageLogEntry entry;
    entry.queue_id = "Q" + std::to_string(at);
    entry.recipient = "r@example.net";
    entry.status = "delivered";
    entry.at = at;
    log->record(entry);
    mta::AcceptedMessage message;
    message.queue_id = entry.queue_id;
    message.accepted_at = at;
    log->record(message);
  }
  log->purge(mta::PurgeBefore{2500});
  log->flush();
  auto db = connect(file);
  BOOST_TEST(query(db.get(), "SELECT queue_id FROM message_log ORDER BY at") ==
             (std::vector<std::vector<std::string>>{{"Q3000"}}));
  BOOST_TEST(query(db.get(), "SELECT queue_id FROM message ORDER BY accepted_at") ==
             (std::vector<std::vector<std::string>>{{"Q3000"}}));
}

BOOST_AUTO_TEST_CASE(an_unusable_path_is_an_error_not_an_exception) {
  auto log = mta::MessageLog::open("/nonexistent-stamp-dir/state.db");
  BOOST_TEST(!log.has_value());
}

BOOST_FIXTURE_TEST_CASE(a_failed_batch_is_counted_and_flush_still_returns, Fixture) {
  auto log = open_log(file);
  auto other = connect(file);
  exec(other.get(), "DROP TABLE message_log");
  for (int i = 0; i < 3; ++i) log->record(entry("F", i));
  log->flush();
  auto stats = log->stats();
  BOOST_TEST(stats.failed == 3u);
  BOOST_TEST(stats.written == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_full_queue_drops_and_counts, Fixture) {
  auto log = open_log(file);
  auto other = connect(file);
  exec(other.get(), "BEGIN IMMEDIATE");  // the writer can take the queue once, then waits
  std::uint64_t recorded = 0;
  while (log->stats().dropped == 0 && recorded < 3 * mta::MessageLog::kMaxQueued) {
    log->record(entry("D", static_cast<int>(recorded)));
    ++recorded;
  }
  for (int i = 0; i < 10; ++i) log->record(entry("D", -1));
  recorded += 10;
  exec(other.get(), "COMMIT");
  log->flush();
  auto stats = log->stats();
  BOOST_TEST(stats.dropped >= 11u);
  BOOST_TEST(stats.failed == 0u);
  BOOST_TEST(stats.written + stats.dropped == recorded);
  BOOST_TEST(row_count(file) == static_cast<long long>(stats.written));
}

BOOST_AUTO_TEST_SUITE_END()
