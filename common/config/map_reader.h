// MapReader: reads one YAML mapping of a config file into typed values, with
// every problem reported as `file:line:col: path.key: message`.
//
//   MapReader smtp = root.read_map("smtp");
//   smtp.read_unsigned("max_recipients_per_message", limits.max_recipients_per_message,
//                      {100, 100000});
//   smtp.finish();  // "unknown key" for every key nobody asked about
//
// A read leaves `out` untouched when the key is absent (so it keeps its default)
// or wrong, and returns true only when it stored a value. Nothing throws and
// nothing stops at the first problem. A mapping of the wrong kind is reported
// once; its reader then stays silent. What this file does not do: know any
// daemon's schema (the block readers and loaders do) or check relations
// between keys (their callers use error() for that).
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/diagnostics.h"
#include "common/config/yaml_document.h"

namespace common::config {

enum class Need { Optional, Required };

template <class T>
struct Range {
  T min;
  T max;
};

// Longest string any config value may have unless a read says otherwise.
inline constexpr std::size_t kMaxStringLength = 4096;

// host:port as written: "mx.example.net:25", "127.0.0.1:2587", "[::1]:25".
struct Endpoint {
  std::string host;  // IPv6 without the brackets, ready for inet_pton
  std::uint16_t port = 0;
};

enum class HostRule { IpLiteral, IpOrDomain };

template <class E>
struct EnumName {
  std::string_view name;
  E value;
};

// RFC 1035 host names: letters, digits and hyphens, labels of 1..63, at most 253
// characters, and a last label that is not all digits. read_domain's rule, for
// values that come from elsewhere (list items, the command line).
bool is_domain_name(std::string_view name);

class MapReader {
 public:
  // The root mapping of `document` (an empty file counts as an empty mapping).
  // Relative paths are resolved against the document's directory.
  MapReader(const YamlDocument& document, Diagnostics& diagnostics);
  MapReader(MapReader&& other) noexcept;
  MapReader& operator=(MapReader&&) = delete;
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;
  ~MapReader();  // finish(), if the owner did not

  const std::string& path() const { return path_; }          // "smtp.timeouts", "" for the root
  bool present() const { return state_ == State::Mapping; }  // a mapping (or empty) was given
  bool has(std::string_view key) const;                      // does not count as reading it

  // Nested mappings and lists of mappings. An absent optional map gives a reader
  // that reads nothing but still reports its required keys as missing; a wrong
  // kind gives a silent one. List elements have paths like "listeners[2]".
  MapReader read_map(std::string_view key, Need need = Need::Optional);
  std::vector<MapReader> read_map_list(std::string_view key, Need need = Need::Optional,
                                       std::size_t min_items = 0);

  // Strings never contain control characters (which also catches yaml-cpp's habit
  // of swallowing the rest of the file into an unterminated quoted string).
  bool read_string(std::string_view key, std::string& out, Need need = Need::Optional,
                   Range<std::size_t> length = {1, kMaxStringLength});
  bool read_domain(std::string_view key, std::string& out, Need need = Need::Optional);
  // A list of strings (null or [] gives an empty list), each item held to read_string's
  // rules. `check`, when given, may normalise an item in place and returns what is
  // wrong with it, reported at that item as "key[i]: <problem>". `out` is set only
  // when every item is fine.
  using ItemCheck = std::function<std::optional<std::string>(std::string& item)>;
  bool read_string_list(std::string_view key, std::vector<std::string>& out,
                        Need need = Need::Optional, const ItemCheck& check = {});
  // Relative paths are resolved against the config file's directory.
  bool read_path(std::string_view key, std::filesystem::path& out, Need need = Need::Optional);
  // Only `true` and `false`: YAML 1.1's yes/no/on/off are mistakes here.
  bool read_bool(std::string_view key, bool& out, Need need = Need::Optional);
  // Decimal digits only: YAML 1.1 reads "0755" as octal, so leading zeros are refused.
  template <std::unsigned_integral T>
  bool read_unsigned(std::string_view key, T& out, Range<std::uint64_t> range,
                     Need need = Need::Optional);
  // "300s", "5m", "1h", "2d", or a bare number of seconds.
  bool read_duration(std::string_view key, std::chrono::seconds& out,
                     Range<std::chrono::seconds> range, Need need = Need::Optional);
  // "26214400", "512KiB", "25MiB", "1GiB" (binary units only; "MB" is ambiguous).
  template <std::unsigned_integral T>
  bool read_byte_size(std::string_view key, T& out, Range<std::uint64_t> range,
                      Need need = Need::Optional);
  // One of `names`; `note` (if any) is appended to the message in parentheses.
  template <class E>
  bool read_enum(std::string_view key, E& out, std::initializer_list<EnumName<E>> names,
                 Need need = Need::Optional, std::string_view note = {});
  bool read_endpoint(std::string_view key, Endpoint& out, HostRule rule, Range<std::uint16_t> ports,
                     Need need = Need::Optional);

