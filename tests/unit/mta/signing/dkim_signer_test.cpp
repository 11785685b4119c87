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

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/stamp-dkim-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { fs::remove_all(path); }
};

void write_file(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  BOOST_REQUIRE(out.good());
}

// The verifier, started once per test case (importing dkimpy takes a while). Its
// arguments are triples (message file, key record file, DNS name); for each it
// prints "<index> PASS" or "<index> FAIL <reason>". dkimpy checks the first
// DKIM-Signature, and the DNS function serves the key record only under
// <selector>._domainkey.<domain>. so that s= and d= are checked too.
//
// When verifying, dkimpy hashes one more From than h= names (its fix for Debian
// bug #644046), which would reject a second From even if the signer had not
// oversigned it. The script undoes that, so dkimpy verifies RFC 6376 as written
// and the second-From checks below test stamp's oversigning, not dkimpy's.
constexpr char kVerifyScript[] = R"(
import logging, re, sys, dkim
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='dkimpy: %(message)s')
dkimpy_hash_headers = dkim.hash_headers
def strict_hash_headers(hasher, canon, headers, include_headers, sig_header, sig):
    named = [x.lower() for x in re.split(br"\s*:\s*", sig[b'h'])]
    if include_headers.count(b'from') > named.count(b'from') and include_headers[-1] == b'from':
        include_headers = include_headers[:-1]
    return dkimpy_hash_headers(hasher, canon, headers, include_headers, sig_header, sig)
dkim.hash_headers = strict_hash_headers
args = sys.argv[1:]
for i in range(0, len(args), 3):
    message = open(args[i], 'rb').read()
    record = open(args[i + 1], 'rb').read()
    name = args[i + 2].encode()
    def dnsfunc(qname, timeout=5, record=record, name=name):
        return record if qname == name else None
    reason = ''
    try:
        ok = dkim.DKIM(message).verify(dnsfunc=dnsfunc)
    except dkim.DKIMException as e:  # dkimpy 1.1.4 raises some failures (body hash mismatch)
        ok, reason = False, str(e)
    print('%d %s %s' % (i // 3, 'PASS' if ok else 'FAIL', reason), flush=True)
)";

// Runs /usr/bin/python3 (not the pyenv python3 on PATH, which has no dkim module)
// with `args`, and returns what it printed. A verifier that does not finish
// cleanly fails the test, so a negative check cannot pass because it is broken.
std::string run_verifier(std::vector<std::string> args) {
  int pipe_fds[2];
  BOOST_REQUIRE_EQUAL(pipe2(pipe_fds, O_CLOEXEC), 0);
  std::string script = kVerifyScript;
  std::vector<char*> argv = {const_cast<char*>("/usr/bin/python3"), const_cast<char*>("-c"),
                             script.data()};
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // A clean environment: no PYTHONPATH or PYTHONHOME from a pyenv shell.
  char* envp[] = {const_cast<char*>("PATH=/usr/bin:/bin"), const_cast<char*>("LC_ALL=C.UTF-8"),
                  const_cast<char*>("PYTHONDONTWRITEBYTECODE=1"), nullptr};
  pid_t pid = fork();
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    execve(argv[0], argv.data(), envp);
    _exit(127);
  }
  close(pipe_fds[1]);
  std::string output;
  char buffer[4096];
  for (;;) {
    ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  BOOST_REQUIRE_EQUAL(waitpid(pid, &status, 0), pid);
  BOOST_REQUIRE_MESSAGE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                        "the verifier did not run properly: " << output);
  return output;
}

enum class Verdict { Pass, Fail };

// Collects signed messages with the verdict expected for each, then checks them
// all with one verifier run.
class Dkimpy {
 public:
  void expect(Verdict verdict, std::string label, std::string_view signed_message,
              const TestKey& key, std::string_view selector = kSelector,
              std::string_view domain = kDomain) {
    std::string index = std::to_string(expected_.size());
    fs::path message_file = dir_.path / (index + ".eml");
    fs::path record_file = dir_.path / (index + ".txt");
    write_file(message_file, signed_message);
    write_file(record_file, key.dns_record);
    args_.push_back(message_file.string());
    args_.push_back(record_file.string());
    args_.push_back(std::string(selector) + "._domainkey." + std::string(domain) + ".");
    expected_.push_back({verdict, std::move(label)});
  }

