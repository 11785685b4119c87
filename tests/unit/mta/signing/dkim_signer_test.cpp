// Unit tests of DkimSigner: every signature is checked by an independent verifier
// (dkimpy, run with Debian's /usr/bin/python3, key served by a fake DNS function),
// however the message was chunked and from however many threads; tampering with a
// signed header, or adding a second From, makes verification fail; bad keys and
// header fields too long for libopendkim are errors before libopendkim can leak
// memory or sign something unverifiable (run under ASan to see the difference).
#include "mta/signing/dkim_signer.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "common/base/base64.h"
#include "common/base/owned.h"
#include "tests/unit/mta/signing/dkim_test_support.h"

namespace fs = std::filesystem;

namespace {

using OwnedPkey = common::Owned<EVP_PKEY, &EVP_PKEY_free>;
using OwnedBio = common::Owned<BIO, &BIO_free_all>;

constexpr char kDomain[] = "example.test";
constexpr char kSelector[] = "sel2026";

struct TestKey {
  std::string pem;         // private key
  std::string dns_record;  // "v=DKIM1; k=rsa; p=<base64 DER SubjectPublicKeyInfo>"
};

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(length));
}

// pkcs1: "BEGIN RSA PRIVATE KEY" (traditional) instead of PKCS#8 "BEGIN PRIVATE KEY".
TestKey make_key(OwnedPkey pkey, bool pkcs1 = false) {
  BOOST_REQUIRE(pkey);
  OwnedBio bio(BIO_new(BIO_s_mem()));
  BOOST_REQUIRE(bio);
  int written = pkcs1 ? PEM_write_bio_PrivateKey_traditional(bio.get(), pkey.get(), nullptr,
                                                             nullptr, 0, nullptr, nullptr)
                      : PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0,
                                                 nullptr, nullptr);
  BOOST_REQUIRE_EQUAL(written, 1);
  TestKey key;
  key.pem = bio_text(bio.get());

  int der_length = i2d_PUBKEY(pkey.get(), nullptr);
  BOOST_REQUIRE_GT(der_length, 0);
  std::string der(static_cast<std::size_t>(der_length), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  BOOST_REQUIRE_EQUAL(i2d_PUBKEY(pkey.get(), &out), der_length);
  key.dns_record = "v=DKIM1; k=rsa; p=" + common::base64_encode(der);
  return key;
}

OwnedPkey generate(const char* type, std::size_t rsa_bits = 0) {
  if (rsa_bits != 0) return OwnedPkey(EVP_PKEY_Q_keygen(nullptr, nullptr, type, rsa_bits));
  return OwnedPkey(EVP_PKEY_Q_keygen(nullptr, nullptr, type));
}

// RSA-2048 generation takes a while: once per test program.
const TestKey& rsa_key() {
  static const TestKey key = make_key(generate("RSA", 2048));
  return key;
}

mta::DkimKey dkim_key(const TestKey& key, std::string selector = kSelector,
                      std::string domain = kDomain) {
  return mta::DkimKey{std::move(domain), std::move(selector), key.pem};
}

std::unique_ptr<mta::DkimSigner> make_signer() {
  auto signer = mta::DkimSigner::create();
  BOOST_REQUIRE_MESSAGE(signer, (signer ? "" : signer.error().message));
  return std::move(*signer);
}

// Feeds `message` in pieces of `chunk` bytes (0: all at once) and returns the
// DKIM-Signature header.
std::string sign(const mta::DkimSigner& signer, const mta::DkimKey& key, std::string_view message,
                 std::size_t chunk = 0) {
  auto signing = signer.begin(key);
  BOOST_REQUIRE_MESSAGE(signing, (signing ? "" : signing.error().message));
  if (chunk == 0) chunk = std::max<std::size_t>(message.size(), 1);
  for (std::size_t at = 0; at < message.size(); at += chunk) {
    auto st = (*signing)->chunk(message.substr(at, chunk));
    if (!st) BOOST_FAIL(st.error().message);  // not a check per byte
  }
  auto header = (*signing)->finish();
  BOOST_REQUIRE_MESSAGE(header, (header ? "" : header.error().message));
  return *header;
}

using dkim_test::kSimple;
using dkim_test::kListMail;
using dkim_test::kEmptyBody;
using dkim_test::kNoFinalNewline;
using dkim_test::kHeadersOnly;
using dkim_test::kHeadersOnlyNoFinalNewline;
using dkim_test::count_of;
using dkim_test::replace_once;
using dkim_test::signed_headers;
using dkim_test::tags;
using dkim_test::TempDir;
using dkim_test::Verdict;
using dkim_test::write_file;

