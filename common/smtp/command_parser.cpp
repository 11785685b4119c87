// SMTP command-line parsing. Deliberately strict about what it stores (paths are
// validated, lengths bounded, xtext decoded) and lenient about spacing that real
// clients get wrong ("MAIL FROM: <a@b>"), the way Postfix is by default.
#include "common/smtp/command_parser.h"

#include <algorithm>
#include <charconv>
#include <cctype>

namespace common::smtp {
namespace {

bool is_atext(unsigned char c, bool utf8) {
  if (c >= 0x80) return utf8;  // RFC 6531 3.3: UTF-8 in atext when SMTPUTF8
  if (std::isalnum(c)) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool has_non_ascii(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// Dot-string (RFC 5321 4.1.2): atoms separated by single dots.
bool valid_dot_string(std::string_view s, bool utf8) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!is_atext(static_cast<unsigned char>(c), utf8)) {
      return false;
    }
    prev = c;
  }
  return true;
}

// Domain (RFC 5321 4.1.2) or address literal. Underscores are tolerated in
// labels: they occur in real host names and are harmless here.
bool valid_domain(std::string_view d, bool utf8) {
  if (d.empty() || d.size() > kMaxDomain) return false;
  if (d.front() == '[') {
    if (d.back() != ']' || d.size() < 3) return false;
    for (char c : d.substr(1, d.size() - 2)) {
      unsigned char u = static_cast<unsigned char>(c);
      if (u <= 32 || u >= 127 || c == '[' || c == ']' || c == '\\') return false;
    }
    return true;
  }
  std::size_t label_len = 0;
  char prev = '.';
  for (char c : d) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '.') {
      if (prev == '.' || prev == '-' || label_len == 0) return false;
      label_len = 0;
    } else {
      bool ok = std::isalnum(u) || c == '_' || (c == '-' && prev != '.') || (u >= 0x80 && utf8);
      if (!ok || ++label_len > 63) return false;
    }
    prev = c;
  }
  return prev != '-' && prev != '.';  // a trailing dot (root) is not accepted in SMTP
}

struct PathResult {
  Mailbox mailbox;
  std::string_view rest;  // after '>'
};

enum class PathKind { Sender, Recipient };

std::expected<PathResult, Reply> parse_path(std::string_view in, PathKind kind, bool utf8) {
  const char* syntax_code = kind == PathKind::Sender ? "5.1.7" : "5.1.3";
  auto syntax = [&](std::string_view why) {
    return std::unexpected(Reply::make(501, syntax_code, std::string("Syntax error in address: ") + std::string(why)));
  };
  if (in.empty() || in.front() != '<') return syntax("expected <address>");
  // A quoted local part may contain '>': find the closing bracket outside quotes.
  std::size_t close = std::string_view::npos;
  {
    bool quoted = false;
    for (std::size_t i = 1; i < in.size(); ++i) {
      if (quoted && in[i] == '\\') { ++i; continue; }
      if (in[i] == '"') quoted = !quoted;
      else if (!quoted && in[i] == '>') { close = i; break; }
    }
  }
  if (close == std::string_view::npos) return syntax("missing '>'");
  std::string_view path = in.substr(1, close - 1);
  std::string_view rest = in.substr(close + 1);
  if (path.size() > kMaxPath) return std::unexpected(Reply::make(501, syntax_code, "Path too long"));
  PathResult result{{}, rest};
  if (path.empty()) {
    if (kind == PathKind::Sender) return result;  // null reverse-path
    return syntax("empty recipient");
  }
  // RFC 5321 4.1.2 / Appendix C: an obsolete source route "@a,@b:" is accepted and ignored.
  if (path.front() == '@') {
    auto colon = path.find(':');
    if (colon == std::string_view::npos) return syntax("bad source route");
    path.remove_prefix(colon + 1);
  }
  if (!utf8 && has_non_ascii(path)) {
    // RFC 6531 3.5: a non-ASCII address needs SMTPUTF8.
    return std::unexpected(Reply::make(553, "5.6.7", "Non-ASCII address requires the SMTPUTF8 parameter"));
  }
  std::string local;
  std::size_t at;
  if (path.front() == '"') {
    std::size_t i = 1;
    for (; i < path.size() && path[i] != '"'; ++i) {
      unsigned char c = static_cast<unsigned char>(path[i]);
      if (path[i] == '\\') {
        if (++i >= path.size()) return syntax("bad quoted local part");
        c = static_cast<unsigned char>(path[i]);
        if (c < 32 || c == 127) return syntax("control character in local part");
        local += path[i];
        continue;
      }
      if (c < 32 || c == 127) return syntax("control character in local part");
      local += path[i];
    }
    if (i >= path.size()) return syntax("unterminated quoted local part");
    at = i + 1;
    if (at >= path.size() || path[at] != '@') {
      return syntax("missing domain");
    }
  } else {
    at = path.rfind('@');
    if (at == std::string_view::npos) {
      // RFC 5321 4.5.1: <postmaster> without a domain must be accepted as a recipient.
      if (kind == PathKind::Recipient && iequals(path, "postmaster")) {
        result.mailbox.local_part = std::string(path);
        return result;
      }
      return syntax("missing domain");
    }
    local = std::string(path.substr(0, at));
    if (!valid_dot_string(local, utf8)) return syntax("bad local part");
  }
  if (local.empty()) return syntax("empty local part");
  if (local.size() > kMaxLocalPart) return std::unexpected(Reply::make(501, syntax_code, "Local part too long"));
  std::string_view domain = path.substr(at + 1);
  if (!valid_domain(domain, utf8)) return syntax("bad domain");
  result.mailbox.local_part = std::move(local);
  result.mailbox.domain = std::string(domain);
  return result;
}

