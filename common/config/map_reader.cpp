// Typed reads from one YAML mapping, with positioned problems. See map_reader.h.
#include "common/config/map_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <system_error>
#include <utility>

namespace common::config {
namespace {

constexpr std::uint64_t kMaxU64 = std::numeric_limits<std::uint64_t>::max();

struct Unit {
  std::string_view suffix;
  std::uint64_t factor;
};

// Largest first, so a limit prints in the biggest unit that divides it exactly.
constexpr std::array<Unit, 5> kByteUnits{
    {{"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}, {"B", 1}}};
constexpr std::array<Unit, 4> kDurationUnits{{{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}}};

// Decimal and one-letter units people write out of habit; "MB" could mean 10^6
// or 2^20, so it is refused with a hint instead of guessed.
constexpr std::array<std::string_view, 9> kAmbiguousByteUnits{"k",  "K",  "M",  "G", "T",
                                                              "kB", "KB", "MB", "GB"};

enum class Parsed { Ok, Malformed, TooLarge, Negative, LeadingZero };

// Decimal digits only: no sign, no "0x", no YAML 1.1 octal. "0" itself is fine.
Parsed parse_digits(std::string_view text, std::uint64_t& out) {
  if (text.starts_with('-') && text.size() > 1 &&
      std::all_of(text.begin() + 1, text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Parsed::Negative;
  }
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Parsed::Malformed;
  }
  if (text.size() > 1 && text.front() == '0') return Parsed::LeadingZero;
  std::uint64_t value = 0;
  for (char c : text) {
    std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (value > (kMaxU64 - digit) / 10) return Parsed::TooLarge;
    value = value * 10 + digit;
  }
  out = value;
  return Parsed::Ok;
}

// A number followed by one of `units` (or by nothing, meaning a factor of 1).
template <std::size_t N>
Parsed parse_with_unit(std::string_view text, const std::array<Unit, N>& units,
                       std::uint64_t& out) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::string_view number = text.substr(0, digits);
  std::string_view suffix = text.substr(digits);
  std::uint64_t factor = 1;
  if (!suffix.empty()) {
    auto unit =
        std::find_if(units.begin(), units.end(), [&](const Unit& u) { return u.suffix == suffix; });
    if (unit == units.end() || number.empty()) return Parsed::Malformed;
    factor = unit->factor;
  }
  std::uint64_t value = 0;
  Parsed parsed = parse_digits(number, value);
  if (parsed != Parsed::Ok) return parsed;
  if (value > kMaxU64 / factor) return Parsed::TooLarge;
  out = value * factor;
  return Parsed::Ok;
}

template <std::size_t N>
std::string format_with_unit(std::uint64_t value, const std::array<Unit, N>& units) {
  for (const Unit& unit : units) {
    if (value != 0 && value % unit.factor == 0) {
      return std::to_string(value / unit.factor) + std::string(unit.suffix);
    }
  }
  return std::to_string(value) + std::string(units.back().suffix);
}

std::string format_bytes(std::uint64_t value) {
  return value != 0 && value % 1024 == 0 ? format_with_unit(value, kByteUnits)
                                         : std::to_string(value);
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quote_text(node.Scalar());
    default:
      return "an empty value";
  }
}

bool has_control_characters(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace

// The last label must not be all digits so that "999.1.1.1" is not taken for a
// name when it is a broken address.
bool is_domain_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::string_view last;
  while (true) {
    std::size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    last = label;
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  return !std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; });
}

namespace {

bool is_ipv4(const std::string& text) {
  in_addr addr{};
  return inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool is_ipv6(const std::string& text) {
  in6_addr addr{};
  return inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

std::string join(std::span<const std::string_view> names) {
  std::string out;
  for (std::string_view name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace

MapReader::MapReader(const YamlDocument& document, Diagnostics& diagnostics)
    : diagnostics_(&diagnostics),
      file_(document.name()),
      state_(State::Mapping),
      anchor_{document.name(), 1, 1} {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(document.path(), ec);
  base_directory_ = (ec ? document.path() : absolute).parent_path();
  const YAML::Node& root = document.root();
  if (root.IsNull()) return;  // an empty file: every key takes its default
  if (!root.IsMap()) {
    diagnostics_->add(
        position_of(file_, root.Mark()),
        "wrong type: expected a mapping of keys at the top of the file, got " + describe(root));
    state_ = State::Silent;
    return;
  }
  anchor_ = position_of(file_, root.Mark());
  index_entries(root);
}

MapReader::MapReader(const MapReader& parent, std::string path, State state, const YAML::Node& node,
                     const SourcePosition& anchor)
    : diagnostics_(parent.diagnostics_),
      file_(parent.file_),
      base_directory_(parent.base_directory_),
      path_(std::move(path)),
      state_(state),
      anchor_(anchor) {
  if (state_ == State::Mapping && node.IsMap()) index_entries(node);
}

void MapReader::index_entries(const YAML::Node& node) {
  for (const auto& pair : node) {  // a by-value pair: `it->first` would dangle
    if (!pair.first.IsScalar()) {
      diagnostics_->add(position_of(file_, pair.first.Mark()),
                        prefix() + "keys must be plain strings");
      continue;
    }
    entries_.push_back(Entry{pair.first.Scalar(), pair.first, pair.second});
  }
}

MapReader::MapReader(MapReader&& other) noexcept
    : diagnostics_(other.diagnostics_),
      file_(std::move(other.file_)),
      base_directory_(std::move(other.base_directory_)),
      path_(std::move(other.path_)),
      state_(other.state_),
      anchor_(std::move(other.anchor_)),
      entries_(std::move(other.entries_)),
      known_(std::move(other.known_)),
      finished_(other.finished_) {
  other.finished_ = true;  // the moved-from husk must not report anything
}

MapReader::~MapReader() { finish(); }

// Duplicates were reported by YamlDocument; like yaml-cpp, the first one counts.
const MapReader::Entry* MapReader::find(std::string_view key) const {
  auto it =
      std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.key == key; });
  return it == entries_.end() ? nullptr : &*it;
}

bool MapReader::has(std::string_view key) const { return find(key) != nullptr; }

std::string MapReader::prefix() const { return path_.empty() ? "" : path_ + ": "; }

std::string MapReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

// A null value's mark is wherever the next token starts (often the next line), so
// problems with an empty value point at its key instead.
SourcePosition MapReader::value_position(const Entry& entry) const {
  return position_of(file_, entry.value.IsNull() ? entry.key_node.Mark() : entry.value.Mark());
}

void MapReader::report(const Entry& entry, std::string_view message) {
  diagnostics_->add(value_position(entry), key_path(entry.key) + ": " + std::string(message));
}

void MapReader::report_wrong_type(const Entry& entry, std::string_view expected) {
  report(entry, "wrong type: expected " + std::string(expected) + ", got " + describe(entry.value));
}

const MapReader::Entry* MapReader::lookup(std::string_view key, Need need) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  if (state_ == State::Silent) return nullptr;
  if (const Entry* entry = find(key)) return entry;
  if (need == Need::Required) {
    diagnostics_->add(anchor_, prefix() + "missing required key " + quote_text(key));
  }
  return nullptr;
}

const MapReader::Entry* MapReader::scalar(std::string_view key, Need need,
                                          std::string_view expected) {
  const Entry* entry = lookup(key, need);
  if (entry == nullptr) return nullptr;
  if (!entry->value.IsScalar()) {
    report_wrong_type(*entry, expected);
    return nullptr;
  }
  return entry;
}

MapReader MapReader::read_map(std::string_view key, Need need) {
  const Entry* entry = lookup(key, need);
  std::string path = key_path(key);
  YAML::Node none;
  if (entry == nullptr) {
    // Absent and optional: its required keys are still missing, reported at the
    // nearest mapping that exists. Absent and required: already reported.
    State state = need == Need::Optional && state_ != State::Silent ? State::Absent : State::Silent;
    return MapReader(*this, std::move(path), state, none, anchor_);
  }
  if (entry->value.IsNull()) {
    return MapReader(*this, std::move(path), State::Mapping, none, value_position(*entry));
  }
  if (!entry->value.IsMap()) {
    report_wrong_type(*entry, "a mapping");
    return MapReader(*this, std::move(path), State::Silent, none, value_position(*entry));
  }
  return MapReader(*this, std::move(path), State::Mapping, entry->value, value_position(*entry));
}

std::vector<MapReader> MapReader::read_map_list(std::string_view key, Need need,
                                                std::size_t min_items) {
  std::vector<MapReader> items;
  const Entry* entry = lookup(key, need);
  if (entry == nullptr) return items;
  if (!entry->value.IsNull() && !entry->value.IsSequence()) {
    report_wrong_type(*entry, "a list");
    return items;
  }
  std::size_t count = entry->value.IsSequence() ? entry->value.size() : 0;
  if (count < min_items) {
    report(*entry, min_items == 1 ? std::string("must not be empty")
                                  : "must have at least " + std::to_string(min_items) + " items");
  }
  if (count == 0) return items;
  std::size_t index = 0;
  for (const YAML::Node& item : entry->value) {
    std::string path = key_path(key) + "[" + std::to_string(index++) + "]";
    SourcePosition where = position_of(file_, item.Mark());
    if (item.IsMap()) {
      items.push_back(MapReader(*this, std::move(path), State::Mapping, item, where));
    } else {
      diagnostics_->add(where, path + ": wrong type: expected a mapping, got " + describe(item));
      items.push_back(MapReader(*this, std::move(path), State::Silent, item, where));
    }
  }
  return items;
}

bool MapReader::read_string(std::string_view key, std::string& out, Need need,
                            Range<std::size_t> length) {
  const Entry* entry = scalar(key, need, "a string");
  if (entry == nullptr) return false;
  const std::string& text = entry->value.Scalar();
  if (has_control_characters(text)) {
    report(*entry, "must not contain control characters, got " + quote_text(text));
    return false;
  }
  if (text.empty() && length.min > 0) {
    report(*entry, "must not be empty");
    return false;
  }
  if (text.size() < length.min || text.size() > length.max) {
    report(*entry, "must be " + std::to_string(length.min) + ".." + std::to_string(length.max) +
                       " characters long, got " + std::to_string(text.size()));
    return false;
  }
  out = text;
  return true;
}

bool MapReader::read_domain(std::string_view key, std::string& out, Need need) {
  std::string text;
  if (!read_string(key, text, need, {1, 253})) return false;
  if (!is_domain_name(text)) {
    error(key, "must be a domain name like mta.example.net, got " + quote_text(text));
    return false;
  }
  out = std::move(text);
  return true;
}

bool MapReader::read_string_list(std::string_view key, std::vector<std::string>& out, Need need,
                                 const ItemCheck& check) {
  const Entry* entry = lookup(key, need);
  if (entry == nullptr) return false;
  if (!entry->value.IsNull() && !entry->value.IsSequence()) {
    report_wrong_type(*entry, "a list of strings");
    return false;
  }
  std::vector<std::string> items;
  bool ok = true;
  std::size_t index = 0;
  for (const YAML::Node& item : entry->value) {  // a null value has no items
    std::string path = key_path(key) + "[" + std::to_string(index++) + "]";
    auto problem = [&](const std::string& message) {
      diagnostics_->add(position_of(file_, item.Mark()), path + ": " + message);
      ok = false;
    };
    if (!item.IsScalar()) {
      problem("wrong type: expected a string, got " + describe(item));
      continue;
    }
    std::string text = item.Scalar();
    if (has_control_characters(text)) {
      problem("must not contain control characters, got " + quote_text(text));
    } else if (text.empty()) {
      problem("must not be empty");
    } else if (text.size() > kMaxStringLength) {
      problem("must be at most " + std::to_string(kMaxStringLength) + " characters long, got " +
              std::to_string(text.size()));
    } else if (auto message = check ? check(text) : std::nullopt) {
      problem(*message);
    } else {
      items.push_back(std::move(text));
    }
  }
  if (ok) out = std::move(items);
  return ok;
}

bool MapReader::read_path(std::string_view key, std::filesystem::path& out, Need need) {
  std::string text;
  if (!read_string(key, text, need)) return false;
  std::filesystem::path path(text);
  out = path.is_absolute() ? path.lexically_normal() : (base_directory_ / path).lexically_normal();
  return true;
}

bool MapReader::read_bool(std::string_view key, bool& out, Need need) {
  const Entry* entry = scalar(key, need, "true or false");
  if (entry == nullptr) return false;
  const std::string& text = entry->value.Scalar();
  if (text != "true" && text != "false") {
    report_wrong_type(*entry, "true or false");
    return false;
  }
  out = text == "true";
  return true;
}

bool MapReader::read_u64(std::string_view key, std::uint64_t& out, Range<std::uint64_t> range,
                         Need need, bool byte_size) {
  const std::string_view expected =
      byte_size ? "a byte size like 26214400, 512KiB or 25MiB" : "an unsigned integer";
  const Entry* entry = scalar(key, need, expected);
  if (entry == nullptr) return false;
  const std::string& text = entry->value.Scalar();
  std::uint64_t value = 0;
  Parsed parsed = byte_size ? parse_with_unit(text, kByteUnits, value) : parse_digits(text, value);
  auto format = [&](std::uint64_t v) { return byte_size ? format_bytes(v) : std::to_string(v); };
  const std::string must_be = "must be " + format(range.min) + ".." + format(range.max);
  switch (parsed) {
    case Parsed::Ok:
      if (value >= range.min && value <= range.max) {
        out = value;
        return true;
      }
      [[fallthrough]];
    case Parsed::TooLarge:
    case Parsed::Negative:
      report(*entry, must_be + ", got " + text);
      return false;
    case Parsed::LeadingZero:
      report_wrong_type(*entry, std::string(expected) + " without leading zeros");
      return false;
    case Parsed::Malformed:
      break;
  }
  std::string hint;
  if (byte_size) {
    std::size_t digits = text.find_first_not_of("0123456789");
    std::string_view suffix = std::string_view(text).substr(std::min(digits, text.size()));
    if (std::find(kAmbiguousByteUnits.begin(), kAmbiguousByteUnits.end(), suffix) !=
        kAmbiguousByteUnits.end()) {
      hint = " (units are KiB, MiB, GiB: powers of 1024)";
    }
  }
  report(*entry, "wrong type: expected " + std::string(expected) + ", got " +
                     describe(entry->value) + hint);
  return false;
}

bool MapReader::read_duration(std::string_view key, std::chrono::seconds& out,
                              Range<std::chrono::seconds> range, Need need) {
  constexpr std::string_view kExpected = "a duration like 300s, 5m, 1h or 2d";
  const Entry* entry = scalar(key, need, kExpected);
  if (entry == nullptr) return false;
  const std::string& text = entry->value.Scalar();
  std::uint64_t seconds = 0;
  Parsed parsed = parse_with_unit(text, kDurationUnits, seconds);
  if (parsed == Parsed::Malformed || parsed == Parsed::LeadingZero) {
    report_wrong_type(*entry, kExpected);
    return false;
  }
  auto min = static_cast<std::uint64_t>(range.min.count());
  auto max = static_cast<std::uint64_t>(range.max.count());
  if (parsed != Parsed::Ok || seconds < min || seconds > max) {
    report(*entry, "must be " + format_with_unit(min, kDurationUnits) + ".." +
                       format_with_unit(max, kDurationUnits) + ", got " + text);
    return false;
  }
  out = std::chrono::seconds(static_cast<std::chrono::seconds::rep>(seconds));
  return true;
}

std::optional<std::size_t> MapReader::read_choice(std::string_view key,
                                                  std::span<const std::string_view> names,
                                                  Need need, std::string_view note) {
  const Entry* entry = lookup(key, need);
  if (entry == nullptr) return std::nullopt;
  if (entry->value.IsScalar()) {
    auto it = std::find(names.begin(), names.end(), entry->value.Scalar());
    if (it != names.end()) return static_cast<std::size_t>(it - names.begin());
  }
  std::string message = "must be one of: " + join(names);
  if (!note.empty()) message += " (" + std::string(note) + ")";
  report(*entry, message);
  return std::nullopt;
}

bool MapReader::read_endpoint(std::string_view key, Endpoint& out, HostRule rule,
                              Range<std::uint16_t> ports, Need need) {
  const std::string_view expected =
      rule == HostRule::IpLiteral
          ? "IP:PORT like 127.0.0.1:25 or [::1]:25"
          : "HOST:PORT like mx.example.net:25, 192.0.2.1:25 or [2001:db8::1]:25";
  const Entry* entry = scalar(key, need, expected);
  if (entry == nullptr) return false;
  const std::string& text = entry->value.Scalar();
  auto malformed = [&](std::string_view hint) {
    report(*entry, "wrong type: expected " + std::string(expected) + ", got " + quote_text(text) +
                       std::string(hint));
    return false;
  };
  std::string host;
  std::string_view port_text;
  bool bracketed = text.starts_with('[');
  if (bracketed) {
    std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return malformed("");
    }
    host = text.substr(1, close - 1);
    port_text = std::string_view(text).substr(close + 2);
    if (!is_ipv6(host)) return malformed(" (brackets hold an IPv6 address)");
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) return malformed(" (the port is missing)");
    host = text.substr(0, colon);
    port_text = std::string_view(text).substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return malformed(" (IPv6 addresses go in brackets, as in [::1]:25)");
    }
    if (host.empty()) return malformed(" (the host is missing)");
  }
  std::uint64_t port = 0;
  Parsed parsed = parse_digits(port_text, port);
  if (parsed == Parsed::Malformed || parsed == Parsed::LeadingZero) return malformed("");
  if (parsed != Parsed::Ok || port < ports.min || port > ports.max) {
    report(*entry, "port must be " + std::to_string(ports.min) + ".." + std::to_string(ports.max) +
                       ", got " + std::string(port_text));
    return false;
  }
  bool ip = bracketed || is_ipv4(host);
  if (rule == HostRule::IpLiteral && !ip) {
    report(*entry, "host must be an IP address, got " + quote_text(host));
    return false;
  }
  if (!ip && !is_domain_name(host)) {
    report(*entry, "host must be an IP address or a domain name, got " + quote_text(host));
    return false;
  }
  out = Endpoint{std::move(host), static_cast<std::uint16_t>(port)};
  return true;
}

void MapReader::error(std::string_view key, std::string_view message) {
  diagnostics_->add(position(key), key_path(key) + ": " + std::string(message));
}

void MapReader::error(std::string_view message) {
  diagnostics_->add(anchor_, prefix() + std::string(message));
}

SourcePosition MapReader::position(std::string_view key) const {
  const Entry* entry = find(key);
  return entry != nullptr ? value_position(*entry) : anchor_;
}

SourcePosition MapReader::position() const { return anchor_; }

void MapReader::finish() {
  if (finished_) return;
  finished_ = true;
  if (state_ != State::Mapping) return;
  std::vector<std::string_view> allowed(known_.begin(), known_.end());
  std::vector<std::string_view> reported;
  for (const Entry& entry : entries_) {
    if (std::find(known_.begin(), known_.end(), entry.key) != known_.end()) continue;
    // A repeated unknown key was already reported as a duplicate; say it once.
    if (std::find(reported.begin(), reported.end(), entry.key) != reported.end()) continue;
    reported.push_back(entry.key);
    std::string message = prefix() + "unknown key " + quote_text(entry.key);
    message += allowed.empty() ? std::string(" (no keys are allowed here)")
                               : " (allowed: " + join(allowed) + ")";
    diagnostics_->add(position_of(file_, entry.key_node.Mark()), std::move(message));
  }
}

}  // namespace common::config
