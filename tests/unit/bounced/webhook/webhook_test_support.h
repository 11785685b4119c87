// Test support for the webhook tests that talk to a real endpoint: a test PKI
// made with the openssl command line, the scripted receiver
// (tests/integration/webhook_receiver.py) as a child process, a fake resolver,
// and running an EventLoop until a condition holds (with a deadline, never a
// fixed sleep). Header-only: each *_test.cpp is its own executable.
#pragma once

#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/base/owned.h"
#include "common/dns/resolver.h"
#include "common/event/event_loop.h"

extern char** environ;

namespace webhook_test {

namespace fs = std::filesystem;

inline constexpr const char* kPython = "/usr/bin/python3";

struct TempDir {
  fs::path path;
  explicit TempDir(const char* stem = "stamp-webhook-test") {
    std::string pattern = std::string("/tmp/") + stem + "-XXXXXX";
    path = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Runs a program (no shell) and returns its exit status, -1 if it did not run.
inline int run_program(const std::vector<std::string>& argv, const fs::path& cwd = {}) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline void openssl(const std::vector<std::string>& args, const fs::path& dir) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string shown;
  for (const auto& a : argv) shown += a + " ";
  BOOST_REQUIRE_MESSAGE(run_program(argv, dir) == 0, "failed: " + shown);
}

// A test CA, a server certificate it signed for 127.0.0.1, ::1 and webhook.test,
// and a self-signed certificate for the same names that nothing trusts (as
// tests/integration/fake_mx.py make_ca/make_cert make them). Made once per
// test executable.
struct TestPki {
  TempDir dir{"stamp-webhook-pki"};
  fs::path ca_cert, ca_key, server_cert, server_key, untrusted_cert, untrusted_key;

  static const TestPki& get() {
    static TestPki pki;
    return pki;
  }

 private:
  TestPki() {
    const std::vector<std::string> ec_key{"-newkey", "ec", "-pkeyopt",
                                          "ec_paramgen_curve:prime256v1", "-nodes"};
    const fs::path d = dir.path;
    ca_cert = d / "ca.pem";
    ca_key = d / "ca.key";
    server_cert = d / "server.pem";
    server_key = d / "server.key";
    untrusted_cert = d / "untrusted.pem";
    untrusted_key = d / "untrusted.key";
    const std::string san = "subjectAltName=IP:127.0.0.1,IP:::1,DNS:webhook.test";
    auto with = [&](std::vector<std::string> head, const std::vector<std::string>& tail) {
      head.insert(head.end(), tail.begin(), tail.end());
      return head;
    };
    openssl(with({"req", "-x509"}, with(ec_key, {"-keyout", ca_key, "-out", ca_cert, "-days", "2",
                                                 "-subj", "/CN=Stamp Webhook Test CA", "-addext",
                                                 "basicConstraints=critical,CA:TRUE", "-addext",
                                                 "keyUsage=critical,keyCertSign,cRLSign"})),
            d);
    std::ofstream(d / "server.ext")
        << san << "\nbasicConstraints=critical,CA:FALSE\n"
        << "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n";
    openssl(with({"req", "-new"},
                 with(ec_key, {"-keyout", server_key, "-out", (d / "server.csr").string(), "-subj",
                               "/CN=127.0.0.1"})),
            d);
    openssl({"x509", "-req", "-in", (d / "server.csr").string(), "-CA", ca_cert, "-CAkey", ca_key,
             "-set_serial", "1001", "-days", "2", "-extfile", (d / "server.ext").string(), "-out",
             server_cert},
            d);
    openssl(
        with({"req", "-x509"}, with(ec_key, {"-keyout", untrusted_key, "-out", untrusted_cert,
                                             "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", san,
                                             "-addext", "basicConstraints=critical,CA:FALSE"})),
        d);
  }
};

inline fs::path receiver_script() {
  if (const char* env = std::getenv("STAMP_WEBHOOK_RECEIVER")) return env;
#ifdef STAMP_SOURCE_DIR
  return fs::path(STAMP_SOURCE_DIR) / "tests/integration/webhook_receiver.py";
#else
  // tests/unit/bounced/webhook/ -> tests/integration/
  return fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
         "integration" / "webhook_receiver.py";
#endif
}

// One recorded request.
struct ReceivedRequest {
  int seq = 0;
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // lower-case names
  int in_flight = 0;
  int status = 0;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

inline std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

struct ReceiverOptions {
  bool tls = true;
  bool untrusted_certificate = false;
  std::string statuses = "200";
  double delay_seconds = 0;
  int response_body_bytes = 0;
  std::string listen = "127.0.0.1";  // "::1" for IPv6
};

// webhook_receiver.py as a child process; stopped (SIGTERM) with its owner.
class Receiver {
 public:
  explicit Receiver(const ReceiverOptions& options = {}) : tls_(options.tls) {
    record_ = dir_.path / "requests.jsonl";
    std::vector<std::string> argv{kPython,
                                  receiver_script().string(),
                                  "--record",
                                  record_.string(),
                                  "--statuses",
                                  options.statuses,
                                  "--host",
                                  options.listen,
                                  "--exit-on-stdin-eof"};
    if (options.tls) {
      const auto& pki = TestPki::get();
      argv.insert(
          argv.end(),
          {"--cert",
           (options.untrusted_certificate ? pki.untrusted_cert : pki.server_cert).string(), "--key",
           (options.untrusted_certificate ? pki.untrusted_key : pki.server_key).string()});
    }
    if (options.delay_seconds > 0)
      argv.insert(argv.end(), {"--delay", std::to_string(options.delay_seconds)});
    if (options.response_body_bytes > 0) {
      argv.insert(argv.end(),
                  {"--response-body-bytes", std::to_string(options.response_body_bytes)});
    }
    int out[2], in[2];
    BOOST_REQUIRE(pipe2(out, O_CLOEXEC) == 0 && pipe2(in, O_CLOEXEC) == 0);
    stdout_.reset(new common::OwnedFd(out[0]));
    stdin_.reset(new common::OwnedFd(in[1]));
    common::OwnedFd child_out(out[1]), child_in(in[0]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, child_out.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, child_in.get(), 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, kPython, &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    BOOST_REQUIRE_MESSAGE(rc == 0, "cannot start the webhook receiver");
    port_ = read_port();
    BOOST_REQUIRE_MESSAGE(port_ > 0, "the webhook receiver did not print its port");
  }
  ~Receiver() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& host = "127.0.0.1",
                  const std::string& path = "/hooks/stamp") const {
    return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port_) + path;
  }