struct Param {
  std::string key;  // upper-cased
  std::string_view value;
  bool has_value;
};

// Splits " SIZE=10 BODY=8BITMIME" into parameters (RFC 5321 4.1.2 esmtp-param).
std::expected<std::vector<Param>, Reply> split_params(std::string_view rest) {
  std::vector<Param> params;
  std::size_t i = 0;
  while (i < rest.size()) {
    if (rest[i] == ' ') { ++i; continue; }
    std::size_t end = rest.find(' ', i);
    std::string_view item = rest.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    i = end == std::string_view::npos ? rest.size() : end;
    auto eq = item.find('=');
    Param p{upper(item.substr(0, eq)), {}, eq != std::string_view::npos};
    if (p.has_value) p.value = item.substr(eq + 1);
    if (p.key.empty() || !std::all_of(p.key.begin(), p.key.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '-';
        })) {
      return std::unexpected(Reply::make(501, "5.5.4", "Syntax error in parameters"));
    }
    for (const auto& seen : params) {
      if (seen.key == p.key) return std::unexpected(Reply::make(501, "5.5.4", "Duplicate parameter " + p.key));
    }
    params.push_back(p);
  }
  return params;
}

Reply unknown_param(const std::string& key) {
  return Reply::make(555, "5.5.4", "Unsupported parameter " + key);
}

Reply bad_value(const std::string& key) {
  return Reply::make(501, "5.5.4", "Bad value for parameter " + key);
}

std::string_view strip_prefix_keyword(std::string_view args, std::string_view keyword, bool& ok) {
  // "FROM:" then optional spaces (a common client deviation) then the path.
  ok = args.size() >= keyword.size() && iequals(args.substr(0, keyword.size()), keyword);
  if (!ok) return {};
  args.remove_prefix(keyword.size());
  while (!args.empty() && args.front() == ' ') args.remove_prefix(1);
  return args;
}

}  // namespace

std::string Mailbox::to_string() const {
  if (is_null()) return {};
  bool needs_quotes = !valid_dot_string(local_part, true);
  if (domain.empty()) return local_part;  // <postmaster>
  if (!needs_quotes) return local_part + "@" + domain;
  std::string out = "\"";
  for (char c : local_part) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"@" + domain;
}

std::string DsnNotify::to_string() const {
  if (never) return "NEVER";
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(success, "SUCCESS");
  add(failure, "FAILURE");
  add(delay, "DELAY");
  return out;
}

CommandLine split_command(std::string_view line) {
  auto space = line.find(' ');
  CommandLine cmd;
  cmd.verb = upper(line.substr(0, space));
  if (space != std::string_view::npos) cmd.args = line.substr(space + 1);
  return cmd;
}

