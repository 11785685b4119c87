// DeliveryAgent: what happens to a message once it is durably queued. The dev
// profile's SandboxDelivery writes it to files; DeliveryScheduler sends it to
// the recipients' servers. The daemon and its control socket see only this.
#pragma once

#include <functional>
#include <string>

#include "mta/mta_config.h"

namespace mta {

class DeliveryAgent {
 public:
  virtual ~DeliveryAgent() = default;
  // Loop thread: a message (new, recovered, or a DSN) is in the spool.
  virtual void enqueue(const std::string& queue_id) = 0;
  // Stop starting work; `done` runs once what is in flight has finished.
  virtual void stop(std::function<void()> done) = 0;
  // SIGHUP with a valid configuration.
  virtual void reload(const MtaConfig& config) { (void)config; }
  // `stampctl queue` commands (flush [ID], hold ID, release ID, delete ID).
  // Returns "ok <text>" or "error <text>".
  virtual std::string control(const std::string& command, const std::string& queue_id) {
    (void)command;
    (void)queue_id;
    return "error the queue cannot be steered in sandbox mode (delivery is immediate)";
  }
};

}  // namespace mta
