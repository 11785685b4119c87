// Folding and '*' patterns: case and white space do not matter, a gap is short.
#include "bounced/classify/phrase_matcher.h"

#include <boost/test/unit_test.hpp>
#include <string>

using bounced::fold_for_matching;
using bounced::pattern_matches;

BOOST_AUTO_TEST_CASE(folding_lowers_case_and_joins_white_space) {
  BOOST_TEST(fold_for_matching("  Mailbox\r\n    FULL\t(quota) ") == "mailbox full (quota)");
  BOOST_TEST(fold_for_matching("Ünïcode Stays") == "Ünïcode stays");
  // Typographic apostrophes match the patterns' ASCII one.
  BOOST_TEST(fold_for_matching("Wasn\u2019t Found, \u2018quoted\u2019") == "wasn't found, 'quoted'");
  BOOST_TEST(fold_for_matching("en \u2013 dash") == "en \u2013 dash");
}

BOOST_AUTO_TEST_CASE(patterns_with_gaps) {
  BOOST_TEST(pattern_matches("the mailbox of this user is full", "mailbox * full"));
  BOOST_TEST(pattern_matches("mailbox full", "mailbox * full"));
  BOOST_TEST(!pattern_matches("full mailbox", "mailbox * full"));
  BOOST_TEST(!pattern_matches("mailbox " + std::string(200, 'x') + " full", "mailbox * full"));
  BOOST_TEST(pattern_matches("mailbox ... mailbox is full", "mailbox * full"));
  BOOST_TEST(!pattern_matches("anything", ""));
}

BOOST_AUTO_TEST_CASE(matching_hostile_text_stays_fast) {
  std::string text(1024 * 1024, 'a');
  BOOST_TEST(!pattern_matches(text, "a * a * b"));
}
