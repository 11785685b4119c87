// Unit tests of the Ed25519 DKIM signer: every signature is checked by an
// independent verifier (dkimpy with python3-nacl, run with Debian's /usr/bin/python3,
// the key served by a fake DNS function as "k=ed25519; p=<raw key>"), however the
// message was chunked; tampering with a signed header or the body, or adding a
// second From, makes verification fail; bad keys, oversized header sections and
// misuse are errors. Keys come from `openssl genpkey -algorithm ed25519`.
#include "mta/signing/ed25519_signing.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <vector>

#include "common/base/owned.h"
#include "tests/unit/mta/signing/dkim_test_support.h"
#include "mta/signing/signed_headers.h"

namespace fs = std::filesystem;

namespace {

using OwnedPkey = common::Owned<EVP_PKEY, &EVP_PKEY_free>;
using OwnedBio = common::Owned<BIO, &BIO_free_all>;
using OwnedPipe = common::Owned<FILE, &pclose>;

constexpr char kDomain[] = "example.test";
constexpr char kSelector[] = "ed2026";
constexpr std::time_t kNow = 1772445600;  // 2026-03-02 10:00:00 UTC
// SHA-256 of zero bytes: the relaxed body hash of an empty body.
constexpr char kEmptyBodyHash[] = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

// What a shell command prints (it must succeed).
std::string shell(const std::string& command) {
  OwnedPipe pipe(popen(command.c_str(), "r"));
  BOOST_REQUIRE(pipe);
  std::string output;
  char buffer[4096];
  std::size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe.get())) > 0) output.append(buffer, n);
  int status = pclose(pipe.release());
  BOOST_REQUIRE_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                        "command failed: " << command << "\n"
                                           << output);
  return output;
}

struct TestKey {
  std::string pem;         // private key, PKCS#8 PEM
  std::string dns_record;  // "v=DKIM1; k=ed25519; p=<ed25519_dns_public_key>"
};

TestKey make_key() {
  TestKey key;
  key.pem = shell("openssl genpkey -algorithm ed25519 2>&1");
  BOOST_REQUIRE(key.pem.starts_with("-----BEGIN PRIVATE KEY-----"));
  auto p = mta::ed25519_dns_public_key(key.pem);
  BOOST_REQUIRE_MESSAGE(p, (p ? "" : p.error().message));
  key.dns_record = "v=DKIM1; k=ed25519; p=" + *p;
  return key;
}

const TestKey& ed_key() {
  static const TestKey key = make_key();
  return key;
}

mta::DkimKey dkim_key(const TestKey& key, std::string selector = kSelector,
                      std::string domain = kDomain) {
  return mta::DkimKey{std::move(domain), std::move(selector), key.pem};
}

// Feeds `message` in the pieces `sizes` gives (cycled; empty: all at once) and
// returns the DKIM-Signature header.
std::string sign_pieces(const mta::DkimKey& key, std::string_view message,
                        const std::vector<std::size_t>& sizes, std::time_t now = kNow) {
  auto signing = mta::begin_ed25519_signing(key, now);
  BOOST_REQUIRE_MESSAGE(signing, (signing ? "" : signing.error().message));
  std::size_t at = 0;
  for (std::size_t i = 0; at < message.size(); ++i) {
    std::size_t n = sizes.empty() ? message.size() : sizes[i % sizes.size()];
    auto st = (*signing)->chunk(message.substr(at, n));
    if (!st) BOOST_FAIL(st.error().message);  // not a check per byte
    at += n;
  }
  auto header = (*signing)->finish();
  BOOST_REQUIRE_MESSAGE(header, (header ? "" : header.error().message));
  return *header;
}

