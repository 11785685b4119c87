// QueueView: one queued message as `stampctl queue list/show` present it, read
// straight from the spool (queue file + state file) without the daemon.
//
// Owns turning the two files into one record (a message with no state file, or
// one whose state file cannot be used, shows every recipient as pending); it
// does not format anything (queue_render.cpp) and never writes to the spool.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/base/result.h"
#include "mta/queue/queue_state.h"

namespace ctl {

struct RecipientView {
  std::string address;  // as given in RCPT TO, without <>
  mta::RecipientState state;
};

struct MessageView {
  std::string id;
  std::string tenant;
  std::string sender;        // "" for the null sender <>
  std::int64_t arrival = 0;  // unix seconds
  std::uint64_t size = 0;    // bytes of the message as received
  mta::QueueState state;     // state.recipients is empty; see recipients
  std::vector<RecipientView> recipients;
  std::string state_problem;  // why the state file was ignored, or ""

  std::size_t delivered() const;
};

// Reads queue/ID and state/ID under the spool directory. A message that is not
// there (any more) is an error with sys_errno ENOENT.
common::Result<MessageView> load_message_view(const std::filesystem::path& spool,
                                              const std::string& id);

}  // namespace ctl
