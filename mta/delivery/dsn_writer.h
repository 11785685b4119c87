// DSN writer: the RFC 3464 delivery status notification stamp-mta sends to an
// envelope sender when recipients fail permanently, or when the queue lifetime
// runs out (RFC 3461/3464/6522). It builds the message text only; queueing it
// (with the null sender <>, so it can never bounce back) is the caller's job.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "common/smtp/envelope.h"

namespace mta {

struct DsnRecipient {
  common::smtp::Recipient recipient;  // address and ORCPT as given at RCPT
  std::string action;                 // "failed" or "delayed"
  std::string status;                 // RFC 3463 code: "5.1.1", "4.4.7"
  std::string remote_mta;             // host name of the server that answered, "" if none
  std::string diagnostic;             // the SMTP reply ("550 5.1.1 No such user"), "" if none
  std::time_t last_attempt = 0;
};

struct DsnInput {
  std::string reporting_mta;   // our host name
  std::string queue_id;        // of the original message
  std::string envid;           // RFC 3461 ENVID of the original, "" if none
  common::smtp::Mailbox original_sender;  // the DSN's recipient
  std::time_t arrival = 0;
  std::vector<DsnRecipient> recipients;
  common::smtp::DsnRet ret = common::smtp::DsnRet::Unset;  // FULL: whole message, else headers only
  std::string_view original_message;  // CRLF text as queued
  std::time_t now = 0;
  std::size_t max_returned_bytes = 256 * 1024;  // larger originals are returned as headers only
};

// The whole DSN message (headers and body, CRLF line endings).
std::string make_dsn(const DsnInput& input);

}  // namespace mta
