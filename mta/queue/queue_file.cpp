// Queue file encoding and parsing. See queue_file.h.
#include "mta/queue/queue_file.h"

#include <charconv>
#include <cstdio>

#include "mta/queue/field_codec.h"

namespace mta {
namespace {

constexpr std::string_view kMagic = "STAMP-QUEUE 1\n";
constexpr std::string_view kTrailerPrefix = "STAMP-END ";
constexpr std::size_t kTrailerSize = 10 + 16 + 1 + 8 + 1;  // "STAMP-END " 16 hex " " 8 hex "\n"

std::string_view next_token(std::string_view& rest) {
  auto space = rest.find(' ');
  std::string_view token = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  return token;
}

common::Result<common::smtp::Mailbox> parse_mailbox(std::string_view text) {
  auto decoded = decode_field(text, "envelope field");
  if (!decoded) return std::unexpected(decoded.error());
  common::smtp::Mailbox box;
  if (decoded->empty()) return box;
  auto at = decoded->rfind('@');
  if (at == std::string::npos) {
    box.local_part = *decoded;  // <postmaster>
  } else {
    box.local_part = decoded->substr(0, at);
    box.domain = decoded->substr(at + 1);
  }
  return box;
}

// Local part and domain, joined without quoting: the file keeps the raw form.
std::string raw_address(const common::smtp::Mailbox& box) {
  if (box.domain.empty()) return box.local_part;
  return box.local_part + "@" + box.domain;
}

common::smtp::DsnNotify parse_notify(std::string_view text) {
  common::smtp::DsnNotify n;
  if (text == "-") return n;
  n.given = true;
  n.never = text.find("NEVER") != std::string_view::npos;
  n.success = text.find("SUCCESS") != std::string_view::npos;
  n.failure = text.find("FAILURE") != std::string_view::npos;
  n.delay = text.find("DELAY") != std::string_view::npos;
  return n;
}

}  // namespace

std::string encode_queue_header(const QueuedMessage& meta) {
  const auto& mail = meta.envelope.mail_from;
  std::string out(kMagic);
  out += "id: " + meta.id + "\n";
  out += "arrival: " + std::to_string(meta.arrival) + "\n";
  out += "tenant: " + encode_field(meta.tenant) + "\n";
  out += "client: " + encode_field(meta.client_address) + "\n";
  out += "helo: " + encode_field(meta.helo) + "\n";
  out += "mail-from: " + encode_field(raw_address(mail.sender)) + "\n";
  out += "size: " + (mail.declared_size ? std::to_string(*mail.declared_size) : std::string("-")) + "\n";
  out += std::string("body: ") + (mail.body == common::smtp::BodyType::EightBitMime ? "8BITMIME" : "7BIT") + "\n";
  out += std::string("smtputf8: ") + (mail.smtputf8 ? "1" : "0") + "\n";
  out += std::string("ret: ") +
         (mail.ret == common::smtp::DsnRet::Full ? "FULL" : mail.ret == common::smtp::DsnRet::Headers ? "HDRS" : "-") + "\n";
  out += "envid: " + encode_field(mail.envid) + "\n";
  for (const auto& rcpt : meta.envelope.recipients) {
    std::string notify = rcpt.notify.given ? rcpt.notify.to_string() : "-";
    out += "rcpt: " + encode_field(raw_address(rcpt.address)) + " " + notify + " " +
           encode_field(rcpt.orcpt_type) + " " + encode_field(rcpt.orcpt) + "\n";
  }
  out += "\n";
  return out;
}

std::string encode_queue_tail(const LateFields& late, std::uint64_t message_length) {
  std::string block;
  if (!late.sender_mode.empty()) block += "sender-mode: " + encode_field(late.sender_mode) + "\n";
  if (!late.return_path_domain.empty()) block += "return-path-domain: " + encode_field(late.return_path_domain) + "\n";
  if (!late.stream.empty()) block += "stream: " + encode_field(late.stream) + "\n";
  if (!late.tag.empty()) block += "tag: " + encode_field(late.tag) + "\n";
  for (const auto& [key, value] : late.metadata) block += "metadata: " + encode_field(key) + " " + encode_field(value) + "\n";
  block += "\n";
  block += late.prepend;
  char trailer[kTrailerSize + 1];
  std::snprintf(trailer, sizeof trailer, "STAMP-END %016llX %08llX\n", static_cast<unsigned long long>(message_length),
                static_cast<unsigned long long>(block.size()));
  return block + std::string(trailer, kTrailerSize);
}

namespace {

common::Status parse_late_block(std::string_view block, LateFields& late) {
  auto blank = block.find("\n\n");
  std::string_view fields = block.substr(0, blank == std::string_view::npos ? 0 : blank + 1);
  if (blank == std::string_view::npos) {
    if (!block.starts_with("\n")) return common::fail("late block has no end of fields");
    late.prepend = std::string(block.substr(1));
    return {};
  }
  late.prepend = std::string(block.substr(blank + 2));
  while (!fields.empty()) {
    auto nl = fields.find('\n');
    std::string_view line = fields.substr(0, nl);
    fields.remove_prefix(nl + 1);
    auto colon = line.find(": ");
    if (colon == std::string_view::npos) return common::fail("bad late line");
    std::string_view key = line.substr(0, colon);
    std::string_view rest = line.substr(colon + 2);
    if (key == "metadata") {
      auto k = decode_field(next_token(rest), "metadata key");
      auto v = decode_field(next_token(rest), "metadata value");
      if (!k || !v) return common::fail("bad metadata line");
      late.metadata.emplace_back(*k, *v);
      continue;
    }
    auto value = decode_field(rest, "late field");
    if (!value) return std::unexpected(value.error());
    if (key == "sender-mode") late.sender_mode = *value;
    else if (key == "return-path-domain") late.return_path_domain = *value;
    else if (key == "stream") late.stream = *value;
    else if (key == "tag") late.tag = *value;
    // Unknown keys are skipped: a newer stamp may add fields.
  }
  return {};
}

}  // namespace

common::Result<ParsedQueueFile> parse_queue_file(std::string_view contents) {
  if (!contents.starts_with(kMagic)) return common::fail("not a stamp queue file (bad magic)");
  auto header_end = contents.find("\n\n");
  if (header_end == std::string_view::npos) return common::fail("truncated: no end of envelope");
  if (contents.size() < header_end + 2 + kTrailerSize) return common::fail("truncated: no trailer");
  std::string_view trailer = contents.substr(contents.size() - kTrailerSize);
  if (!trailer.starts_with(kTrailerPrefix) || trailer.back() != '\n') return common::fail("truncated: bad trailer");
  std::uint64_t length = 0;
  std::uint64_t late_length = 0;
  std::string_view hex = trailer.substr(kTrailerPrefix.size(), 16);
  std::string_view late_hex = trailer.substr(kTrailerPrefix.size() + 17, 8);
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), length, 16);
  auto [late_end, late_ec] = std::from_chars(late_hex.data(), late_hex.data() + late_hex.size(), late_length, 16);
  if (ec != std::errc() || end != hex.data() + hex.size() || late_ec != std::errc() ||
      late_end != late_hex.data() + late_hex.size() || trailer[kTrailerPrefix.size() + 16] != ' ') {
    return common::fail("bad trailer");
  }
  std::size_t body_begin = header_end + 2;
  if (contents.size() - body_begin - kTrailerSize != length + late_length) {
    return common::fail("message length does not match trailer");
  }

  ParsedQueueFile parsed;
  parsed.message = contents.substr(body_begin, length);
  if (auto st = parse_late_block(contents.substr(body_begin + length, late_length), parsed.meta.late); !st) {
    return std::unexpected(st.error());
  }
  std::string_view header = contents.substr(kMagic.size(), header_end + 1 - kMagic.size());
  bool have_id = false;
  auto& mail = parsed.meta.envelope.mail_from;
  while (!header.empty()) {
    auto nl = header.find('\n');
    std::string_view line = header.substr(0, nl);
    header.remove_prefix(nl + 1);
    auto colon = line.find(": ");
    if (colon == std::string_view::npos) return common::fail("bad envelope line");
    std::string_view key = line.substr(0, colon);
    std::string_view value = line.substr(colon + 2);
    if (key == "id") {
      parsed.meta.id = std::string(value);
      have_id = true;
    } else if (key == "arrival") {
      std::from_chars(value.data(), value.data() + value.size(), parsed.meta.arrival);
    } else if (key == "tenant" || key == "client" || key == "helo" || key == "envid") {
      auto decoded = decode_field(value, "envelope field");
      if (!decoded) return std::unexpected(decoded.error());
      if (key == "tenant") parsed.meta.tenant = *decoded;
      else if (key == "client") parsed.meta.client_address = *decoded;
      else if (key == "helo") parsed.meta.helo = *decoded;
      else mail.envid = *decoded;
    } else if (key == "mail-from") {
      auto box = parse_mailbox(value);
      if (!box) return std::unexpected(box.error());
      mail.sender = *box;
    } else if (key == "size") {
      if (value != "-") {
        std::uint64_t size = 0;
        std::from_chars(value.data(), value.data() + value.size(), size);
        mail.declared_size = size;
      }
    } else if (key == "body") {
      mail.body = value == "8BITMIME" ? common::smtp::BodyType::EightBitMime : common::smtp::BodyType::SevenBit;
    } else if (key == "smtputf8") {
      mail.smtputf8 = value == "1";
    } else if (key == "ret") {
      mail.ret = value == "FULL" ? common::smtp::DsnRet::Full
                 : value == "HDRS" ? common::smtp::DsnRet::Headers : common::smtp::DsnRet::Unset;
    } else if (key == "rcpt") {
      std::string_view rest = value;
      auto box = parse_mailbox(next_token(rest));
      if (!box) return std::unexpected(box.error());
      common::smtp::Recipient rcpt;
      rcpt.address = *box;
      rcpt.notify = parse_notify(next_token(rest));
      auto type = decode_field(next_token(rest), "rcpt field");
      auto orcpt = decode_field(next_token(rest), "rcpt field");
      if (!type || !orcpt) return common::fail("bad rcpt line");
      rcpt.orcpt_type = *type;
      rcpt.orcpt = *orcpt;
      parsed.meta.envelope.recipients.push_back(std::move(rcpt));
    }
    // Unknown keys are skipped: a newer stamp may add fields.
  }
  if (!have_id) return common::fail("envelope has no id");
  if (parsed.meta.envelope.recipients.empty()) return common::fail("envelope has no recipients");
  return parsed;
}

}  // namespace mta
