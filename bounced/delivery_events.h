// Delivery webhooks: stamp-mta records every successful delivery in its
// message log (mta/state/message_log.h); this turns each new "delivered" row
// into Postmark's Delivery event for the tenants that have a Delivery endpoint.
//
// A cursor (table bounced_cursor, name "delivery") remembers the last message
// log row looked at, in the same transaction as the outbox rows, so each
// delivery is announced once. The first run starts with the rows logged after
// `started_at` (the process start): a new installation does not announce old
// deliveries.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>

#include "bounced/bounced_config.h"
#include "common/base/result.h"

namespace bounced {

// The cursor's table; made once when the processor opens the database.
common::Status create_delivery_cursor_schema(sqlite3* db);

// One batch of at most `max_rows` message log rows; returns the webhooks queued.
common::Result<std::size_t> queue_delivery_webhooks(sqlite3* db, const BouncedConfig& config, std::size_t max_rows,
                                                    std::int64_t started_at, std::int64_t now);

inline constexpr std::size_t kDeliveryBatch = 1000;

}  // namespace bounced
