// Reads the `smtp:` block (SmtpLimits) of either daemon's config file.
//
// Owns the allowed range of every limit (mirroring the comments in
// common/smtp/smtp_limits.h); the limits are enforced by the SMTP core, not here.
#pragma once

#include "common/config/map_reader.h"
#include "common/smtp/smtp_limits.h"

namespace common::config {

// `smtp` is the reader of the block (absent is fine: every key has a default).
common::smtp::SmtpLimits read_smtp_limits(MapReader& smtp);

}  // namespace common::config
