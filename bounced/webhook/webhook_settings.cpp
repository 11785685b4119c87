// Range checks of WebhookSettings. See webhook_settings.h.
#include "bounced/webhook/webhook_settings.h"

#include <type_traits>

namespace bounced::webhook {
namespace {

using namespace std::chrono_literals;

std::string text(std::chrono::seconds value) { return std::to_string(value.count()) + "s"; }
std::string text(std::chrono::milliseconds value) { return std::to_string(value.count()) + "ms"; }

template <class Value>
void check(std::vector<std::string>& problems, const char* name, Value value, Value low,
           Value high) {
  if (value >= low && value <= high) return;
  if constexpr (std::is_arithmetic_v<Value>) {
    problems.push_back(std::string(name) + ": must be " + std::to_string(low) + ".." +
                       std::to_string(high) + ", got " + std::to_string(value));
  } else {
    problems.push_back(std::string(name) + ": must be " + text(low) + ".." + text(high) + ", got " +
                       text(value));
  }
}

}  // namespace

std::vector<std::string> settings_problems(const WebhookSettings& s) {
  using ms = std::chrono::milliseconds;
  using sec = std::chrono::seconds;
  std::vector<std::string> problems;
  check<std::size_t>(problems, "max_in_flight", s.max_in_flight, 1, 1000);
  check<ms>(problems, "request_timeout", s.request_timeout, 1s, 10min);
  check<sec>(problems, "first_retry_delay", s.first_retry_delay, 1s, 24h);
  check<sec>(problems, "max_retry_delay", s.max_retry_delay, s.first_retry_delay, 24h * 7);
  check<sec>(problems, "retry_for", s.retry_for, 1s, 24h * 30);
  check<ms>(problems, "poll_interval", s.poll_interval, 10ms, 1min);
  check<ms>(problems, "stop_grace", s.stop_grace, 0ms, 1min);
  check<sec>(problems, "keep_finished", s.keep_finished, 1h, 24h * 365);
  return problems;
}

}  // namespace bounced::webhook
