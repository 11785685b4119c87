// The server's VERP secret on disk: 32 random bytes in a file of mode 0600,
// made by stamp-mta on first start and read by stamp-bounced.
#pragma once

#include <filesystem>
#include <string>

#include "common/base/result.h"

namespace common::verp {

Result<std::string> load_or_create_secret(const std::filesystem::path& file);

}  // namespace common::verp
