// The bounded JSON reader: values, escapes, trailing text, and refusal of
// malformed or too deeply nested input.
#include "bounced/classify/json_value.h"

#include <boost/test/unit_test.hpp>
#include <string>

using bounced::JsonValue;
using bounced::parse_json_prefix;

BOOST_AUTO_TEST_CASE(reads_objects_arrays_and_strings) {
  auto value = parse_json_prefix(
      R"(  {"a": [1, true, null, "x\"y\u00e9\ud83d\ude00"], "b": {"c": "d"}} trailing text)");
  BOOST_REQUIRE(value.has_value());
  BOOST_TEST(value->is_object());
  const JsonValue& a = (*value)["a"];
  BOOST_REQUIRE(a.is_array());
  BOOST_REQUIRE_EQUAL(a.elements().size(), 4u);
  BOOST_TEST(a.elements()[3].text() == "x\"y\xc3\xa9\xf0\x9f\x98\x80");
  BOOST_TEST((*value)["b"]["c"].text() == "d");
  BOOST_TEST((*value)["missing"]["deeper"].text() == "");
}

BOOST_AUTO_TEST_CASE(refuses_malformed_input) {
  for (std::string text :
       {"", "{", "{\"a\" 1}", "[1,]", "\"unterminated", "{\"a\":\"\x01\"}", "nul"}) {
    BOOST_TEST_CONTEXT(text) { BOOST_TEST(!parse_json_prefix(text).has_value()); }
  }
}

BOOST_AUTO_TEST_CASE(refuses_deep_nesting) {
  BOOST_TEST(!parse_json_prefix(std::string(100000, '[')).has_value());
  BOOST_TEST(parse_json_prefix(std::string(10, '[') + std::string(10, ']')).has_value());
}
