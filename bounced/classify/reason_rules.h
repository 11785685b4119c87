// The phrases remote servers use for each bounce reason, as one ordered data
// table (reason_rules.cpp), and the lookup over it.
//
// The enhanced status code gives a first reason (status_codes.cpp); these rules
// refine or replace it from the words of the diagnostic, since many servers send
// "550 5.0.0" or "554 5.7.1" for very different things ("5.0.0 user unknown",
// "5.7.1 spam", "5.7.1 blocked using zen.spamhaus.org").
#pragma once

#include <optional>
#include <string_view>

#include "bounced/classify/bounce_report.h"

namespace bounced {

enum class RuleStrength {
  Specific,  // phrases that name a cause ("user unknown", "mailbox full", "spamhaus")
  Generic,   // words that only say "no" ("does not exist", "access denied"),
             // weaker than an enhanced status code
};

// The reason of the first rule of that strength that matches `folded_text`
// (from fold_for_matching), or nothing. Rules are ordered most specific first.
std::optional<Reason> reason_from_text(std::string_view folded_text,
                                       RuleStrength strength = RuleStrength::Specific);

}  // namespace bounced