// dkimpy, with this file's selector and domain by default.
class Dkimpy : public dkim_test::DkimpyBatch {
 public:
  void expect(Verdict verdict, std::string label, std::string_view signed_message, const TestKey& key,
              std::string_view selector = kSelector, std::string_view domain = kDomain) {
    add(verdict, std::move(label), signed_message, key.dns_record,
        std::string(selector) + "._domainkey." + std::string(domain) + ".");
  }
};

// Lines end in CRLF only, continuation lines start with white space, one trailing CRLF.
void check_header_shape(std::string_view header) {
  BOOST_CHECK(header.starts_with("DKIM-Signature: v=1; a=rsa-sha256; "));
  BOOST_CHECK(header.ends_with("\r\n"));
  BOOST_CHECK(!header.substr(0, header.size() - 2).ends_with("\r\n"));
  BOOST_CHECK_EQUAL(header.find("\r\r"), std::string_view::npos);
  bool well_folded = true;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == '\n') {
      well_folded &= i > 0 && header[i - 1] == '\r';
      if (i + 1 < header.size()) well_folded &= header[i + 1] == '\t' || header[i + 1] == ' ';
    }
    if (header[i] == '\r') well_folded &= i + 1 < header.size() && header[i + 1] == '\n';
  }
  BOOST_CHECK_MESSAGE(well_folded, "badly folded: " << header);
}

std::string folded_mail() {
  std::string to = "To: ";
  for (int i = 0; i < 40; ++i) {
    if (i > 0) to += (i % 2) ? ",\r\n\t" : ",\r\n   ";
    to += "\"Recipient " + std::to_string(i) + "\" <r" + std::to_string(i) + "@example.net>";
  }
  std::string body;
  for (int i = 0; i < 200; ++i) body += "Line " + std::to_string(i) + std::string(70, 'x') + "\r\n";
  return "From: Alice <alice@example.test>\r\n" + to +
         "\r\n"
         "Subject: =?utf-8?q?A_very_long_subject_that_is_folded?=\r\n"
         "  =?utf-8?q?over_several_lines_=E2=9C=93?=\r\n"
         "\t=?utf-8?q?and_one_more?=\r\n"
         "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
         "Message-ID: <folded.3@example.test>\r\n"
         "\r\n" +
         body;
}

struct Case {
  const char* name;
  std::string message;
  std::vector<std::string> signed_present;  // must be in h= (besides the two from)
  std::vector<std::string> not_signed;      // must not be in h=
};