std::string sign(std::string_view message, std::size_t chunk = 0, const TestKey& key = ed_key()) {
  return sign_pieces(dkim_key(key), message,
                     chunk == 0 ? std::vector<std::size_t>{} : std::vector<std::size_t>{chunk});
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

// dkimpy, with the record of `key` (the shared test key by default) at this file's selector.
class Dkimpy : public dkim_test::DkimpyBatch {
 public:
  void expect(Verdict verdict, std::string label, std::string_view signed_message, const TestKey& key = ed_key()) {
    add(verdict, std::move(label), signed_message, key.dns_record,
        std::string(kSelector) + "._domainkey." + kDomain + ".");
  }
};

// CRLF line ends only, continuation lines start with white space, one trailing
// CRLF, no line over 78 characters.
void check_header_shape(std::string_view header) {
  BOOST_CHECK(header.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; "));
  BOOST_CHECK(header.ends_with("\r\n"));
  BOOST_CHECK(!header.substr(0, header.size() - 2).ends_with("\r\n"));
  bool well_folded = true;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] == '\n') {
      well_folded &= i > 0 && header[i - 1] == '\r';
      if (i + 1 < header.size()) well_folded &= header[i + 1] == '\t' || header[i + 1] == ' ';
      BOOST_CHECK_MESSAGE(i - 1 - line_start <= 78, "line over 78 characters in " << header);
      line_start = i + 1;
    }
    if (header[i] == '\r') well_folded &= i + 1 < header.size() && header[i + 1] == '\n';
  }
  BOOST_CHECK_MESSAGE(well_folded, "badly folded: " << header);
}

// Folded fields, odd white space (none after the colon, runs, tabs, trailing WSP,
// WSP-only continuation), names in odd case.
std::string folded_mail() {
  std::string to = "TO:";
  for (int i = 0; i < 30; ++i) {
    if (i > 0) to += (i % 2) ? ",\r\n\t" : ",  \r\n   ";
    to += "\"Recipient\t" + std::to_string(i) + "\"   <r" + std::to_string(i) + "@example.net>";
  }
  return "from:Alice  \t<alice@example.test>   \r\n" + to +
         "\r\n"
         "Subject:    =?utf-8?q?A_very_long_subject_that_is_folded?=  \r\n"
         "  =?utf-8?q?over_several_lines_=E2=9C=93?=\t\r\n"
         " \t \r\n"
         "\t=?utf-8?q?and_one_more?=\r\n"
         "DATE: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
         "Message-Id:<folded.3@example.test>\r\n"
         "\r\n"
         "body\r\n";
}

// Two To and two Received (not in the sign list), no Cc, Date or Message-ID.
const std::string kRepeated =
    "Received: from a.example.net by b.example.test; Mon, 02 Mar 2026 10:00:00 +0000\r\n"
    "To: first@example.net\r\n"
    "From: alice@example.test\r\n"
    "Received: from c.example.net by a.example.net; Mon, 02 Mar 2026 09:59:00 +0000\r\n"
    "Subject: repeated\r\n"
    "To: second@example.net\r\n"
    "\r\n"
    "body\r\n";

// White space at line ends, runs of it inside lines, empty lines inside and at
// the end, a WSP-only line before the trailing empty lines.
const std::string kBodyWhitespace =
    "From: alice@example.test\r\n"
    "To: bob@example.net\r\n"
    "Subject: white space\r\n"
    "\r\n"
    "  leading two spaces  \r\n"
    "a \t run\t\tof\t WSP \t\r\n"
    "\r\n"
    "after an empty line\r\n"
    " \t \r\n"
    "\r\n"
    "\r\n";

struct Case {
  const char* name;
  std::string message;
};

