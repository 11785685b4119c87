// HeaderRewriter: what stamp-mta does to a submission's header section, once,
// before the message is spooled and signed:
//  - takes out the application's instructions (X-Stamp-Stream, X-Stamp-Tag,
//    X-Stamp-Metadata-KEY, X-Stamp-Sender-Mode) and records them;
//  - applies the sender mode (SenderPolicy): in display-name mode From is
//    replaced and the author goes to Reply-To;
//  - adds List-Unsubscribe and List-Unsubscribe-Post (RFC 2369, RFC 8058) to
//    broadcast streams that configure them;
//  - adds Message-ID and Date when missing (RFC 6409 8.2, 8.3).
// Pure text in, text out; MessageWriter feeds it and the spool.
#pragma once

#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/smtp/reply.h"
#include "mta/mta_config.h"
#include "mta/queue/queue_file.h"
#include "mta/sender_policy.h"

namespace mta {

struct HeaderContext {
  const TenantConfig* tenant = nullptr;  // nullptr: no sender policy (no operator configured)
  const OperatorConfig* op = nullptr;
  DomainVerified verified;
  std::string hostname;  // for Message-ID
  std::string queue_id;
  // Once X-Stamp-Stream is known: the refusal for recipients suppressed on that
  // stream (RCPT could only check the default one), or nullopt. May be empty.
  std::function<std::optional<common::smtp::Reply>(const std::string& stream)> check_stream_suppressions;
};

// What the message log keeps of the header section (for webhooks), unfolded.
struct HeaderSummary {
  std::string message_id;
  std::string from;
  std::string subject;
};

struct RewrittenHeaders {
  std::string text;                       // the new header section, each field ending in CRLF
  LateFields late;                        // stream, tag, metadata, sender mode, return path
  std::optional<SenderDecision> sender;   // how to sign; nullopt when no policy applies
  HeaderSummary summary;
};

// Bound on each summary field: the log is a record, not a copy of the message.
inline constexpr std::size_t kMaxSummaryField = 998;

// `section` is the header section as received (fields with CRLF, no blank line).
std::expected<RewrittenHeaders, common::smtp::Reply> rewrite_headers(std::string_view section,
                                                                      const HeaderContext& ctx);

// Metadata keys and tags are bounded so an application cannot bloat the log.
inline constexpr std::size_t kMaxMetadataFields = 20;
inline constexpr std::size_t kMaxMetadataValue = 1000;

}  // namespace mta
