// Queue id generation. Uniqueness across restarts rests on the clock moving
// forward; the spool renames with RENAME_NOREPLACE, so a collision after a clock
// jump fails loudly (451) instead of overwriting a queued message.
#include "mta/queue/queue_id.h"

#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <cstdio>

namespace mta {
namespace {

std::atomic<std::uint32_t> g_sequence{[] {
  std::uint32_t start = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&start), sizeof start);
  return start;
}()};

}  // namespace

std::string new_queue_id() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch()).count();
  std::uint32_t seq = g_sequence.fetch_add(1) & 0xFFFFF;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%011llX%05X", static_cast<unsigned long long>(ms) & 0xFFFFFFFFFFFull, seq);
  return buf;
}

bool is_queue_id(std::string_view text) {
  if (text.size() != 16) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

}  // namespace mta
