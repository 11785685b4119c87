// HeaderRewriter implementation. See header_rewriter.h.
#include "mta/header_rewriter.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <vector>

#include "common/base/ascii.h"
#include "common/base/time_format.h"

namespace mta {
namespace {

using common::smtp::Reply;

struct Field {
  std::string name;   // as written
  std::string lower;  // lower-cased, for matching
  std::string text;   // the whole field, folded lines and CRLF included
};

// RFC 5322 2.2: a field starts at a line that does not begin with WSP.
std::vector<Field> split_fields(std::string_view section) {
  std::vector<Field> fields;
  std::size_t pos = 0;
  while (pos < section.size()) {
    std::size_t eol = section.find("\r\n", pos);
    std::size_t next = eol == std::string_view::npos ? section.size() : eol + 2;
    std::string_view line = section.substr(pos, next - pos);
    if ((line.front() == ' ' || line.front() == '\t') && !fields.empty()) {
      fields.back().text += line;
    } else {
      auto colon = line.find(':');
      Field f;
      f.name = std::string(line.substr(0, colon == std::string_view::npos ? 0 : colon));
      f.lower = common::ascii_lower(f.name);
      f.text = std::string(line);
      fields.push_back(std::move(f));
    }
    pos = next;
  }
  return fields;
}

// The unfolded value of a field, trimmed.
std::string value_of(const Field& f) {
  std::string_view text = f.text;
  text.remove_prefix(std::min(text.size(), f.name.size() + 1));
  std::string out;
  for (char c : text) {
    if (c != '\r' && c != '\n') out += c;
  }
  auto first = out.find_first_not_of(" \t");
  auto last = out.find_last_not_of(" \t");
  return first == std::string::npos ? std::string() : out.substr(first, last - first + 1);
}

std::string new_message_id(const std::string& queue_id, const std::string& hostname) {
  unsigned char random[6];
  RAND_bytes(random, sizeof random);
  char hex[13];
  std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x%02x%02x", random[0], random[1], random[2], random[3], random[4],
                random[5]);
  return "<" + queue_id + "." + hex + "@" + hostname + ">";
}

bool printable_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

const MessageStream* find_stream(const TenantConfig& tenant, const std::string& name) {
  for (const auto& s : tenant.streams) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace

std::expected<RewrittenHeaders, Reply> rewrite_headers(std::string_view section, const HeaderContext& ctx) {
  RewrittenHeaders out;
  out.late.stream = "outbound";
  bool display_name_requested = false;
  std::vector<Field> kept;
  for (auto& field : split_fields(section)) {
    if (!field.lower.starts_with("x-stamp-")) {
      kept.push_back(std::move(field));
      continue;
    }
    // The application's instructions to us: recorded, never sent on.
    std::string value = value_of(field);
    if (field.lower == "x-stamp-stream") {
      if (!printable_token(value) || value.size() > 64) {
        return std::unexpected(Reply::make(550, "5.6.0", "X-Stamp-Stream must be a stream name"));
      }
      out.late.stream = value;
    } else if (field.lower == "x-stamp-tag") {
      out.late.tag = value.substr(0, kMaxMetadataValue);
    } else if (field.lower.starts_with("x-stamp-metadata-")) {
      if (out.late.metadata.size() >= kMaxMetadataFields) {
        return std::unexpected(Reply::make(550, "5.6.0", "Too many X-Stamp-Metadata fields (at most " +
                                                             std::to_string(kMaxMetadataFields) + ")"));
      }
      out.late.metadata.emplace_back(field.name.substr(17), value.substr(0, kMaxMetadataValue));
    } else if (field.lower == "x-stamp-sender-mode") {
      if (common::ascii_lower(value) != "display-name") {
        return std::unexpected(Reply::make(550, "5.6.0", "X-Stamp-Sender-Mode accepts only display-name"));
      }
      display_name_requested = true;
    }
    // Other X-Stamp-* fields are dropped: they are ours, not the recipient's.
  }

  const MessageStream* stream = nullptr;
  if (ctx.tenant) {
    stream = find_stream(*ctx.tenant, out.late.stream);
    if (!stream && out.late.stream != "outbound") {
      return std::unexpected(Reply::make(550, "5.7.1", "Unknown message stream " + out.late.stream));
    }
    const Field* from = nullptr;
    std::size_t from_count = 0;
    for (const auto& f : kept) {
      if (f.lower == "from") {
        from = &f;
        ++from_count;
      }
    }
    if (from_count != 1) {
      return std::unexpected(Reply::make(550, "5.6.0", "The message must have exactly one From field (RFC 5322 3.6)"));
    }
    auto decision = decide_sender(*ctx.tenant, *ctx.op, ctx.verified, {value_of(*from), display_name_requested});
    if (!decision) return std::unexpected(decision.error());
    out.late.sender_mode = sender_mode_name(decision->mode);
    out.late.return_path_domain = decision->return_path_domain;
    if (decision->mode == SenderMode::DisplayName) {
      bool has_reply_to = std::any_of(kept.begin(), kept.end(), [](const Field& f) { return f.lower == "reply-to"; });
      for (auto& f : kept) {
        if (f.lower == "from") f.text = "From: " + decision->new_from + "\r\n";
      }
      if (!has_reply_to) kept.push_back(Field{"Reply-To", "reply-to", "Reply-To: " + decision->reply_to + "\r\n"});
    }
    out.sender = std::move(*decision);
  }

  auto has = [&](std::string_view name) {
    return std::any_of(kept.begin(), kept.end(), [&](const Field& f) { return f.lower == name; });
  };
  for (const auto& f : kept) out.text += f.text;
  if (stream && stream->type == StreamType::Broadcast && !has("list-unsubscribe") &&
      (!stream->unsubscribe_mailto.empty() || !stream->unsubscribe_url.empty())) {
    // RFC 2369 and RFC 8058: both ways to leave, and one-click when there is a URL.
    std::string targets;
    if (!stream->unsubscribe_mailto.empty()) targets += "<mailto:" + stream->unsubscribe_mailto + ">";
    if (!stream->unsubscribe_url.empty()) targets += std::string(targets.empty() ? "" : ", ") + "<" + stream->unsubscribe_url + ">";
    out.text += "List-Unsubscribe: " + targets + "\r\n";
    if (!stream->unsubscribe_url.empty() && !has("list-unsubscribe-post")) {
      out.text += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
    }
  }
  for (const auto& f : kept) {
    std::string* slot = f.lower == "message-id" ? &out.summary.message_id
                        : f.lower == "from"     ? &out.summary.from
                        : f.lower == "subject"  ? &out.summary.subject
                                                : nullptr;
    if (slot && slot->empty()) *slot = value_of(f).substr(0, kMaxSummaryField);
  }
  if (!has("message-id")) {
    out.summary.message_id = new_message_id(ctx.queue_id, ctx.hostname);
    out.text += "Message-ID: " + out.summary.message_id + "\r\n";
  }
  if (!has("date")) out.text += "Date: " + common::rfc5322_date(std::time(nullptr)) + "\r\n";
  return out;
}

}  // namespace mta
