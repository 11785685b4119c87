// Queue state encoding and parsing. See queue_state.h for the format.
//
// The parser is strict about what it knows (every number, status and xtext
// value is checked, recipients are numbered 0, 1, 2... in order, the four
// scalar keys appear exactly once, the file ends with "end") and lenient only
// about keys it does not know. It does no I/O.
#include "mta/queue/queue_state.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "mta/queue/field_codec.h"

namespace mta {
namespace {

constexpr std::string_view kMagic = "STAMP-STATE 1\n";
constexpr std::string_view kEnd = "end\n";

struct StatusName {
  RecipientStatus status;
  const char* name;
};
constexpr std::array<StatusName, 4> kStatusNames{{
    {RecipientStatus::Pending, "pending"},
    {RecipientStatus::Deferred, "deferred"},
    {RecipientStatus::Delivered, "delivered"},
    {RecipientStatus::Bounced, "bounced"},
}};

std::optional<RecipientStatus> parse_status(std::string_view name) {
  for (const auto& entry : kStatusNames) {
    if (name == entry.name) return entry.status;
  }
  return std::nullopt;
}

// A non-negative decimal number with nothing around it.
template <class Int>
common::Result<Int> parse_count(std::string_view text, std::string_view what) {
  Int value{};
  if (text.empty() || text.front() == '-' || text.front() == '+') {
    return common::fail(std::string(what) + ": not a non-negative number");
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return common::fail(std::string(what) + ": not a non-negative number");
  }
  return value;
}

// Splits "a b c" into exactly N non-empty tokens separated by single spaces.
template <std::size_t N>
std::optional<std::array<std::string_view, N>> split_tokens(std::string_view text) {
  std::array<std::string_view, N> tokens;
  for (std::size_t i = 0; i < N; ++i) {
    auto space = text.find(' ');
    bool last = i + 1 == N;
    if (last != (space == std::string_view::npos)) return std::nullopt;
    tokens[i] = text.substr(0, space);
    if (tokens[i].empty()) return std::nullopt;
    text = last ? std::string_view() : text.substr(space + 1);
  }
  return tokens;
}

common::Result<RecipientState> parse_rcpt(std::string_view value, std::size_t expected_index) {
  auto tokens = split_tokens<5>(value);
  if (!tokens) return common::fail("rcpt: expected 5 fields");
  auto index = parse_count<std::size_t>((*tokens)[0], "rcpt index");
  if (!index) return std::unexpected(index.error());
  if (*index != expected_index) {
    return common::fail("rcpt: index " + std::to_string(*index) + " where " +
                        std::to_string(expected_index) + " was expected");
  }
  RecipientState rcpt;
  auto status = parse_status((*tokens)[1]);
  if (!status) return common::fail("rcpt: unknown status");
  rcpt.status = *status;
  auto when = parse_count<std::int64_t>((*tokens)[2], "rcpt time");
  if (!when) return std::unexpected(when.error());
  rcpt.last_attempt = *when;
  auto remote = decode_field((*tokens)[3], "rcpt remote");
  if (!remote) return std::unexpected(remote.error());
  rcpt.remote = std::move(*remote);
  auto reply = decode_field((*tokens)[4], "rcpt reply");
  if (!reply) return std::unexpected(reply.error());
  rcpt.reply = std::move(*reply);
  return rcpt;
}

// The scalar keys: each must appear exactly once.
enum Scalar { kAttempts, kNextAttempt, kHeld, kLastError, kScalarCount };
constexpr std::array<std::string_view, kScalarCount> kScalarKeys{"attempts", "next-attempt", "held",
                                                                 "last-error"};

common::Status parse_scalar(Scalar which, std::string_view value, QueueState& state) {
  switch (which) {
    case kAttempts: {
      auto n = parse_count<int>(value, "attempts");
      if (!n) return std::unexpected(n.error());
      state.attempts = *n;
      return {};
    }
    case kNextAttempt: {
      auto n = parse_count<std::int64_t>(value, "next-attempt");
      if (!n) return std::unexpected(n.error());
      state.next_attempt = *n;
      return {};
    }
    case kHeld:
      if (value != "0" && value != "1") return common::fail("held: must be 0 or 1");
      state.held = value == "1";
      return {};
    case kLastError: {
      auto text = decode_field(value, "last-error");
      if (!text) return std::unexpected(text.error());
      state.last_error = std::move(*text);
      return {};
    }
    case kScalarCount:
      break;
  }
  return common::fail("internal: bad scalar key");
}

}  // namespace

const char* status_name(RecipientStatus status) {
  for (const auto& entry : kStatusNames) {
    if (entry.status == status) return entry.name;
  }
  return "unknown";
}

bool QueueState::finished() const {
  return std::none_of(recipients.begin(), recipients.end(), [](const RecipientState& r) {
    return r.status == RecipientStatus::Pending || r.status == RecipientStatus::Deferred;
  });
}

std::string encode_queue_state(const QueueState& state) {
  std::string out(kMagic);
  out += "attempts: " + std::to_string(std::max(state.attempts, 0)) + "\n";
  out += "next-attempt: " + std::to_string(std::max<std::int64_t>(state.next_attempt, 0)) + "\n";
  out += std::string("held: ") + (state.held ? "1" : "0") + "\n";
  out += "last-error: " + encode_field(state.last_error) + "\n";
  for (std::size_t i = 0; i < state.recipients.size(); ++i) {
    const auto& rcpt = state.recipients[i];
    out += "rcpt: " + std::to_string(i) + " " + status_name(rcpt.status) + " " +
           std::to_string(std::max<std::int64_t>(rcpt.last_attempt, 0)) + " " +
           encode_field(rcpt.remote) + " " + encode_field(rcpt.reply) + "\n";
  }
  out += kEnd;
  return out;
}

common::Result<QueueState> parse_queue_state(std::string_view text) {
  if (!text.starts_with(kMagic)) return common::fail("not a stamp state file (bad magic)");
  std::string_view body = text.substr(kMagic.size());
  // kMagic ends in '\n', so the end line is always a whole line.
  if (!body.ends_with(kEnd)) return common::fail("truncated: no end line");
  body.remove_suffix(kEnd.size());

  QueueState state;
  std::array<bool, kScalarCount> seen{};
  while (!body.empty()) {
    auto nl = body.find('\n');
    if (nl == std::string_view::npos)
      return common::fail("truncated line");  // cannot happen: see above
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl + 1);
    auto colon = line.find(": ");
    if (colon == std::string_view::npos || colon == 0)
      return common::fail("bad line (no \"key: value\")");
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 2);
    if (key == "rcpt") {
      auto rcpt = parse_rcpt(value, state.recipients.size());
      if (!rcpt) return std::unexpected(rcpt.error());
      state.recipients.push_back(std::move(*rcpt));
      continue;
    }
    auto known = std::find(kScalarKeys.begin(), kScalarKeys.end(), key);
    if (known == kScalarKeys.end()) continue;  // a newer stamp's key
    auto which = static_cast<Scalar>(known - kScalarKeys.begin());
    if (seen[which]) return common::fail(std::string(key) + ": given twice");
    seen[which] = true;
    if (auto st = parse_scalar(which, value, state); !st) return std::unexpected(st.error());
  }
  for (std::size_t i = 0; i < kScalarCount; ++i) {
    if (!seen[i]) return common::fail(std::string(kScalarKeys[i]) + ": missing");
  }
  return state;
}

}  // namespace mta
