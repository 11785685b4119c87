// Unit tests of MessageWriter: what stamp-mta adds to a submission, and that
// the result does not depend on how the body was chunked.
#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <regex>

#include "common/event/event_loop.h"
#include "mta/message_writer.h"
#include "mta/queue/fs_spool.h"
#include "mta/queue/queue_id.h"

namespace fs = std::filesystem;

namespace {

struct Spool {
  fs::path dir;
  std::unique_ptr<common::event::EventLoop> loop = std::move(*common::event::EventLoop::create());
  std::unique_ptr<mta::FsSpool> spool;
  Spool() {
    char pattern[] = "/tmp/stamp-writer-test-XXXXXX";
    dir = mkdtemp(pattern);
    spool = std::move(*mta::FsSpool::open(dir, 1, *loop));
  }
  ~Spool() {
    spool.reset();
    fs::remove_all(dir);
  }

  // Writes `input` in chunks of `chunk` bytes and returns the stored message.
  std::string store(std::string_view input, std::size_t chunk) {
    mta::QueuedMessage meta;
    meta.id = mta::new_queue_id();
    common::smtp::Recipient r;
    r.address = {"b", "example.net"};
    meta.envelope.recipients.push_back(r);
    auto writer = spool->create(meta);
    BOOST_REQUIRE(writer);
    std::string queued_id;
    mta::HeaderContext ctx;
    ctx.hostname = "mta.example";
    mta::MessageWriter sink(std::move(*writer), ctx, "Received: test\r\n", nullptr, nullptr,
                            [&](const std::string& id, const mta::LateFields&, const mta::HeaderSummary&) { queued_id = id; });
    for (std::size_t i = 0; i < input.size(); i += chunk) sink.write(input.substr(i, chunk));
    common::smtp::Reply reply{0, "", {}};
    sink.finish([&](common::smtp::Reply r) {
      reply = r;
      loop->stop();
    });
    BOOST_REQUIRE(loop->run());
    BOOST_REQUIRE_EQUAL(reply.code, 250);
    BOOST_REQUIRE_EQUAL(reply.lines.size(), 1u);
    BOOST_TEST(reply.lines.front() == "Ok: queued as " + meta.id);
    BOOST_TEST(queued_id == meta.id);
    auto contents = spool->read(meta.id);
    BOOST_REQUIRE(contents);
    auto parsed = mta::parse_queue_file(*contents);
    BOOST_REQUIRE(parsed);
    return std::string(parsed->message);
  }
};

// Generated values vary; the tests compare their shape.
std::string normalize(std::string text) {
  text = std::regex_replace(text, std::regex("Message-ID: <[0-9A-F]{16}\\.[0-9a-f]{12}@mta\\.example>"),
                            "Message-ID: <GENERATED>");
  text = std::regex_replace(text, std::regex("Date: [A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} \\+0000"),
                            "Date: GENERATED");
  return text;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(message_writer)

BOOST_AUTO_TEST_CASE(adds_what_is_missing_and_nothing_else) {
  struct Case {
    const char* name;
    std::string input;
    std::string expected;  // after "Received: test\r\n"
  };
  const std::string added = "Message-ID: <GENERATED>\r\nDate: GENERATED\r\n";
  const Case cases[] = {
      {"complete", "Subject: a\r\nMessage-ID: <x@y>\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\nbody\r\n",
       "Subject: a\r\nMessage-ID: <x@y>\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\nbody\r\n"},
      {"both missing", "Subject: a\r\n\r\nbody\r\n", "Subject: a\r\n" + added + "\r\nbody\r\n"},
      {"date missing", "message-id: <x@y>\r\n\r\n.\r\n", "message-id: <x@y>\r\nDate: GENERATED\r\n\r\n.\r\n"},
      {"upper case names", "MESSAGE-ID: <x@y>\r\nDATE: x\r\n\r\nb\r\n", "MESSAGE-ID: <x@y>\r\nDATE: x\r\n\r\nb\r\n"},
      {"folded header", "Subject: a\r\n b\r\n\r\nx\r\n", "Subject: a\r\n b\r\n" + added + "\r\nx\r\n"},
      {"headers only", "Subject: a\r\n", "Subject: a\r\n" + added},
      {"empty message", "", added},
      {"no blank line before body", "Subject: a\r\nhello world\r\n",
       "Subject: a\r\n" + added + "\r\nhello world\r\n"},
      {"not a header at all", "hello\r\n", added + "\r\nhello\r\n"},
      {"name lookalike in body", "Subject: a\r\n\r\nDate: no\r\n", "Subject: a\r\n" + added + "\r\nDate: no\r\n"},
  };
  Spool spool;
  for (const auto& c : cases) {
    for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{4096}}) {
      std::string stored = spool.store(c.input, chunk);
      BOOST_TEST(normalize(stored) == "Received: test\r\n" + c.expected, c.name << " chunk " << chunk);
    }
  }
}

BOOST_AUTO_TEST_CASE(received_header_names_protocol_and_single_recipient) {
  common::smtp::SessionContext ctx;
  ctx.helo = "client.example (evil)\r\nX-Injected: yes";
  ctx.client_address = "192.0.2.7";
  ctx.esmtp = true;
  ctx.tls = true;
  ctx.tls_version = "TLSv1.3";
  ctx.tls_cipher = "TLS_AES_256_GCM_SHA384";
  ctx.auth_user = "dev";
  common::smtp::Envelope env;
  common::smtp::Recipient r;
  r.address = {"b", "example.net"};
  env.recipients.push_back(r);
  std::string header = mta::make_received_header(ctx, "mta.example", "0123456789ABCDEF", env, 0);
  BOOST_TEST(header ==
             "Received: from client.example??evil???X-Injected:?yes ([192.0.2.7])\r\n"
             "\tby mta.example (stamp) with ESMTPSA id 0123456789ABCDEF\r\n"
             "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
             "\tfor <b@example.net>; Thu, 01 Jan 1970 00:00:00 +0000\r\n");
  env.recipients.push_back(r);
  ctx.tls = false;
  ctx.auth_user.clear();
  header = mta::make_received_header(ctx, "mta.example", "0123456789ABCDEF", env, 0);
  BOOST_TEST(header.find("with ESMTP id") != std::string::npos);
  BOOST_TEST(header.find("for <") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
