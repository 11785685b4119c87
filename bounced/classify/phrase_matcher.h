// Case- and whitespace-insensitive phrase matching for the classifier's data
// tables (reason rules, notice cues, returned-message markers). Text is folded
// once (ASCII lower case, every run of white space one space); a pattern is a
// lower-case phrase in which '*' stands for a short stretch of any text, so
// "mailbox * full" matches "Mailbox is full" and "mailbox of the user is full".
//
// Deliberately not regular expressions: patterns stay readable in the tables,
// and matching is linear enough in practice that hostile input cannot make it slow.
#pragma once

#include <string>
#include <string_view>

namespace bounced {

// The most text one '*' may stand for.
inline constexpr std::size_t kMaxPatternGap = 80;

std::string fold_for_matching(std::string_view text);

// `folded` must come from fold_for_matching; `pattern` is already lower case.
bool pattern_matches(std::string_view folded, std::string_view pattern);

}  // namespace bounced
