// Unit tests of FsSpool: a committed message is in queue/ when the callback
// runs; an abandoned one leaves nothing; recovery sorts out tmp/ and damage;
// state files are replaced whole, removed with their message, and readable
// without an event loop (stampctl).
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

  // Stores one message with one recipient and returns its id.
  std::string store_message() {
    std::string id = mta::new_queue_id();
    bool committed = false;
    auto writer = spool->create(meta_for(id));
    BOOST_REQUIRE(writer);
    (*writer)->write("Subject: ok\r\n\r\nfine\r\n");
    (*writer)->commit({}, [&](common::Status st) {
      committed = st.has_value();
      loop->stop();
    });
    BOOST_REQUIRE(loop->run());
    BOOST_REQUIRE(committed);
    return id;
  }
};

mta::QueueState one_recipient_state(mta::RecipientStatus status, int attempts) {
  mta::QueueState state;
  state.attempts = attempts;
  state.next_attempt = 1795000300 + attempts;
  state.last_error = "4.4.1 connection refused";
  state.recipients.push_back({status, 1795000000, "mx1.example.net[192.0.2.7]:25", "451 4.3.0 try later"});
  return state;
}

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
    (*writer)->commit({}, [&, id](common::Status st) {
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
    (*writer)->commit({}, [&](common::Status st) {
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

BOOST_FIXTURE_TEST_CASE(state_files_are_replaced_whole_and_read_back, Fixture) {
  std::string id = store_message();
  BOOST_TEST(fs::is_directory(dir.path / "state"));
  auto none = spool->read_state(id);
  BOOST_REQUIRE(none);
  BOOST_TEST(!none->has_value());  // never attempted

  BOOST_REQUIRE(spool->write_state(id, one_recipient_state(mta::RecipientStatus::Deferred, 1)));
  BOOST_REQUIRE(spool->write_state(id, one_recipient_state(mta::RecipientStatus::Deferred, 2)));
  auto state = spool->read_state(id);
  BOOST_REQUIRE(state);
  BOOST_REQUIRE(state->has_value());
  BOOST_TEST((*state)->attempts == 2);
  BOOST_TEST((*state)->next_attempt == 1795000302);
  BOOST_TEST((*state)->last_error == "4.4.1 connection refused");
  BOOST_REQUIRE((*state)->recipients.size() == 1u);
  BOOST_TEST((*state)->recipients[0].reply == "451 4.3.0 try later");
  // Only the state itself: the temporary file was renamed into place.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path / "state")) names.push_back(entry.path().filename());
  BOOST_TEST(names == std::vector<std::string>{id});
}

BOOST_FIXTURE_TEST_CASE(remove_takes_the_state_file_too, Fixture) {
  std::string with_state = store_message();
  std::string without_state = store_message();
  BOOST_REQUIRE(spool->write_state(with_state, one_recipient_state(mta::RecipientStatus::Delivered, 1)));
  BOOST_TEST(spool->remove(with_state).has_value());
  BOOST_TEST(spool->remove(without_state).has_value());  // no state file is fine
  BOOST_TEST(fs::is_empty(dir.path / "queue"));
  BOOST_TEST(fs::is_empty(dir.path / "state"));
  BOOST_TEST(!spool->remove(with_state).has_value());  // the message itself must exist
}

BOOST_FIXTURE_TEST_CASE(state_io_refuses_names_that_are_not_queue_ids, Fixture) {
  BOOST_TEST(!spool->write_state("../queue/x", mta::QueueState()).has_value());
  BOOST_TEST(!spool->read_state("../../etc/passwd").has_value());
  BOOST_TEST(!mta::read_queue_state(dir.path, "../x").has_value());
  BOOST_TEST(!mta::read_queue_file(dir.path, "../queue").has_value());
  BOOST_TEST(fs::is_empty(dir.path / "state"));
}

BOOST_FIXTURE_TEST_CASE(recovery_sorts_out_state_files, Fixture) {
  std::string good = store_message();
  std::string damaged = store_message();
  std::string mismatched = store_message();
  std::string untried = store_message();
  BOOST_REQUIRE(spool->write_state(good, one_recipient_state(mta::RecipientStatus::Deferred, 1)));
  auto text = mta::encode_queue_state(one_recipient_state(mta::RecipientStatus::Deferred, 1));
  std::ofstream(dir.path / "state" / damaged) << text.substr(0, text.size() - 3);
  auto two = one_recipient_state(mta::RecipientStatus::Deferred, 1);
  two.recipients.push_back(two.recipients.front());  // the queue file has one recipient
  std::ofstream(dir.path / "state" / mismatched) << mta::encode_queue_state(two);
  std::string gone = mta::new_queue_id();
  std::ofstream(dir.path / "state" / gone) << text;                  // message no longer queued
  std::ofstream(dir.path / "state" / ("." + good + ".tmp")) << "half";  // write cut short

  auto ids = spool->recover();
  BOOST_TEST(ids.size() == 4u);
  std::set<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.path / "state")) left.insert(entry.path().filename());
  BOOST_TEST(left == std::set<std::string>{good});
  BOOST_TEST(fs::exists(dir.path / "corrupt" / (damaged + ".state")));
  BOOST_TEST(fs::exists(dir.path / "corrupt" / (mismatched + ".state")));
  for (const auto& id : {damaged, mismatched, untried}) {
    auto state = spool->read_state(id);
    BOOST_REQUIRE(state);
    BOOST_TEST(!state->has_value());  // treated as never attempted
  }
  auto state = spool->read_state(good);
  BOOST_REQUIRE(state);
  BOOST_TEST(state->has_value());
}

BOOST_FIXTURE_TEST_CASE(a_spool_can_be_read_without_an_event_loop, Fixture) {
  std::string first = store_message();
  std::string second = store_message();
  BOOST_REQUIRE(spool->write_state(second, one_recipient_state(mta::RecipientStatus::Bounced, 3)));
  std::ofstream(dir.path / "queue" / "README") << "not a message";

  auto ids = mta::FsSpool::list_queue_ids(dir.path);
  BOOST_TEST(ids == (std::vector<std::string>{first, second}));
  auto contents = mta::read_queue_file(dir.path, first);
  BOOST_REQUIRE(contents);
  BOOST_TEST(*contents == *spool->read(first));
  auto none = mta::read_queue_state(dir.path, first);
  BOOST_REQUIRE(none);
  BOOST_TEST(!none->has_value());
  auto state = mta::read_queue_state(dir.path, second);
  BOOST_REQUIRE(state);
  BOOST_REQUIRE(state->has_value());
  BOOST_TEST((*state)->attempts == 3);
  BOOST_TEST(!mta::read_queue_file(dir.path, mta::new_queue_id()).has_value());  // no such message

  BOOST_TEST(mta::FsSpool::list_queue_ids(dir.path / "missing").empty());
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