  void check() {
    BOOST_REQUIRE(!expected_.empty());
    std::string output = run_verifier(args_);
    for (std::size_t i = 0; i < expected_.size(); ++i) {
      const auto& [verdict, label] = expected_[i];
      std::string prefix = std::to_string(i) + " ";
      std::size_t at = output.find("\n" + prefix);
      if (at != std::string::npos) {
        ++at;
      } else if (output.starts_with(prefix)) {
        at = 0;
      }
      BOOST_REQUIRE_MESSAGE(at != std::string::npos, "no verdict for " << label << ": " << output);
      std::string line = output.substr(at, output.find('\n', at) - at);
      bool passed = line.starts_with(prefix + "PASS");
      BOOST_CHECK_MESSAGE(passed == (verdict == Verdict::Pass),
                          label << ": expected " << (verdict == Verdict::Pass ? "PASS" : "FAIL")
                                << ", dkimpy said: " << line << "\n"
                                << output);
    }
    expected_.clear();
    args_.clear();
  }

 private:
  TempDir dir_;
  std::vector<std::pair<Verdict, std::string>> expected_;
  std::vector<std::string> args_;
};

// The tags of a DKIM-Signature header, unfolded, with whitespace removed from values
// (RFC 6376 section 3.2 allows FWS inside tag values; libopendkim folds h= and b=).
std::map<std::string, std::string> tags(std::string_view header) {
  std::string_view prefix = "DKIM-Signature:";
  BOOST_REQUIRE(header.starts_with(prefix));
  std::string value(header.substr(prefix.size()));
  std::map<std::string, std::string> result;
  std::size_t at = 0;
  while (at < value.size()) {
    std::size_t end = value.find(';', at);
    if (end == std::string::npos) end = value.size();
    std::string item;
    for (char c : value.substr(at, end - at)) {
      if (!std::isspace(static_cast<unsigned char>(c))) item += c;
    }
    std::size_t eq = item.find('=');
    if (eq != std::string::npos) result[item.substr(0, eq)] = item.substr(eq + 1);
    at = end + 1;
  }
  return result;
}

// h= as lower-case names, in order.
std::vector<std::string> signed_headers(std::string_view header) {
  std::string list = tags(header)["h"];
  std::transform(list.begin(), list.end(), list.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::vector<std::string> names;
  std::size_t at = 0;
  while (at <= list.size()) {
    std::size_t end = std::min(list.find(':', at), list.size());
    names.push_back(list.substr(at, end - at));
    at = end + 1;
  }
  return names;
}

long count_of(const std::vector<std::string>& names, std::string_view name) {
  return std::count(names.begin(), names.end(), name);
}

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

std::string replace_once(std::string text, std::string_view from, std::string_view to) {
  std::size_t at = text.find(from);
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

const std::string kSimple =
    "From: Alice <alice@example.test>\r\n"
    "To: bob@example.net\r\n"
    "Subject: Hello\r\n"
    "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
    "Message-ID: <simple.1@example.test>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hi Bob,\r\n"
    "\r\n"
    "just checking the signature.\r\n";

const std::string kListMail =
    "From: \"Example News\" <news@example.test>\r\n"
    "To: reader@example.net\r\n"
    "Cc: archive@example.org\r\n"
    "Reply-To: help@example.test\r\n"
    "Subject: Weekly digest\r\n"
    "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
    "Message-ID: <list.2@example.test>\r\n"
    "In-Reply-To: <list.1@example.test>\r\n"
    "References: <list.0@example.test> <list.1@example.test>\r\n"
    "List-Unsubscribe: <https://example.test/u/abc>, <mailto:unsub@example.test?subject=abc>\r\n"
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    "X-Mailer: stamp-test\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Digest body.  Trailing spaces here:   \r\n"
    "\tand a tab-indented line\r\n"
    "\r\n"
    "\r\n";

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

const std::string kEmptyBody =
    "From: alice@example.test\r\n"
    "To: bob@example.net\r\n"
    "Subject: (no body)\r\n"
    "\r\n";

const std::string kNoFinalNewline =
    "From: alice@example.test\r\n"
    "To: bob@example.net\r\n"
    "Subject: no final CRLF\r\n"
    "\r\n"
    "last line without CRLF";

const std::string kHeadersOnly =
    "From: alice@example.test\r\n"
    "To: bob@example.net\r\n"
    "Subject: no blank line, no body\r\n";

const std::string kHeadersOnlyNoFinalNewline =
    "From: alice@example.test\r\n"
    "Subject: not even a final CRLF";

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
