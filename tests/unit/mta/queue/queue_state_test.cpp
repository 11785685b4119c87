// Unit tests of the queue state format: what is encoded parses back the same;
// every truncation and a table of damaged files are refused; keys from a newer
// stamp are skipped.
#include "mta/queue/queue_state.h"

#include <boost/test/unit_test.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace mta {
// For Boost.Test's messages.
std::ostream& operator<<(std::ostream& out, RecipientStatus status) {
  return out << status_name(status);
}
}  // namespace mta

namespace {

mta::QueueState sample_state() {
  mta::QueueState state;
  state.attempts = 2;
  state.next_attempt = 1795000300;
  state.held = true;
  state.last_error = "4.4.1 connection refused by mx2.example.net[192.0.2.8]:25";
  state.recipients.push_back({mta::RecipientStatus::Delivered, 1795000000,
                              "mx1.example.net[192.0.2.7]:25", "250 2.0.0 Ok: queued as 12345"});
  state.recipients.push_back(
      {mta::RecipientStatus::Deferred, 1795000001, "", "4.4.1 connection refused"});
  state.recipients.push_back({mta::RecipientStatus::Pending, 0, "", ""});
  state.recipients.push_back({mta::RecipientStatus::Bounced, 1795000002, "-",
                              "550 5.1.1 <nobody@example.net>: no such user +=\r\n\xC3\xA9"});
  return state;
}

void check_equal(const mta::QueueState& a, const mta::QueueState& b) {
  BOOST_TEST(a.attempts == b.attempts);
  BOOST_TEST(a.next_attempt == b.next_attempt);
  BOOST_TEST(a.held == b.held);
  BOOST_TEST(a.last_error == b.last_error);
  BOOST_REQUIRE(a.recipients.size() == b.recipients.size());
  for (std::size_t i = 0; i < a.recipients.size(); ++i) {
    BOOST_TEST_CONTEXT("recipient " << i) {
      BOOST_TEST(a.recipients[i].status == b.recipients[i].status);
      BOOST_TEST(a.recipients[i].last_attempt == b.recipients[i].last_attempt);
      BOOST_TEST(a.recipients[i].remote == b.recipients[i].remote);
      BOOST_TEST(a.recipients[i].reply == b.recipients[i].reply);
    }
  }
}

const std::string kValid =
    "STAMP-STATE 1\n"
    "attempts: 2\n"
    "next-attempt: 1795000300\n"
    "held: 0\n"
    "last-error: -\n"
    "rcpt: 0 delivered 1795000000 mx1.example.net[192.0.2.7]:25 250+202.0.0+20ok\n"
    "rcpt: 1 pending 0 - -\n"
    "end\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(queue_state)

BOOST_AUTO_TEST_CASE(round_trip_keeps_every_field) {
  auto state = sample_state();
  std::string text = mta::encode_queue_state(state);
  auto parsed = mta::parse_queue_state(text);
  BOOST_REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().message));
  check_equal(*parsed, state);
  BOOST_TEST(mta::encode_queue_state(*parsed) == text);
}

BOOST_AUTO_TEST_CASE(an_empty_state_round_trips) {
  mta::QueueState state;
  auto parsed = mta::parse_queue_state(mta::encode_queue_state(state));
  BOOST_REQUIRE(parsed);
  check_equal(*parsed, state);
  BOOST_TEST(parsed->finished());
}

BOOST_AUTO_TEST_CASE(the_documented_example_parses) {
  auto parsed = mta::parse_queue_state(kValid);
  BOOST_REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().message));
  BOOST_TEST(parsed->attempts == 2);
  BOOST_TEST(parsed->next_attempt == 1795000300);
  BOOST_TEST(!parsed->held);
  BOOST_TEST(parsed->last_error == "");
  BOOST_REQUIRE(parsed->recipients.size() == 2u);
  BOOST_TEST(parsed->recipients[0].reply == "250 2.0.0 ok");
  BOOST_TEST(parsed->recipients[0].remote == "mx1.example.net[192.0.2.7]:25");
  BOOST_TEST(parsed->recipients[1].status == mta::RecipientStatus::Pending);
  BOOST_TEST(!parsed->finished());
}

BOOST_AUTO_TEST_CASE(values_are_single_tokens_of_printable_ascii) {
  std::string text = mta::encode_queue_state(sample_state());
  for (char c : text) {
    BOOST_TEST_CONTEXT("byte " << static_cast<int>(static_cast<unsigned char>(c))) {
      BOOST_TEST((c == '\n' || (c >= 32 && c <= 126)));
    }
  }
}

