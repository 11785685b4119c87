// Reading one queued message for display. See queue_view.h.
#include "ctl/queue_view.h"

#include <algorithm>

#include "mta/queue/fs_spool.h"
#include "mta/queue/queue_file.h"

namespace ctl {

std::size_t MessageView::delivered() const {
  return static_cast<std::size_t>(std::count_if(
      recipients.begin(), recipients.end(),
      [](const RecipientView& r) { return r.state.status == mta::RecipientStatus::Delivered; }));
}

common::Result<MessageView> load_message_view(const std::filesystem::path& spool,
                                              const std::string& id) {
  auto contents = mta::read_queue_file(spool, id);
  if (!contents) return std::unexpected(contents.error());
  auto parsed = mta::parse_queue_file(*contents);
  if (!parsed) return common::fail("queue/" + id + ": " + parsed.error().message);

  MessageView view;
  view.id = id;
  view.tenant = parsed->meta.tenant;
  view.sender = parsed->meta.envelope.mail_from.sender.to_string();
  view.arrival = parsed->meta.arrival;
  view.size = parsed->message.size();
  for (const auto& rcpt : parsed->meta.envelope.recipients) {
    view.recipients.push_back({rcpt.address.to_string(), mta::RecipientState{}});
  }

  auto state = mta::read_queue_state(spool, id);
  if (!state) {
    view.state_problem = state.error().message;
  } else if (*state && (*state)->recipients.size() != view.recipients.size()) {
    // The daemon sets such a state aside at start (FsSpool::recover) as well.
    view.state_problem = "state/" + id + " lists " + std::to_string((*state)->recipients.size()) +
                         " recipients, the message has " + std::to_string(view.recipients.size());
  } else if (*state) {
    view.state = std::move(**state);
    for (std::size_t i = 0; i < view.recipients.size(); ++i) {
      view.recipients[i].state = std::move(view.state.recipients[i]);
    }
    view.state.recipients.clear();
  }
  return view;
}

}  // namespace ctl
