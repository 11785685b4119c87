// SenderConfirmationStore: a token is random and stored only as its hash; it
// confirms once, not after it expires, not after it was cancelled; two
// connections racing on one token cannot both win; unredeem makes it usable
// again.
#include "common/store/sender_confirmation_store.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <boost/test/unit_test.hpp>
#include <cctype>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using common::store::RedeemFailure;
using common::store::SenderConfirmationStore;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/stamp-sender-confirmation-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::unique_ptr<SenderConfirmationStore> open_store(const fs::path& file) {
  auto store = SenderConfirmationStore::open(file);
  BOOST_REQUIRE_MESSAGE(store, (store ? "" : store.error().message));
  return std::move(*store);
}

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::int64_t kDay = 86'400;

}  // namespace

BOOST_AUTO_TEST_CASE(a_token_confirms_its_address_once) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  auto made = store->create("acme", "alice@customer.test", kDay, kNow);
  BOOST_REQUIRE(made);
  BOOST_TEST(made->token.size() == 32u);
  BOOST_TEST(made->token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
             std::string::npos);
  BOOST_TEST(made->expires_at == kNow + kDay);

  auto first = store->redeem(made->token, kNow + 10);
  BOOST_REQUIRE(first);
  BOOST_REQUIRE(first->has_value());
  BOOST_TEST((*first)->tenant == "acme");
  BOOST_TEST((*first)->address == "alice@customer.test");
  auto second = store->redeem(made->token, kNow + 20);
  BOOST_REQUIRE(second);
  BOOST_REQUIRE(!second->has_value());
  BOOST_TEST((second->error() == RedeemFailure::AlreadyUsed));

  BOOST_REQUIRE(store->unredeem(made->token));
  auto third = store->redeem(made->token, kNow + 30);
  BOOST_REQUIRE(third);
  BOOST_TEST(third->has_value());
}

BOOST_AUTO_TEST_CASE(expired_unknown_and_cancelled_tokens_confirm_nothing) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  auto made = store->create("acme", "alice@customer.test", kDay, kNow);
  BOOST_REQUIRE(made);
  auto late = store->redeem(made->token, kNow + kDay);  // expires_at itself is too late
  BOOST_REQUIRE(late);
  BOOST_TEST((!late->has_value() && late->error() == RedeemFailure::Expired));

  for (const std::string& token : {std::string(32, 'A'), std::string(""), std::string(500, 'x')}) {
    auto unknown = store->redeem(token, kNow);
    BOOST_REQUIRE(unknown);
    BOOST_TEST((!unknown->has_value() && unknown->error() == RedeemFailure::Unknown));
  }

  auto cancelled = store->create("acme", "bob@customer.test", kDay, kNow);
  BOOST_REQUIRE(cancelled);
  BOOST_REQUIRE(store->cancel(cancelled->token));
  auto gone = store->redeem(cancelled->token, kNow + 1);
  BOOST_REQUIRE(gone);
  BOOST_TEST((!gone->has_value() && gone->error() == RedeemFailure::Unknown));
}

BOOST_AUTO_TEST_CASE(only_the_hash_is_stored_and_tokens_differ) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  std::set<std::string> tokens;
  for (int i = 0; i < 50; ++i) {
    auto made = store->create("acme", "alice@customer.test", kDay, kNow);
    BOOST_REQUIRE(made);
    tokens.insert(made->token);
  }
  BOOST_TEST(tokens.size() == 50u);

  sqlite3* raw = nullptr;
  BOOST_REQUIRE(sqlite3_open((dir.path / "state.db").c_str(), &raw) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(raw, "SELECT token_sha256 FROM sender_confirmation", -1, &statement, nullptr) ==
                SQLITE_OK);
  int rows = 0;
  while (sqlite3_step(statement) == SQLITE_ROW) {
    std::string stored = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    BOOST_TEST(stored.size() == 64u);  // SHA-256 in hex
    BOOST_TEST(!tokens.contains(stored));
    ++rows;
  }
  sqlite3_finalize(statement);
  sqlite3_close(raw);
  BOOST_TEST(rows == 50);
}

BOOST_AUTO_TEST_CASE(of_two_connections_racing_on_one_token_exactly_one_wins) {
  TempDir dir;
  const fs::path file = dir.path / "state.db";
  auto maker = open_store(file);
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    auto made = maker->create("acme", "alice@customer.test", kDay, kNow);
    BOOST_REQUIRE(made);
    std::vector<std::unique_ptr<SenderConfirmationStore>> stores;
    for (int i = 0; i < 4; ++i) stores.push_back(open_store(file));
    std::vector<int> won(stores.size(), 0);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < stores.size(); ++i) {
      threads.emplace_back([&, i] {
        auto result = stores[i]->redeem(made->token, kNow + 1);
        won[i] = result && result->has_value() ? 1 : 0;
      });
    }
    for (auto& t : threads) t.join();
    int winners = 0;
    for (int w : won) winners += w;
    BOOST_TEST(winners == 1);
  }
}

BOOST_AUTO_TEST_CASE(a_token_never_starts_like_a_command_line_option) {
  // `stampctl sender confirm TOKEN`: a leading '-' would be read as an option.
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  for (int i = 0; i < 1000; ++i) {
    auto made = store->create("acme", "alice@customer.test", kDay, kNow);
    BOOST_REQUIRE(made);
    BOOST_TEST_REQUIRE(std::isalnum(static_cast<unsigned char>(made->token.front())), made->token);
  }
}
