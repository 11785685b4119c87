// edit_tenant_file: a read-modify-write of one tenant file (tenants.d/NAME.yaml)
// through yaml-cpp, for `stampctl domain add/rotate-key`.
//
// The file is read under an exclusive flock, the caller's edit changes the node
// tree, and the result is emitted and written atomically (ctl/atomic_file.h)
// with the file's mode and owner. yaml-cpp does not keep comments, so the new
// file starts with one line saying so. It does not validate the schema: the
// caller checks what it adds, and stamp-mta checks the file when it loads it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>

#include "common/base/result.h"

namespace ctl {

inline constexpr const char* kManagedFileHeader =
    "# managed by stampctl; edit freely, comments are not kept";

// `edit` gets the document's root mapping (an empty file gives an empty one) and
// may refuse with an error, in which case the file is left as it was.
using TenantEdit = std::function<common::Status(YAML::Node& root)>;

common::Status edit_tenant_file(const std::filesystem::path& file, const TenantEdit& edit);

}  // namespace ctl