std::vector<Case> cases() {
  return {
      {"simple", kSimple},
      {"list", kListMail},
      {"folded", folded_mail()},
      {"repeated", kRepeated},
      {"body white space", kBodyWhitespace},
      {"empty body", kEmptyBody},
      {"no final CRLF", kNoFinalNewline},
      {"headers only", kHeadersOnly},
      {"headers only, no final CRLF", kHeadersOnlyNoFinalNewline},
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ed25519_signing)

// Every case verifies and has the expected tags, whether fed at once, byte by
// byte or in random pieces, and every chunking gives the same header, byte for
// byte (Ed25519 is deterministic for the same data and t=).
BOOST_AUTO_TEST_CASE(signatures_verify_however_the_message_is_chunked) {
  const TestKey& key = ed_key();
  Dkimpy dkimpy;
  std::mt19937 random(2026);
  for (const Case& c : cases()) {
    BOOST_TEST_CONTEXT("message " << c.name) {
      std::string whole = sign(c.message);
      BOOST_TEST_MESSAGE(c.name << ":\n" << whole);
      check_header_shape(whole);
      auto t = tags(whole);
      BOOST_CHECK_EQUAL(t["v"], "1");
      BOOST_CHECK_EQUAL(t["a"], "ed25519-sha256");
      BOOST_CHECK_EQUAL(t["c"], "relaxed/relaxed");
      BOOST_CHECK_EQUAL(t["d"], kDomain);
      BOOST_CHECK_EQUAL(t["s"], kSelector);
      BOOST_CHECK_EQUAL(t["t"], std::to_string(kNow));
      BOOST_CHECK_EQUAL(t["bh"].size(), 44u);
      BOOST_CHECK_EQUAL(t["b"].size(), 88u);  // 64 bytes
      dkimpy.expect(Verdict::Pass, std::string(c.name) + ", one chunk", whole + c.message, key);

      for (std::size_t chunk : {1, 2, 3, 7, 64, 4096}) {
        BOOST_CHECK_EQUAL(sign(c.message, chunk), whole);
      }
      for (int round = 0; round < 20; ++round) {
        std::vector<std::size_t> sizes;
        for (std::size_t total = 0; total < c.message.size();) {
          sizes.push_back(std::uniform_int_distribution<std::size_t>(0, 40)(random));
          total += sizes.back();
        }
        BOOST_CHECK_EQUAL(sign_pieces(dkim_key(key), c.message, sizes), whole);
      }
    }
  }
  dkimpy.check();
}

// Random messages (white space runs, folds, repeated and unsigned fields, bare CR,
// empty lines anywhere), fed in random pieces, all verify: the canonicalization
// agrees with dkimpy's beyond the hand-written cases. Each ends in CRLF, as it
// does on the wire (bare LF is left out: dkimpy reads it as a line end).
BOOST_AUTO_TEST_CASE(random_messages_verify) {
  std::mt19937 random(6376);
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
  };
  const std::vector<std::string> names = {
      "From", "to", "CC", "Subject", "Date", "X-Other", "Received", "Content-Type", "Message-ID"};
  const std::vector<std::string> value_parts = {"a",     "b@example.net", " ",        "\t", "  \t ",
                                                "\r\n ", "\r\n\t",        "\r\n  \t", ",",  "<x>"};
  const std::vector<std::string> body_parts = {"word", " ",        "\t", " \t  ", "\r\n",
                                               "\r\n", "\r\n\r\n", "\r", ".",     "x y"};
  Dkimpy dkimpy;
  for (int n = 0; n < 40; ++n) {
    std::string message = "From: first" + std::to_string(n) + "@example.test\r\n";
    for (std::size_t fields = pick(8); fields > 0; --fields) {
      message += names[pick(names.size())] + (pick(2) ? ":" : ": ");
      for (std::size_t parts = 1 + pick(6); parts > 0; --parts) {
        message += value_parts[pick(value_parts.size())];
      }
      message += "x\r\n";  // a fold needs text after it
    }
    message += "\r\n";
    for (std::size_t parts = pick(30); parts > 0; --parts) {
      message += body_parts[pick(body_parts.size())];
    }
    if (!message.ends_with("\r\n")) message += "\r\n";

    std::vector<std::size_t> sizes;
    for (int i = 0; i < 16; ++i) sizes.push_back(1 + pick(20));
    std::string header = sign(message);
    BOOST_CHECK_EQUAL(sign_pieces(dkim_key(ed_key()), message, sizes), header);
    check_header_shape(header);
    dkimpy.expect(Verdict::Pass, "random message " + std::to_string(n) + ":\n" + message,
                  header + message);
  }
  dkimpy.check();
}

