// Unit tests of the socket-free SMTP server state machine (common::smtp::ServerSession).
//
// The session is driven as a dialogue: bytes in through feed(), replies and actions
// out through a recording SessionIo, decisions from a scripted SessionHandler that
// can answer at once or be held and completed later. Covered: whole/split/byte-wise
// feeding, pipelining, DATA transparency and SMTP smuggling, every limit, command
// sequencing, EHLO keywords, STARTTLS, AUTH, asynchronous handlers, ESMTP/DSN
// parameters and a seeded differential fuzz loop. Every reply of every session is
// checked against the reply grammar (RFC 5321 4.2) and RFC 2034's enhanced-code
// rule when the test harness goes away.
//
// Not covered here: the libevent adapter (server_connection.cpp) and the parser's
// corner cases (command_parser_test.cpp).
#include "common/smtp/server_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/base64.h"
#include "common/base/cidr.h"
#include "common/base/log.h"

using namespace std::string_literals;
using namespace common::smtp;

namespace common::smtp {
// How Boost.Test prints a state in a failed check (found by ADL).
std::ostream& boost_test_print_type(std::ostream& os, SmtpState state) {
  return os << state_name(state);
}
}  // namespace common::smtp

namespace {

constexpr std::string_view kHost = "mx.test.example";

// Printable form of protocol bytes for assertion messages.
std::string escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 32 || c >= 127) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string b64(std::string_view s) { return common::base64_encode(s); }

// --- Fakes -------------------------------------------------------------------

// Records everything the session asks of its connection.
class RecordingIo : public SessionIo {
 public:
  void send(std::string_view bytes) override {
    if (close_calls > 0) ++sends_after_close;
    sent.append(bytes);
    replies.emplace_back(bytes);
  }
  void start_tls() override { ++start_tls_calls; }
  void close() override { ++close_calls; }
  std::size_t pending_output() const override { return 0; }
  void schedule_resume() override { resume_requested = true; }

  std::string sent;
  std::vector<std::string> replies;  // one per send(): the session sends whole replies
  int start_tls_calls = 0;
  int close_calls = 0;
  int sends_after_close = 0;
  bool resume_requested = false;
};

class ScriptedHandler;

// Appends the body to the handler's record; it may be destroyed right after
// finish(), so everything it needs later lives in the handler.
class StringSink : public MessageSink {
 public:
  StringSink(ScriptedHandler& handler, std::size_t index) : handler_(handler), index_(index) {}
  ~StringSink() override;
  void write(std::string_view bytes) override;
  void finish(std::function<void(Reply)> done) override;

 private:
  ScriptedHandler& handler_;
  std::size_t index_;
  bool finished_ = false;
};

// A daemon in miniature: alice/secret authenticates as tenant-a, recipients whose
// local part starts with "reject" are refused, bodies are kept as strings. Auth and
// message completions answer at once or, when held, wait for complete_held().
class ScriptedHandler : public SessionHandler {
 public:
  std::optional<Reply> on_connect(const SessionContext&) override { return connect_refusal; }

  void authenticate(const SessionContext&, std::string_view user, std::string_view password,
                    std::function<void(std::optional<std::string>)> done) override {
    ++auth_calls;
    std::optional<std::string> identity;
    if (user == "alice" && password == "secret") identity = "tenant-a";
    if (hold_auth) {
      held.push_back([done, identity] { done(identity); });
    } else {
      done(identity);
    }
  }

  Reply on_mail_from(const SessionContext& ctx, const MailFrom& mail) override {
    mails.push_back(mail);
    mail_identities.push_back(ctx.identity);
    return Reply::make(250, "2.1.0", "Sender ok");
  }

  Reply on_rcpt_to(const SessionContext&, const Envelope&, const Recipient& rcpt) override {
    if (rcpt.address.local_part.starts_with("reject")) {
      return Reply::make(550, "5.1.1", "No such user here");
    }
    rcpts.push_back(rcpt);
    return Reply::make(250, "2.1.5", "Recipient ok");
  }

  std::expected<std::unique_ptr<MessageSink>, Reply> on_data(const SessionContext&,
                                                             const Envelope& env) override {
    if (data_refusal) return std::unexpected(*data_refusal);
    envelopes.push_back(env);
    bodies.emplace_back();
    return std::make_unique<StringSink>(*this, bodies.size() - 1);
  }

  // Runs the oldest held completion (auth or message); false if none is held.
  bool complete_next() {
    if (held.empty()) return false;
    auto next = std::move(held.front());
    held.erase(held.begin());
    next();
    return true;
  }
  void complete_held() {
    while (complete_next()) {
    }
  }

  // Knobs.
  std::optional<Reply> connect_refusal;
  std::optional<Reply> data_refusal;
  std::optional<Reply> finish_reply;  // default: 250 2.0.0 Ok: queued as X<n>
  bool hold_auth = false;
  bool hold_finish = false;

  // Records.
  int auth_calls = 0;
  std::vector<MailFrom> mails;
  std::vector<std::optional<std::string>> mail_identities;
  std::vector<Recipient> rcpts;
  std::vector<Envelope> envelopes;
  std::vector<std::string> bodies;            // one per accepted DATA
  std::vector<std::size_t> finished_indices;  // bodies whose sink was finished, in order
  int finished = 0;                           // sinks finished
  int abandoned = 0;                          // sinks destroyed without finish()
  int writes_after_finish = 0;
  std::vector<std::function<void()>> held;
};

StringSink::~StringSink() {
  if (!finished_) ++handler_.abandoned;
}

void StringSink::write(std::string_view bytes) {
  if (finished_) ++handler_.writes_after_finish;
  handler_.bodies[index_].append(bytes);
}

void StringSink::finish(std::function<void(Reply)> done) {
  finished_ = true;
  ++handler_.finished;
  handler_.finished_indices.push_back(index_);
  Reply result = handler_.finish_reply.value_or(
      Reply::make(250, "2.0.0", "Ok: queued as X" + std::to_string(index_ + 1)));
  if (handler_.hold_finish) {
    handler_.held.push_back([done, result] { done(result); });
  } else {
    done(result);
  }
}

// --- Reply grammar -----------------------------------------------------------

// "" when every reply is well formed: CRLF-terminated lines "ddd-text" ... "ddd text"
// with one code, and (RFC 2034 section 3) an enhanced status code of the same class
// on every line, except the greeting, the EHLO/HELO replies and 334/354.
std::string reply_grammar_error(const std::vector<std::string>& replies) {
  static const std::regex kLine(R"(([2-5][0-5][0-9])([ -])(.*))");
  static const std::regex kEnhanced(R"(([245])\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})( .*)?)");
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const std::string& r = replies[i];
    auto fail = [&](std::string_view why) {
      return "reply #" + std::to_string(i) + " " + std::string(why) + ": " + escape(r);
    };
    if (!r.ends_with("\r\n")) return fail("does not end in CRLF");
    std::vector<std::string> lines;
    for (std::size_t at = 0; at < r.size();) {
      std::size_t end = r.find("\r\n", at);
      lines.push_back(r.substr(at, end - at));
      at = end + 2;
    }
    std::string code;
    std::vector<std::string> texts;
    for (std::size_t l = 0; l < lines.size(); ++l) {
      std::smatch m;
      if (lines[l].find_first_of("\r\n") != std::string::npos) return fail("has a stray CR or LF");
      if (!std::regex_match(lines[l], m, kLine)) return fail("has a malformed line");
      if (l == 0) code = m[1];
      if (m[1] != code) return fail("changes its code between lines");
      if ((m[2] == "-") != (l + 1 < lines.size())) return fail("has bad continuation marks");
      texts.push_back(m[3]);
    }
    const bool exempt = code == "334" || code == "354" ||
                        (i == 0 && code == "220" && texts[0].starts_with(kHost)) ||
                        (code == "250" && texts[0] == kHost);
    if (exempt) continue;
    for (const auto& text : texts) {
      std::smatch m;
      if (!std::regex_match(text, m, kEnhanced)) return fail("lacks an enhanced status code");
      if (m[1].str()[0] != code[0]) return fail("has an enhanced code of another class");
    }
  }
  return {};
}

// "250 2.1.0" (or "250" without an enhanced code) for the last line of a reply.
std::string summary(std::string_view reply) {
  std::string_view body = reply.substr(0, reply.size() - 2);
  std::size_t last = body.rfind("\r\n");
  std::string_view line = last == std::string_view::npos ? body : body.substr(last + 2);
  std::string out(line.substr(0, 3));
  if (line.size() > 4) {
    std::string_view rest = line.substr(4);
    std::string token(rest.substr(0, rest.find(' ')));
    static const std::regex kCode(R"([245]\.[0-9]{1,3}\.[0-9]{1,3})");
    if (std::regex_match(token, kCode)) out += " " + token;
  }
  return out;
}

// --- Harness -----------------------------------------------------------------

struct Harness {
  SmtpLimits limits;
  ListenerConfig listener;
  bool tls_available = true;
  ScriptedHandler handler;
  RecordingIo io;
  std::unique_ptr<ServerSession> session;  // declared last: goes before handler and io
  std::size_t mark = 0;                    // first reply not yet take()n

  Harness() {
    listener.name = "mx";
    listener.address = "127.0.0.1";
  }
  explicit Harness(BareLfPolicy policy) : Harness() { listener.bare_lf = policy; }

  ~Harness() {
    std::string error = reply_grammar_error(io.replies);
    BOOST_CHECK_MESSAGE(error.empty(), error);
    BOOST_CHECK_MESSAGE(io.close_calls <= 1, "close() called " << io.close_calls << " times");
    BOOST_CHECK_MESSAGE(io.sends_after_close == 0, "sent after close()");
    BOOST_CHECK_EQUAL(handler.writes_after_finish, 0);
  }

  // Creates the session and sends the greeting (or the on_connect refusal).
  void start() {
    SessionContext ctx;
    ctx.session_id = "00000000000000a1";
    ctx.listener = listener.name;
    ctx.client_address = "192.0.2.7";
    auto* sin = reinterpret_cast<sockaddr_in*>(&ctx.client_sockaddr);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(40000);
    inet_pton(AF_INET, "192.0.2.7", &sin->sin_addr);
    session = std::make_unique<ServerSession>(
        std::move(ctx), SessionSettings{std::string(kHost), &limits, &listener, tls_available},
        handler, io);
    session->start();
    service();
  }

  // start(), expecting the ordinary greeting.
  void open() {
    start();
    BOOST_REQUIRE_EQUAL(io.replies.size(), 1u);
    BOOST_REQUIRE_EQUAL(escape(io.replies[0]),
                        escape(std::string("220 ") + std::string(kHost) + " ESMTP stamp\r\n"));
    mark = 1;
  }

  // open(), EHLO, STARTTLS, handshake, EHLO again.
  void open_tls() {
    open();
    feed("EHLO client.example\r\nSTARTTLS\r\n");
    BOOST_REQUIRE_EQUAL(take(), "250|220 2.0.0");
    BOOST_REQUIRE_EQUAL(io.start_tls_calls, 1);
    session->tls_established("TLSv1.3", "TLS_AES_256_GCM_SHA384");
    feed("EHLO client.example\r\n");
    BOOST_REQUIRE_EQUAL(take(), "250");
  }

  // The connection's part: run resume() while the session asks for it.
  void service() {
    for (int rounds = 0; io.resume_requested && session; ++rounds) {
      BOOST_REQUIRE(rounds < 1000000);
      io.resume_requested = false;
      session->resume();
    }
  }

