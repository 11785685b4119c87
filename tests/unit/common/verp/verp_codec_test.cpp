// Unit tests of VerpCodec: tokens round-trip for many queue ids and recipient
// indexes, fit a local part and use only [a-z0-9]; case does not matter; any
// other change (one character, a truncation, another secret) is rejected.
#include "common/verp/verp_codec.h"

#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

using common::verp::BounceToken;
using common::verp::VerpCodec;

const std::string kSecret = "0123456789abcdef0123456789abcdef-test-secret";
const std::string kOtherSecret = "fedcba9876543210fedcba9876543210-other-secret";

VerpCodec make_codec(const std::string& secret = kSecret) {
  auto codec = VerpCodec::create(secret);
  BOOST_REQUIRE_MESSAGE(codec, "create: " << (codec ? "" : codec.error().message));
  return *codec;
}

std::string to_upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

bool lower_alnum(const std::string& text) {
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// Fixed ids (edges) and pseudo-random ones, with edge and random indexes.
std::vector<BounceToken> sample_tokens() {
  std::vector<BounceToken> tokens;
  const std::vector<std::string> ids = {"0000000000000000", "FFFFFFFFFFFFFFFF", "0193A4F2C1D0000A",
                                        "8000000000000001"};
  const std::vector<std::uint32_t> indexes = {0, 1, 255, 256, 65535, 999999, 0x7fffffff,
                                              0xffffffff};
  for (const auto& id : ids) {
    for (auto index : indexes) tokens.push_back({id, index});
  }
  std::mt19937_64 random(20240601);
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int i = 0; i < 500; ++i) {
    std::uint64_t bits = random();
    std::string id;
    for (int shift = 60; shift >= 0; shift -= 4) id += kHex[(bits >> shift) & 0xf];
    tokens.push_back({id, static_cast<std::uint32_t>(random())});
  }
  return tokens;
}

}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_many_ids_and_indexes) {
  VerpCodec codec = make_codec();
  for (const auto& token : sample_tokens()) {
    std::string text = codec.encode(token);
    BOOST_TEST_CONTEXT(token.queue_id << "/" << token.recipient_index << " -> " << text) {
      BOOST_TEST(text.size() <= VerpCodec::kMaxLocalPart);
      BOOST_TEST(lower_alnum(text));
      auto decoded = codec.decode(text);
      BOOST_REQUIRE(decoded.has_value());
      BOOST_TEST(decoded->queue_id == token.queue_id);
      BOOST_TEST(decoded->recipient_index == token.recipient_index);
    }
  }
}

BOOST_AUTO_TEST_CASE(lower_case_queue_id_comes_back_upper_case) {
  VerpCodec codec = make_codec();
  auto decoded = codec.decode(codec.encode({"0193a4f2c1d0000a", 7}));
  BOOST_REQUIRE(decoded.has_value());
  BOOST_TEST(decoded->queue_id == "0193A4F2C1D0000A");
  BOOST_TEST(decoded->recipient_index == 7u);
}

BOOST_AUTO_TEST_CASE(tokens_differ_per_recipient_and_are_stable) {
  VerpCodec codec = make_codec();
  BOOST_TEST(codec.encode({"0193A4F2C1D0000A", 0}) != codec.encode({"0193A4F2C1D0000A", 1}));
  BOOST_TEST(codec.encode({"0193A4F2C1D0000A", 3}) == make_codec().encode({"0193A4F2C1D0000A", 3}));
}

BOOST_AUTO_TEST_CASE(upper_and_mixed_case_still_decode) {
  VerpCodec codec = make_codec();
  for (const auto& token : sample_tokens()) {
    std::string text = codec.encode(token);
    std::string mixed = text;
    for (std::size_t i = 0; i < mixed.size(); i += 2)
      mixed[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(mixed[i])));
    for (const auto& variant : {to_upper(text), mixed}) {
      auto decoded = codec.decode(variant);
      BOOST_REQUIRE_MESSAGE(decoded.has_value(), variant);
      BOOST_TEST(decoded->queue_id == token.queue_id);
      BOOST_TEST(decoded->recipient_index == token.recipient_index);
    }
  }
}

BOOST_AUTO_TEST_CASE(every_single_character_change_is_rejected) {
  VerpCodec codec = make_codec();
  // Every position, every other printable ASCII character (the same letter in
  // the other case is not a change).
  for (const auto& token : {BounceToken{"0193A4F2C1D0000A", 0}, BounceToken{"FFFFFFFFFFFFFFFF", 0xffffffff},
                            BounceToken{"0000000000000000", 42}}) {
    const std::string text = codec.encode(token);
    for (std::size_t i = 0; i < text.size(); ++i) {
      for (int c = 0x21; c < 0x7f; ++c) {
        if (std::tolower(c) == text[i]) continue;
        std::string changed = text;
        changed[i] = static_cast<char>(c);
        BOOST_TEST(!codec.decode(changed).has_value(), "accepted " << changed << " from " << text);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(every_truncation_and_extension_is_rejected) {
  VerpCodec codec = make_codec();
  const std::string text = codec.encode({"0193A4F2C1D0000A", 12});
  for (std::size_t n = 0; n < text.size(); ++n) {
    BOOST_TEST(!codec.decode(text.substr(0, n)).has_value(), "prefix of " << n);
    BOOST_TEST(!codec.decode(text.substr(text.size() - n)).has_value(), "suffix of " << n);
  }
  BOOST_TEST(!codec.decode(text + "a").has_value());
  BOOST_TEST(!codec.decode(text + "=").has_value());
  BOOST_TEST(!codec.decode("").has_value());
}

BOOST_AUTO_TEST_CASE(token_from_another_secret_is_rejected) {
  VerpCodec codec = make_codec();
  VerpCodec other = make_codec(kOtherSecret);
  for (const auto& token : sample_tokens()) {
    BOOST_TEST(!codec.decode(other.encode(token)).has_value());
    BOOST_TEST(!other.decode(codec.encode(token)).has_value());
  }
}

BOOST_AUTO_TEST_CASE(garbage_is_rejected) {
  VerpCodec codec = make_codec();
  const std::string text = codec.encode({"0193A4F2C1D0000A", 1});
  std::string wrong_version = text;
  wrong_version[0] = 'w';
  for (const std::string& bad : {std::string(text.size(), 'a'), std::string(text.size(), '0'),
                                 wrong_version, std::string("postmaster"), std::string(64, 'v'),
                                 std::string(text.size(), '\0')}) {
    BOOST_TEST(!codec.decode(bad).has_value());
  }
}

BOOST_AUTO_TEST_CASE(short_secret_is_refused) {
  BOOST_TEST(!VerpCodec::create("").has_value());
  BOOST_TEST(!VerpCodec::create(std::string(VerpCodec::kMinSecretBytes - 1, 'k')).has_value());
  auto ok = VerpCodec::create(std::string(VerpCodec::kMinSecretBytes, 'k'));
  BOOST_TEST(ok.has_value());
  auto refused = VerpCodec::create("short");
  BOOST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().message.find("too short") != std::string::npos);
}