  // Reports a problem found by the caller: about `key` (at its value, or at this
  // mapping when the key is absent), or about this mapping as a whole.
  void error(std::string_view key, std::string_view message);
  void error(std::string_view message);
  // Where `key`'s value is (this mapping's position when absent), for cross-checks.
  SourcePosition position(std::string_view key) const;
  SourcePosition position() const;

  // Reports every key present but never read, as unknown. Idempotent.
  void finish();

 private:
  enum class State { Mapping, Absent, Silent };
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };

  MapReader(const MapReader& parent, std::string path, State state, const YAML::Node& node,
            const SourcePosition& anchor);

  void index_entries(const YAML::Node& node);
  const Entry* find(std::string_view key) const;
  std::string prefix() const;                            // "path: ", or nothing at the root
  const Entry* lookup(std::string_view key, Need need);  // marks the key as known
  std::string key_path(std::string_view key) const;
  SourcePosition value_position(const Entry& entry) const;
  void report(const Entry& entry, std::string_view message);
  void report_wrong_type(const Entry& entry, std::string_view expected);
  const Entry* scalar(std::string_view key, Need need, std::string_view expected);
  bool read_u64(std::string_view key, std::uint64_t& out, Range<std::uint64_t> range, Need need,
                bool byte_size);
  std::optional<std::size_t> read_choice(std::string_view key,
                                         std::span<const std::string_view> names, Need need,
                                         std::string_view note);

  Diagnostics* diagnostics_;
  std::string file_;
  std::filesystem::path base_directory_;
  std::string path_;
  State state_;
  SourcePosition anchor_;  // where problems about this mapping (or its absence) point
  std::vector<Entry> entries_;
  std::vector<std::string> known_;  // keys asked about, in the order asked
  bool finished_ = false;
};

template <std::unsigned_integral T>
bool MapReader::read_unsigned(std::string_view key, T& out, Range<std::uint64_t> range, Need need) {
  static_assert(sizeof(T) <= sizeof(std::uint64_t));
  range.max = std::min<std::uint64_t>(range.max, std::numeric_limits<T>::max());
  std::uint64_t value = 0;
  if (!read_u64(key, value, range, need, false)) return false;
  out = static_cast<T>(value);
  return true;
}

template <std::unsigned_integral T>
bool MapReader::read_byte_size(std::string_view key, T& out, Range<std::uint64_t> range,
                               Need need) {
  range.max = std::min<std::uint64_t>(range.max, std::numeric_limits<T>::max());
  std::uint64_t value = 0;
  if (!read_u64(key, value, range, need, true)) return false;
  out = static_cast<T>(value);
  return true;
}

template <class E>
bool MapReader::read_enum(std::string_view key, E& out, std::initializer_list<EnumName<E>> names,
                          Need need, std::string_view note) {
  std::vector<std::string_view> texts;
  for (const EnumName<E>& n : names) texts.push_back(n.name);
  auto index = read_choice(key, texts, need, note);
  if (!index) return false;
  out = names.begin()[*index].value;
  return true;
}

}  // namespace common::config
