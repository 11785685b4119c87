// The `smtp:` block and its `timeouts:`. See smtp_limits_reader.h.
#include "common/config/smtp_limits_reader.h"

#include <chrono>

namespace common::config {
namespace {

using std::chrono::seconds;

// The ranges documented next to each field of SmtpLimits.
constexpr Range<std::uint64_t> kCommandLineLength{512, 65536};  // RFC 5321 4.5.3.1.4
constexpr Range<std::uint64_t> kDataLineLength{998, 1000000};   // RFC 5322 2.1.1
constexpr Range<std::uint64_t> kMessageSize{1024, 2147483648};
constexpr Range<std::uint64_t> kRecipients{100, 100000};  // RFC 5321 4.5.3.1.8
constexpr Range<std::uint64_t> kConnections{1, 100000};
constexpr Range<std::uint64_t> kConnectionsPerClient{1, 100000};
constexpr Range<std::uint64_t> kMessagesPerConnection{1, 10000000};
constexpr Range<std::uint64_t> kErrorsPerSession{1, 1000};
constexpr Range<std::uint64_t> kAuthFailures{1, 100};
constexpr Range<seconds> kCommandTimeout{seconds(1), seconds(3600)};
constexpr Range<seconds> kDataTimeout{seconds(1), seconds(3600)};
constexpr Range<seconds> kTlsHandshakeTimeout{seconds(1), seconds(600)};

}  // namespace

common::smtp::SmtpLimits read_smtp_limits(MapReader& smtp) {
  common::smtp::SmtpLimits limits;
  smtp.read_unsigned("max_command_line_length", limits.max_command_line_length, kCommandLineLength);
  smtp.read_unsigned("max_data_line_length", limits.max_data_line_length, kDataLineLength);
  smtp.read_byte_size("max_message_size", limits.max_message_size, kMessageSize);
  smtp.read_unsigned("max_recipients_per_message", limits.max_recipients_per_message, kRecipients);
  smtp.read_unsigned("max_connections", limits.max_connections, kConnections);
  smtp.read_unsigned("max_connections_per_client", limits.max_connections_per_client,
                     kConnectionsPerClient);
  smtp.read_unsigned("max_messages_per_connection", limits.max_messages_per_connection,
                     kMessagesPerConnection);
  smtp.read_unsigned("max_errors_per_session", limits.max_errors_per_session, kErrorsPerSession);
  smtp.read_unsigned("max_auth_failures", limits.max_auth_failures, kAuthFailures);

  MapReader timeouts = smtp.read_map("timeouts");
  timeouts.read_duration("command", limits.command_timeout, kCommandTimeout);
  timeouts.read_duration("data", limits.data_timeout, kDataTimeout);
  timeouts.read_duration("tls_handshake", limits.tls_handshake_timeout, kTlsHandshakeTimeout);
  timeouts.finish();
  return limits;
}

}  // namespace common::config
