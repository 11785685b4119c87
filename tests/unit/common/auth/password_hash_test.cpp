// Unit tests of scrypt password hashes.
#include <boost/test/unit_test.hpp>

#include "common/auth/password_hash.h"

BOOST_AUTO_TEST_SUITE(password_hash)

// Small parameters keep the test fast; the format and checks are the same.
const common::auth::ScryptParams kFast{10, 8, 1};

BOOST_AUTO_TEST_CASE(verifies_the_right_password_only) {
  auto hash = common::auth::hash_password("correct horse", kFast);
  BOOST_REQUIRE(hash);
  BOOST_TEST(hash->starts_with("$scrypt$ln=10,r=8,p=1$"));
  BOOST_TEST(common::auth::verify_password("correct horse", *hash));
  BOOST_TEST(!common::auth::verify_password("correct horsE", *hash));
  BOOST_TEST(!common::auth::verify_password("", *hash));
  BOOST_TEST(common::auth::check_password_hash_format(*hash).has_value());
}

BOOST_AUTO_TEST_CASE(salts_differ) {
  auto a = common::auth::hash_password("same", kFast);
  auto b = common::auth::hash_password("same", kFast);
  BOOST_REQUIRE(a && b);
  BOOST_TEST(*a != *b);
}

BOOST_AUTO_TEST_CASE(the_default_cost_is_strong) {
  common::auth::ScryptParams defaults;
  BOOST_TEST(defaults.log2_n >= 15);  // N = 32768, 32 MiB with r = 8
}

BOOST_AUTO_TEST_CASE(malformed_hashes_never_match) {
  const char* bad[] = {
      "",
      "plaintext",
      "$scrypt$ln=10,r=8$c2FsdHNhbHQ=$AAAA",                 // missing p
      "$scrypt$ln=40,r=8,p=1$c2FsdHNhbHQ=$" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",  // N too large
      "$scrypt$ln=10,r=8,p=1$not base64$AAAA",
      "$scrypt$ln=10,r=8,p=1$c2FsdHNhbHQ=$c2hvcnQ=",          // key too short
      "$pbkdf2$i=1$c2FsdA==$c2FsdA==",
  };
  for (const char* h : bad) {
    BOOST_TEST(!common::auth::check_password_hash_format(h).has_value(), h);
    BOOST_TEST(!common::auth::verify_password("x", h), h);
  }
}

BOOST_AUTO_TEST_SUITE_END()
