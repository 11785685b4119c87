// MapReader and YamlDocument: typed values with ranges, and every problem as an
// exact `file:line:col: message`.
#include "common/config/map_reader.h"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/config/diagnostics.h"
#include "common/config/yaml_document.h"

namespace common::config {
namespace {

using namespace std::chrono_literals;

constexpr const char* kFile = "/etc/stamp/t.yaml";

std::vector<std::string> printed(const Diagnostics& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics.sorted()) out.push_back(d.to_string());
  return out;
}

// Parses `yaml`, runs `read` on the root reader, finishes it; returns the problems.
std::vector<std::string> run(std::string_view yaml, const std::function<void(MapReader&)>& read) {
  Diagnostics diagnostics;
  auto document = YamlDocument::parse(yaml, kFile, diagnostics);
  if (document) {
    MapReader root(*document, diagnostics);
    read(root);
    root.finish();
  }
  return printed(diagnostics);
}

// ---- one value under the key "v" ------------------------------------------------

// Reads key "v" and gives the stored value as text, or nullopt when nothing was stored.
using ReadValue = std::function<std::optional<std::string>(MapReader&)>;

ReadValue duration(Range<std::chrono::seconds> range) {
  return [=](MapReader& r) -> std::optional<std::string> {
    std::chrono::seconds v{-1};
    if (!r.read_duration("v", v, range)) return std::nullopt;
    return std::to_string(v.count());
  };
}

ReadValue byte_size(Range<std::uint64_t> range) {
  return [=](MapReader& r) -> std::optional<std::string> {
    std::uint64_t v = 0;
    if (!r.read_byte_size("v", v, range)) return std::nullopt;
    return std::to_string(v);
  };
}

ReadValue unsigned_int(Range<std::uint64_t> range) {
  return [=](MapReader& r) -> std::optional<std::string> {
    std::size_t v = 0;
    if (!r.read_unsigned("v", v, range)) return std::nullopt;
    return std::to_string(v);
  };
}

ReadValue boolean() {
  return [](MapReader& r) -> std::optional<std::string> {
    bool v = false;
    if (!r.read_bool("v", v)) return std::nullopt;
    return v ? "true" : "false";
  };
}

enum class Color { Red, Green };

ReadValue color(std::string_view note = {}) {
  return [=](MapReader& r) -> std::optional<std::string> {
    Color v = Color::Red;
    if (!r.read_enum("v", v, {{"red", Color::Red}, {"green", Color::Green}}, Need::Optional, note))
      return std::nullopt;
    return v == Color::Red ? "Red" : "Green";
  };
}

ReadValue endpoint(HostRule rule, Range<std::uint16_t> ports = {0, 65535}) {
  return [=](MapReader& r) -> std::optional<std::string> {
    Endpoint v;
    if (!r.read_endpoint("v", v, rule, ports)) return std::nullopt;
    return v.host + " " + std::to_string(v.port);
  };
}

ReadValue string(Range<std::size_t> length = {1, kMaxStringLength}) {
  return [=](MapReader& r) -> std::optional<std::string> {
    std::string v;
    if (!r.read_string("v", v, Need::Required, length)) return std::nullopt;
    return v;
  };
}

ReadValue domain() {
  return [](MapReader& r) -> std::optional<std::string> {
    std::string v;
    if (!r.read_domain("v", v)) return std::nullopt;
    return v;
  };
}

ReadValue path() {
  return [](MapReader& r) -> std::optional<std::string> {
    std::filesystem::path v;
    if (!r.read_path("v", v)) return std::nullopt;
    return v.string();
  };
}

struct ValueCase {
  std::string yaml;
  ReadValue read;
  std::optional<std::string> value;  // nullopt: nothing stored
  std::vector<std::string> problems;
};

const std::vector<ValueCase> kValueCases = {
    // Durations: a unit or bare seconds.
    {"v: 300s", duration({1s, 1h}), "300", {}},
    {"v: 5m", duration({1s, 1h}), "300", {}},
    {"v: 1h", duration({1s, 1h}), "3600", {}},
    {"v: 2d", duration({1s, 259200s}), "172800", {}},
    {"v: 45", duration({1s, 1h}), "45", {}},
    {"v: 2h",
     duration({1s, 1h}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be 1s..1h, got 2h"}},
    {"v: 0",
     duration({1s, 600s}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be 1s..10m, got 0"}},
    {"v: 99999999999999999999d",
     duration({1s, 1h}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be 1s..1h, got 99999999999999999999d"}},
    {"v: 5 minutes",
     duration({1s, 1h}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected a duration like 300s, 5m, 1h or 2d, got "
      "\"5 minutes\""}},
    {"v: -5s",
     duration({1s, 1h}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected a duration like 300s, 5m, 1h or 2d, got "
      "\"-5s\""}},
    // Byte sizes: binary units only.
    {"v: 26214400", byte_size({1024, 1ull << 31}), "26214400", {}},
    {"v: 512KiB", byte_size({1024, 1ull << 31}), "524288", {}},
    {"v: 25MiB", byte_size({1024, 1ull << 31}), "26214400", {}},
    {"v: 1GiB", byte_size({1024, 1ull << 31}), "1073741824", {}},
    {"v: 4GiB",
     byte_size({1024, 1ull << 31}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be 1KiB..2GiB, got 4GiB"}},
    {"v: 25MB",
     byte_size({1024, 1ull << 31}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected a byte size like 26214400, 512KiB or 25MiB, "
      "got \"25MB\" (units are KiB, MiB, GiB: powers of 1024)"}},
    // Unsigned integers: decimal only, ranges named in the message.
    {"v: 1000", unsigned_int({100, 100000}), "1000", {}},
    {"v: 0",
     unsigned_int({100, 100000}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be 100..100000, got 0"}},
    {"v: -1",
     unsigned_int({1, 64}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be 1..64, got -1"}},
    {"v: 18446744073709551616",
     unsigned_int({1, 64}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be 1..64, got 18446744073709551616"}},
    {"v: 0755",
     unsigned_int({0, 1000}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected an unsigned integer without leading zeros, "
      "got \"0755\""}},
    {"v: many",
     unsigned_int({1, 64}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected an unsigned integer, got \"many\""}},
    {"v: {a: 1}",
     unsigned_int({1, 64}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected an unsigned integer, got a mapping"}},
    // Booleans: true and false only, not YAML 1.1's yes/no/on/off.
    {"v: true", boolean(), "true", {}},
    {"v: false", boolean(), "false", {}},
    {"v: yes",
     boolean(),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected true or false, got \"yes\""}},
    {"v: off",
     boolean(),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected true or false, got \"off\""}},
    // Enums.
    {"v: green", color(), "Green", {}},
    {"v: blue", color(), std::nullopt, {"/etc/stamp/t.yaml:1:4: v: must be one of: red, green"}},
    {"v: Red",
     color("colours are lower case"),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be one of: red, green (colours are lower case)"}},
    // host:port.
    {"v: \"[::1]:25\"", endpoint(HostRule::IpLiteral), "::1 25", {}},
    {"v: 127.0.0.1:2587", endpoint(HostRule::IpLiteral), "127.0.0.1 2587", {}},
    {"v: mx.example.net:25", endpoint(HostRule::IpOrDomain), "mx.example.net 25", {}},
    {"v: mx.example.net:25",
     endpoint(HostRule::IpLiteral),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: host must be an IP address, got \"mx.example.net\""}},
    {"v: bad_host:25",
     endpoint(HostRule::IpOrDomain),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: host must be an IP address or a domain name, got \"bad_host\""}},
    {"v: ::1:25",
     endpoint(HostRule::IpLiteral),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected IP:PORT like 127.0.0.1:25 or [::1]:25, got "
      "\"::1:25\" (IPv6 addresses go in brackets, as in [::1]:25)"}},
    {"v: 127.0.0.1",
     endpoint(HostRule::IpLiteral),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected IP:PORT like 127.0.0.1:25 or [::1]:25, got "
      "\"127.0.0.1\" (the port is missing)"}},
    {"v: 127.0.0.1:70000",
     endpoint(HostRule::IpLiteral),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: port must be 0..65535, got 70000"}},
    {"v: 192.0.2.1:0",
     endpoint(HostRule::IpOrDomain, {1, 65535}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: port must be 1..65535, got 0"}},
    // Strings: never empty unless allowed, no control characters, bounded length.
    {"v: abc", string(), "abc", {}},
    {"v: \"\"", string(), std::nullopt, {"/etc/stamp/t.yaml:1:4: v: must not be empty"}},
    {"v: \"a\\tb\"",
     string(),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must not contain control characters, got \"a\\tb\""}},
    {"v: abcd",
     string({1, 3}),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be 1..3 characters long, got 4"}},
    {"v: [a]",
     string(),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: wrong type: expected a string, got a list"}},
    {"v:\nw: 1",
     string(),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:1: v: wrong type: expected a string, got an empty value",
      "/etc/stamp/t.yaml:2:1: unknown key \"w\" (allowed: v)"}},
    {"w: 1",
     string(),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:1: missing required key \"v\"",
      "/etc/stamp/t.yaml:1:1: unknown key \"w\" (allowed: v)"}},
    // Domain names and paths.
    {"v: mta.example.net", domain(), "mta.example.net", {}},
    {"v: mta_1.example.net",
     domain(),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be a domain name like mta.example.net, got "
      "\"mta_1.example.net\""}},
    {"v: 999.1.1.1",
     domain(),
     std::nullopt,
     {"/etc/stamp/t.yaml:1:4: v: must be a domain name like mta.example.net, got \"999.1.1.1\""}},
    {"v: spool", path(), "/etc/stamp/spool", {}},
    {"v: ./a/../spool", path(), "/etc/stamp/spool", {}},
    {"v: /var/lib/stamp", path(), "/var/lib/stamp", {}},
};

BOOST_AUTO_TEST_CASE(reads_typed_values_and_reports_exact_problems) {
  for (const ValueCase& c : kValueCases) {
    BOOST_TEST_CONTEXT("yaml: " << c.yaml) {
      std::optional<std::string> value;
      auto problems = run(c.yaml, [&](MapReader& r) { value = c.read(r); });
      BOOST_TEST(value.value_or("(nothing)") == c.value.value_or("(nothing)"));
      BOOST_TEST(problems == c.problems, boost::test_tools::per_element());
    }
  }
}

// ---- mappings, lists and the document -------------------------------------------

void read_queue(MapReader& root) {
  MapReader queue = root.read_map("queue");
  std::filesystem::path directory;
  std::size_t workers = 4;
  queue.read_path("directory", directory, Need::Required);
  queue.read_unsigned("sync_workers", workers, {1, 64});
}

void read_x_then_queue(MapReader& root) {
  std::size_t x = 0;
  root.read_unsigned("x", x, {0, 9});
  read_queue(root);
}

void read_two_keys(MapReader& root) {
  std::uint64_t a = 0, b = 0;
  root.read_unsigned("a", a, {1, 10});
  root.read_unsigned("b", b, {1, 10});
}

void read_list(MapReader& root) {
  for (MapReader& item : root.read_map_list("l", Need::Required, 1)) {
    std::string name;
    item.read_string("name", name, Need::Required);
  }
}

void read_timeouts(MapReader& root) {
  MapReader smtp = root.read_map("smtp");
  MapReader timeouts = smtp.read_map("timeouts");
  std::chrono::seconds command{300}, data{180};
  timeouts.read_duration("command", command, {1s, 1h});
  timeouts.read_duration("data", data, {1s, 1h});
}

struct StructureCase {
  std::string name;
  std::string yaml;
  std::function<void(MapReader&)> read;
  std::vector<std::string> problems;
};

const std::vector<StructureCase> kStructureCases = {
    {"unknown key at the root",
     "a: 1\nfoo: 2\nb: 3\n",
     read_two_keys,
     {"/etc/stamp/t.yaml:2:1: unknown key \"foo\" (allowed: a, b)"}},
    {"unknown key in a nested mapping",
     "smtp:\n  timeouts:\n    comand: 5s\n",
     read_timeouts,
     {"/etc/stamp/t.yaml:3:5: smtp.timeouts: unknown key \"comand\" (allowed: command, data)"}},
    {"missing required key points at the parent mapping",
     "x: 1\nqueue:\n  sync_workers: 4\n",
     read_x_then_queue,
     {"/etc/stamp/t.yaml:3:3: queue: missing required key \"directory\""}},
    {"missing required key of an empty mapping points at its key",
     "x: 1\nqueue:\n",
     read_x_then_queue,
     {"/etc/stamp/t.yaml:2:1: queue: missing required key \"directory\""}},
    {"missing required key of an absent mapping points at the nearest one",
     "\n\nx: 1\n",
     read_x_then_queue,
     {"/etc/stamp/t.yaml:3:1: queue: missing required key \"directory\""}},
    {"a list where a mapping belongs is one problem",
     "queue:\n  - directory\n  - spool\n",
     read_queue,
     {"/etc/stamp/t.yaml:2:3: queue: wrong type: expected a mapping, got a list"}},
    {"a list at the top of the file is one problem",
     "- a\n- b\n",
     read_two_keys,
     {"/etc/stamp/t.yaml:1:1: wrong type: expected a mapping of keys at the top of the file, got "
      "a list"}},
    {"an empty file is an empty mapping",
     "",
     read_queue,
     {"/etc/stamp/t.yaml:1:1: queue: missing required key \"directory\""}},
    {"list elements have indexed paths",
     "l:\n  - name: a\n  - x\n  - {name: b, nme: c}\n",
     read_list,
     {"/etc/stamp/t.yaml:3:5: l[1]: wrong type: expected a mapping, got \"x\"",
      "/etc/stamp/t.yaml:4:15: l[2]: unknown key \"nme\" (allowed: name)"}},
    {"an empty required list",
     "l: []\n",
     read_list,
     {"/etc/stamp/t.yaml:1:4: l: must not be empty"}},
    {"a mapping where a list belongs",
     "l: {name: a}\n",
     read_list,
     {"/etc/stamp/t.yaml:1:4: l: wrong type: expected a list, got a mapping"}},
    {"every problem is reported, not just the first",
     "a: 0\nb: x\nc: 1\n",
     read_two_keys,
     {"/etc/stamp/t.yaml:1:4: a: must be 1..10, got 0",
      "/etc/stamp/t.yaml:2:4: b: wrong type: expected an unsigned integer, got \"x\"",
      "/etc/stamp/t.yaml:3:1: unknown key \"c\" (allowed: a, b)"}},
    {"duplicate keys at the second occurrence",
     "a: 1\nl:\n  - name: x\n    name: y\na: 2\n",
     [](MapReader& root) {
       read_two_keys(root);
       read_list(root);
     },
     {"/etc/stamp/t.yaml:4:5: l[0]: duplicate key \"name\" (first at line 3)",
      "/etc/stamp/t.yaml:5:1: duplicate key \"a\" (first at line 1)"}},
    {"a syntax error",
     "a: 1\n  b: 2\n",
     read_two_keys,
     {"/etc/stamp/t.yaml:2:4: illegal map value"}},
    {"an unclosed flow list",
     "a: 1\nb: [1, 2\n",
     read_two_keys,
     {"/etc/stamp/t.yaml:3:1: end of sequence flow not found"}},
    {"a key that is not a string",
     "? [a]\n: 1\na: 1\n",
     read_two_keys,
     {"/etc/stamp/t.yaml:1:3: keys must be plain strings"}},
    {"a second document",
     "a: 1\n---\nb: 2\n",
     read_two_keys,
     {"/etc/stamp/t.yaml:3:1: a config file holds one YAML document, found a second one"}},
    {"a trailing document marker is fine", "a: 1\n---\n", read_two_keys, {}},
    {"an alias that contains itself does not loop",
     "a: 1\nx: &x [ *x ]\n",
     read_two_keys,
     {"/etc/stamp/t.yaml:2:1: unknown key \"x\" (allowed: a, b)"}},
};

BOOST_AUTO_TEST_CASE(reports_structure_problems_once_each) {
  for (const StructureCase& c : kStructureCases) {
    BOOST_TEST_CONTEXT(c.name) {
      auto problems = run(c.yaml, c.read);
      BOOST_TEST(problems == c.problems, boost::test_tools::per_element());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_a_problem_at_line_1) {
  Diagnostics diagnostics;
  auto document = YamlDocument::load("/nonexistent/stamp/mta.yaml", diagnostics);
  BOOST_TEST(!document.has_value());
  BOOST_TEST(printed(diagnostics) ==
                 std::vector<std::string>{
                     "/nonexistent/stamp/mta.yaml:1:1: cannot read: No such file or directory"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(absent_keys_keep_their_defaults) {
  std::size_t workers = 4;
  std::chrono::seconds timeout{300};
  bool flag = true;
  auto problems = run("other: 1\n", [&](MapReader& root) {
    root.read_unsigned("workers", workers, {1, 64});
    root.read_duration("timeout", timeout, {1s, 1h});
    root.read_bool("flag", flag);
    std::size_t other = 0;
    root.read_unsigned("other", other, {0, 9});
  });
  BOOST_TEST(problems.empty());
  BOOST_TEST(workers == 4u);
  BOOST_TEST(timeout.count() == 300);
  BOOST_TEST(flag);
}

BOOST_AUTO_TEST_CASE(diagnostics_print_sorted_by_file_line_and_column) {
  Diagnostics diagnostics;
  diagnostics.add(SourcePosition{"b.yaml", 1, 1}, "third");
  diagnostics.add(SourcePosition{"a.yaml", 10, 2}, "second");
  diagnostics.add(SourcePosition{"a.yaml", 2, 5}, "first");
  diagnostics.add(Diagnostic{"a.yaml", 10, 2, "second, reported later"});
  BOOST_TEST(diagnostics.size() == 4u);
  BOOST_TEST(diagnostics.all().front().message == "third");
  BOOST_TEST(diagnostics.to_string() ==
             "a.yaml:2:5: first\n"
             "a.yaml:10:2: second\n"
             "a.yaml:10:2: second, reported later\n"
             "b.yaml:1:1: third\n");
}

BOOST_AUTO_TEST_CASE(quoting_escapes_control_characters_and_caps_length) {
  BOOST_TEST(quote_text("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\x01\"");
  BOOST_TEST(quote_text(std::string(100, 'x')) == "\"" + std::string(80, 'x') + "...\"");
}

}  // namespace
}  // namespace common::config
