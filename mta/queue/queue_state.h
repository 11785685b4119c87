// QueueState: what has happened to a queued message so far, kept beside its
// immutable queue file as DIR/state/<queue id>:
//
//   STAMP-STATE 1
//   attempts: 2
//   next-attempt: 1795000300
//   held: 0
//   last-error: <xtext>
//   rcpt: 0 delivered 1795000000 <xtext remote host> <xtext reply>
//   rcpt: 1 deferred 1795000000 <xtext remote host> <xtext reply>
//   rcpt: 2 pending 0 - -
//   end
//
// Empty values are written "-" (a value that is itself "-" is written "+2D").
// The "end" line makes a file cut at a line boundary detectable: the state is
// written without fsync, so after a power cut it may be empty or partial, and
// parse_queue_state() then fails rather than forget recipients. Keys this
// version does not know are skipped (a newer stamp may add some).
//
// It is rewritten atomically (temp file + rename) after each delivery attempt,
// without fsync: losing the latest version after a power cut only means a
// recipient is tried again (delivered twice at worst, never lost). A missing
// state file means "nothing attempted yet". Format only; FsSpool does the I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/result.h"

namespace mta {

enum class RecipientStatus { Pending, Deferred, Delivered, Bounced };

const char* status_name(RecipientStatus status);

struct RecipientState {
  RecipientStatus status = RecipientStatus::Pending;
  std::int64_t last_attempt = 0;  // unix seconds, 0 = never
  std::string remote;             // "mx1.example.net[192.0.2.7]:25", or "" when no connection was made
  std::string reply;              // the server's reply, or our own reason ("4.4.1 connection refused")
};

struct QueueState {
  int attempts = 0;
  std::int64_t next_attempt = 0;  // unix seconds; 0 = as soon as possible
  bool held = false;              // `stampctl queue hold`: not delivered until released
  std::string last_error;
  std::vector<RecipientState> recipients;  // same order as the envelope's recipients

  bool finished() const;  // no recipient pending or deferred
};

std::string encode_queue_state(const QueueState& state);
common::Result<QueueState> parse_queue_state(std::string_view text);

}  // namespace mta
