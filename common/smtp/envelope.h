// Envelope: what MAIL FROM and RCPT TO said, with the DSN parameters of
// RFC 3461 kept exactly so later bounces and relays can honour them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace common::smtp {

// A mailbox as given in the envelope. The null reverse-path <> has an empty
// local part and domain. Case is preserved (RFC 5321 2.4: local parts are
// case-sensitive for the receiving host).
struct Mailbox {
  std::string local_part;  // unquoted form; quoting is restored by to_string()
  std::string domain;      // may be an address literal "[192.0.2.1]"

  bool is_null() const { return local_part.empty() && domain.empty(); }
  std::string to_string() const;  // "local@domain", quoted local part when needed; "" for null
};

enum class BodyType { SevenBit, EightBitMime };
enum class DsnRet { Unset, Full, Headers };

// RFC 3461 4.1 NOTIFY: NEVER, or any of SUCCESS, FAILURE, DELAY.
struct DsnNotify {
  bool never = false;
  bool success = false;
  bool failure = false;
  bool delay = false;
  bool given = false;  // false: the parameter was absent (defaults apply)
  std::string to_string() const;  // "SUCCESS,FAILURE" / "NEVER" / ""
};

struct MailFrom {
  Mailbox sender;
  std::optional<std::uint64_t> declared_size;  // RFC 1870 SIZE=
  BodyType body = BodyType::SevenBit;          // RFC 6152 BODY=
  bool smtputf8 = false;                       // RFC 6531
  DsnRet ret = DsnRet::Unset;                  // RFC 3461 RET=
  std::string envid;                           // RFC 3461 ENVID=, xtext-decoded
  std::string auth;                            // RFC 4954 AUTH=, xtext-decoded (recorded only)
};

struct Recipient {
  Mailbox address;
  DsnNotify notify;
  std::string orcpt_type;  // RFC 3461 ORCPT= "rfc822"
  std::string orcpt;       // xtext-decoded original recipient
};

struct Envelope {
  MailFrom mail_from;
  std::vector<Recipient> recipients;
};

}  // namespace common::smtp
