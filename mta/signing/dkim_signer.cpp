// DkimSigner on libopendkim: one DKIM_LIB per signer, configured once with the
// sign and oversign lists, and one DKIM handle per message. See dkim_signer.h.
// It does not choose the key (tenant configuration does) or write the header into
// the spool file.
#include "mta/signing/dkim_signer.h"

#include "mta/signing/signed_headers.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <climits>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <utility>

#include "mta/signing/opendkim.h"

namespace mta {
namespace {

using common::fail;
using common::Result;
using common::Status;
using OwnedBio = common::Owned<BIO, &BIO_free_all>;
using OwnedPkey = common::Owned<EVP_PKEY, &EVP_PKEY_free>;

// RFC 8301 section 3.2; also libopendkim's default DKIM_OPTS_MINKEYBITS.
constexpr int kMinRsaBits = 1024;

// dkim_chunk collects each header field (with its folded lines) in a buffer capped
// at 65536 bytes (MAXBUFRSZ) and silently drops what does not fit, so a longer
// field gets a signature that cannot verify. Not a policy setting: the library's
// own limit, with a margin.
constexpr std::size_t kMaxHeaderFieldBytes = 65000;

// Follows the header block as the message streams past and measures each header
// field, folded lines included. Stops looking at the blank line.
class HeaderFieldMeter {
 public:
  // False once a field is longer than kMaxHeaderFieldBytes.
  bool add(std::string_view bytes) {
    for (char c : bytes) {
      if (!in_header_) return true;
      if (blank_line_) {  // a line that starts with CR: the blank line, if LF follows
        if (c == '\n') {
          in_header_ = false;
          continue;
        }
        blank_line_ = false;
        field_bytes_ = 1;  // not blank after all: a (malformed) field starting with CR
      } else if (line_start_) {
        line_start_ = false;
        if (c == '\r') {
          blank_line_ = true;
          prev_ = c;
          continue;
        }
        if (c != ' ' && c != '\t') field_bytes_ = 0;  // not a folded line: a new field
      }
      if (++field_bytes_ > kMaxHeaderFieldBytes) return false;
      line_start_ = prev_ == '\r' && c == '\n';
      prev_ = c;
    }
    return true;
  }

