// The bounce tables of the state database, for stamp-bounced's processor: every
// report received (its raw bytes, size-capped) and one row per recipient result,
// so a bounce can be looked up later by address. Plus the reads the processor
// needs from stamp-mta's `message` and `message_log` tables.
//
// Free functions on the caller's connection, meant to run inside the caller's
// transaction (BEGIN IMMEDIATE), so a report, its suppressions and its webhooks
// are stored together or not at all.
//
//   bounce_report(id INTEGER PRIMARY KEY, sha256 TEXT UNIQUE, received_at, envelope_from,
//                 envelope_to, kind, size, truncated, raw BLOB)
//   bounce(id INTEGER PRIMARY KEY, report_id, tenant, stream, queue_id, message_id, email,
//          class, type, type_code, reason, status, diagnostic, remote_mta, action,
//          feedback_type, tag, from_header, subject, bounced_at, suppressed)
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/result.h"

namespace bounced {

common::Status create_bounce_schema(sqlite3* db);

struct ReportRow {
  std::string sha256;  // of the raw bytes: the same report twice is stored once
  std::int64_t received_at = 0;
  std::string envelope_from;
  std::string envelope_to;
  std::string kind;  // "dsn", "arf", ...
  std::size_t size = 0;
  bool truncated = false;
  std::string_view raw;  // at most bounce_store.max_raw_message bytes, viewed in the report (no copy)
};

// The id of an earlier copy of this report, if any.
common::Result<std::optional<std::int64_t>> find_report(sqlite3* db, const std::string& sha256);
common::Result<std::int64_t> insert_report(sqlite3* db, const ReportRow& row);

struct BounceRow {
  std::int64_t report_id = 0;
  std::string tenant, stream, queue_id, message_id, email;
  std::string bounce_class, type;
  int type_code = 0;
  std::string reason, status, diagnostic, remote_mta, action, feedback_type;
  std::string tag, from, subject;
  std::int64_t bounced_at = 0;
  bool suppressed = false;
};
common::Result<std::int64_t> insert_bounce(sqlite3* db, const BounceRow& row);
// The bounce caused a suppression (set after the decision, which counts the row itself).
common::Status mark_suppressed(sqlite3* db, std::int64_t bounce_id);

// Forgets bounce rows, and reports no row refers to any more, older than
// `before` (unix seconds): at most `limit` of each per call. Suppressions stay.
common::Result<std::size_t> purge_bounces(sqlite3* db, std::int64_t before, std::size_t limit);

// Soft bounces of `email` (tenant, stream) since `since`, not counting any
// before the recipient's last successful delivery: "in a row".
common::Result<std::size_t> soft_bounces_in_a_row(sqlite3* db, const std::string& tenant, const std::string& stream,
                                                  const std::string& email, std::int64_t since);

// What stamp-mta recorded about an accepted message (mta/state/message_log.h).
struct MessageFacts {
  std::string queue_id, tenant, stream, tag, message_id, from, subject, sender;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::vector<std::string> recipients;
};
common::Result<std::optional<MessageFacts>> find_message_by_queue_id(sqlite3* db, const std::string& queue_id);
// `message_id` with or without angle brackets.
common::Result<std::optional<MessageFacts>> find_message_by_message_id(sqlite3* db, const std::string& message_id);

}  // namespace bounced