BOOST_AUTO_TEST_CASE(present_headers_are_signed_once_per_instance_and_from_once_more) {
  auto names = signed_headers(sign(kListMail));
  const std::vector<std::string> list_names = {"from",
                                               "to",
                                               "cc",
                                               "reply-to",
                                               "subject",
                                               "date",
                                               "message-id",
                                               "in-reply-to",
                                               "references",
                                               "list-unsubscribe",
                                               "list-unsubscribe-post",
                                               "mime-version",
                                               "content-type",
                                               "from"};
  BOOST_CHECK_EQUAL_COLLECTIONS(names.begin(), names.end(), list_names.begin(), list_names.end());

  names = signed_headers(sign(kRepeated));
  const std::vector<std::string> repeated = {"to", "from", "subject", "to", "from"};
  BOOST_CHECK_EQUAL_COLLECTIONS(names.begin(), names.end(), repeated.begin(), repeated.end());

  names = signed_headers(sign(folded_mail()));
  const std::vector<std::string> folded = {"from", "to", "subject", "date", "message-id", "from"};
  BOOST_CHECK_EQUAL_COLLECTIONS(names.begin(), names.end(), folded.begin(), folded.end());

  // Every listed name is known to signed_headers.h; X-Mailer and Received are not.
  for (const std::string& name : signed_headers(sign(kListMail))) {
    BOOST_CHECK(std::find(mta::kDkimSignedHeaders.begin(), mta::kDkimSignedHeaders.end(), name) !=
                mta::kDkimSignedHeaders.end());
  }
  BOOST_CHECK_EQUAL(count_of(signed_headers(sign(kRepeated)), "received"), 0);
}

BOOST_AUTO_TEST_CASE(changing_what_was_signed_breaks_the_signature) {
  Dkimpy dkimpy;
  const std::string list = sign(kListMail) + kListMail;
  dkimpy.expect(Verdict::Pass, "as signed", list);
  dkimpy.expect(Verdict::Fail, "subject changed",
                replace_once(list, "Subject: Weekly digest", "Subject: Weekly digesT"));
  dkimpy.expect(Verdict::Fail, "body byte changed",
                replace_once(list, "Digest body.", "Digest b0dy."));
  // Headers are signed bottom-up (RFC 6376 section 5.4.2): a From added on top meets
  // the oversigned (empty) h= entry, one added at the bottom takes the real one's place.
  dkimpy.expect(Verdict::Fail, "second From on top", "From: Mallory <m@evil.test>\r\n" + list);
  dkimpy.expect(Verdict::Fail, "second From at the end of the header",
                replace_once(list, "\r\n\r\n", "\r\nFrom: Mallory <m@evil.test>\r\n\r\n"));
  // Controls: what relaxed canonicalization ignores, and a header outside the list,
  // may change, so the failures above come from what was signed. So may a listed
  // name that was absent (Cc here): h= names only the fields that occur, and only
  // From is oversigned (signed_headers.h), as with the RSA signer.
  dkimpy.expect(Verdict::Pass, "a listed but absent header added (Cc)",
                replace_once(sign(kSimple) + kSimple, "\r\nSubject: Hello",
                             "\r\nCc: eve@evil.test\r\nSubject: Hello"));
  dkimpy.expect(Verdict::Pass, "unsigned header added",
                replace_once(list, "X-Mailer:", "X-Added: yes\r\nX-Mailer:"));
  dkimpy.expect(
      Verdict::Pass, "header refolded, body WSP and trailing lines changed",
      replace_once(replace_once(list, "Subject: Weekly digest", "subject:Weekly \r\n\tdigest"),
                   "Digest body.  ", "Digest  body.\t") +
          "\r\n \r\n");

  // The two To fields are signed bottom-up; swapping them breaks the signature, as
  // does adding a third To or removing a Received (not signed: that passes).
  const std::string repeated = sign(kRepeated) + kRepeated;
  dkimpy.expect(Verdict::Pass, "repeated, as signed", repeated);
  std::string swapped = replace_once(repeated, "To: first@", "To: SECOND@");
  swapped = replace_once(swapped, "To: second@", "To: first@");
  swapped = replace_once(swapped, "To: SECOND@", "To: second@");
  dkimpy.expect(Verdict::Fail, "repeated, To fields swapped", swapped);
  dkimpy.expect(Verdict::Fail, "repeated, third To at the bottom",
                replace_once(repeated, "\r\n\r\n", "\r\nTo: third@example.net\r\n\r\n"));
  dkimpy.expect(Verdict::Pass, "repeated, a Received removed",
                replace_once(repeated,
                             "Received: from c.example.net by a.example.net; Mon, 02 Mar 2026 "
                             "09:59:00 +0000\r\n",
                             ""));
  dkimpy.check();
}

