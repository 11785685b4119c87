// The reason rules and the RFC 3463 table on the phrases real servers send: the
// status code gives a first reason, the words refine it, and generic words lose
// to the code.
#include "bounced/classify/reason_rules.h"

#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "bounced/classify/phrase_matcher.h"
#include "bounced/classify/status_codes.h"

using bounced::Reason;
using bounced::RuleStrength;

namespace {

// Reasons by name, so that Boost.Test can print what it compares.
std::string named(std::optional<Reason> reason) {
  return reason ? std::string(bounced::reason_name(*reason)) : std::string("(none)");
}

std::optional<Reason> specific(std::string_view text) {
  return bounced::reason_from_text(bounced::fold_for_matching(text));
}

struct TextCase {
  std::string_view diagnostic;
  Reason reason;
};

const TextCase kSpecificCases[] = {
    {"550 5.1.1 <a@b.example>... User Unknown", Reason::UserUnknown},
    {"550 5.0.0 <a@b.example>: user unknown", Reason::UserUnknown},
    {"550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
     Reason::UserUnknown},
    {"550-5.1.1 The email account that you tried to reach does not exist.", Reason::UserUnknown},
    {"Sorry, no mailbox here by that name. (#5.1.1)", Reason::UserUnknown},
    {"552 5.2.2 Mailbox\n    full", Reason::MailboxFull},
    {"452 4.2.2 Over quota", Reason::MailboxFull},
    {"550 5.7.1 Message rejected as spam by Content Filtering", Reason::SpamDetected},
    {"554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
     Reason::Blocked},
    {"550 5.7.1 <a@b.example>: Recipient address rejected: Spam detected", Reason::SpamDetected},
    {"554 5.7.1 <a@b.example>: Relay access denied", Reason::NoRelaying},
    {"550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC "
     "policy",
     Reason::AuthFailure},
    {"553 5.1.8 <x@y.example>... Domain of sender address x@y.example does not exist",
     Reason::Rejected},
    {"Host or domain name not found. Name service error for name=example.org type=A",
     Reason::HostUnknown},
    {"550 5.2.1 The email account that you tried to reach is disabled.", Reason::Suspend},
    {"421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or "
     "user complaints",
     Reason::BadReputation},
    {"452 4.3.2 Connection rate limit exceeded.", Reason::TooManyConn},
    {"554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>",
     Reason::Expired},
    {"552 5.3.4 Message too large", Reason::MesgTooBig},
    {"550 5.7.1 Connections not accepted from servers without a valid sender domain. Fix reverse "
     "DNS",
     Reason::RequirePtr},
    {"procmail: Couldn't create \"/var/spool/mail/u\"", Reason::MailerError},
    {"554 Transaction failed: Duplicate header 'DKIM-Signature'.", Reason::NotCompliantRfc},
    {"This user doesn't have a example.org account", Reason::UserUnknown},
    // precedence among the rules
    {"550 5.7.26 SPF hard fail. To protect our users from spam and phishing, the message has "
     "been blocked",
     Reason::AuthFailure},
    {"450 4.2.2 Mailbox size limit exceeded", Reason::MailboxFull},
    {"553 5.1.3 Bad recipient address syntax", Reason::UserUnknown},
    {"553 5.1.7 Bad sender address syntax", Reason::Rejected},
    {"421 4.7.0 IP not in whitelist, connection refused", Reason::Blocked},
    {"550 5.7.1 Sender is on the recipient's blocked senders list", Reason::Filtered},
    {"452 4.3.2 Too many messages in this session. AUP#CXMXRT", Reason::Speeding},
    {"454 4.7.0 TLS not available due to local problem", Reason::FailedStartTls},
    {"550 5.1.1 Mailbox <a@b.example> unknown", Reason::UserUnknown},
    {"550 Sender address does not exist", Reason::Rejected},
};

BOOST_AUTO_TEST_CASE(specific_phrases_name_the_reason) {
  for (const TextCase& test : kSpecificCases) {
    BOOST_TEST_CONTEXT(test.diagnostic) {
      BOOST_TEST(named(specific(test.diagnostic)) == named(test.reason));
    }
  }
}

BOOST_AUTO_TEST_CASE(generic_words_are_not_specific) {
  for (std::string_view text :
       {"550 5.1.2 example.org does not exist", "550 5.7.1 Access denied", "550 Policy"}) {
    BOOST_TEST_CONTEXT(text) {
      BOOST_TEST(!specific(text).has_value());
      BOOST_TEST(bounced::reason_from_text(bounced::fold_for_matching(text), RuleStrength::Generic)
                     .has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(nothing_to_say_gives_nothing) {
  BOOST_TEST(!specific("").has_value());
  BOOST_TEST(!specific("Your message could not be delivered.").has_value());
}

struct StatusCase {
  std::string_view status;
  std::optional<Reason> reason;
};

const StatusCase kStatusCases[] = {
    {"5.1.1", Reason::UserUnknown}, {"5.1.2", Reason::HostUnknown}, {"5.1.6", Reason::HasMoved},
    {"5.1.10", Reason::NotAccept},  {"4.2.2", Reason::MailboxFull}, {"5.2.1", Reason::Suspend},
    {"5.3.4", Reason::MesgTooBig},  {"4.4.7", Reason::Expired},     {"5.7.26", Reason::AuthFailure},
    {"5.7.25", Reason::RequirePtr}, {"5.0.0", std::nullopt},        {"5.1.0", std::nullopt},
    {"garbage", std::nullopt},      {"9.1.1", std::nullopt},
    // Exchange Online's own codes
    {"5.7.606", Reason::Blocked},   {"5.7.509", Reason::AuthFailure}, {"5.4.310", Reason::HostUnknown},
    {"5.7.64", Reason::NoRelaying}, {"5.6.11", Reason::NotCompliantRfc},
};

BOOST_AUTO_TEST_CASE(status_codes_alone_follow_rfc_3463) {
  for (const StatusCase& test : kStatusCases) {
    BOOST_TEST_CONTEXT(test.status) {
      BOOST_TEST(named(bounced::reason_for_status(test.status)) == named(test.reason));
    }
  }
}

}  // namespace