 private:
  bool in_header_ = true;
  bool line_start_ = true;
  bool blank_line_ = false;
  char prev_ = '\0';
  std::size_t field_bytes_ = 0;
};

// libopendkim wants NULL-terminated C arrays of the lists in signed_headers.h.
// "from" is in the sign list although libopendkim always adds it: every
// oversigned name must also be in that list (dependencies.md: otherwise the h=
// tag gets a lone entry for a header that was never signed, and verifiers
// reject it).
auto kSignHeaders = [] {  // not const: libopendkim takes const char**
  std::array<const char*, kDkimSignedHeaders.size() + 1> list{};
  for (std::size_t i = 0; i < kDkimSignedHeaders.size(); ++i) list[i] = kDkimSignedHeaders[i].data();
  return list;
}();
const char* kOversignHeaders[] = {kDkimOversignedHeader.data(), nullptr};

// Printable, used by libopendkim only in its own log and error strings.
constexpr unsigned char kHandleId[] = "stamp";

// `dkim_chunk: Syntax error (required header "from" not found)` from a failed call.
std::string describe(std::string_view call, DKIM_STAT stat, DKIM* dkim) {
  std::string text(call);
  text += ": ";
  const char* result = dkim_getresultstr(stat);
  text += result != nullptr ? result : "DKIM_STAT " + std::to_string(stat);
  const char* detail = dkim != nullptr ? dkim_geterror(dkim) : nullptr;
  if (detail != nullptr && *detail != '\0') {
    text += " (";
    text += detail;
    text += ")";
  }
  return text;
}

std::string key_name(const DkimKey& key) { return key.selector + "._domainkey." + key.domain; }

// Without a callback, OpenSSL would prompt on the terminal for an encrypted key.
int refuse_password(char*, int, int, void*) { return -1; }

// SHA-256 of the PEM: what begin() remembers of a key that passed check_key(), so
// that no copy of the private key is kept for the purpose.
std::string fingerprint(std::string_view pem) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(pem.data(), pem.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    ERR_clear_error();
    return {};  // never matches: the key is checked again next time
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// DKIM_OPTS_SIGNHDRS and DKIM_OPTS_OVERSIGNHDRS take the NULL-terminated array
// itself (not its address) with the size of a pointer; the library copies it.
Status set_header_list(DKIM_LIB* lib, int option, const char** list, std::string_view what) {
  DKIM_STAT stat =
      dkim_options(lib, DKIM_OP_SETOPT, option, static_cast<void*>(list), sizeof(list));
  if (stat != DKIM_STAT_OK) {
    return fail(describe("dkim_options(" + std::string(what) + ")", stat, nullptr));
  }
  return {};
}

class OpendkimSigning final : public DkimSigning {
 public:
  OpendkimSigning(std::shared_ptr<DKIM_LIB> lib, OwnedDkim dkim)
      : lib_(std::move(lib)), dkim_(std::move(dkim)) {}

  Status chunk(std::string_view bytes) override {
    if (!dkim_) return fail("dkim: chunk after the signature was finished or failed");
    return feed(bytes);
  }

  Result<std::string> finish() override {
    if (!dkim_) return fail("dkim: finish after the signature was finished or failed");
    // libopendkim refuses a body without a final CRLF ("CRLF at end of body
    // missing"), while both canonicalizations add one to such a body (RFC 6376
    // sections 3.4.3 and 3.4.4), as an SMTP client does before the final dot
    // (RFC 5321 section 4.1.1.4). Adding it here signs what a verifier computes.
    if (fed_any_ && !ends_with_crlf_) {
      if (auto st = feed("\r\n"); !st) return std::unexpected(st.error());
    }
    DKIM_STAT stat = dkim_chunk(dkim_.get(), nullptr, 0);
    if (stat != DKIM_STAT_OK) return give_up("dkim_chunk(end)", stat);
    // libopendkim parses the private key here, not in dkim_sign.
    stat = dkim_eom(dkim_.get(), nullptr);
    if (stat != DKIM_STAT_OK) return give_up("dkim_eom", stat);

    // dkim_getsighdr_d, not dkim_getsighdr: same output, but the buffer is sized by
    // the library (a fixed one fails with "too large" once h= grows long) and
    // owned by the handle. The value comes folded with "\r\n\t" already and
    // without a trailing CRLF; `initial` leaves room for "DKIM-Signature: ".
    unsigned char* value = nullptr;
    size_t length = 0;
    stat = dkim_getsighdr_d(dkim_.get(), std::strlen(DKIM_SIGNHEADER) + 2, &value, &length);
    if (stat != DKIM_STAT_OK) return give_up("dkim_getsighdr_d", stat);
    if (value == nullptr || length == 0) return give_up("dkim_getsighdr_d", DKIM_STAT_INTERNAL);

    std::string header = DKIM_SIGNHEADER ": ";
    header.append(reinterpret_cast<const char*>(value), length);
    header += "\r\n";
    dkim_.reset();  // `value` belongs to the handle: copied above, freed here
    return header;
  }

 private:
  Status feed(std::string_view bytes) {
    // A zero-length dkim_chunk() means "end of message" to libopendkim.
    if (bytes.empty()) return {};
    if (!header_meter_.add(bytes)) {
      dkim_.reset();
      return fail("dkim: a header field is longer than " + std::to_string(kMaxHeaderFieldBytes) +
                  " bytes, more than libopendkim can sign");
    }
    // dkim_chunk only reads the buffer; its prototype is just not const-correct.
    auto* data = reinterpret_cast<unsigned char*>(const_cast<char*>(bytes.data()));
    DKIM_STAT stat = dkim_chunk(dkim_.get(), data, bytes.size());
    if (stat != DKIM_STAT_OK) return give_up("dkim_chunk", stat);
    ends_with_crlf_ =
        bytes.size() >= 2 ? bytes.ends_with("\r\n") : last_ == '\r' && bytes[0] == '\n';
    last_ = bytes.back();
    fed_any_ = true;
    return {};
  }

  // Any failure ends the message: libopendkim handles are not reusable after one.
  std::unexpected<common::Error> give_up(std::string_view call, DKIM_STAT stat) {
    std::string message = describe(call, stat, dkim_.get());
    dkim_.reset();
    return fail(std::move(message));
  }

  std::shared_ptr<DKIM_LIB> lib_;  // declared first so the handle below is freed first
  OwnedDkim dkim_;                 // null once finished or failed
  bool fed_any_ = false;           // the message so far is not empty,
  bool ends_with_crlf_ = false;    // and ends with CRLF,
  char last_ = '\0';               // and ends with this byte
  HeaderFieldMeter header_meter_;
};

class OpendkimSigner final : public DkimSigner {
 public:
  explicit OpendkimSigner(std::shared_ptr<DKIM_LIB> lib) : lib_(std::move(lib)) {}

  Result<std::unique_ptr<DkimSigning>> begin(const DkimKey& key) const override {
    if (auto st = check_key_once(key); !st) return std::unexpected(st.error());
    // dkim_sign copies the key, selector and domain into the handle, so `key` may go
    // away before the message is finished. dkim_sigkey_t is a non-const pointer.
    auto* secret = reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(key.private_key_pem.c_str()));
    auto* selector = reinterpret_cast<const unsigned char*>(key.selector.c_str());
    auto* domain = reinterpret_cast<const unsigned char*>(key.domain.c_str());
    DKIM_STAT stat = DKIM_STAT_INTERNAL;
    OwnedDkim dkim(dkim_sign(lib_.get(), kHandleId, nullptr, secret, selector, domain,
                             DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1,
                             &stat));
    if (!dkim || stat != DKIM_STAT_OK) {
      return fail(describe("dkim_sign(" + key_name(key) + ")", stat, dkim.get()));
    }
    return std::make_unique<OpendkimSigning>(lib_, std::move(dkim));
  }

 private:
  // check_key() parses the PEM, which is most of what a signature costs (libopendkim
  // parses it again for every message), so each distinct key is checked once.
  Status check_key_once(const DkimKey& key) const {
    std::string id = fingerprint(key.private_key_pem);
    if (!id.empty() && !key.domain.empty() && !key.selector.empty()) {
      std::lock_guard lock(mutex_);
      if (good_keys_.contains(id)) return {};
    }
    if (auto st = check_key(key); !st) return st;
    if (!id.empty()) {
      std::lock_guard lock(mutex_);
      good_keys_.insert(std::move(id));
    }
    return {};
  }

  // Shared with every signing in progress: a DKIM handle uses its DKIM_LIB until it
  // is freed, so the library handle lives until the last of them is gone.
  std::shared_ptr<DKIM_LIB> lib_;
  mutable std::mutex mutex_;                           // begin() runs on several threads
  mutable std::unordered_set<std::string> good_keys_;  // fingerprints of checked keys
};

}  // namespace

// libopendkim must only ever see keys that pass here. In the packaged 2.11.0~beta2:
// an unreadable PEM leaks 64 bytes and a non-RSA key about 1.3 KB on every
// signature attempt; a key starting with "MII" is taken for base64 DER and, when
// that base64 is bad, read past the end of its buffer (heap-buffer-overflow in
// dkim_eom under AddressSanitizer); an encrypted PEM makes OpenSSL prompt on the
// terminal for a password. The messages never include key material.
Status DkimSigner::check_key(const DkimKey& key) {
  if (key.domain.empty() || key.selector.empty()) {
    return fail("dkim: key has no domain or selector");
  }
  const std::string& pem = key.private_key_pem;
  if (!pem.starts_with("-----BEGIN ")) {
    return fail("dkim: key for " + key_name(key) + " is not PEM");
  }
  if (pem.size() > INT_MAX) {
    return fail("dkim: key for " + key_name(key) + " is too long");
  }
  OwnedBio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  OwnedPkey pkey;
  if (bio) pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_password, nullptr));
  ERR_clear_error();  // a failed parse leaves errors behind for the next TLS call
  if (!pkey) {
    return fail("dkim: key for " + key_name(key) +
                " is not a readable PEM private key (encrypted keys are not supported)");
  }
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) {
    return fail("dkim: key for " + key_name(key) + " is not an RSA key");
  }
  if (int bits = EVP_PKEY_get_bits(pkey.get()); bits < kMinRsaBits) {
    return fail("dkim: key for " + key_name(key) + " has " + std::to_string(bits) +
                " bits, at least " + std::to_string(kMinRsaBits) + " are needed");
  }
  return {};
}

Result<std::unique_ptr<DkimSigner>> DkimSigner::create() {
  OwnedDkimLib lib(dkim_init(nullptr, nullptr));
  if (!lib) return fail("dkim_init failed");
  // Options are set before the signer is shared: dkim_options is not synchronised,
  // while dkim_sign on one DKIM_LIB from several threads is supported.
  if (auto st = set_header_list(lib.get(), DKIM_OPTS_SIGNHDRS, kSignHeaders.data(), "sign headers"); !st) {
    return std::unexpected(st.error());
  }
  if (auto st =
          set_header_list(lib.get(), DKIM_OPTS_OVERSIGNHDRS, kOversignHeaders, "oversign headers");
      !st) {
    return std::unexpected(st.error());
  }
  // A shared_ptr built from the Owned alias keeps its dkim_close deleter.
  return std::make_unique<OpendkimSigner>(std::shared_ptr<DKIM_LIB>(std::move(lib)));
}

}  // namespace mta
