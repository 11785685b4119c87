// What the DKIM signer tests share (dkim_signer_test.cpp for libopendkim's
// rsa-sha256, ed25519_signing_test.cpp for ours): an independent verifier, Debian's
// dkimpy run by /usr/bin/python3 with the key record handed to it, and readers of
// the DKIM-Signature tags. Header-only: each test file is its own executable.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dkim_test {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char pattern[] = "/tmp/stamp-dkim-verify-test-XXXXXX";
    BOOST_REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { fs::remove_all(path); }
};

inline void write_file(const fs::path& path, std::string_view data) {
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
inline std::string run_verifier(std::vector<std::string> args) {
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
// all with one verifier run. `dns_name` is where the key record is served:
// "<selector>._domainkey.<domain>." (so s= and d= are checked too).
class DkimpyBatch {
 public:
  void add(Verdict verdict, std::string label, std::string_view signed_message, std::string_view dns_record,
           std::string dns_name) {
    std::string index = std::to_string(expected_.size());
    fs::path message_file = dir_.path / (index + ".eml");
    fs::path record_file = dir_.path / (index + ".txt");
    write_file(message_file, signed_message);
    write_file(record_file, dns_record);
    args_.push_back(message_file.string());
    args_.push_back(record_file.string());
    args_.push_back(std::move(dns_name));
    expected_.push_back({verdict, std::move(label)});
  }

  void check() {
    BOOST_REQUIRE(!expected_.empty());
    std::string output = "\n" + run_verifier(args_);
    for (std::size_t i = 0; i < expected_.size(); ++i) {
      const auto& [verdict, label] = expected_[i];
      std::string prefix = std::to_string(i) + " ";
      std::size_t at = output.find("\n" + prefix);
      BOOST_REQUIRE_MESSAGE(at != std::string::npos, "no verdict for " << label << ": " << output);
      ++at;
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
inline std::map<std::string, std::string> tags(std::string_view header) {
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
inline std::vector<std::string> signed_headers(std::string_view header) {
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

inline long count_of(const std::vector<std::string>& names, std::string_view name) {
  return std::count(names.begin(), names.end(), name);
}

inline std::string replace_once(std::string text, std::string_view from, std::string_view to) {
  std::size_t at = text.find(from);
  BOOST_REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

// Messages both signers are tested on (CRLF, as they leave stamp).
inline const std::string kSimple =
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
inline const std::string kListMail =
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
inline const std::string kEmptyBody =
    "From: alice@example.test\r\n"
    "To: bob@example.net\r\n"
    "Subject: (no body)\r\n"
    "\r\n";
inline const std::string kNoFinalNewline =
    "From: alice@example.test\r\n"
    "To: bob@example.net\r\n"
    "Subject: no final CRLF\r\n"
    "\r\n"
    "last line without CRLF";
inline const std::string kHeadersOnly =
    "From: alice@example.test\r\n"
    "To: bob@example.net\r\n"
    "Subject: no blank line, no body\r\n";
inline const std::string kHeadersOnlyNoFinalNewline =
    "From: alice@example.test\r\n"
    "Subject: not even a final CRLF";

}  // namespace dkim_test