// RFC 6376 section 3.4.4: the relaxed body hash ignores WSP at line ends, WSP run
// lengths and empty lines at the end; an empty body hashes as zero bytes (as
// dkimpy and libopendkim do), and a body without a final CRLF as if it had one.
BOOST_AUTO_TEST_CASE(relaxed_body_hash) {
  auto bh = [](const std::string& message) { return tags(sign(message))["bh"]; };
  const std::string head = "From: alice@example.test\r\n\r\n";
  BOOST_CHECK_EQUAL(bh(kEmptyBody), kEmptyBodyHash);
  BOOST_CHECK_EQUAL(bh(kHeadersOnly), kEmptyBodyHash);
  BOOST_CHECK_EQUAL(bh(kHeadersOnlyNoFinalNewline), kEmptyBodyHash);
  BOOST_CHECK_EQUAL(bh(head + "\r\n\r\n"), kEmptyBodyHash);
  BOOST_CHECK_EQUAL(bh(head + " \t\r\n \r\n"), kEmptyBodyHash);
  BOOST_CHECK_EQUAL(bh(head + " \t"), kEmptyBodyHash);
  // "a b\r\n", however written.
  const std::string a_b = bh(head + "a b\r\n");
  for (std::string body :
       {"a b", "a b\r\n\r\n\r\n", "a \t b  \r\n", "a\tb\t", "a b\r\n \r\n\t\r\n"}) {
    BOOST_CHECK_MESSAGE(bh(head + body) == a_b, "body \"" << body << "\"");
  }
  // ...and what is not the same.
  for (std::string body :
       {"ab\r\n", " a b\r\n", "a b\r\n.\r\n", "\r\na b\r\n", "a b\r\r\n", "a\nb\r\n"}) {
    BOOST_CHECK_MESSAGE(bh(head + body) != a_b, "body \"" << body << "\"");
  }
  // The empty body and the one without a final CRLF are verified in the first
  // test as they are; a last unterminated line with WSP at its end is signed as the
  // line SMTP transmits (with CRLF), which is what a verifier receives.
  const std::string trailing_wsp = head + "line\r\nlast  \t";
  Dkimpy dkimpy;
  dkimpy.expect(Verdict::Pass, "last line with WSP, as transmitted",
                sign(trailing_wsp) + trailing_wsp + "\r\n");
  dkimpy.check();
}

BOOST_AUTO_TEST_CASE(the_signature_depends_on_time_and_key_only_as_it_should) {
  std::string first = sign(kSimple);
  BOOST_CHECK_EQUAL(sign(kSimple), first);  // deterministic
  std::string later = sign_pieces(dkim_key(ed_key()), kSimple, {}, kNow + 1);
  BOOST_CHECK_EQUAL(tags(later)["t"], std::to_string(kNow + 1));
  BOOST_CHECK_NE(tags(later)["b"], tags(first)["b"]);
  BOOST_CHECK_EQUAL(tags(later)["bh"], tags(first)["bh"]);

  // Another key signs differently, and the first key's record does not verify it.
  TestKey other = make_key();
  std::string by_other = sign(kSimple, 0, other);
  BOOST_CHECK_NE(tags(by_other)["b"], tags(first)["b"]);
  Dkimpy dkimpy;
  dkimpy.expect(Verdict::Pass, "later", later + kSimple);
  dkimpy.expect(Verdict::Pass, "other key", by_other + kSimple, other);
  dkimpy.expect(Verdict::Fail, "other key, first key's record", by_other + kSimple, ed_key());
  dkimpy.check();
}

