// Loading a YAML file into a node tree with positioned problems. See yaml_document.h.
#include "common/config/yaml_document.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/base/owned.h"
#include "common/base/result.h"

namespace common::config {
namespace {

// A config file is a few kilobytes; this only stops `stamp-mta -c /dev/zero`.
constexpr std::size_t kMaxFileSize = 16 * 1024 * 1024;

// Reads the whole file; the error reads "cannot read: <strerror>".
Result<std::string> read_file(const std::filesystem::path& file) {
  constexpr const char* kWhat = "cannot read";
  OwnedFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail_errno(kWhat);
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(kWhat);
    }
    if (n == 0) break;
    if (text.size() + static_cast<std::size_t>(n) > kMaxFileSize) {
      return std::unexpected(Error::from_errno(kWhat, EFBIG));
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  return text;
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// Walks the tree and reports every mapping key that appears twice, at the second
// occurrence. Anchors and aliases share nodes (and `&a [*a]` even makes a cycle),
// so each collection is visited once, recognised by where it starts in the text.
class DuplicateKeyFinder {
 public:
  DuplicateKeyFinder(const std::string& file, Diagnostics& diagnostics)
      : file_(file), diagnostics_(diagnostics) {}

  void walk(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap() && !node.IsSequence()) return;
    if (!visited_.insert(node.Mark().pos).second) return;
    if (node.IsSequence()) {
      std::size_t index = 0;
      for (const YAML::Node& item : node) {
        walk(item, path + "[" + std::to_string(index++) + "]");
      }
      return;
    }
    std::unordered_map<std::string, int> first_line;
    for (const auto& pair : node) {  // a by-value pair: `it->first` would dangle
      const YAML::Node& key = pair.first;
      if (!key.IsScalar()) continue;  // MapReader rejects non-string keys
      auto [seen, inserted] = first_line.emplace(key.Scalar(), key.Mark().line + 1);
      if (!inserted) {
        std::string prefix = path.empty() ? "" : path + ": ";
        diagnostics_.add(position_of(file_, key.Mark()),
                         prefix + "duplicate key " + quote_text(key.Scalar()) + " (first at line " +
                             std::to_string(seen->second) + ")");
      }
      walk(pair.second, child_path(path, key.Scalar()));
    }
  }

 private:
  const std::string& file_;
  Diagnostics& diagnostics_;
  std::set<int> visited_;
};

}  // namespace

YamlDocument::YamlDocument(std::filesystem::path path, YAML::Node root)
    : path_(std::move(path)), name_(path_.string()), root_(std::move(root)) {}

std::optional<YamlDocument> YamlDocument::load(const std::filesystem::path& file,
                                               Diagnostics& diagnostics) {
  auto text = read_file(file);
  if (!text) {
    diagnostics.add(SourcePosition{file.string(), 1, 1}, text.error().message);
    return std::nullopt;
  }
  return parse(*text, file, diagnostics);
}

std::optional<YamlDocument> YamlDocument::parse(std::string_view text,
                                                const std::filesystem::path& file,
                                                Diagnostics& diagnostics) {
  const std::string name = file.string();
  std::vector<YAML::Node> documents;
  // The one place yaml-cpp may throw: syntax errors become problems here.
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    diagnostics.add(position_of(name, e.mark), e.msg);
    return std::nullopt;
  }
  // A trailing "---" makes an empty second document; only real content is a mistake.
  auto extra = std::find_if(documents.begin() + (documents.empty() ? 0 : 1), documents.end(),
                            [](const YAML::Node& d) { return !d.IsNull(); });
  if (extra != documents.end()) {
    diagnostics.add(position_of(name, extra->Mark()),
                    "a config file holds one YAML document, found a second one");
  }
  YamlDocument document(file, documents.empty() ? YAML::Node() : documents.front());
  DuplicateKeyFinder(name, diagnostics).walk(document.root_, "");
  return document;
}

SourcePosition position_of(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return SourcePosition{file, 1, 1};
  return SourcePosition{file, mark.line + 1, mark.column + 1};
}

}  // namespace common::config
