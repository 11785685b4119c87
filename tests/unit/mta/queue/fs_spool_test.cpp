// Unit tests of FsSpool: a committed message is in queue/ when the callback
// runs; an abandoned one leaves nothing; recovery sorts out tmp/ and damage.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/event/event_loop.h"
#include "mta/queue/fs_spool.h"
#include "mta/queue/queue_id.h"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/stamp-spool-test-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path); }
};

mta::QueuedMessage meta_for(const std::string& id) {
  mta::QueuedMessage meta;
  meta.id = id;
  meta.envelope.mail_from.sender = {"a", "example.com"};
  common::smtp::Recipient r;
  r.address = {"b", "example.net"};
  meta.envelope.recipients.push_back(r);
  return meta;
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<common::event::EventLoop> loop = std::move(*common::event::EventLoop::create());
  std::unique_ptr<mta::FsSpool> spool = std::move(*mta::FsSpool::open(dir.path, 3, *loop));
};

}  // namespace

BOOST_AUTO_TEST_SUITE(fs_spool)

BOOST_FIXTURE_TEST_CASE(concurrent_commits_are_all_durable_before_their_callbacks, Fixture) {
  constexpr int kMessages = 50;
  int done = 0;
  int failures = 0;
  std::vector<std::unique_ptr<mta::SpoolWriter>> writers;
  for (int i = 0; i < kMessages; ++i) {
    auto writer = spool->create(meta_for(mta::new_queue_id()));
    BOOST_REQUIRE(writer);
    (*writer)->write("Subject: " + std::to_string(i) + "\r\n\r\n");
    (*writer)->write(std::string(100000, 'x') + "\r\n");  // crosses the write buffer
    std::string id = (*writer)->id();
    (*writer)->commit([&, id](common::Status st) {
      if (!st || !fs::exists(dir.path / "queue" / id) || fs::exists(dir.path / "tmp" / id)) ++failures;
      if (++done == kMessages) loop->stop();
    });
    writers.push_back(std::move(*writer));
  }
  writers.clear();  // committed writers may go at once
  BOOST_REQUIRE(loop->run());
  BOOST_TEST(done == kMessages);
  BOOST_TEST(failures == 0);
  auto ids = spool->recover();
  BOOST_TEST(ids.size() == static_cast<std::size_t>(kMessages));
  auto contents = spool->read(ids.front());
  BOOST_REQUIRE(contents);
  BOOST_TEST(mta::parse_queue_file(*contents).has_value());
}

BOOST_FIXTURE_TEST_CASE(an_abandoned_message_leaves_nothing, Fixture) {
  {
    auto writer = spool->create(meta_for(mta::new_queue_id()));
    BOOST_REQUIRE(writer);
    (*writer)->write("half a message");
  }
  BOOST_TEST(fs::is_empty(dir.path / "tmp"));
  BOOST_TEST(fs::is_empty(dir.path / "queue"));
}

BOOST_FIXTURE_TEST_CASE(recovery_clears_tmp_and_quarantines_damage, Fixture) {
  std::string good_id = mta::new_queue_id();
  bool committed = false;
  {
    auto writer = spool->create(meta_for(good_id));
    BOOST_REQUIRE(writer);
    (*writer)->write("Subject: ok\r\n\r\nfine\r\n");
    (*writer)->commit([&](common::Status st) {
      committed = st.has_value();
      loop->stop();
    });
    BOOST_REQUIRE(loop->run());
  }
  BOOST_REQUIRE(committed);
  std::string truncated_id = mta::new_queue_id();
  {
    auto contents = spool->read(good_id);
    std::ofstream(dir.path / "queue" / truncated_id) << contents->substr(0, contents->size() - 5);
  }
  std::ofstream(dir.path / "queue" / "not-a-queue-id") << "junk";
  std::ofstream(dir.path / "tmp" / "0000000000000001") << "never acknowledged";

  auto ids = spool->recover();
  BOOST_TEST(ids == std::vector<std::string>{good_id});
  BOOST_TEST(fs::is_empty(dir.path / "tmp"));
  BOOST_TEST(fs::exists(dir.path / "corrupt" / truncated_id));
  BOOST_TEST(fs::exists(dir.path / "corrupt" / "not-a-queue-id"));
  BOOST_TEST(!fs::exists(dir.path / "queue" / truncated_id));
}

BOOST_AUTO_TEST_CASE(queue_ids_are_unique_and_sortable) {
  std::string previous;
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = mta::new_queue_id();
    BOOST_REQUIRE(mta::is_queue_id(id));
    BOOST_REQUIRE(seen.insert(id).second);
  }
  BOOST_TEST(!mta::is_queue_id("0123456789abcdef"));  // lower case is not ours
  BOOST_TEST(!mta::is_queue_id("../../etc/passwd"));
}

BOOST_AUTO_TEST_SUITE_END()
