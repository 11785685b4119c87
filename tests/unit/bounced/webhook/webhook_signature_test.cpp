// Unit tests of webhook signatures: the header's value against answers
// computed elsewhere (Python's hmac and `openssl dgst -hmac` gave the fixed
// values; OpenSSL's one-shot HMAC(), checked here against RFC 4231, is the
// oracle for the rest), and verify_signature accepting exactly the good ones.
#include "bounced/webhook/webhook_signature.h"

#include <openssl/hmac.h>

#include <boost/test/unit_test.hpp>
#include <cctype>
#include <string>

using bounced::webhook::signature_header_value;
using bounced::webhook::signature_v1;
using bounced::webhook::verify_signature;

namespace {

// HMAC-SHA256 through a different OpenSSL API than the one under test.
std::string oracle_hmac_hex(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kDigits[out[i] >> 4];
    hex += kDigits[out[i] & 15];
  }
  return hex;
}

constexpr std::chrono::seconds kTolerance{300};

}  // namespace

BOOST_AUTO_TEST_SUITE(webhook_signature)

BOOST_AUTO_TEST_CASE(oracle_matches_rfc4231) {
  // RFC 4231 section 4.3, test case 2.
  BOOST_TEST(oracle_hmac_hex("Jefe", "what do ya want for nothing?") ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Section 4.2, test case 1: key 0x0b * 20, data "Hi There".
  BOOST_TEST(oracle_hmac_hex(std::string(20, '\x0b'), "Hi There") ==
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

BOOST_AUTO_TEST_CASE(known_answers) {
  // printf '%s' '1795000000.{"RecordType":"Bounce","ID":42}' | openssl dgst -sha256 -hmac
  // whsec_test
  BOOST_TEST(signature_v1("whsec_test", 1795000000, R"({"RecordType":"Bounce","ID":42})") ==
             "58f362bd8b699525fbd14592139dc98a9cb053bc06f4db4d24a64745a9a1370b");
  BOOST_TEST(
      signature_header_value("whsec_test", 1795000000, R"({"RecordType":"Bounce","ID":42})") ==
      "t=1795000000,v1=58f362bd8b699525fbd14592139dc98a9cb053bc06f4db4d24a64745a9a1370b");
  // An empty key and body are legal HMAC inputs (Python: hmac.new(b"", b"0.", sha256)).
  BOOST_TEST(signature_v1("", 0, "") ==
             "b849d5a581847b281957065739df36df2463d1977ea8d6e1e4e6cf33fadc68c3");
}

BOOST_AUTO_TEST_CASE(matches_the_oracle_on_awkward_input) {
  const std::string binary_body("a\0b\r\n\xff\xfe{}", 9);
  const std::string long_secret(300,
                                's');  // longer than the SHA-256 block: HMAC hashes the key first
  struct Case {
    std::string secret;
    std::int64_t t;
    std::string body;
  } cases[] = {
      {"k", 1, "{}"},
      {long_secret, 1795000000, binary_body},
      {"s\xc3\xa9"
       "cret",
       4102444800, std::string(100000, 'x')},
      {"k", -5, "negative timestamps still sign what they say"},
  };
  for (const auto& c : cases) {
    BOOST_TEST(signature_v1(c.secret, c.t, c.body) ==
               oracle_hmac_hex(c.secret, std::to_string(c.t) + "." + c.body));
  }
}

BOOST_AUTO_TEST_CASE(verify_accepts_its_own_header) {
  const std::string body = R"({"RecordType":"Delivery"})";
  const std::string header = signature_header_value("secret", 1795000000, body);
  BOOST_TEST(verify_signature(header, "secret", body, 1795000000, kTolerance).has_value());
  BOOST_TEST(verify_signature(header, "secret", body, 1795000000 + 300, kTolerance).has_value());
  // Upper-case hex, spaces after commas, an unknown scheme and a second v1
  // (secret rotation) are all fine.
  std::string upper = header;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  upper.replace(0, 1, "t");
  upper.replace(upper.find("V1"), 2, "v1");
  BOOST_TEST(verify_signature(upper, "secret", body, 1795000000, kTolerance).has_value());
  const std::string rotated = "t=1795000000, v0=abc, v1=" + std::string(64, '0') +
                              ", v1=" + signature_v1("secret", 1795000000, body);
  BOOST_TEST(verify_signature(rotated, "secret", body, 1795000000, kTolerance).has_value());
}

BOOST_AUTO_TEST_CASE(verify_refuses_what_is_wrong) {
  const std::string body = R"({"RecordType":"Bounce"})";
  const std::int64_t t = 1795000000;
  const std::string good = signature_header_value("secret", t, body);
  std::string too_many = good;
  for (int i = 0; i < 16; ++i) too_many += ",x=1";
  struct Case {
    const char* what;
    std::string header, secret, body;
    std::int64_t now;
  } cases[] = {
      {"other secret", good, "Secret", body, t},
      {"other body", good, "secret", body + " ", t},
      {"too old", good, "secret", body, t + 301},
      {"from the future", good, "secret", body, t - 301},
      {"timestamp moved", "t=1795000001," + good.substr(good.find("v1=")), "secret", body, t},
      {"no timestamp", good.substr(good.find("v1=")), "secret", body, t},
      {"no v1", "t=1795000000", "secret", body, t},
      {"truncated v1", good.substr(0, good.size() - 1), "secret", body, t},
      {"bad timestamp", "t=17950x0000," + good.substr(good.find("v1=")), "secret", body, t},
      {"two timestamps", "t=1795000000," + good, "secret", body, t},
      {"garbage", "not a signature", "secret", body, t},
      {"empty", "", "secret", body, t},
      {"too many parts", too_many, "secret", body, t},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.what) {
      auto result = verify_signature(c.header, c.secret, c.body, c.now, kTolerance);
      BOOST_TEST(!result.has_value());
      // The error never contains the expected signature.
      if (!result)
        BOOST_TEST(result.error().message.find(signature_v1(c.secret, t, c.body)) ==
                   std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