// RFC 8463 section 4.2: p= is the raw 32-byte key in base64, the last 32 bytes of
// the DER SubjectPublicKeyInfo that openssl prints.
BOOST_AUTO_TEST_CASE(dns_public_key_is_the_raw_key) {
  TempDir dir;
  for (int i = 0; i < 3; ++i) {
    TestKey key = i == 0 ? ed_key() : make_key();
    auto p = mta::ed25519_dns_public_key(key.pem);
    BOOST_REQUIRE(p);
    BOOST_CHECK_EQUAL(p->size(), 44u);
    write_file(dir.path / "key.pem", key.pem);
    std::string expected = shell("openssl pkey -in " + (dir.path / "key.pem").string() +
                                 " -pubout -outform DER | tail -c 32 | base64");
    while (!expected.empty() && std::isspace(static_cast<unsigned char>(expected.back()))) {
      expected.pop_back();
    }
    BOOST_CHECK_EQUAL(*p, expected);
  }
  BOOST_CHECK(!mta::ed25519_dns_public_key("garbage"));
}

BOOST_AUTO_TEST_CASE(bad_keys_are_refused) {
  BOOST_CHECK(mta::check_ed25519_key(dkim_key(ed_key())));

  OwnedPkey rsa(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}));
  BOOST_REQUIRE(rsa);
  OwnedBio rsa_pem(BIO_new(BIO_s_mem()));
  BOOST_REQUIRE(rsa_pem);
  BOOST_REQUIRE_EQUAL(
      PEM_write_bio_PrivateKey(rsa_pem.get(), rsa.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  TempDir dir;
  write_file(dir.path / "key.pem", ed_key().pem);
  std::string encrypted = shell("openssl pkey -in " + (dir.path / "key.pem").string() +
                                " -aes256 -passout pass:secret");
  BOOST_REQUIRE(encrypted.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
  std::string public_only =
      shell("openssl pkey -in " + (dir.path / "key.pem").string() + " -pubout");
  const std::string& good = ed_key().pem;

  auto text = [](BIO* bio) {
    char* data = nullptr;
    long length = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(length));
  };
  const std::vector<std::pair<const char*, std::string>> bad = {
      {"empty", ""},
      {"garbage", "not a key at all"},
      {"empty PEM", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"},
      {"truncated PEM", good.substr(0, good.size() / 2)},
      {"RSA key", text(rsa_pem.get())},
      {"encrypted key", encrypted},
      {"public key", public_only},
  };
  for (const auto& [name, pem] : bad) {
    BOOST_TEST_CONTEXT("key " << name) {
      mta::DkimKey key{kDomain, kSelector, pem};
      auto checked = mta::check_ed25519_key(key);
      BOOST_REQUIRE(!checked);
      BOOST_TEST_MESSAGE(name << ": " << checked.error().message);
      BOOST_CHECK(checked.error().message.find("PRIVATE KEY") == std::string::npos);
      BOOST_CHECK(!mta::begin_ed25519_signing(key, kNow));
    }
  }
  for (const auto& [domain, selector] :
       std::vector<std::pair<std::string, std::string>>{{"", kSelector},
                                                        {kDomain, ""},
                                                        {kDomain, "a;b=c"},
                                                        {"example.test; x=y", kSelector},
                                                        {kDomain, "two words"}}) {
    BOOST_TEST_CONTEXT("domain \"" << domain << "\" selector \"" << selector << "\"") {
      mta::DkimKey key{domain, selector, good};
      BOOST_CHECK(!mta::check_ed25519_key(key));
      BOOST_CHECK(!mta::begin_ed25519_signing(key, kNow));
    }
  }
}

BOOST_AUTO_TEST_CASE(finish_twice_or_after_an_error_fails_and_empty_chunks_are_ignored) {
  auto signing = mta::begin_ed25519_signing(dkim_key(ed_key()), kNow);
  BOOST_REQUIRE(signing);
  std::string_view message = kSimple;
  BOOST_REQUIRE((*signing)->chunk(""));
  BOOST_REQUIRE((*signing)->chunk(message.substr(0, 40)));
  BOOST_REQUIRE((*signing)->chunk(""));
  BOOST_REQUIRE((*signing)->chunk(message.substr(40)));
  auto header = (*signing)->finish();
  BOOST_REQUIRE(header);
  BOOST_CHECK_EQUAL(*header, sign(kSimple));
  BOOST_CHECK(!(*signing)->chunk("more"));
  BOOST_CHECK(!(*signing)->finish());

  // The key may go away before the signing finishes.
  {
    auto key = std::make_unique<mta::DkimKey>(dkim_key(ed_key()));
    signing = mta::begin_ed25519_signing(*key, kNow);
    BOOST_REQUIRE(signing);
  }
  BOOST_REQUIRE((*signing)->chunk(kSimple));
  BOOST_CHECK_EQUAL(*(*signing)->finish(), sign(kSimple));
}

BOOST_AUTO_TEST_CASE(messages_that_cannot_be_signed_are_errors) {
  for (std::string_view message :
       {std::string_view(""), std::string_view("\r\nbody\r\n"),
        std::string_view("Subject: x\r\n\r\nbody\r\n"),
        std::string_view(" continued: first\r\nFrom: a@example.test\r\n\r\nbody\r\n"),
        std::string_view("From: a@example.test\r\nno colon here\r\n\r\nbody\r\n")}) {
    BOOST_TEST_CONTEXT("message \"" << message << "\"") {
      auto signing = mta::begin_ed25519_signing(dkim_key(ed_key()), kNow);
      BOOST_REQUIRE(signing);
      BOOST_REQUIRE((*signing)->chunk(message));
      auto header = (*signing)->finish();
      BOOST_CHECK_MESSAGE(!header, "signed: " << (header ? *header : ""));
      if (!header) BOOST_TEST_MESSAGE(header.error().message);
      BOOST_CHECK(!(*signing)->finish());
    }
  }
}

// The header section is kept in memory, so it is bounded; the body is not.
BOOST_AUTO_TEST_CASE(a_header_section_over_the_limit_is_an_error) {
  const std::string line = "X-Filler: " + std::string(990, 'x') + "\r\n";  // 1000 bytes
  std::string big_header = "From: alice@example.test\r\n";
  while (big_header.size() < mta::kEd25519MaxHeaderSectionBytes) big_header += line;
  const std::string over = big_header + "\r\nbody\r\n";

  std::string near = "From: alice@example.test\r\nSubject: near the limit\r\n";
  while (near.size() + line.size() + 2 <= mta::kEd25519MaxHeaderSectionBytes) near += line;
  near += "\r\n";
  BOOST_REQUIRE_LE(near.size(), mta::kEd25519MaxHeaderSectionBytes);
  std::string body;
  while (body.size() < 3 * mta::kEd25519MaxHeaderSectionBytes) body += line;
  near += body;

  Dkimpy dkimpy;
  for (std::size_t chunk : {std::size_t{0}, std::size_t{65536}, std::size_t{1000}}) {
    BOOST_TEST_CONTEXT("chunks of " << chunk) {
      std::string header = sign(near, chunk);
      if (chunk == 0) dkimpy.expect(Verdict::Pass, "header section near the limit", header + near);

      auto signing = mta::begin_ed25519_signing(dkim_key(ed_key()), kNow);
      BOOST_REQUIRE(signing);
      std::string_view message = over;
      common::Status st;
      std::size_t step = chunk == 0 ? message.size() : chunk;
      for (std::size_t at = 0; st && at < message.size(); at += step) {
        st = (*signing)->chunk(message.substr(at, step));
      }
      BOOST_REQUIRE(!st);
      BOOST_TEST_MESSAGE(st.error().message);
      BOOST_CHECK(!(*signing)->chunk("x"));
      BOOST_CHECK(!(*signing)->finish());
    }
  }
  dkimpy.check();
}

BOOST_AUTO_TEST_SUITE_END()