std::vector<Case> cases() {
  return {
      {"simple",
       kSimple,
       {"to", "subject", "date", "message-id", "mime-version", "content-type"},
       {"cc", "reply-to", "list-unsubscribe"}},
      {"list",
       kListMail,
       {"to", "cc", "reply-to", "subject", "date", "message-id", "in-reply-to", "references",
        "list-unsubscribe", "list-unsubscribe-post", "mime-version", "content-type"},
       {"x-mailer"}},
      {"folded", folded_mail(), {"to", "subject", "date", "message-id"}, {"cc", "content-type"}},
      {"empty body", kEmptyBody, {"to", "subject"}, {"date", "message-id"}},
      {"no final CRLF", kNoFinalNewline, {"to", "subject"}, {"date"}},
      {"headers only", kHeadersOnly, {"to", "subject"}, {"date"}},
      {"headers only, no final CRLF", kHeadersOnlyNoFinalNewline, {"subject"}, {"to"}},
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dkim_signer)

// Every case verifies, whether fed at once or byte by byte, and any chunking
// gives the same body hash and header list.
BOOST_AUTO_TEST_CASE(signatures_verify_however_the_message_is_chunked) {
  auto signer = make_signer();
  const TestKey& key = rsa_key();
  Dkimpy dkimpy;
  for (const Case& c : cases()) {
    BOOST_TEST_CONTEXT("message " << c.name) {
      std::string whole = sign(*signer, dkim_key(key), c.message);
      check_header_shape(whole);
      auto whole_tags = tags(whole);
      BOOST_CHECK_EQUAL(whole_tags["v"], "1");
      BOOST_CHECK_EQUAL(whole_tags["a"], "rsa-sha256");
      BOOST_CHECK_EQUAL(whole_tags["c"], "relaxed/relaxed");
      BOOST_CHECK_EQUAL(whole_tags["d"], kDomain);
      BOOST_CHECK_EQUAL(whole_tags["s"], kSelector);
      dkimpy.expect(Verdict::Pass, std::string(c.name) + ", one chunk", whole + c.message, key);

      for (std::size_t chunk : {1, 2, 3, 7, 64, 4096}) {
        BOOST_TEST_CONTEXT("chunks of " << chunk) {
          std::string piecewise = sign(*signer, dkim_key(key), c.message, chunk);
          auto piecewise_tags = tags(piecewise);
          BOOST_CHECK_EQUAL(piecewise_tags["bh"], whole_tags["bh"]);
          BOOST_CHECK_EQUAL(piecewise_tags["h"], whole_tags["h"]);
          if (chunk == 1) {
            dkimpy.expect(Verdict::Pass, std::string(c.name) + ", 1-byte chunks",
                          piecewise + c.message, key);
          }
        }
      }
    }
  }
  dkimpy.check();
}

BOOST_AUTO_TEST_CASE(from_is_oversigned_and_present_headers_are_signed) {
  auto signer = make_signer();
  for (const Case& c : cases()) {
    BOOST_TEST_CONTEXT("message " << c.name) {
      auto names = signed_headers(sign(*signer, dkim_key(rsa_key()), c.message));
      BOOST_CHECK_EQUAL(count_of(names, "from"), 2);
      for (const std::string& name : c.signed_present) {
        BOOST_CHECK_MESSAGE(count_of(names, name) == 1, name << " signed once");
      }
      for (const std::string& name : c.not_signed) {
        BOOST_CHECK_MESSAGE(count_of(names, name) == 0, name << " not signed");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(changing_a_signed_header_or_adding_a_from_breaks_the_signature) {
  auto signer = make_signer();
  const TestKey& key = rsa_key();
  const std::string signed_message = sign(*signer, dkim_key(key), kListMail) + kListMail;
  Dkimpy dkimpy;
  dkimpy.expect(Verdict::Pass, "as signed", signed_message, key);
  dkimpy.expect(Verdict::Fail, "subject changed",
                replace_once(signed_message, "Subject: Weekly digest", "Subject: Weekly digesT"),
                key);
  // Headers are signed bottom-up (RFC 6376 section 5.4.2): a From added on top meets
  // the oversigned (empty) h= entry, one added at the bottom takes the real one's place.
  dkimpy.expect(Verdict::Fail, "second From on top",
                "From: Mallory <m@evil.test>\r\n" + signed_message, key);
  dkimpy.expect(Verdict::Fail, "second From at the end of the header",
                replace_once(signed_message, "\r\n\r\n", "\r\nFrom: Mallory <m@evil.test>\r\n\r\n"),
                key);
  dkimpy.expect(Verdict::Fail, "body changed",
                replace_once(signed_message, "Digest body.", "Digest b0dy."), key);
  // The control: a header outside the sign list may be added, so the failures above
  // come from what was signed, not from any change at all.
  dkimpy.expect(Verdict::Pass, "unsigned header added",
                replace_once(signed_message, "X-Mailer:", "X-Added: yes\r\nX-Mailer:"), key);
  dkimpy.check();
}

// One signer serves interleaved messages with different keys (PKCS#8 and PKCS#1)
// and domains, and a signing in progress outlives the signer that began it.
BOOST_AUTO_TEST_CASE(signings_are_independent_and_outlive_the_signer) {
  auto signer = make_signer();
  const TestKey& key_a = rsa_key();
  BOOST_REQUIRE(key_a.pem.starts_with("-----BEGIN PRIVATE KEY-----"));
  TestKey key_b = make_key(generate("RSA", 2048), /*pkcs1=*/true);
  BOOST_REQUIRE(key_b.pem.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
  auto a = signer->begin(dkim_key(key_a));
  auto b = signer->begin(dkim_key(key_b, "other", "example.org"));
  BOOST_REQUIRE(a && b);
  signer.reset();
  for (std::size_t at = 0; at < std::max(kSimple.size(), kListMail.size()); at += 5) {
    if (at < kSimple.size()) BOOST_REQUIRE((*a)->chunk(std::string_view(kSimple).substr(at, 5)));
    if (at < kListMail.size()) {
      BOOST_REQUIRE((*b)->chunk(std::string_view(kListMail).substr(at, 5)));
    }
  }
  auto header_a = (*a)->finish();
  auto header_b = (*b)->finish();
  BOOST_REQUIRE(header_a && header_b);
  Dkimpy dkimpy;
  dkimpy.expect(Verdict::Pass, "message a", *header_a + kSimple, key_a);
  dkimpy.expect(Verdict::Pass, "message b", *header_b + kListMail, key_b, "other", "example.org");
  // Each signature names its own key: a's key does not verify b.
  dkimpy.expect(Verdict::Fail, "message b, key a", *header_b + kListMail, key_a, "other",
                "example.org");
  dkimpy.check();
}

// begin() is documented as safe from several threads: one signer, four threads
// (Boost.Test checks stay on the main thread).
BOOST_AUTO_TEST_CASE(one_signer_serves_several_threads) {
  auto signer = make_signer();
  const TestKey& key = rsa_key();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10;
  std::vector<std::vector<std::string>> headers(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto signing = signer->begin(dkim_key(key));
        if (!signing) return void(errors[t] = signing.error().message);
        std::string_view message = kListMail;
        for (std::size_t at = 0; at < message.size(); at += 13 + t) {
          if (auto st = (*signing)->chunk(message.substr(at, 13 + t)); !st) {
            return void(errors[t] = st.error().message);
          }
        }
        auto header = (*signing)->finish();
        if (!header) return void(errors[t] = header.error().message);
        headers[t].push_back(*header);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  Dkimpy dkimpy;
  for (int t = 0; t < kThreads; ++t) {
    BOOST_TEST_CONTEXT("thread " << t) {
      BOOST_CHECK_EQUAL(errors[t], "");
      BOOST_REQUIRE_EQUAL(headers[t].size(), std::size_t{kPerThread});
      for (const std::string& header : headers[t]) {
        BOOST_CHECK_EQUAL(tags(header)["bh"], tags(headers[0][0])["bh"]);
      }
      dkimpy.expect(Verdict::Pass, "thread " + std::to_string(t), headers[t].back() + kListMail,
                    key);
    }
  }
  dkimpy.check();
}

BOOST_AUTO_TEST_CASE(empty_chunks_are_ignored_and_a_finished_signing_refuses_more) {
  auto signer = make_signer();
  auto signing = signer->begin(dkim_key(rsa_key()));
  BOOST_REQUIRE(signing);
  std::string_view message = kSimple;
  BOOST_REQUIRE((*signing)->chunk(""));  // would end the message if passed through
  BOOST_REQUIRE((*signing)->chunk(message.substr(0, 40)));
  BOOST_REQUIRE((*signing)->chunk(""));
  BOOST_REQUIRE((*signing)->chunk(message.substr(40)));
  auto header = (*signing)->finish();
  BOOST_REQUIRE(header);
  // The same body hash as the message fed at once, which is verified above.
  BOOST_CHECK_EQUAL(tags(*header)["bh"], tags(sign(*signer, dkim_key(rsa_key()), kSimple))["bh"]);

  BOOST_CHECK(!(*signing)->chunk("more"));
  BOOST_CHECK(!(*signing)->finish());
}

// Bad keys are refused by check_key() and by begin(), before libopendkim sees them
// (it leaks memory, or worse, on several of these; the ASan build checks that), and
// the error does not repeat the key.
BOOST_AUTO_TEST_CASE(malformed_keys_are_errors) {
  auto signer = make_signer();
  const std::string good = rsa_key().pem;
  BOOST_CHECK(mta::DkimSigner::check_key(dkim_key(rsa_key())));
  BOOST_CHECK(mta::DkimSigner::check_key(dkim_key(make_key(generate("RSA", 1024), true))));

  OwnedBio encrypted(BIO_new(BIO_s_mem()));
  BOOST_REQUIRE(encrypted);
  OwnedPkey rsa = generate("RSA", 1024);
  char passphrase[] = "secret";
  BOOST_REQUIRE_EQUAL(PEM_write_bio_PKCS8PrivateKey(encrypted.get(), rsa.get(), EVP_aes_256_cbc(),
                                                    passphrase, 6, nullptr, nullptr),
                      1);

  const std::vector<std::pair<const char*, std::string>> bad = {
      {"empty", ""},
      {"not a key", "not a key"},
      {"empty PEM", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
      {"truncated PEM", good.substr(0, good.size() / 2)},
      {"PEM with a corrupted body", replace_once(good, "\n", "\n!!!!")},
      {"PEM after white space", "\n" + good},
      {"encrypted PEM", bio_text(encrypted.get())},
      // libopendkim reads "MII..." as base64 DER and reads past its buffer when
      // the base64 is bad (seen under ASan before begin() checked keys).
      {"bad base64 DER", "MIIE!!!! not base64"},
      {"Ed25519 key", make_key(generate("ED25519")).pem},
      {"RSA key below 1024 bits", make_key(generate("RSA", 512)).pem},
  };
  for (const auto& [name, pem] : bad) {
    BOOST_TEST_CONTEXT("key " << name) {
      mta::DkimKey key{kDomain, kSelector, pem};
      auto checked = mta::DkimSigner::check_key(key);
      BOOST_REQUIRE(!checked);
      BOOST_TEST_MESSAGE(name << ": " << checked.error().message);
      BOOST_CHECK(checked.error().message.find("PRIVATE KEY") == std::string::npos);
      auto signing = signer->begin(key);
      BOOST_REQUIRE(!signing);
      BOOST_CHECK_EQUAL(signing.error().message, checked.error().message);
    }
  }
  // The signer still works afterwards (sign() requires success).
  check_header_shape(sign(*signer, dkim_key(rsa_key()), kSimple));
}

BOOST_AUTO_TEST_CASE(a_message_without_from_is_an_error) {
  auto signer = make_signer();
  for (std::string_view message :
       {std::string_view(""), std::string_view("Subject: x\r\n\r\nbody\r\n")}) {
    BOOST_TEST_CONTEXT("message \"" << message << "\"") {
      auto signing = signer->begin(dkim_key(rsa_key()));
      BOOST_REQUIRE(signing);
      // libopendkim notices at the end of the header block, in chunk() or finish().
      auto st = (*signing)->chunk(message);
      if (!st) {
        BOOST_TEST_MESSAGE(st.error().message);
        BOOST_CHECK(!(*signing)->finish());
        continue;
      }
      auto header = (*signing)->finish();
      BOOST_CHECK_MESSAGE(!header, "signed: " << (header ? *header : ""));
      if (!header) BOOST_TEST_MESSAGE(header.error().message);
    }
  }
}

// libopendkim cuts header fields longer than its 64 KiB buffer short without an
// error, signing something that cannot verify: DkimSigner refuses them instead.
BOOST_AUTO_TEST_CASE(a_header_field_too_long_for_libopendkim_is_an_error) {
  auto signer = make_signer();
  auto message_with_to_of = [](int addresses) {
    std::string to = "To: r0@example.net";
    for (int i = 1; i < addresses; ++i) to += ",\r\n r" + std::to_string(i) + "@example.net";
    return "From: alice@example.test\r\n" + to + "\r\nSubject: many\r\n\r\nbody\r\n";
  };
  // A To field of about 62 KB, and a 100 KB body line (only header fields count).
  std::string near_limit = message_with_to_of(3000) + std::string(100'000, 'x') + "\r\n";
  std::string over_limit = message_with_to_of(3300);  // about 68 KB
  Dkimpy dkimpy;
  for (std::size_t chunk : {0, 1}) {
    BOOST_TEST_CONTEXT("chunks of " << chunk) {
      dkimpy.expect(Verdict::Pass, "62 KB field, chunks of " + std::to_string(chunk),
                    sign(*signer, dkim_key(rsa_key()), near_limit, chunk) + near_limit, rsa_key());
      auto signing = signer->begin(dkim_key(rsa_key()));
      BOOST_REQUIRE(signing);
      std::string_view message = over_limit;
      common::Status st;
      std::size_t step = chunk == 0 ? message.size() : chunk;
      for (std::size_t at = 0; st && at < message.size(); at += step) {
        st = (*signing)->chunk(message.substr(at, step));
      }
      BOOST_REQUIRE(!st);
      BOOST_TEST_MESSAGE(st.error().message);
      BOOST_CHECK(!(*signing)->finish());
    }
  }
  dkimpy.check();
}

// Also once the key itself is known to be good.
BOOST_AUTO_TEST_CASE(missing_domain_or_selector_is_an_error) {
  auto signer = make_signer();
  sign(*signer, dkim_key(rsa_key()), kSimple);
  BOOST_CHECK(!signer->begin(mta::DkimKey{"", kSelector, rsa_key().pem}));
  BOOST_CHECK(!signer->begin(mta::DkimKey{kDomain, "", rsa_key().pem}));
}

BOOST_AUTO_TEST_SUITE_END()