std::expected<std::string, std::string> decode_xtext(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '+') {
      if (i + 2 >= text.size()) return std::unexpected("truncated +XX escape");
      auto hex = text.substr(i + 1, 2);
      if (hex.size() != 2 || !std::all_of(hex.begin(), hex.end(), [](char h) {
            return std::isdigit(static_cast<unsigned char>(h)) || (h >= 'A' && h <= 'F');
          })) {
        return std::unexpected("bad +XX escape");
      }
      int value = 0;
      std::from_chars(hex.data(), hex.data() + 2, value, 16);
      out += static_cast<char>(value);
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return std::unexpected("character not allowed in xtext");
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string encode_xtext(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      out += '+';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::expected<MailFrom, Reply> parse_mail_from(std::string_view args) {
  bool ok = false;
  args = strip_prefix_keyword(args, "FROM:", ok);
  if (!ok) return std::unexpected(Reply::make(501, "5.5.4", "Syntax: MAIL FROM:<address>"));
  // Parameters decide whether UTF-8 is allowed in the path, so read them first.
  bool smtputf8 = false;
  {
    auto close = args.rfind('>');
    std::string_view tail = close == std::string_view::npos ? std::string_view() : args.substr(close + 1);
    auto params = split_params(tail);
    if (params) {
      for (const auto& p : *params) smtputf8 |= p.key == "SMTPUTF8";
    }
  }
  auto path = parse_path(args, PathKind::Sender, smtputf8);
  if (!path) return std::unexpected(path.error());
  if (!path->rest.empty() && path->rest.front() != ' ') {
    return std::unexpected(Reply::make(501, "5.5.4", "Syntax error after address"));
  }
  auto params = split_params(path->rest);
  if (!params) return std::unexpected(params.error());
  MailFrom mail;
  mail.sender = std::move(path->mailbox);
  for (const auto& p : *params) {
    if (p.key == "SIZE") {
      std::uint64_t size = 0;
      auto [end, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), size);
      if (!p.has_value || ec != std::errc() || end != p.value.data() + p.value.size()) return std::unexpected(bad_value(p.key));
      mail.declared_size = size;
    } else if (p.key == "BODY") {
      if (iequals(p.value, "7BIT")) mail.body = BodyType::SevenBit;
      else if (iequals(p.value, "8BITMIME")) mail.body = BodyType::EightBitMime;
      else return std::unexpected(Reply::make(555, "5.5.4", "Unsupported BODY type"));  // no BINARYMIME
    } else if (p.key == "SMTPUTF8") {
      if (p.has_value) return std::unexpected(bad_value(p.key));
      mail.smtputf8 = true;
    } else if (p.key == "RET") {
      if (iequals(p.value, "FULL")) mail.ret = DsnRet::Full;
      else if (iequals(p.value, "HDRS")) mail.ret = DsnRet::Headers;
      else return std::unexpected(bad_value(p.key));
    } else if (p.key == "ENVID") {
      auto decoded = decode_xtext(p.value);
      if (!p.has_value || !decoded || p.value.size() > kMaxEnvid) return std::unexpected(bad_value(p.key));
      mail.envid = std::move(*decoded);
    } else if (p.key == "AUTH") {
      auto decoded = decode_xtext(p.value);
      if (!p.has_value || !decoded) return std::unexpected(bad_value(p.key));
      mail.auth = std::move(*decoded);
    } else {
      return std::unexpected(unknown_param(p.key));
    }
  }
  return mail;
}

std::expected<Recipient, Reply> parse_rcpt_to(std::string_view args, bool smtputf8) {
  bool ok = false;
  args = strip_prefix_keyword(args, "TO:", ok);
  if (!ok) return std::unexpected(Reply::make(501, "5.5.4", "Syntax: RCPT TO:<address>"));
  auto path = parse_path(args, PathKind::Recipient, smtputf8);
  if (!path) return std::unexpected(path.error());
  if (!path->rest.empty() && path->rest.front() != ' ') {
    return std::unexpected(Reply::make(501, "5.5.4", "Syntax error after address"));
  }
  auto params = split_params(path->rest);
  if (!params) return std::unexpected(params.error());
  Recipient rcpt;
  rcpt.address = std::move(path->mailbox);
  for (const auto& p : *params) {
    if (p.key == "NOTIFY") {
      if (!p.has_value) return std::unexpected(bad_value(p.key));
      rcpt.notify.given = true;
      std::string_view list = p.value;
      while (true) {
        auto comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        if (iequals(item, "NEVER")) rcpt.notify.never = true;
        else if (iequals(item, "SUCCESS")) rcpt.notify.success = true;
        else if (iequals(item, "FAILURE")) rcpt.notify.failure = true;
        else if (iequals(item, "DELAY")) rcpt.notify.delay = true;
        else return std::unexpected(bad_value(p.key));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
      }
      // RFC 3461 4.1: NEVER must not be combined with anything else.
      if (rcpt.notify.never && (rcpt.notify.success || rcpt.notify.failure || rcpt.notify.delay)) {
        return std::unexpected(bad_value(p.key));
      }
    } else if (p.key == "ORCPT") {
      auto semi = p.value.find(';');
      if (!p.has_value || semi == std::string_view::npos || semi == 0) return std::unexpected(bad_value(p.key));
      auto decoded = decode_xtext(p.value.substr(semi + 1));
      if (!decoded || decoded->empty() || decoded->size() > 500) return std::unexpected(bad_value(p.key));
      rcpt.orcpt_type = std::string(p.value.substr(0, semi));
      rcpt.orcpt = std::move(*decoded);
    } else {
      return std::unexpected(unknown_param(p.key));
    }
  }
  return rcpt;
}

}  // namespace common::smtp
