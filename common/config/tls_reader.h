// Reads the `tls:` block (TlsConfig) of either daemon's config file.
//
// Only names the files; whether they exist and hold a matching certificate and
// key is checked when the TLS context is built (common/tls), not here.
#pragma once

#include "common/config/map_reader.h"
#include "common/tls/tls_config.h"

namespace common::config {

// certificate and private_key are required; relative paths are resolved against
// the config file's directory. Whether the block itself is required (some
// listener uses STARTTLS) is the caller's decision.
common::tls::TlsConfig read_tls(MapReader& tls);

}  // namespace common::config
