// Folding and '*'-pattern matching. See phrase_matcher.h.
#include "bounced/classify/phrase_matcher.h"
#include "common/base/ascii.h"

#include <vector>

namespace bounced {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::vector<std::string_view> split_fragments(std::string_view pattern) {
  std::vector<std::string_view> fragments;
  std::size_t start = 0;
  while (start <= pattern.size()) {
    std::size_t star = pattern.find('*', start);
    std::string_view piece = pattern.substr(
        start, star == std::string_view::npos ? std::string_view::npos : star - start);
    // Spaces next to a '*' are for readability: "mailbox * full".
    while (!piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
    while (!piece.empty() && piece.back() == ' ') piece.remove_suffix(1);
    if (!piece.empty()) fragments.push_back(piece);
    if (star == std::string_view::npos) break;
    start = star + 1;
  }
  return fragments;
}

// Do the fragments after the first follow, in order, from `from` on, each within
// kMaxPatternGap of the one before? Greedy (earliest occurrence), so the cost stays
// linear in the text whatever it holds.
bool rest_follows(std::string_view text, const std::vector<std::string_view>& fragments,
                  std::size_t from) {
  for (std::size_t i = 1; i < fragments.size(); ++i) {
    if (from > text.size()) return false;
    std::string_view window = text.substr(from, kMaxPatternGap + fragments[i].size());
    std::size_t pos = window.find(fragments[i]);
    if (pos == std::string_view::npos) return false;
    from += pos + fragments[i].size();
  }
  return true;
}

}  // namespace

std::string fold_for_matching(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char c : text) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += common::ascii_lower_char(c);
    // Typographic quotes (U+2018, U+2019), which Exchange and Gmail notices use
    // in "doesn't" and "wasn't", fold to the ASCII apostrophe of the patterns.
    if (out.size() >= 3 && out.compare(out.size() - 3, 2, "\xE2\x80") == 0 &&
        (out.back() == '\x98' || out.back() == '\x99')) {
      out.resize(out.size() - 3);
      out += '\'';
    }
  }
  return out;
}

bool pattern_matches(std::string_view folded, std::string_view pattern) {
  std::vector<std::string_view> fragments = split_fragments(pattern);
  if (fragments.empty()) return false;
  for (std::size_t pos = folded.find(fragments[0]); pos != std::string_view::npos;
       pos = folded.find(fragments[0], pos + 1)) {
    if (rest_follows(folded, fragments, pos + fragments[0].size())) return true;
  }
  return false;
}

}  // namespace bounced
