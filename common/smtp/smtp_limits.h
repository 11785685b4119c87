// SmtpLimits: every bound the SMTP server core enforces, as named configuration.
// Defaults are safe for a public-facing server; the config loader checks the
// ranges (kept next to each field so the check and the docs cannot drift).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace common::smtp {

struct SmtpLimits {
  // RFC 5321 4.5.3.1.4 requires at least 512 octets; extensions (AUTH initial
  // responses, DSN parameters) need more. Longer lines get 500 5.5.2 and a close.
  std::size_t max_command_line_length = 2048;  // 512..65536
  // RFC 5322 2.1.1: 998 characters plus CRLF. A longer text line rejects the message.
  std::size_t max_data_line_length = 998;  // 998..1000000
  // Advertised in EHLO SIZE (RFC 1870) and enforced while the data streams in.
  std::uint64_t max_message_size = 26214400;  // 1024..2147483648 (25 MiB)
  // RFC 5321 4.5.3.1.8: at least 100 must be accepted.
  std::size_t max_recipients_per_message = 1000;  // 100..100000
  std::size_t max_connections = 1000;              // 1..100000 (per daemon)
  std::size_t max_connections_per_client = 100;    // 1..100000 (per client IP)
  std::size_t max_messages_per_connection = 10000; // 1..10000000
  // Protocol errors (bad syntax, out-of-order commands, rejected recipients do not
  // count) before "421 4.7.0" and a close.
  std::size_t max_errors_per_session = 10;  // 1..1000
  std::size_t max_auth_failures = 3;        // 1..100
  // RFC 5321 4.5.3.2.7: the server waits at least 5 minutes for the next command.
  std::chrono::seconds command_timeout{300};  // 1s..3600s
  // RFC 5321 4.5.3.2.5-6: 3 minutes per data block; we apply it to each read.
  std::chrono::seconds data_timeout{180};  // 1s..3600s
  std::chrono::seconds tls_handshake_timeout{60};  // 1s..600s
};

}  // namespace common::smtp