BOOST_AUTO_TEST_CASE(every_truncation_is_refused) {
  for (const std::string& text : {mta::encode_queue_state(sample_state()), kValid}) {
    for (std::size_t length = 0; length < text.size(); ++length) {
      BOOST_TEST_CONTEXT("cut at " << length) {
        BOOST_TEST(!mta::parse_queue_state(std::string_view(text).substr(0, length)).has_value());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(damaged_files_are_refused) {
  struct Case {
    const char* what;
    std::string from;
    std::string to;
  };
  const std::vector<Case> cases = {
      {"bad magic", "STAMP-STATE 1", "STAMP-STATE 2"},
      {"no magic", "STAMP-STATE 1\n", ""},
      {"attempts not a number", "attempts: 2", "attempts: two"},
      {"attempts negative", "attempts: 2", "attempts: -2"},
      {"attempts with sign", "attempts: 2", "attempts: +2"},
      {"attempts trailing junk", "attempts: 2", "attempts: 2x"},
      {"attempts empty", "attempts: 2", "attempts: "},
      {"attempts overflow", "attempts: 2", "attempts: 99999999999999999999"},
      {"attempts missing", "attempts: 2\n", ""},
      {"attempts twice", "attempts: 2\n", "attempts: 2\nattempts: 3\n"},
      {"next-attempt missing", "next-attempt: 1795000300\n", ""},
      {"next-attempt junk", "next-attempt: 1795000300", "next-attempt: soon"},
      {"held not 0 or 1", "held: 0", "held: 2"},
      {"held missing", "held: 0\n", ""},
      {"last-error missing", "last-error: -\n", ""},
      {"last-error bad xtext", "last-error: -", "last-error: a+4"},
      {"last-error raw space", "last-error: -", "last-error: a b"},
      {"last-error empty", "last-error: -", "last-error: "},
      {"rcpt index skips", "rcpt: 1 pending", "rcpt: 2 pending"},
      {"rcpt index repeats", "rcpt: 1 pending", "rcpt: 0 pending"},
      {"rcpt index junk", "rcpt: 1 pending", "rcpt: x pending"},
      {"rcpt bad status", "rcpt: 1 pending", "rcpt: 1 waiting"},
      {"rcpt status upper case", "rcpt: 1 pending", "rcpt: 1 PENDING"},
      {"rcpt time junk", "rcpt: 1 pending 0", "rcpt: 1 pending never"},
      {"rcpt time negative", "rcpt: 1 pending 0", "rcpt: 1 pending -1"},
      {"rcpt field missing", "rcpt: 1 pending 0 - -", "rcpt: 1 pending 0 -"},
      {"rcpt field extra", "rcpt: 1 pending 0 - -", "rcpt: 1 pending 0 - - -"},
      {"rcpt double space", "rcpt: 1 pending 0 - -", "rcpt: 1 pending 0  - -"},
      {"rcpt trailing space", "rcpt: 1 pending 0 - -", "rcpt: 1 pending 0 - - "},
      {"rcpt bad reply xtext", "250+202.0.0+20ok", "250+2"},
      {"rcpt lower-case escape", "250+202.0.0+20ok", "250+2a"},
      {"first rcpt missing",
       "rcpt: 0 delivered 1795000000 mx1.example.net[192.0.2.7]:25 250+202.0.0+20ok\n", ""},
      {"line without colon", "held: 0\n", "held: 0\ngarbage\n"},
      {"empty line", "held: 0\n", "held: 0\n\n"},
      {"empty key", "held: 0\n", "held: 0\n: value\n"},
      {"CRLF line ends", "held: 0\n", "held: 0\r\n"},
      {"text after end", "end\n", "end\nattempts: 3\n"},
      {"end line twice", "end\n", "end\nend\n"},
      {"end line damaged", "end\n", "End\n"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      std::string text = kValid;
      auto at = text.find(c.from);
      BOOST_REQUIRE(at != std::string::npos);
      text.replace(at, c.from.size(), c.to);
      auto parsed = mta::parse_queue_state(text);
      BOOST_TEST(!parsed.has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_keys_are_skipped) {
  std::string text = kValid;
  text.insert(text.find("held: "), "x-future: anything at all: here\n");
  text.insert(text.find("end\n"), "priority: 7\n");
  auto parsed = mta::parse_queue_state(text);
  BOOST_REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error().message));
  auto expected = mta::parse_queue_state(kValid);
  BOOST_REQUIRE(expected);
  check_equal(*parsed, *expected);
}

BOOST_AUTO_TEST_CASE(finished_means_nothing_left_to_try) {
  mta::QueueState state;
  state.recipients.push_back({mta::RecipientStatus::Delivered, 1, "", ""});
  state.recipients.push_back({mta::RecipientStatus::Bounced, 1, "", ""});
  BOOST_TEST(state.finished());
  state.recipients.push_back({mta::RecipientStatus::Deferred, 1, "", ""});
  BOOST_TEST(!state.finished());
  state.recipients.back().status = mta::RecipientStatus::Pending;
  BOOST_TEST(!state.finished());
}

BOOST_AUTO_TEST_CASE(status_names_are_stable) {
  BOOST_TEST(std::string(mta::status_name(mta::RecipientStatus::Pending)) == "pending");
  BOOST_TEST(std::string(mta::status_name(mta::RecipientStatus::Deferred)) == "deferred");
  BOOST_TEST(std::string(mta::status_name(mta::RecipientStatus::Delivered)) == "delivered");
  BOOST_TEST(std::string(mta::status_name(mta::RecipientStatus::Bounced)) == "bounced");
}

BOOST_AUTO_TEST_SUITE_END()
