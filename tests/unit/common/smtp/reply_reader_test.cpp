// Unit tests of ReplyReader (client-side reply assembly) and dot_stuff.
#include <boost/test/unit_test.hpp>

#include "common/smtp/dot_stuffing.h"
#include "common/smtp/reply_reader.h"

using common::smtp::ReplyReader;

BOOST_AUTO_TEST_SUITE(reply_reader)

BOOST_AUTO_TEST_CASE(assembles_multi_line_replies_and_splits_enhanced_codes) {
  ReplyReader reader;
  BOOST_TEST((reader.add_line("250-mx.example.net Hello") == ReplyReader::Step::NeedMore));
  BOOST_TEST((reader.add_line("250-PIPELINING") == ReplyReader::Step::NeedMore));
  BOOST_TEST((reader.add_line("250 STARTTLS") == ReplyReader::Step::Complete));
  auto ehlo = reader.take();
  BOOST_TEST(ehlo.code == 250);
  BOOST_TEST(ehlo.enhanced.empty());
  BOOST_TEST(ehlo.lines.size() == 3u);
  BOOST_TEST(ehlo.lines[2] == "STARTTLS");

  BOOST_TEST((reader.add_line("550-5.1.1 The email account that you tried to reach") == ReplyReader::Step::NeedMore));
  BOOST_TEST((reader.add_line("550 5.1.1 does not exist.") == ReplyReader::Step::Complete));
  auto bounce = reader.take();
  BOOST_TEST(bounce.code == 550);
  BOOST_TEST(bounce.enhanced == "5.1.1");
  BOOST_TEST(bounce.first_line() == "550 5.1.1 The email account that you tried to reach");

  BOOST_TEST((reader.add_line("354") == ReplyReader::Step::Complete));
  BOOST_TEST(reader.take().code == 354);
  BOOST_TEST((reader.add_line("451 4.7.1 Greylisted, try again") == ReplyReader::Step::Complete));
  BOOST_TEST(reader.take().enhanced == "4.7.1");
  BOOST_TEST((reader.add_line("250 2.0.0Ok") == ReplyReader::Step::Complete));
  BOOST_TEST(reader.take().enhanced.empty());  // no space after the code: not an enhanced code
}

BOOST_AUTO_TEST_CASE(rejects_malformed_replies) {
  for (const char* bad : {"", "25", "abc def", "250x ok", "199 too low", "600 too high"}) {
    ReplyReader reader;
    BOOST_TEST((reader.add_line(bad) == ReplyReader::Step::Malformed), bad);
  }
  ReplyReader reader;
  BOOST_TEST((reader.add_line("250-first") == ReplyReader::Step::NeedMore));
  BOOST_TEST((reader.add_line("251 other code") == ReplyReader::Step::Malformed));
  ReplyReader endless;
  for (std::size_t i = 0; i < ReplyReader::kMaxLines; ++i) {
    BOOST_REQUIRE((endless.add_line("250-more") == ReplyReader::Step::NeedMore));
  }
  BOOST_TEST((endless.add_line("250-more") == ReplyReader::Step::Malformed));
}

BOOST_AUTO_TEST_CASE(dot_stuffing_doubles_leading_dots_and_ends_the_data) {
  struct Case {
    const char* message;
    const char* wire;
  };
  const Case cases[] = {
      {"", ".\r\n"},
      {"a\r\n", "a\r\n.\r\n"},
      {".\r\n", "..\r\n.\r\n"},
      {"x\r\n.y\r\n..z\r\n", "x\r\n..y\r\n...z\r\n.\r\n"},
      {"no final newline", "no final newline\r\n.\r\n"},
      {"a.b\r\n", "a.b\r\n.\r\n"},
  };
  for (const auto& c : cases) BOOST_TEST(common::smtp::dot_stuff(c.message) == c.wire, c.message);
}

BOOST_AUTO_TEST_SUITE_END()