  void feed(std::string_view bytes) {
    session->feed(bytes);
    service();
  }
  void feed_bytewise(std::string_view bytes) {
    for (char c : bytes) feed(std::string_view(&c, 1));
  }
  void feed(std::string_view bytes, bool bytewise) {
    if (bytewise) {
      feed_bytewise(bytes);
    } else {
      feed(bytes);
    }
  }
  // The connection's part again: a held decision completes on the loop.
  void complete_next() {
    handler.complete_next();
    service();
  }
  void complete_held() {
    while (!handler.held.empty()) complete_next();
  }

  // Summaries of the replies since the last take(), joined with '|'.
  std::string take() {
    std::string out;
    for (; mark < io.replies.size(); ++mark) {
      if (!out.empty()) out += '|';
      out += summary(io.replies[mark]);
    }
    return out;
  }
  // The raw replies since the last take().
  std::string take_text() {
    std::string out;
    for (; mark < io.replies.size(); ++mark) out += io.replies[mark];
    return out;
  }

  bool closed() const { return session->state() == SmtpState::Closed && io.close_calls == 1; }
  SmtpState state() const { return session->state(); }
};

// The start of a transaction up to the 354, and its replies.
const std::string kTxn =
    "EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n";
const std::string kTxnReplies = "250|250 2.1.0|250 2.1.5|354";

// The EHLO keywords (without the host name line) of an EHLO reply.
std::vector<std::string> ehlo_keywords(const std::string& reply) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < reply.size();) {
    std::size_t end = reply.find("\r\n", at);
    out.push_back(reply.substr(at + 4, end - at - 4));
    at = end + 2;
  }
  if (!out.empty()) out.erase(out.begin());
  return out;
}

bool has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

struct QuietLogs {
  QuietLogs() { common::log::set_level(common::log::Level::Error); }
};
BOOST_TEST_GLOBAL_FIXTURE(QuietLogs);

// =============================================================================
BOOST_AUTO_TEST_SUITE(dialogue)

const std::string kDialogue =
    "EHLO client.example\r\n"
    "MAIL FROM:<alice@example.org>\r\n"
    "RCPT TO:<bob@example.net>\r\n"
    "RCPT TO:<carol@example.net>\r\n"
    "DATA\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "line one\r\n"
    "..leading dot\r\n"
    ".\r\n"
    "QUIT\r\n";
const std::string kDialogueBody = "Subject: hello\r\n\r\nline one\r\n.leading dot\r\n";

struct Outcome {
  std::string sent;
  std::vector<std::string> bodies;
  int close_calls = 0;
};

template <class Feeder>
Outcome run_dialogue(Feeder feeder) {
  Harness h;
  h.open();
  feeder(h);
  return {h.io.sent, h.handler.bodies, h.io.close_calls};
}

BOOST_AUTO_TEST_CASE(whole_dialogue_at_once) {
  Harness h;
  h.open();
  h.feed(kDialogue);
  BOOST_TEST(h.take() == "250|250 2.1.0|250 2.1.5|250 2.1.5|354|250 2.0.0|221 2.0.0");
  BOOST_TEST(h.closed());
  BOOST_REQUIRE_EQUAL(h.handler.bodies.size(), 1u);
  BOOST_TEST(escape(h.handler.bodies[0]) == escape(kDialogueBody));
  BOOST_TEST(h.handler.finished == 1);
  BOOST_REQUIRE_EQUAL(h.handler.envelopes.size(), 1u);
  BOOST_TEST(h.handler.envelopes[0].recipients.size() == 2u);
  BOOST_TEST(h.handler.envelopes[0].mail_from.sender.to_string() == "alice@example.org");
  BOOST_TEST(h.session->context().helo == "client.example");
  BOOST_TEST(h.session->context().esmtp);
}