  std::vector<ReceivedRequest> requests() const {
    std::vector<ReceivedRequest> out;
    std::ifstream in(record_);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      boost::property_tree::ptree tree;
      std::istringstream text(line);
      boost::property_tree::read_json(text, tree);
      ReceivedRequest r;
      r.seq = tree.get<int>("seq");
      r.method = tree.get<std::string>("method");
      r.path = tree.get<std::string>("path");
      r.body = from_hex(tree.get<std::string>("body_hex"));
      r.in_flight = tree.get<int>("in_flight");
      r.status = tree.get<int>("status");
      for (const auto& [name, value] : tree.get_child("headers")) r.headers[name] = value.data();
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  int read_port() {
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_->get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const ssize_t n = ::read(stdout_->get(), buf, sizeof buf);
      if (n <= 0) return 0;
      text.append(buf, static_cast<std::size_t>(n));
      const auto end = text.find('\n');
      if (end != std::string::npos) {
        if (text.rfind("PORT ", 0) != 0) return 0;
        return std::stoi(text.substr(5, end - 5));
      }
    }
    return 0;
  }

  bool tls_;
  TempDir dir_{"stamp-webhook-receiver"};
  fs::path record_;
  pid_t pid_ = -1;
  int port_ = 0;
  std::unique_ptr<common::OwnedFd> stdout_, stdin_;
};

// Answers from a table, from the loop (never inside the call), like the real one.
class FakeResolver final : public common::dns::Resolver {
 public:
  explicit FakeResolver(common::event::EventLoop& loop) : loop_(loop) {}
  std::map<std::string, std::vector<std::string>> hosts;
  int lookups = 0;
  void resolve_mx(const std::string&, std::function<void(common::dns::MxAnswer)> done) override {
    loop_.post([done] { done(common::dns::MxAnswer{}); });
  }
  void resolve_addresses(const std::string& host,
                         std::function<void(common::dns::AddressAnswer)> done) override {
    ++lookups;
    common::dns::AddressAnswer answer;
    auto it = hosts.find(host);
    if (it == hosts.end()) {
      answer.outcome = common::dns::Outcome::NxDomain;
      answer.error = "no such host in the test table";
    } else {
      answer.outcome = common::dns::Outcome::Ok;
      answer.addresses = it->second;
    }
    loop_.post([done, answer] { done(answer); });
  }

 private:
  common::event::EventLoop& loop_;
};

using OwnedEvent = common::Owned<::event, &event_free>;

// Runs the loop until `condition` holds (checked every few milliseconds) or
// `timeout` passes; returns whether the condition held.
inline bool run_until(common::event::EventLoop& loop, const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout) {
  struct Check {
    common::event::EventLoop* loop;
    const std::function<bool()>* condition;
    std::chrono::steady_clock::time_point deadline;
    bool met = false;
  } check{&loop, &condition, std::chrono::steady_clock::now() + timeout};
  if (condition()) return true;
  auto on_tick = [](evutil_socket_t, short, void* arg) noexcept {
    auto* c = static_cast<Check*>(arg);
    c->met = (*c->condition)();
    if (c->met || std::chrono::steady_clock::now() >= c->deadline) c->loop->stop();
  };
  OwnedEvent tick(event_new(loop.base(), -1, EV_PERSIST, on_tick, &check));
  const timeval interval{0, 5000};
  event_add(tick.get(), &interval);
  BOOST_REQUIRE(loop.run());
  return check.met;
}

// Runs the loop for `duration` (to show something does NOT happen).
inline void run_for(common::event::EventLoop& loop, std::chrono::milliseconds duration) {
  run_until(
      loop, [] { return false; }, duration);
}

}  // namespace webhook_test