BOOST_AUTO_TEST_CASE(split_at_every_byte_boundary_gives_the_same_dialogue) {
  const Outcome whole = run_dialogue([](Harness& h) { h.feed(kDialogue); });
  for (std::size_t cut = 0; cut <= kDialogue.size(); ++cut) {
    BOOST_TEST_CONTEXT("cut at " << cut) {
      const Outcome split = run_dialogue([cut](Harness& h) {
        h.feed(std::string_view(kDialogue).substr(0, cut));
        h.feed(std::string_view(kDialogue).substr(cut));
      });
      BOOST_TEST(escape(split.sent) == escape(whole.sent));
      BOOST_TEST(split.bodies == whole.bodies);
      BOOST_TEST(split.close_calls == 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(one_byte_at_a_time_gives_the_same_dialogue) {
  const Outcome whole = run_dialogue([](Harness& h) { h.feed(kDialogue); });
  const Outcome bytewise = run_dialogue([](Harness& h) { h.feed_bytewise(kDialogue); });
  BOOST_TEST(escape(bytewise.sent) == escape(whole.sent));
  BOOST_REQUIRE_EQUAL(bytewise.bodies.size(), 1u);
  BOOST_TEST(escape(bytewise.bodies[0]) == escape(kDialogueBody));
}

BOOST_AUTO_TEST_CASE(pipelined_commands_are_answered_in_order) {
  Harness h;
  h.open();
  h.feed(
      "EHLO a.example\r\nNOOP\r\nVRFY bob\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
      "RCPT TO:<reject-1@d.example>\r\nRSET\r\nHELP\r\nMAIL FROM:<e@f.example>\r\n");
  BOOST_TEST(h.take() ==
             "250|250 2.0.0|252 2.5.2|250 2.1.0|250 2.1.5|550 5.1.1|250 2.0.0|214 2.0.0|250 2.1.0");
  BOOST_TEST(h.handler.mails.size() == 2u);
  BOOST_TEST(h.state() == SmtpState::HaveSender);
}

BOOST_AUTO_TEST_CASE(a_long_pipeline_yields_and_resumes) {
  Harness h;
  h.open();
  std::string burst;
  for (int i = 0; i < 150; ++i) burst += "NOOP\r\n";
  h.session->feed(burst);  // without servicing resume requests
  BOOST_TEST(h.io.replies.size() - h.mark == std::size_t(ServerSession::kMaxCommandsPerRound));
  BOOST_TEST(h.io.resume_requested);
  BOOST_TEST(h.session->buffered_input() > 0u);
  h.service();
  BOOST_TEST(h.io.replies.size() - h.mark == 150u);
  BOOST_TEST(h.session->buffered_input() == 0u);
}

BOOST_AUTO_TEST_CASE(lowercase_verbs_and_bare_lf_commands_are_accepted_when_normalizing) {
  Harness h;
  h.open();
  h.feed("ehlo a.example\nmail from:<a@b.example>\r\nrcpt to:<c@d.example>\r\nnoop\n");
  BOOST_TEST(h.take() == "250|250 2.1.0|250 2.1.5|250 2.0.0");
}

BOOST_AUTO_TEST_CASE(bare_lf_commands_are_refused_when_rejecting) {
  Harness h(BareLfPolicy::Reject);
  h.open();
  h.feed("EHLO a.example\nEHLO a.example\r\nNOOP\n");
  BOOST_TEST(h.take() == "500 5.5.2|250|500 5.5.2");
  BOOST_TEST(h.state() == SmtpState::Ready);
}

BOOST_AUTO_TEST_CASE(helo_gives_a_single_line_reply) {
  Harness h;
  h.open();
  h.feed("HELO old.example\r\n");
  BOOST_TEST(escape(h.take_text()) == escape("250 mx.test.example\r\n"));
  BOOST_TEST(!h.session->context().esmtp);
  h.feed("MAIL FROM:<a@b.example>\r\n");
  BOOST_TEST(h.take() == "250 2.1.0");
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(data_transparency)

struct DataCase {
  const char* name;
  std::string wire;  // after "DATA\r\n", up to and including the real end of data
  std::string body;  // what the sink gets when bare LFs are normalized
  bool bare_lf;      // contains a line ended by a bare LF (refused in Reject mode)
};

// Each smuggling attempt is followed by a would-be command and then the real end,
// so a wrong end of data shows up as a command reaching the handler.
const std::vector<DataCase> kDataCases = {
    {"crlf_dot_crlf_ends", "hello\r\n.\r\n", "hello\r\n", false},
    {"empty_message", ".\r\n", "", false},
    {"dot_unstuffing", "..x\r\n...\r\n..\r\n.\r\n", ".x\r\n..\r\n.\r\n", false},
    {"lf_dot_lf", "a\n.\nMAIL FROM:<evil@x.example>\r\nb\r\n.\r\n",
     "a\r\n\r\nMAIL FROM:<evil@x.example>\r\nb\r\n", true},
    {"lf_dot_crlf", "a\n.\r\nMAIL FROM:<evil@x.example>\r\n.\r\n",
     "a\r\n\r\nMAIL FROM:<evil@x.example>\r\n", true},
    {"crlf_dot_lf", "a\r\n.\nMAIL FROM:<evil@x.example>\r\n.\r\n",
     "a\r\n\r\nMAIL FROM:<evil@x.example>\r\n", true},
    {"crlf_dot_lf_crlf", "a\r\n.\n\r\nQUIT\r\n.\r\n", "a\r\n\r\n\r\nQUIT\r\n", true},
    {"cr_dot_crlf", "a\r.\r\nMAIL FROM:<evil@x.example>\r\n.\r\n",
     "a\r.\r\nMAIL FROM:<evil@x.example>\r\n", false},
    {"crlf_dot_cr_then_more", "a\r\n.\rMAIL FROM:<evil@x.example>\r\n.\r\n",
     "a\r\n\rMAIL FROM:<evil@x.example>\r\n", false},
    {"crlf_dot_cr_cr_lf", "a\r\n.\r\r\nRSET\r\n.\r\n", "a\r\n\r\r\nRSET\r\n", false},
    {"dot_crlf_after_bare_lf_line", "x\r\nbare\n.\r\nRCPT TO:<evil@x.example>\r\n.\r\n",
     "x\r\nbare\r\n\r\nRCPT TO:<evil@x.example>\r\n", true},
    {"dot_lf_first_line", ".\nMAIL FROM:<evil@x.example>\r\n.\r\n",
     "\r\nMAIL FROM:<evil@x.example>\r\n", true},
    {"stuffed_dot_bare_lf", "..\nz\r\n.\r\n", ".\r\nz\r\n", true},
    {"bare_cr_is_content", "a\rb\r\n\r\r\nc\r\r\n\r\n.\r\n", "a\rb\r\n\r\r\nc\r\r\n\r\n", false},
    {"bare_lf_line_normalized", "one\ntwo\r\n.\r\n", "one\r\ntwo\r\n", true},
    {"lf_then_crlf_dot_crlf_ends", "a\n\r\n.\r\n", "a\r\n\r\n", true},
    {"eight_bit_and_nul_are_content", "caf\xc3\xa9\0\xff\x01\r\n.\r\n"s,
     "caf\xc3\xa9\0\xff\x01\r\n"s, false},
    {"dot_inside_line_is_content", "a.\r\n .\r\n.a\r\n.\r\n", "a.\r\n .\r\na\r\n", false},
};

void run_data_case(const DataCase& c, BareLfPolicy policy, bool bytewise) {
  Harness h(policy);
  h.open();
  h.feed(kTxn);
  BOOST_REQUIRE_EQUAL(h.take(), kTxnReplies);
  h.feed(c.wire, bytewise);
  const bool refused = policy == BareLfPolicy::Reject && c.bare_lf;
  if (refused) {
    BOOST_TEST(h.take() == "550 5.6.0");
    BOOST_TEST(h.handler.finished == 0);
    BOOST_TEST(h.handler.abandoned == 1);
  } else {
    BOOST_TEST(h.take() == "250 2.0.0");
    BOOST_TEST(h.handler.finished == 1);
    BOOST_REQUIRE_EQUAL(h.handler.bodies.size(), 1u);
    BOOST_TEST(escape(h.handler.bodies[0]) == escape(c.body));
  }
  // Nothing from inside the data reached the command interpreter.
  BOOST_TEST(h.handler.mails.size() == 1u);
  BOOST_TEST(h.handler.rcpts.size() == 1u);
  BOOST_TEST(h.state() == SmtpState::Ready);
  // The session is usable afterwards, for a fresh transaction.
  h.feed(
      "NOOP\r\nMAIL FROM:<next@example.org>\r\nRCPT TO:<x@example.net>\r\nDATA\r\nsecond\r\n.\r\n",
      bytewise);
  BOOST_TEST(h.take() == "250 2.0.0|250 2.1.0|250 2.1.5|354|250 2.0.0");
  BOOST_TEST(escape(h.handler.bodies.back()) == escape("second\r\n"));
  BOOST_TEST(h.handler.envelopes.back().recipients.size() == 1u);
}

BOOST_AUTO_TEST_CASE(end_of_data_and_smuggling_table) {
  for (const auto& c : kDataCases) {
    for (BareLfPolicy policy : {BareLfPolicy::Normalize, BareLfPolicy::Reject}) {
      for (bool bytewise : {false, true}) {
        BOOST_TEST_CONTEXT(c.name << (policy == BareLfPolicy::Reject ? " reject" : " normalize")
                                  << (bytewise ? " bytewise" : " whole")) {
          run_data_case(c, policy, bytewise);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(data_after_bare_lf_data_command_needs_a_crlf_line_first) {
  // The DATA line itself ended in a bare LF: ".\r\n" right after it is not
  // CRLF "." CRLF, so it is content; the next CRLF "." CRLF ends.
  Harness h;
  h.open();
  h.feed("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\n");
  BOOST_TEST(h.take() == kTxnReplies);
  h.feed(".\r\nMAIL FROM:<evil@x.example>\r\n.\r\n");
  BOOST_TEST(h.take() == "250 2.0.0");
  BOOST_TEST(escape(h.handler.bodies.at(0)) == escape("\r\nMAIL FROM:<evil@x.example>\r\n"));
  BOOST_TEST(h.handler.mails.size() == 1u);
}

BOOST_AUTO_TEST_CASE(timeout_in_data_abandons_the_message) {
  Harness h;
  h.open();
  h.feed(kTxn);
  BOOST_TEST(h.take() == kTxnReplies);
  BOOST_TEST(h.session->read_timeout() == h.limits.data_timeout);
  h.feed("partial\r\n");
  h.session->on_timeout();
  BOOST_TEST(h.take() == "421 4.4.2");
  BOOST_TEST(h.closed());
  BOOST_TEST(h.handler.abandoned == 1);
  BOOST_TEST(h.handler.finished == 0);
  h.feed(".\r\nNOOP\r\n");  // ignored once closed
  BOOST_TEST(h.take() == "");
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(max_command_line_length) {
  struct Row {
    std::size_t length;      // of the line without its ending
    std::string terminator;  // what follows the line in the same feed
    std::string expect;
    bool closes;
    std::string then;  // fed next
    std::string then_expect;
  };
  const std::vector<Row> rows = {
      {512, "\r\n", "250 2.0.0", false, "NOOP\r\n", "250 2.0.0"},  // exactly at the limit
      {512, "\n", "250 2.0.0", false, "NOOP\r\n", "250 2.0.0"},    // bare LF, normalized
      {511, "\r\n", "250 2.0.0", false, "NOOP\r\n", "250 2.0.0"},
      {513, "\r\n", "500 5.5.2", true, "NOOP\r\n", ""},  // one over
      {513, "\n", "500 5.5.2", true, "NOOP\r\n", ""},
      {512, "\r", "", false, "\n", "250 2.0.0"},  // the CR of a line at the limit: waiting
      {513, "", "", false, "\r\n", "500 5.5.2"},  // might still be 512 + CR: waiting
      {514, "", "500 5.5.2", true, "\r\n", ""},   // cannot fit: refused before any LF
      {5000, "", "500 5.5.2", true, "\r\n", ""},
  };
  for (const auto& row : rows) {
    for (bool bytewise : {false, true}) {
      BOOST_TEST_CONTEXT("length " << row.length << " + " << escape(row.terminator)
                                   << (bytewise ? " bytewise" : "")) {
        Harness h;
        h.limits.max_command_line_length = 512;
        h.open();
        std::string line = "NOOP ";
        line.resize(row.length, 'x');
        h.feed(line + row.terminator, bytewise);
        BOOST_TEST(h.take() == row.expect);
        BOOST_TEST(h.closed() == row.closes);
        h.feed(row.then, bytewise);
        BOOST_TEST(h.take() == row.then_expect);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(max_command_line_length_applies_to_auth_responses) {
  Harness h;
  h.limits.max_command_line_length = 512;
  h.listener.allow_plaintext_auth = true;
  h.open();
  h.feed("EHLO c.example\r\nAUTH PLAIN\r\n");
  BOOST_TEST(h.take() == "250|334");
  h.feed(std::string(600, 'A'));
  BOOST_TEST(h.take() == "500 5.5.2");
  BOOST_TEST(h.closed());
  BOOST_TEST(h.handler.auth_calls == 0);
}

BOOST_AUTO_TEST_CASE(max_data_line_length) {
  struct Row {
    const char* name;
    std::string wire_line;  // one line as sent, without its ending
    std::string ending;
    bool accepted;
    std::string body_line;  // as the sink gets it, when accepted
  };
  const std::size_t limit = 998;
  const std::string at_limit(limit, 'x');
  const std::vector<Row> rows = {
      {"at_limit", at_limit, "\r\n", true, at_limit},
      {"one_under", std::string(limit - 1, 'y'), "\r\n", true, std::string(limit - 1, 'y')},
      {"one_over", std::string(limit + 1, 'x'), "\r\n", false, ""},
      {"one_over_bare_lf", std::string(limit + 1, 'x'), "\n", false, ""},
      // RFC 5321 4.5.3.1.6: the dot added for transparency does not count.
      {"stuffed_at_limit", ".." + std::string(limit - 1, 'd'), "\r\n", true,
       "." + std::string(limit - 1, 'd')},
      {"stuffed_one_over", ".." + std::string(limit, 'd'), "\r\n", false, ""},
      {"huge", std::string(100000, 'h'), "\r\n", false, ""},
      {"huge_ending_in_cr", std::string(5000, 'h') + "\r", "\r\n", false, ""},
  };
  for (const auto& row : rows) {
    for (bool bytewise : {false, true}) {
      BOOST_TEST_CONTEXT(row.name << (bytewise ? " bytewise" : " whole")) {
        Harness h;
        h.limits.max_data_line_length = limit;
        h.open();
        h.feed(kTxn);
        BOOST_REQUIRE_EQUAL(h.take(), kTxnReplies);
        // The line sits between ordinary lines; the real end follows it directly.
        h.feed("before\r\n" + row.wire_line + row.ending + "after\r\n.\r\n", bytewise);
        if (row.accepted) {
          BOOST_TEST(h.take() == "250 2.0.0");
          BOOST_TEST(h.handler.finished == 1);
          BOOST_TEST(h.handler.bodies.at(0) == "before\r\n" + row.body_line + "\r\nafter\r\n");
        } else {
          BOOST_TEST(h.take() == "550 5.6.0");
          BOOST_TEST(h.handler.finished == 0);
          BOOST_TEST(h.handler.abandoned == 1);
        }
        BOOST_TEST(h.state() == SmtpState::Ready);
        h.feed("NOOP\r\nMAIL FROM:<a@b.example>\r\n");
        BOOST_TEST(h.take() == "250 2.0.0|250 2.1.0");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(over_long_data_line_then_immediate_end) {
  // The end marker right after a discarded over-long line still ends the data.
  Harness h;
  h.open();
  h.feed(kTxn);
  BOOST_REQUIRE_EQUAL(h.take(), kTxnReplies);
  h.feed(std::string(3000, 'z'));
  h.feed("\r");
  h.feed("\n.\r\n");
  BOOST_TEST(h.take() == "550 5.6.0");
  BOOST_TEST(h.session->buffered_input() == 0u);
}

BOOST_AUTO_TEST_CASE(max_message_size_declared) {
  struct Row {
    std::string mail;
    std::string expect;
  };
  const std::vector<Row> rows = {
      {"MAIL FROM:<a@b.example> SIZE=1024\r\n", "250 2.1.0"},
      {"MAIL FROM:<a@b.example> SIZE=1023\r\n", "250 2.1.0"},
      {"MAIL FROM:<a@b.example> SIZE=1025\r\n", "552 5.3.4"},
      {"MAIL FROM:<a@b.example> SIZE=99999999999\r\n", "552 5.3.4"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(escape(row.mail)) {
      Harness h;
      h.limits.max_message_size = 1024;
      h.open();
      h.feed("EHLO c.example\r\n");
      BOOST_TEST(has(ehlo_keywords(h.take_text()), "SIZE 1024"));
      h.feed(row.mail);
      BOOST_TEST(h.take() == row.expect);
      // A refused MAIL leaves the session ready for another one.
      h.feed("MAIL FROM:<a@b.example>\r\n");
      BOOST_TEST(h.take() == (row.expect == "552 5.3.4" ? "250 2.1.0" : "503 5.5.1"));
    }
  }
}

BOOST_AUTO_TEST_CASE(max_message_size_actual) {
  // Body bytes as the sink would get them (unstuffed, CRLF endings) are counted.
  auto body_of = [](std::size_t size, bool stuffed) {
    std::string content;
    std::string wire;
    while (content.size() < size) {
      // 64-byte lines; the last two share the remainder so none is shorter than 3.
      const std::size_t left = size - content.size();
      const std::size_t n = left >= 128 ? 64 : left > 64 ? left / 2 : left;
      BOOST_REQUIRE(n >= 3);
      std::string line(n - 2, 'b');
      if (stuffed) line[0] = '.';
      content += line + "\r\n";
      wire += (stuffed ? "." : "") + line + "\r\n";
    }
    return std::pair(content, wire);
  };
  struct Row {
    std::size_t size;
    bool stuffed;
    bool accepted;
  };
  for (const Row& row : std::vector<Row>{{1024, false, true},
                                         {1023, false, true},
                                         {1025, false, false},
                                         {1024, true, true},
                                         {1025, true, false},
                                         {100000, false, false}}) {
    for (bool bytewise : {false, true}) {
      BOOST_TEST_CONTEXT("size " << row.size << (row.stuffed ? " stuffed" : "")
                                 << (bytewise ? " bytewise" : "")) {
        Harness h;
        h.limits.max_message_size = 1024;
        h.open();
        h.feed(kTxn);
        BOOST_REQUIRE_EQUAL(h.take(), kTxnReplies);
        auto [content, wire] = body_of(row.size, row.stuffed);
        BOOST_REQUIRE_EQUAL(content.size(), row.size);
        h.feed(wire + ".\r\n", bytewise);
        if (row.accepted) {
          BOOST_TEST(h.take() == "250 2.0.0");
          BOOST_TEST(h.handler.bodies.at(0) == content);
        } else {
          BOOST_TEST(h.take() == "552 5.3.4");
          BOOST_TEST(h.handler.finished == 0);
          BOOST_TEST(h.handler.abandoned == 1);
          BOOST_TEST(h.handler.bodies.at(0).size() <= 1024u);
        }
        h.feed("MAIL FROM:<a@b.example>\r\n");
        BOOST_TEST(h.take() == "250 2.1.0");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(max_recipients_per_message) {
  Harness h;
  h.limits.max_recipients_per_message = 3;
  h.open();
  h.feed(
      "EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n"
      "RCPT TO:<r1@d.example>\r\nRCPT TO:<reject-me@d.example>\r\nRCPT TO:<r2@d.example>\r\n"
      "RCPT TO:<r3@d.example>\r\nRCPT TO:<r4@d.example>\r\nRCPT TO:<r5@d.example>\r\n"
      "DATA\r\nx\r\n.\r\n");
  BOOST_TEST(
      h.take() ==
      "250|250 2.1.0|250 2.1.5|550 5.1.1|250 2.1.5|250 2.1.5|452 4.5.3|452 4.5.3|354|250 2.0.0");
  BOOST_REQUIRE_EQUAL(h.handler.envelopes.size(), 1u);
  BOOST_TEST(h.handler.envelopes[0].recipients.size() == 3u);
  // The count is per message.
  h.feed("MAIL FROM:<a@b.example>\r\nRCPT TO:<r4@d.example>\r\nRCPT TO:<r5@d.example>\r\n");
  BOOST_TEST(h.take() == "250 2.1.0|250 2.1.5|250 2.1.5");
  // 452 is not a protocol error: no 421 even with many of them.
  for (int i = 0; i < 30; ++i) h.feed("RCPT TO:<more@d.example>\r\n");
  BOOST_TEST(h.state() == SmtpState::HaveRecipients);
}

BOOST_AUTO_TEST_CASE(max_errors_per_session) {
  struct Row {
    std::string command;  // one protocol error, given after EHLO
    std::string reply;
  };
  const std::vector<Row> rows = {
      {"FOO\r\n", "500 5.5.2"},
      {"RCPT TO:<a@b.example>\r\n", "503 5.5.1"},
      {"MAIL FROM:no-brackets@b.example\r\n", "501 5.1.7"},
      {"NO\0OP\r\n"s, "500 5.5.2"},
      {"NO\rOP\r\n", "500 5.5.2"},
      {"EXPN staff\r\n", "502 5.5.1"},
      {"BDAT 10 LAST\r\n", "502 5.5.1"},
      {"EHLO\r\n", "501 5.5.4"},
      {"STARTTLS now\r\n", "501 5.5.4"},
      {"AUTH PLAIN\r\n", "530 5.7.0"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(escape(row.command)) {
      Harness h;
      h.limits.max_errors_per_session = 5;
      h.open();
      h.feed("EHLO c.example\r\n");
      BOOST_TEST(h.take() == "250");
      for (int i = 0; i < 4; ++i) h.feed(row.command);
      BOOST_TEST(h.take() == row.reply + "|" + row.reply + "|" + row.reply + "|" + row.reply);
      h.feed("NOOP\r\n");
      BOOST_TEST(h.take() == "250 2.0.0");
      h.feed(row.command + "NOOP\r\n");
      BOOST_TEST(h.take() == row.reply + "|421 4.7.0");
      BOOST_TEST(h.closed());
    }
  }
}

BOOST_AUTO_TEST_CASE(refused_recipients_are_not_protocol_errors) {
  Harness h;
  h.limits.max_errors_per_session = 2;
  h.open();
  h.feed("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n");
  for (int i = 0; i < 20; ++i) h.feed("RCPT TO:<reject" + std::to_string(i) + "@d.example>\r\n");
  h.feed("NOOP\r\n");
  BOOST_TEST(h.take().ends_with("550 5.1.1|250 2.0.0"));
  BOOST_TEST(!h.closed());
}

BOOST_AUTO_TEST_CASE(max_auth_failures) {
  const std::string bad = "AUTH PLAIN " + b64("\0alice\0wrong"s) + "\r\n";
  const std::string good = "AUTH PLAIN " + b64("\0alice\0secret"s) + "\r\n";
  {BOOST_TEST_CONTEXT("just under"){Harness h;
  h.limits.max_auth_failures = 3;
  h.open_tls();
  h.feed(bad + bad + good);
  BOOST_TEST(h.take() == "535 5.7.8|535 5.7.8|235 2.7.0");
  BOOST_TEST(!h.closed());
}
}
{BOOST_TEST_CONTEXT("reached"){Harness h;
h.limits.max_auth_failures = 3;
h.open_tls();
h.feed(bad + bad + bad + good);
BOOST_TEST(h.take() == "535 5.7.8|535 5.7.8|421 4.7.0");
BOOST_TEST(h.closed());
BOOST_TEST(h.handler.auth_calls == 3);
BOOST_TEST(h.session->context().auth_user.empty());
}
}
{
  BOOST_TEST_CONTEXT("login and a proxy authzid count too") {
    Harness h;
    h.limits.max_auth_failures = 2;
    h.open_tls();
    h.feed("AUTH LOGIN\r\n" + b64("alice") + "\r\n" + b64("nope") + "\r\n");
    h.feed("AUTH PLAIN " + b64("bob\0alice\0secret"s) + "\r\n");
    BOOST_TEST(h.take() == "334|334|535 5.7.8|421 4.7.0");
    BOOST_TEST(h.closed());
  }
}
}

BOOST_AUTO_TEST_CASE(max_messages_per_connection) {
  const std::string message =
      "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nbody\r\n.\r\n";
  const std::string ok = "250 2.1.0|250 2.1.5|354|250 2.0.0";
  Harness h;
  h.limits.max_messages_per_connection = 2;
  h.open();
  h.feed("EHLO c.example\r\n");
  BOOST_TEST(h.take() == "250");
  h.feed(message);
  BOOST_TEST(h.take() == ok);
  h.feed(message);
  BOOST_TEST(h.take() == ok);
  BOOST_TEST(!h.closed());
  h.feed(message);
  BOOST_TEST(h.take() == "421 4.7.0");
  BOOST_TEST(h.closed());
  BOOST_TEST(h.handler.bodies.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_refused_message_does_not_count_towards_max_messages) {
  Harness h;
  h.limits.max_messages_per_connection = 1;
  h.handler.finish_reply = Reply::make(451, "4.3.0", "Try again later");
  h.open();
  h.feed(
      "EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\n");
  BOOST_TEST(h.take() == kTxnReplies + "|451 4.3.0");
  h.handler.finish_reply.reset();
  h.feed(
      "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\nMAIL "
      "FROM:<a@b.example>\r\n");
  BOOST_TEST(h.take() == "250 2.1.0|250 2.1.5|354|250 2.0.0|421 4.7.0");
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(sequence)

BOOST_AUTO_TEST_CASE(command_sequencing_table) {
  struct Row {
    const char* name;
    std::string input;
    std::string expect;
    bool closes;
  };
  const std::string ehlo_mail = "EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n";
  const std::vector<Row> rows = {
      {"mail_before_ehlo", "MAIL FROM:<a@b.example>\r\n", "503 5.5.1", false},
      {"rcpt_before_ehlo", "RCPT TO:<a@b.example>\r\n", "503 5.5.1", false},
      {"data_before_ehlo", "DATA\r\n", "503 5.5.1", false},
      {"rcpt_before_mail", "EHLO c.example\r\nRCPT TO:<a@b.example>\r\n", "250|503 5.5.1", false},
      {"data_before_mail", "EHLO c.example\r\nDATA\r\n", "250|503 5.5.1", false},
      {"data_without_rcpt", ehlo_mail + "DATA\r\n", "250|250 2.1.0|554 5.5.1", false},
      {"data_with_only_refused_rcpt", ehlo_mail + "RCPT TO:<reject-x@d.example>\r\nDATA\r\n",
       "250|250 2.1.0|550 5.1.1|554 5.5.1", false},
      {"data_with_argument", ehlo_mail + "RCPT TO:<c@d.example>\r\nDATA now\r\n",
       "250|250 2.1.0|250 2.1.5|501 5.5.4", false},
      {"second_mail", ehlo_mail + "MAIL FROM:<b@b.example>\r\n", "250|250 2.1.0|503 5.5.1", false},
      {"rset_clears",
       ehlo_mail + "RCPT TO:<c@d.example>\r\nRSET\r\nRCPT TO:<c@d.example>\r\nDATA\r\n",
       "250|250 2.1.0|250 2.1.5|250 2.0.0|503 5.5.1|503 5.5.1", false},
      {"rset_then_mail", ehlo_mail + "RSET\r\nMAIL FROM:<b@b.example>\r\n",
       "250|250 2.1.0|250 2.0.0|250 2.1.0", false},
      {"rset_before_ehlo", "RSET\r\nMAIL FROM:<a@b.example>\r\n", "250 2.0.0|503 5.5.1", false},
      {"ehlo_resets_transaction",
       ehlo_mail +
           "RCPT TO:<c@d.example>\r\nEHLO again.example\r\nDATA\r\nRCPT TO:<c@d.example>\r\n",
       "250|250 2.1.0|250 2.1.5|250|503 5.5.1|503 5.5.1", false},
      {"helo_resets_transaction", ehlo_mail + "HELO again.example\r\nMAIL FROM:<b@b.example>\r\n",
       "250|250 2.1.0|250|250 2.1.0", false},
      {"helo_without_argument", "HELO\r\nHELO   \r\n", "501 5.5.4|501 5.5.4", false},
      {"unknown_command", "EHLO c.example\r\nFROBNICATE\r\n", "250|500 5.5.2", false},
      {"empty_line", "\r\n", "500 5.5.2", false},
      {"http_get", "GET / HTTP/1.1\r\nHost: mx.test.example\r\n\r\n", "221 2.7.0", true},
      {"http_post_after_ehlo", "EHLO c.example\r\nPOST /x HTTP/1.0\r\n", "250|221 2.7.0", true},
      {"http_connect", "CONNECT mx:25 HTTP/1.1\r\n", "221 2.7.0", true},
      {"nul_in_command", "NOOP\0\r\nNOOP\r\n"s, "500 5.5.2|250 2.0.0", false},
      {"nul_in_mail", ehlo_mail.substr(0, 16) + "MAIL FROM:<a\0@b.example>\r\n"s, "250|500 5.5.2",
       false},
      {"cr_in_command", "NO\rOP\r\n", "500 5.5.2", false},
      {"vrfy", "VRFY postmaster\r\n", "252 2.5.2", false},
      {"help", "HELP\r\nHELP MAIL\r\n", "214 2.0.0|214 2.0.0", false},
      {"noop_with_argument", "NOOP whatever\r\n", "250 2.0.0", false},
      {"expn", "EXPN list\r\n", "502 5.5.1", false},
      {"quit", "QUIT\r\nNOOP\r\n", "221 2.0.0", true},
      {"quit_in_transaction", ehlo_mail + "QUIT\r\n", "250|250 2.1.0|221 2.0.0", true},
      {"starttls_before_ehlo", "STARTTLS\r\n", "503 5.5.1", false},
      {"auth_before_ehlo", "AUTH PLAIN\r\n", "503 5.5.1", false},
      {"starttls_in_transaction", ehlo_mail + "STARTTLS\r\n", "250|250 2.1.0|503 5.5.1", false},
      {"mail_syntax", "EHLO c.example\r\nMAIL TO:<a@b.example>\r\nMAIL FROM:<a@b.example\r\n",
       "250|501 5.5.4|501 5.1.7", false},
      {"rcpt_syntax", ehlo_mail + "RCPT FROM:<c@d.example>\r\nRCPT TO:c@d.example\r\n",
       "250|250 2.1.0|501 5.5.4|501 5.1.3", false},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.name) {
      Harness h;
      h.open();
      h.feed(row.input);
      BOOST_TEST(h.take() == row.expect);
      BOOST_TEST(h.closed() == row.closes);
      if (!row.closes) {
        h.feed("NOOP\r\n");
        BOOST_TEST(h.take() == "250 2.0.0");
      } else {
        h.feed("NOOP\r\n");
        BOOST_TEST(h.take() == "");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(rset_forgets_the_envelope) {
  Harness h;
  h.open();
  h.feed(
      "EHLO c.example\r\nMAIL FROM:<a@b.example> ENVID=one\r\nRCPT TO:<c@d.example>\r\nRSET\r\n");
  h.feed("MAIL FROM:<x@y.example>\r\nRCPT TO:<z@y.example>\r\nDATA\r\nbody\r\n.\r\n");
  BOOST_TEST(h.take() == "250|250 2.1.0|250 2.1.5|250 2.0.0|250 2.1.0|250 2.1.5|354|250 2.0.0");
  BOOST_REQUIRE_EQUAL(h.handler.envelopes.size(), 1u);
  const Envelope& env = h.handler.envelopes[0];
  BOOST_TEST(env.mail_from.sender.to_string() == "x@y.example");
  BOOST_TEST(env.mail_from.envid == "");
  BOOST_REQUIRE_EQUAL(env.recipients.size(), 1u);
  BOOST_TEST(env.recipients[0].address.to_string() == "z@y.example");
}

BOOST_AUTO_TEST_CASE(timeouts_follow_the_state) {
  Harness h;
  h.open();
  BOOST_TEST(h.session->read_timeout() == h.limits.command_timeout);
  h.feed("EHLO c.example\r\nSTARTTLS\r\n");
  BOOST_TEST(h.session->read_timeout() == h.limits.tls_handshake_timeout);
  h.session->tls_established("TLSv1.3", "TLS_AES_128_GCM_SHA256");
  BOOST_TEST(h.session->read_timeout() == h.limits.command_timeout);
  h.feed(kTxn);
  BOOST_TEST(h.session->read_timeout() == h.limits.data_timeout);
  h.handler.hold_finish = true;
  h.feed("x\r\n.\r\n");
  BOOST_TEST(h.session->read_timeout() == std::chrono::seconds(0));
  h.complete_held();
  BOOST_TEST(h.session->read_timeout() == h.limits.command_timeout);
  h.feed("QUIT\r\n");
  BOOST_TEST(h.session->read_timeout() == std::chrono::seconds(0));
}

BOOST_AUTO_TEST_CASE(command_timeout_and_shutdown_close_with_421) {
  {
    Harness h;
    h.open();
    h.feed("EHLO c.example\r\n");
    h.session->on_timeout();
    BOOST_TEST(h.take() == "250|421 4.4.2");
    BOOST_TEST(h.closed());
    h.session->on_timeout();
    h.session->on_shutdown();
    BOOST_TEST(h.take() == "");
  }
  {
    Harness h;
    h.open();
    h.feed("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n");
    h.session->on_shutdown();
    BOOST_TEST(h.take() == "250|250 2.1.0|421 4.3.2");
    BOOST_TEST(h.closed());
  }
}

BOOST_AUTO_TEST_CASE(on_connect_refusal_replaces_the_greeting) {
  Harness h;
  h.handler.connect_refusal = Reply::make(554, "5.7.1", "No service for you");
  h.start();
  BOOST_TEST(h.take() == "554 5.7.1");
  BOOST_TEST(h.closed());
  h.feed("EHLO c.example\r\n");
  BOOST_TEST(h.take() == "");
}

BOOST_AUTO_TEST_CASE(on_data_refusal_keeps_the_transaction) {
  Harness h;
  h.handler.data_refusal = Reply::make(554, "5.7.1", "Not today");
  h.open();
  h.feed(kTxn);
  BOOST_TEST(h.take() == "250|250 2.1.0|250 2.1.5|554 5.7.1");
  BOOST_TEST(h.state() == SmtpState::HaveRecipients);
  h.feed("RSET\r\n");
  BOOST_TEST(h.take() == "250 2.0.0");
}

BOOST_AUTO_TEST_CASE(trusted_network_gives_an_identity) {
  Harness h;
  h.listener.trusted_networks.push_back({*common::Cidr::parse("192.0.2.0/24"), "tenant-net"});
  h.open();
  BOOST_TEST(h.session->context().identity.value_or("") == "tenant-net");
  h.feed("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n");
  BOOST_REQUIRE_EQUAL(h.handler.mail_identities.size(), 1u);
  BOOST_TEST(h.handler.mail_identities[0].value_or("") == "tenant-net");
}

BOOST_AUTO_TEST_CASE(untrusted_network_has_no_identity) {
  Harness h;
  h.listener.trusted_networks.push_back({*common::Cidr::parse("198.51.100.0/24"), "tenant-net"});
  h.open();
  BOOST_TEST(!h.session->context().identity.has_value());
}

BOOST_AUTO_TEST_CASE(reply_rendering) {
  BOOST_TEST(Reply::make(250, "2.1.0", "Ok").render() == "250 2.1.0 Ok\r\n");
  BOOST_TEST((Reply{250, "", {"host", "PIPELINING", "DSN"}}.render()) ==
             "250-host\r\n250-PIPELINING\r\n250 DSN\r\n");
  BOOST_TEST((Reply{550, "5.1.1", {"one", "two"}}.render()) ==
             "550-5.1.1 one\r\n550 5.1.1 two\r\n");
  BOOST_TEST((Reply{334, "", {""}}.render()) == "334 \r\n");
  BOOST_TEST((Reply{221, "2.0.0", {}}.render()) == "221 2.0.0\r\n");
  BOOST_TEST((Reply{550, "5.1.1", {"one", "two"}}.first_line()) == "550 5.1.1 one");
  BOOST_TEST((Reply{220, "", {"hi"}}.first_line()) == "220 hi");
  BOOST_TEST(Reply::make(421, "4.7.0", "x").transient_failure());
  BOOST_TEST(Reply::make(554, "5.7.1", "x").permanent_failure());
  BOOST_TEST(Reply::make(354, "", "x").positive());
  BOOST_TEST(!Reply::make(452, "4.5.3", "x").positive());
}

BOOST_AUTO_TEST_CASE(the_reply_checker_catches_missing_enhanced_codes) {
  // The teardown check that every test relies on must itself reject bad replies.
  BOOST_TEST(reply_grammar_error({"220 mx.test.example ESMTP\r\n", "250 2.0.0 Ok\r\n"}).empty());
  BOOST_TEST(!reply_grammar_error({"220 x\r\n", "250 Ok\r\n"}).empty());
  BOOST_TEST(!reply_grammar_error({"220 x\r\n", "550 4.1.1 wrong class\r\n"}).empty());
  BOOST_TEST(!reply_grammar_error({"220 x\r\n", "250-2.0.0 a\r\n250-2.0.0 b\r\n"}).empty());
  BOOST_TEST(!reply_grammar_error({"220 x\r\n", "250 2.0.0 a\n"}).empty());
  BOOST_TEST(!reply_grammar_error({"220 x\r\n", "250-2.0.0 a\r\n251 2.0.0 b\r\n"}).empty());
  BOOST_TEST(reply_grammar_error({"220 mx.test.example x\r\n", "334 \r\n", "354 go\r\n"}).empty());
  BOOST_TEST(
      reply_grammar_error({"220 mx.test.example x\r\n", "250-mx.test.example\r\n250 DSN\r\n"})
          .empty());
  BOOST_TEST(
      !reply_grammar_error({"220 mx.test.example x\r\n", "220 mx.test.example again\r\n"}).empty());
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(ehlo)

BOOST_AUTO_TEST_CASE(keywords_depend_on_tls_and_auth_settings) {
  struct Row {
    const char* name;
    bool tls_available;
    TlsMode mode;
    bool auth;
    bool allow_plaintext_auth;
    bool after_tls;
    bool expect_starttls;
    bool expect_auth;
  };
  const std::vector<Row> rows = {
      {"plaintext", true, TlsMode::StartTls, true, false, false, true, false},
      {"after_tls", true, TlsMode::StartTls, true, false, true, false, true},
      {"no_certificate", false, TlsMode::StartTls, true, false, false, false, false},
      {"tls_mode_none", true, TlsMode::None, true, false, false, false, false},
      {"plaintext_auth_allowed", true, TlsMode::StartTls, true, true, false, true, true},
      {"plaintext_auth_allowed_no_tls", false, TlsMode::None, true, true, false, false, true},
      {"auth_off_after_tls", true, TlsMode::StartTls, false, false, true, false, false},
      {"auth_off_plaintext_allowed", true, TlsMode::StartTls, false, true, false, true, false},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.name) {
      Harness h;
      h.tls_available = row.tls_available;
      h.listener.tls = row.mode;
      h.listener.auth = row.auth;
      h.listener.allow_plaintext_auth = row.allow_plaintext_auth;
      h.limits.max_message_size = 31457280;
      if (row.after_tls) {
        h.open_tls();
        h.feed("EHLO client.example\r\n");
      } else {
        h.open();
        h.feed("EHLO client.example\r\n");
      }
      std::string reply = h.take_text();
      BOOST_TEST(reply.starts_with("250-mx.test.example\r\n"));
      auto keywords = ehlo_keywords(reply);
      for (const char* k :
           {"PIPELINING", "SIZE 31457280", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "DSN"}) {
        BOOST_CHECK_MESSAGE(has(keywords, k), "missing " << k);
      }
      BOOST_TEST(has(keywords, "STARTTLS") == row.expect_starttls);
      BOOST_TEST(has(keywords, "AUTH PLAIN LOGIN") == row.expect_auth);
      BOOST_TEST(keywords.size() == 6u + row.expect_starttls + row.expect_auth);
    }
  }
}

BOOST_AUTO_TEST_CASE(auth_is_not_offered_once_authenticated) {
  Harness h;
  h.open_tls();
  h.feed("AUTH PLAIN " + b64("\0alice\0secret"s) + "\r\nEHLO client.example\r\n");
  BOOST_TEST(h.take() == "235 2.7.0|250");
  BOOST_TEST(!has(ehlo_keywords(h.io.replies.back()), "AUTH PLAIN LOGIN"));
  BOOST_TEST(has(ehlo_keywords(h.io.replies.back()), "DSN"));
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(starttls)

BOOST_AUTO_TEST_CASE(input_pipelined_after_starttls_is_discarded) {
  Harness h;
  h.open();
  h.feed("EHLO client.example\r\n");
  BOOST_TEST(h.take() == "250");
  h.feed("STARTTLS\r\nMAIL FROM:<evil@x.example>\r\n");
  BOOST_TEST(escape(h.take_text()) == escape("220 2.0.0 Ready to start TLS\r\n"));
  BOOST_TEST(h.io.start_tls_calls == 1);
  BOOST_TEST(h.state() == SmtpState::TlsHandshake);
  BOOST_TEST(h.session->buffered_input() == 0u);
  // Bytes arriving before the handshake completes are ignored too.
  h.feed("RCPT TO:<evil@x.example>\r\n");
  BOOST_TEST(h.take() == "");
  h.session->tls_established("TLSv1.3", "TLS_AES_256_GCM_SHA384");
  BOOST_TEST(h.state() == SmtpState::AwaitHelo);
  BOOST_TEST(h.handler.mails.empty());
  BOOST_TEST(h.handler.rcpts.empty());
  const SessionContext& ctx = h.session->context();
  BOOST_TEST(ctx.tls);
  BOOST_TEST(ctx.tls_version == "TLSv1.3");
  BOOST_TEST(ctx.tls_cipher == "TLS_AES_256_GCM_SHA384");
  BOOST_TEST(ctx.helo.empty());  // RFC 3207 4.2: forget the plaintext EHLO
  h.feed("MAIL FROM:<a@b.example>\r\n");
  BOOST_TEST(h.take() == "503 5.5.1");
  h.feed("EHLO client.example\r\nMAIL FROM:<a@b.example>\r\n");
  BOOST_TEST(h.take() == "250|250 2.1.0");
  BOOST_TEST(h.handler.mails.size() == 1u);
}

BOOST_AUTO_TEST_CASE(starttls_split_across_feeds) {
  Harness h;
  h.open();
  h.feed("EHLO client.example\r\nSTART");
  h.feed("TLS\r\nMAIL FROM:<evil@x.example>\r\n");
  BOOST_TEST(h.take() == "250|220 2.0.0");
  h.session->tls_established("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256");
  h.feed("MAIL FROM:<a@b.example>\r\n");
  BOOST_TEST(h.take() == "503 5.5.1");
  BOOST_TEST(h.handler.mails.empty());
}

BOOST_AUTO_TEST_CASE(starttls_refusals) {
  struct Row {
    const char* name;
    bool tls_available;
    bool after_tls;
    std::string command;
    std::string expect;
  };
  const std::vector<Row> rows = {
      {"not_available", false, false, "STARTTLS\r\n", "502 5.5.1"},
      {"already_tls", true, true, "STARTTLS\r\n", "503 5.5.1"},
      {"argument", true, false, "STARTTLS now\r\n", "501 5.5.4"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.name) {
      Harness h;
      h.tls_available = row.tls_available;
      if (row.after_tls) {
        h.open_tls();
      } else {
        h.open();
        h.feed("EHLO c.example\r\n");
        h.take();
      }
      h.feed(row.command + "NOOP\r\n");
      BOOST_TEST(h.take() == row.expect + "|250 2.0.0");
      BOOST_TEST(h.io.start_tls_calls == (row.after_tls ? 1 : 0));
    }
  }
}

BOOST_AUTO_TEST_CASE(handshake_timeout_closes_without_a_reply) {
  Harness h;
  h.open();
  h.feed("EHLO c.example\r\nSTARTTLS\r\n");
  BOOST_TEST(h.take() == "250|220 2.0.0");
  h.session->on_timeout();
  BOOST_TEST(h.take() == "");
  BOOST_TEST(h.closed());
  h.session->tls_established("TLSv1.3", "x");  // too late: ignored
  BOOST_TEST(h.state() == SmtpState::Closed);
}

BOOST_AUTO_TEST_CASE(tls_established_outside_a_handshake_is_ignored) {
  Harness h;
  h.open();
  h.feed("EHLO c.example\r\n");
  h.session->tls_established("TLSv1.3", "x");
  BOOST_TEST(!h.session->context().tls);
  BOOST_TEST(h.state() == SmtpState::Ready);
}

BOOST_AUTO_TEST_CASE(plaintext_authentication_is_forgotten_after_starttls) {
  // RFC 3207 4.2: after the handshake the server discards what it learned from
  // the client before it, which includes a SASL login made in plaintext.
  Harness h;
  h.listener.allow_plaintext_auth = true;
  h.open();
  h.feed("EHLO c.example\r\nAUTH PLAIN " + b64("\0alice\0secret"s) + "\r\n");
  BOOST_TEST(h.take() == "250|235 2.7.0");
  BOOST_TEST(h.session->context().identity.value_or("") == "tenant-a");
  h.feed("STARTTLS\r\n");
  BOOST_TEST(h.take() == "220 2.0.0");
  h.session->tls_established("TLSv1.3", "TLS_AES_256_GCM_SHA384");
  BOOST_TEST(h.session->context().auth_user.empty());
  BOOST_TEST(!h.session->context().identity.has_value());
  h.feed("EHLO c.example\r\n");
  BOOST_TEST(has(ehlo_keywords(h.take_text()), "AUTH PLAIN LOGIN"));
  h.feed("MAIL FROM:<a@b.example>\r\n");
  BOOST_REQUIRE_EQUAL(h.handler.mail_identities.size(), 1u);
  BOOST_TEST(!h.handler.mail_identities[0].has_value());
}

BOOST_AUTO_TEST_CASE(trusted_identity_survives_starttls) {
  Harness h;
  h.listener.trusted_networks.push_back({*common::Cidr::parse("192.0.2.0/24"), "tenant-net"});
  h.open_tls();
  BOOST_TEST(h.session->context().identity.value_or("") == "tenant-net");
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(auth)

BOOST_AUTO_TEST_CASE(auth_exchange_table) {
  const std::string plain_ok = b64("\0alice\0secret"s);
  struct Row {
    const char* name;
    std::string input;
    std::string expect;
    bool authenticated;
    int auth_calls;
  };
  const std::vector<Row> rows = {
      {"plain_initial_response", "AUTH PLAIN " + plain_ok + "\r\n", "235 2.7.0", true, 1},
      {"plain_lowercase_mechanism", "auth plain " + plain_ok + "\r\n", "235 2.7.0", true, 1},
      {"plain_authzid_same_user", "AUTH PLAIN " + b64("alice\0alice\0secret"s) + "\r\n",
       "235 2.7.0", true, 1},
      {"plain_authzid_other_user", "AUTH PLAIN " + b64("bob\0alice\0secret"s) + "\r\n", "535 5.7.8",
       false, 0},
      {"plain_continuation", "AUTH PLAIN\r\n" + plain_ok + "\r\n", "334|235 2.7.0", true, 1},
      {"login_two_step", "AUTH LOGIN\r\n" + b64("alice") + "\r\n" + b64("secret") + "\r\n",
       "334|334|235 2.7.0", true, 1},
      {"login_initial_user", "AUTH LOGIN " + b64("alice") + "\r\n" + b64("secret") + "\r\n",
       "334|235 2.7.0", true, 1},
      {"plain_cancel", "AUTH PLAIN\r\n*\r\n", "334|501 5.7.0", false, 0},
      {"login_cancel_at_username", "AUTH LOGIN\r\n*\r\n", "334|501 5.7.0", false, 0},
      {"login_cancel_at_password", "AUTH LOGIN\r\n" + b64("alice") + "\r\n*\r\n",
       "334|334|501 5.7.0", false, 0},
      {"plain_bad_base64_initial", "AUTH PLAIN !!!!\r\n", "501 5.5.2", false, 0},
      {"plain_bad_base64_length", "AUTH PLAIN AGFsaWNlA\r\n", "501 5.5.2", false, 0},
      {"plain_bad_base64_continuation", "AUTH PLAIN\r\nnot base64\r\n", "334|501 5.5.2", false, 0},
      {"login_bad_base64_password", "AUTH LOGIN\r\n" + b64("alice") + "\r\n%%%%\r\n",
       "334|334|501 5.5.2", false, 0},
      {"plain_without_nuls", "AUTH PLAIN " + b64("alicesecret") + "\r\n", "501 5.5.2", false, 0},
      {"plain_empty_initial_response", "AUTH PLAIN =\r\n", "501 5.5.2", false, 0},
      {"plain_wrong_password", "AUTH PLAIN " + b64("\0alice\0wrong"s) + "\r\n", "535 5.7.8", false,
       1},
      {"plain_unknown_user", "AUTH PLAIN " + b64("\0mallory\0secret"s) + "\r\n", "535 5.7.8", false,
       1},
      {"login_wrong_password", "AUTH LOGIN\r\n" + b64("alice") + "\r\n" + b64("Secret") + "\r\n",
       "334|334|535 5.7.8", false, 1},
      {"unknown_mechanism", "AUTH CRAM-MD5\r\n", "504 5.5.4", false, 0},
      {"second_auth_after_success",
       "AUTH PLAIN " + plain_ok + "\r\nAUTH PLAIN " + plain_ok + "\r\n", "235 2.7.0|503 5.5.1",
       true, 1},
      {"auth_inside_transaction", "MAIL FROM:<a@b.example>\r\nAUTH PLAIN " + plain_ok + "\r\n",
       "250 2.1.0|503 5.5.1", false, 0},
      {"retry_after_failure",
       "AUTH PLAIN " + b64("\0alice\0x"s) + "\r\nAUTH PLAIN " + plain_ok + "\r\n",
       "535 5.7.8|235 2.7.0", true, 2},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.name) {
      Harness h;
      h.open_tls();
      h.feed(row.input);
      BOOST_TEST(h.take() == row.expect);
      BOOST_TEST(h.handler.auth_calls == row.auth_calls);
      const SessionContext& ctx = h.session->context();
      BOOST_TEST(ctx.auth_user == (row.authenticated ? "alice" : ""));
      BOOST_TEST(ctx.identity.value_or("") == (row.authenticated ? "tenant-a" : ""));
      BOOST_TEST(!h.closed());
      h.feed("NOOP\r\n");
      BOOST_TEST(h.take() == "250 2.0.0");
    }
  }
}

BOOST_AUTO_TEST_CASE(challenges_are_exact) {
  Harness h;
  h.open_tls();
  h.feed("AUTH LOGIN\r\n");
  BOOST_TEST(escape(h.take_text()) == escape("334 VXNlcm5hbWU6\r\n"));  // "Username:"
  BOOST_TEST(h.state() == SmtpState::AuthExchange);
  h.feed(b64("alice") + "\r\n");
  BOOST_TEST(escape(h.take_text()) == escape("334 UGFzc3dvcmQ6\r\n"));  // "Password:"
  h.feed("*\r\nAUTH PLAIN\r\n");
  BOOST_TEST(escape(h.take_text()) == escape("501 5.7.0 Authentication canceled\r\n334 \r\n"));
}

BOOST_AUTO_TEST_CASE(identity_reaches_the_handler) {
  Harness h;
  h.open_tls();
  h.feed("AUTH PLAIN " + b64("\0alice\0secret"s) + "\r\nMAIL FROM:<a@b.example>\r\n");
  BOOST_TEST(h.take() == "235 2.7.0|250 2.1.0");
  BOOST_REQUIRE_EQUAL(h.handler.mail_identities.size(), 1u);
  BOOST_TEST(h.handler.mail_identities[0].value_or("") == "tenant-a");
}

BOOST_AUTO_TEST_CASE(auth_before_tls_is_refused) {
  Harness h;
  h.open();
  h.feed("EHLO c.example\r\nAUTH PLAIN " + b64("\0alice\0secret"s) + "\r\nAUTH LOGIN\r\n");
  BOOST_TEST(h.take() == "250|530 5.7.0|530 5.7.0");
  BOOST_TEST(h.handler.auth_calls == 0);
}

BOOST_AUTO_TEST_CASE(auth_before_tls_when_plaintext_is_allowed) {
  Harness h;
  h.listener.allow_plaintext_auth = true;
  h.open();
  h.feed("EHLO c.example\r\nAUTH PLAIN " + b64("\0alice\0secret"s) + "\r\n");
  BOOST_TEST(h.take() == "250|235 2.7.0");
}

BOOST_AUTO_TEST_CASE(auth_disabled_on_the_listener) {
  Harness h;
  h.listener.auth = false;
  h.open_tls();
  h.feed("AUTH PLAIN " + b64("\0alice\0secret"s) + "\r\n");
  BOOST_TEST(h.take() == "503 5.5.1");
  BOOST_TEST(h.handler.auth_calls == 0);
}

BOOST_AUTO_TEST_CASE(held_completion_delays_pipelined_commands) {
  for (bool good : {true, false}) {
    BOOST_TEST_CONTEXT((good ? "success" : "failure")) {
      Harness h;
      h.handler.hold_auth = true;
      h.open_tls();
      h.feed("AUTH PLAIN " + b64(good ? "\0alice\0secret"s : "\0alice\0bad"s) +
             "\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
      BOOST_TEST(h.take() == "");
      BOOST_TEST(h.state() == SmtpState::AwaitingHandler);
      BOOST_TEST(h.session->read_timeout() == std::chrono::seconds(0));
      BOOST_TEST(h.handler.mails.empty());
      // More input while the handler decides waits as well.
      h.feed("NOOP\r\n");
      BOOST_TEST(h.take() == "");
      BOOST_TEST(h.handler.held.size() == 1u);
      h.complete_held();
      BOOST_TEST(h.take() ==
                 (good ? "235 2.7.0" : "535 5.7.8") + "|250 2.1.0|250 2.1.5|250 2.0.0"s);
      BOOST_REQUIRE_EQUAL(h.handler.mail_identities.size(), 1u);
      BOOST_TEST(h.handler.mail_identities[0].value_or("") == (good ? "tenant-a" : ""));
    }
  }
}

BOOST_AUTO_TEST_CASE(held_completion_after_the_session_is_gone_does_nothing) {
  Harness h;
  h.handler.hold_auth = true;
  h.open_tls();
  h.feed("AUTH LOGIN\r\n" + b64("alice") + "\r\n" + b64("secret") + "\r\nNOOP\r\n");
  BOOST_TEST(h.take() == "334|334");
  BOOST_REQUIRE_EQUAL(h.handler.held.size(), 1u);
  h.session.reset();
  h.handler.complete_held();  // the callback outlived its session
  BOOST_TEST(h.take() == "");
  BOOST_TEST(!h.io.resume_requested);
}

BOOST_AUTO_TEST_CASE(held_completion_after_a_timeout_does_nothing) {
  Harness h;
  h.handler.hold_auth = true;
  h.open_tls();
  h.feed("AUTH PLAIN " + b64("\0alice\0secret"s) + "\r\n");
  h.session->on_timeout();
  BOOST_TEST(h.take() == "421 4.4.2");
  h.complete_held();
  BOOST_TEST(h.take() == "");
  BOOST_TEST(h.session->context().auth_user.empty());
  BOOST_TEST(h.closed());
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(async_message)

BOOST_AUTO_TEST_CASE(commands_after_the_dot_wait_for_the_sink) {
  Harness h;
  h.handler.hold_finish = true;
  h.open();
  h.feed(kTxn + "body\r\n.\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<z@y.example>\r\nNOOP\r\n");
  BOOST_TEST(h.take() == kTxnReplies);
  BOOST_TEST(h.state() == SmtpState::AwaitingHandler);
  BOOST_TEST(h.handler.finished == 1);
  BOOST_TEST(h.handler.mails.size() == 1u);
  h.feed("DATA\r\nsecond\r\n.\r\nQUIT\r\n");
  BOOST_TEST(h.take() == "");
  h.complete_next();  // the first message; the second one is held in turn
  BOOST_TEST(h.take() == "250 2.0.0|250 2.1.0|250 2.1.5|250 2.0.0|354");
  BOOST_TEST(h.state() == SmtpState::AwaitingHandler);
  h.complete_next();
  BOOST_TEST(h.take() == "250 2.0.0|221 2.0.0");
  BOOST_TEST(h.closed());
  BOOST_TEST(h.handler.bodies == (std::vector<std::string>{"body\r\n", "second\r\n"}));
  BOOST_TEST(h.io.replies[h.io.replies.size() - 2].find("queued as X2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(synchronous_completion_with_pipelining) {
  Harness h;
  h.open();
  h.feed(kTxn +
         "one\r\n.\r\nMAIL FROM:<x@y.example>\r\nRCPT TO:<z@y.example>\r\nDATA\r\ntwo\r\n.\r\n");
  BOOST_TEST(h.take() == kTxnReplies + "|250 2.0.0|250 2.1.0|250 2.1.5|354|250 2.0.0");
  BOOST_TEST(h.handler.bodies == (std::vector<std::string>{"one\r\n", "two\r\n"}));
}

BOOST_AUTO_TEST_CASE(completion_after_the_session_is_gone_does_nothing) {
  Harness h;
  h.handler.hold_finish = true;
  h.open();
  h.feed(kTxn + "body\r\n.\r\nNOOP\r\n");
  h.session.reset();
  h.handler.complete_held();
  BOOST_TEST(h.take() == kTxnReplies);
}

BOOST_AUTO_TEST_CASE(completion_after_shutdown_does_nothing) {
  Harness h;
  h.handler.hold_finish = true;
  h.open();
  h.feed(kTxn + "body\r\n.\r\n");
  h.session->on_shutdown();
  h.complete_held();
  BOOST_TEST(h.take() == kTxnReplies + "|421 4.3.2");
  BOOST_TEST(h.closed());
}

BOOST_AUTO_TEST_CASE(a_failed_completion_resets_the_transaction) {
  Harness h;
  h.handler.hold_finish = true;
  h.handler.finish_reply = Reply::make(451, "4.3.0", "Try again later");
  h.open();
  h.feed(kTxn + "body\r\n.\r\nRCPT TO:<c@d.example>\r\n");
  h.complete_held();
  BOOST_TEST(h.take() == kTxnReplies + "|451 4.3.0|503 5.5.1");
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(esmtp_parameters)

BOOST_AUTO_TEST_CASE(dsn_and_esmtp_parameters_reach_the_handler) {
  Harness h;
  h.open();
  h.feed(
      "EHLO c.example\r\n"
      "MAIL FROM:<a@b> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=abc+2Bdef SMTPUTF8\r\n"
      "RCPT TO:<c@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+40d\r\n"
      "RCPT TO:<e@d> NOTIFY=NEVER\r\n"
      "DATA\r\nx\r\n.\r\n");
  BOOST_TEST(h.take() == "250|250 2.1.0|250 2.1.5|250 2.1.5|354|250 2.0.0");
  BOOST_REQUIRE_EQUAL(h.handler.envelopes.size(), 1u);
  const Envelope& env = h.handler.envelopes[0];
  const MailFrom& mail = env.mail_from;
  BOOST_TEST(mail.sender.local_part == "a");
  BOOST_TEST(mail.sender.domain == "b");
  BOOST_TEST(mail.declared_size.value_or(0) == 100u);
  BOOST_TEST((mail.body == BodyType::EightBitMime));
  BOOST_TEST((mail.ret == DsnRet::Headers));
  BOOST_TEST(mail.envid == "abc+def");
  BOOST_TEST(mail.smtputf8);
  BOOST_REQUIRE_EQUAL(env.recipients.size(), 2u);
  const Recipient& r = env.recipients[0];
  BOOST_TEST(r.address.to_string() == "c@d");
  BOOST_TEST(r.notify.given);
  BOOST_TEST(r.notify.success);
  BOOST_TEST(r.notify.failure);
  BOOST_TEST(!r.notify.delay);
  BOOST_TEST(!r.notify.never);
  BOOST_TEST(r.notify.to_string() == "SUCCESS,FAILURE");
  BOOST_TEST(r.orcpt_type == "rfc822");
  BOOST_TEST(r.orcpt == "c@d");
  BOOST_TEST(env.recipients[1].notify.never);
  BOOST_TEST(env.recipients[1].orcpt.empty());
}

BOOST_AUTO_TEST_CASE(address_and_parameter_table) {
  struct Row {
    const char* name;
    std::string mail;  // MAIL arguments
    std::string rcpt;  // RCPT arguments, tried only when MAIL succeeded
    std::string expect;
    std::string recorded_rcpt;  // the accepted recipient's to_string()
  };
  const std::string l64(64, 'l');
  const std::vector<Row> rows = {
      {"unknown_mail_parameter", "FROM:<a@b.example> FOO=bar", "", "555 5.5.4", ""},
      {"unknown_rcpt_parameter", "FROM:<a@b.example>", "TO:<c@d.example> XFORWARD=1",
       "250 2.1.0|555 5.5.4", ""},
      {"notify_never_with_success", "FROM:<a@b.example>", "TO:<c@d.example> NOTIFY=NEVER,SUCCESS",
       "250 2.1.0|501 5.5.4", ""},
      {"utf8_sender_without_smtputf8", "FROM:<j\xc3\xb6rg@b.example>", "", "553 5.6.7", ""},
      {"utf8_sender_with_smtputf8", "FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", "TO:<c@d.example>",
       "250 2.1.0|250 2.1.5", "c@d.example"},
      {"utf8_rcpt_without_smtputf8", "FROM:<a@b.example>", "TO:<j\xc3\xb6rg@d.example>",
       "250 2.1.0|553 5.6.7", ""},
      {"utf8_rcpt_with_smtputf8", "FROM:<a@b.example> SMTPUTF8",
       "TO:<j\xc3\xb6rg@d\xc3\xa9.example>", "250 2.1.0|250 2.1.5",
       "j\xc3\xb6rg@d\xc3\xa9.example"},
      {"postmaster", "FROM:<a@b.example>", "TO:<postmaster>", "250 2.1.0|250 2.1.5", "postmaster"},
      {"postmaster_any_case", "FROM:<a@b.example>", "TO:<PostMaster>", "250 2.1.0|250 2.1.5",
       "PostMaster"},
      {"null_sender", "FROM:<>", "TO:<c@d.example>", "250 2.1.0|250 2.1.5", "c@d.example"},
      {"null_recipient", "FROM:<>", "TO:<>", "250 2.1.0|501 5.1.3", ""},
      {"source_route_stripped", "FROM:<@r1.example,@r2.example:a@b.example>",
       "TO:<@hop.example:c@d.example>", "250 2.1.0|250 2.1.5", "c@d.example"},
      {"local_part_64", "FROM:<" + l64 + "@b.example>", "TO:<" + l64 + "@d.example>",
       "250 2.1.0|250 2.1.5", l64 + "@d.example"},
      {"local_part_65_sender", "FROM:<" + l64 + "x@b.example>", "", "501 5.1.7", ""},
      {"local_part_65_rcpt", "FROM:<a@b.example>", "TO:<" + l64 + "x@d.example>",
       "250 2.1.0|501 5.1.3", ""},
      {"quoted_local_part", "FROM:<\"john doe\"@b.example>", "TO:<\"x>y z\"@d.example>",
       "250 2.1.0|250 2.1.5", "\"x>y z\"@d.example"},
      {"space_after_colon", "FROM: <a@b.example>", "TO: <c@d.example>", "250 2.1.0|250 2.1.5",
       "c@d.example"},
      {"address_literal", "FROM:<a@[192.0.2.1]>", "TO:<c@[IPv6:2001:db8::1]>",
       "250 2.1.0|250 2.1.5", "c@[IPv6:2001:db8::1]"},
      {"trailing_dot_domain", "FROM:<a@b.example.>", "", "501 5.1.7", ""},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.name) {
      Harness h;
      h.open();
      h.feed("EHLO c.example\r\n");
      h.take();
      h.feed("MAIL " + row.mail + "\r\n");
      if (h.state() == SmtpState::HaveSender && !row.rcpt.empty())
        h.feed("RCPT " + row.rcpt + "\r\n");
      BOOST_TEST(h.take() == row.expect);
      if (!row.recorded_rcpt.empty()) {
        BOOST_REQUIRE_EQUAL(h.handler.rcpts.size(), 1u);
        BOOST_TEST(escape(h.handler.rcpts[0].address.to_string()) == escape(row.recorded_rcpt));
      } else {
        BOOST_TEST(h.handler.rcpts.empty());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(quoted_local_part_is_unquoted_for_the_handler) {
  Harness h;
  h.open();
  h.feed(
      "EHLO c.example\r\nMAIL FROM:<\"john doe\"@b.example>\r\nRCPT TO:<\"a\\\"b\"@d.example>\r\n");
  BOOST_TEST(h.take() == "250|250 2.1.0|250 2.1.5");
  BOOST_REQUIRE_EQUAL(h.handler.mails.size(), 1u);
  BOOST_TEST(h.handler.mails[0].sender.local_part == "john doe");
  BOOST_TEST(h.handler.mails[0].sender.to_string() == "\"john doe\"@b.example");
  BOOST_REQUIRE_EQUAL(h.handler.rcpts.size(), 1u);
  BOOST_TEST(h.handler.rcpts[0].address.local_part == "a\"b");
  BOOST_TEST(h.handler.rcpts[0].address.to_string() == "\"a\\\"b\"@d.example");
}

BOOST_AUTO_TEST_CASE(postmaster_recipient_has_no_domain) {
  Harness h;
  h.open();
  h.feed("EHLO c.example\r\nMAIL FROM:<>\r\nRCPT TO:<postmaster>\r\n");
  BOOST_REQUIRE_EQUAL(h.handler.rcpts.size(), 1u);
  BOOST_TEST(h.handler.rcpts[0].address.local_part == "postmaster");
  BOOST_TEST(h.handler.rcpts[0].address.domain == "");
  BOOST_TEST(h.handler.mails.at(0).sender.is_null());
}

BOOST_AUTO_TEST_SUITE_END()

// =============================================================================
BOOST_AUTO_TEST_SUITE(fuzz)

struct FuzzConfig {
  BareLfPolicy bare_lf;
  bool tls_available;
  bool allow_plaintext_auth;
  bool hold_auth;
  bool hold_finish;
  std::size_t max_errors;
};

struct FuzzOutcome {
  std::string sent;
  std::vector<std::string> finished_bodies;  // abandoned ones may hold any prefix
  bool closed;
  bool authenticated;
  bool tls;
};

// Brings the session back to the command phase, then asks NOOP. chunks empty:
// the input is fed at once; otherwise in pieces of those sizes.
FuzzOutcome run_fuzz(const std::string& input, const FuzzConfig& config,
                     const std::vector<std::size_t>& chunks) {
  Harness h(config.bare_lf);
  h.tls_available = config.tls_available;
  h.listener.allow_plaintext_auth = config.allow_plaintext_auth;
  h.handler.hold_auth = config.hold_auth;
  h.handler.hold_finish = config.hold_finish;
  h.limits.max_command_line_length = 512;
  h.limits.max_data_line_length = 998;
  h.limits.max_message_size = 4096;
  h.limits.max_recipients_per_message = 5;
  h.limits.max_errors_per_session = config.max_errors;
  h.open();
  if (chunks.empty()) {
    h.feed(input);
    h.complete_held();
  } else {
    std::size_t at = 0;
    for (std::size_t i = 0; at < input.size(); ++i) {
      std::size_t n = std::min(chunks[i % chunks.size()], input.size() - at);
      h.feed(std::string_view(input).substr(at, n));
      h.complete_held();
      at += n;
    }
  }
  for (int step = 0; step < 20 && h.state() != SmtpState::Closed; ++step) {
    switch (h.state()) {
      case SmtpState::ReceivingData:
        h.feed("\r\n.\r\n");
        break;
      case SmtpState::AuthExchange:
        h.feed("*\r\n");
        break;
      case SmtpState::TlsHandshake:
        h.session->tls_established("TLSv1.3", "x");
        break;
      case SmtpState::AwaitingHandler:
        h.complete_held();
        break;
      default:
        if (h.session->buffered_input() > 0) h.feed("\r\n");
        break;
    }
  }
  BOOST_REQUIRE(h.state() != SmtpState::ReceivingData && h.state() != SmtpState::AuthExchange &&
                h.state() != SmtpState::AwaitingHandler && h.state() != SmtpState::TlsHandshake);
  if (h.state() != SmtpState::Closed) {
    BOOST_REQUIRE_EQUAL(h.session->buffered_input(), 0u);
    h.take();
    h.feed("NOOP\r\n");
    BOOST_TEST(escape(h.take_text()) == escape("250 2.0.0 Ok\r\n"));
  } else {
    BOOST_TEST(h.io.close_calls == 1);
  }
  // MessageSink's contract: unstuffed, every line ending in CRLF.
  for (const auto& body : h.handler.bodies) {
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (body[i] == '\n' && (i == 0 || body[i - 1] != '\r')) {
        BOOST_ERROR("body has a bare LF: " << escape(body));
        break;
      }
    }
    BOOST_CHECK_MESSAGE(body.empty() || body.ends_with("\r\n"),
                        "unterminated body " << escape(body));
  }
  std::vector<std::string> finished;
  for (std::size_t i : h.handler.finished_indices) finished.push_back(h.handler.bodies[i]);
  const SessionContext& ctx = h.session->context();
  return {h.io.sent, finished, h.state() == SmtpState::Closed, !ctx.auth_user.empty(), ctx.tls};
}

BOOST_AUTO_TEST_CASE(random_input_never_breaks_the_session) {
  const std::string plain_ok = b64("\0alice\0secret"s);
  // Whole command lines, so that many sessions get deep (AUTH, DATA, TLS)...
  const std::vector<std::string> commands = {"EHLO fuzz.example",
                                             "HELO x",
                                             "MAIL FROM:<a@b.example>",
                                             "MAIL FROM:<> SIZE=10 BODY=8BITMIME",
                                             "MAIL FROM:<a@b.example> SIZE=999999",
                                             "MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8",
                                             "RCPT TO:<c@d.example>",
                                             "RCPT TO:<c@d.example>",
                                             "RCPT TO:<reject@d.example>",
                                             "RCPT TO:<postmaster> NOTIFY=NEVER",
                                             "RCPT TO:<\"q x\"@d.example> ORCPT=rfc822;a+40b",
                                             "DATA",
                                             "DATA",
                                             "DATA",
                                             "RSET",
                                             "NOOP",
                                             "VRFY a",
                                             "HELP",
                                             "STARTTLS",
                                             "AUTH PLAIN",
                                             "AUTH LOGIN",
                                             "AUTH PLAIN " + plain_ok,
                                             "AUTH PLAIN " + plain_ok,
                                             plain_ok,
                                             "YWxpY2U=",
                                             "c2VjcmV0",
                                             "*",
                                             "=",
                                             "BDAT 10",
                                             ".",
                                             "..",
                                             "...",
                                             "",
                                             "",
                                             "From: x",
                                             "Subject: y",
                                             "body text"};
  // ...and fragments that break lines, markers and encodings in odd places.
  const std::vector<std::string> fragments = {
      ".",       "..",      "\r",           "\n", "\r\n", "\r\n.\r\n", "\n.\n", "\r.\r", ".\r\n",
      "\n.\r\n", "\r\n.\n", "\r.\r\n",      " ",  ":",    "<",         ">",     "=",     "+",
      "\0"s,     "\xff",    "\x80\xc3\xa9", "\t", "MAIL", "RCPT TO:<", "@",     "DA",    "TA"};
  std::mt19937 rng(0x5eed5eed);
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  int closed = 0;
  int authenticated = 0;
  int tls = 0;
  std::size_t messages = 0;
  std::size_t input_bytes = 0;
  std::size_t reply_bytes = 0;
  for (int iteration = 0; iteration < 2000; ++iteration) {
    std::string input = pick(5) ? "EHLO fuzz.example\r\n" : "";
    const std::size_t pieces = pick(60);
    for (std::size_t p = 0; p < pieces; ++p) {
      const std::size_t kind = pick(100);
      if (kind < 10) {
        input += "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n";
      } else if (kind < 60) {
        input += commands[pick(commands.size())] + "\r\n";
      } else if (kind < 80) {
        input += fragments[pick(fragments.size())];
      } else if (kind < 92) {
        for (std::size_t n = pick(6) + 1; n > 0; --n) input += static_cast<char>(pick(256));
      } else if (kind < 98) {
        input += commands[pick(commands.size())] + (pick(2) ? "\n" : "\r");
      } else if (kind < 99) {
        input += std::string(pick(2) ? 300 : 1100, 'x');  // over a command or a text line
      } else {
        input += pick(2) ? "QUIT\r\n" : "GET / HTTP/1.1\r\n";  // ends the session at once
      }
    }
    FuzzConfig config{pick(2) ? BareLfPolicy::Normalize : BareLfPolicy::Reject,
                      pick(2) == 0,
                      pick(2) == 0,
                      pick(3) == 0,
                      pick(3) == 0,
                      5 + pick(60)};
    std::vector<std::size_t> chunks;
    for (std::size_t n = pick(8) + 1; n > 0; --n)
      chunks.push_back(pick(3) ? pick(8) + 1 : pick(200) + 1);
    BOOST_TEST_CONTEXT("iteration " << iteration << " input " << escape(input)) {
      FuzzOutcome whole = run_fuzz(input, config, {});
      FuzzOutcome pieces_outcome = run_fuzz(input, config, chunks);
      // Chunking must not change anything the client or the handler sees.
      BOOST_TEST(escape(pieces_outcome.sent) == escape(whole.sent));
      BOOST_TEST(pieces_outcome.finished_bodies == whole.finished_bodies);
      closed += whole.closed;
      authenticated += whole.authenticated;
      tls += whole.tls;
      messages += whole.finished_bodies.size();
      input_bytes += input.size();
      reply_bytes += whole.sent.size();
    }
  }
  BOOST_TEST_MESSAGE("fuzz: of 2000 sessions " << closed << " ended closed, " << authenticated
                                               << " authenticated, " << tls << " in TLS; "
                                               << messages << " messages accepted; " << input_bytes
                                               << " bytes in, " << reply_bytes << " out");
}

BOOST_AUTO_TEST_SUITE_END()
