// ed25519-sha256 DKIM signing (RFC 6376, RFC 8463) with OpenSSL only. The body is
// canonicalized (relaxed) and hashed as it streams past; the header section is
// kept, bounded, until finish() selects, canonicalizes and signs it. See
// ed25519_signing.h. Verification and other canonicalizations are not done here.
#include "mta/signing/ed25519_signing.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <climits>
#include <iterator>
#include <map>
#include <utility>
#include <vector>

#include "common/base/base64.h"
#include "common/base/owned.h"
#include "mta/signing/signed_headers.h"

namespace mta {
namespace {

using common::fail;
using common::Result;
using common::Status;
using OwnedBio = common::Owned<BIO, &BIO_free_all>;
using OwnedPkey = common::Owned<EVP_PKEY, &EVP_PKEY_free>;
using OwnedMdCtx = common::Owned<EVP_MD_CTX, &EVP_MD_CTX_free>;

// RFC 5322 section 2.1.1: lines SHOULD NOT exceed 78 characters (without CRLF).
constexpr std::size_t kMaxLineLength = 78;
constexpr std::string_view kFold = "\r\n\t";  // CRLF and the continuation's WSP
constexpr std::size_t kSha256Bytes = 32;
constexpr std::size_t kEd25519RawKeyBytes = 32;
// Canonical body bytes are collected and hashed in blocks of about this size, not
// a digest update per input byte.
constexpr std::size_t kBodyHashBlock = 8192;

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string key_name(const DkimKey& key) { return key.selector + "._domainkey." + key.domain; }

// d= and s= go into the header verbatim: anything beyond DNS name characters
// (';', '=', white space) could add or change tags.
bool is_dns_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
  });
}

// Without a callback, OpenSSL would prompt on the terminal for an encrypted key.
int refuse_password(char*, int, int, void*) { return -1; }

// An Ed25519 private key from PEM, or the reason why not (no key material in it).
Result<OwnedPkey> read_ed25519_key(std::string_view pem) {
  if (!pem.starts_with("-----BEGIN ")) return fail("is not PEM");
  if (pem.size() > INT_MAX) return fail("is too long");
  OwnedBio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  OwnedPkey pkey;
  if (bio) pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_password, nullptr));
  ERR_clear_error();  // a failed parse leaves errors behind for the next TLS call
  if (!pkey) return fail("is not a readable PEM private key (encrypted keys are not supported)");
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519) return fail("is not an Ed25519 key");
  return pkey;
}

// RFC 6376 section 3.4.4, relaxed body canonicalization, one byte at a time so
// that a chunk may end anywhere (even between CR and LF):
//   a. WSP at the end of a line is removed,
//   b. a run of WSP inside a line becomes one SP,
//   and all empty lines at the end of the body are ignored.
// Only CRLF ends a line; a bare CR or LF is an ordinary character (not WSP).
//
// The end of the body (section 3.4.4 as RFC 6376 rewrote it after RFC 4871
// erratum 1384: "If the body is non-empty but does not end with CRLF, a CRLF is
// added"): a body that is empty after canonicalization hashes as zero bytes, not
// as one CRLF (unlike "simple", section 3.4.3), as dkimpy and libopendkim hash it;
// a non-empty last line without CRLF gets one. That last line is treated as the
// line it becomes on the wire, where SMTP adds the CRLF before the final dot (RFC
// 5321 section 4.1.1.4), so WSP at its end is removed too, as the RSA signer does
// by feeding libopendkim the CRLF. (dkimpy, handed the file without the final
// CRLF, keeps that WSP; handed what went on the wire, it agrees with this.)
class RelaxedBodyHash {
 public:
  Status init() {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      ERR_clear_error();
      return fail("dkim: SHA-256 is not available");
    }
    return {};
  }

  Status add(std::string_view bytes) {
    for (char c : bytes) {
      if (pending_cr_) {
        pending_cr_ = false;
        if (c == '\n') {
          end_line();
          continue;
        }
        content('\r');  // a bare CR, then `c` as usual
      }
      if (c == '\r') {
        pending_cr_ = true;
      } else if (is_wsp(c)) {
        pending_wsp_ = true;
      } else {
        content(c);
      }
    }
    return flush(kBodyHashBlock);
  }

  // bh=, base64 of the SHA-256 of the canonical body.
  Result<std::string> finish() {
    if (pending_cr_) content('\r');
    if (line_has_content_) out_ += "\r\n";  // the last line's CRLF, added (see above)
    // Pending empty lines, and WSP on a line with nothing else, are dropped.
    if (auto st = flush(0); !st) return std::unexpected(st.error());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &length) != 1 || length != kSha256Bytes) {
      ERR_clear_error();
      return fail("dkim: body hash failed");
    }
    return common::base64_encode(std::string_view(reinterpret_cast<char*>(digest), length));
  }

 private:
  void end_line() {
    pending_wsp_ = false;  // a.: WSP at the end of a line
    if (line_has_content_) {
      out_ += "\r\n";
      line_has_content_ = false;
    } else {
      ++empty_lines_;  // kept back until something follows it
    }
  }

  void content(char c) {
    if (!line_has_content_) {
      for (; empty_lines_ > 0; --empty_lines_) out_ += "\r\n";  // not at the end after all
      line_has_content_ = true;
    }
    if (pending_wsp_) {  // b.: the run, inside the line, as one SP
      out_ += ' ';
      pending_wsp_ = false;
    }
    out_ += c;
  }

  // Hashes the collected bytes once there are at least `threshold` of them.
  Status flush(std::size_t threshold) {
    if (out_.empty() || out_.size() < threshold) return {};
    if (EVP_DigestUpdate(ctx_.get(), out_.data(), out_.size()) != 1) {
      ERR_clear_error();
      return fail("dkim: body hash failed");
    }
    out_.clear();
    return {};
  }

  OwnedMdCtx ctx_{EVP_MD_CTX_new()};
  std::string out_;                // canonical bytes not hashed yet
  std::size_t empty_lines_ = 0;    // empty lines seen since the last line with content
  bool line_has_content_ = false;  // the current line has canonical content
  bool pending_wsp_ = false;       // WSP seen, written only if content follows on the line
  bool pending_cr_ = false;        // a CR, which ends the line if LF follows
};

struct HeaderField {
  std::string name;          // lower case, for matching against the sign list
  std::string_view spelled;  // the name as the message spells it, for h=
  std::string_view raw;      // the whole field, folded lines included, without its final CRLF
};

// The fields of the header section (without its blank line). A line that is not a
// field ("name:") nor a continuation of one is an error, as it is to dkimpy.
Result<std::vector<HeaderField>> split_fields(std::string_view section) {
  std::vector<HeaderField> fields;
  const char* field_start = nullptr;
  std::size_t at = 0;
  while (at < section.size()) {
    std::size_t eol = section.find("\r\n", at);
    std::size_t next = eol == std::string_view::npos ? section.size() : eol + 2;
    std::string_view line = section.substr(at, std::min(eol, section.size()) - at);
    if (!line.empty() && is_wsp(line[0])) {  // RFC 5322 section 2.2.3: folded
      if (fields.empty()) return fail("dkim: the header section starts with a continuation line");
    } else {
      std::size_t colon = line.find(':');
      std::string_view name = colon == std::string_view::npos ? "" : line.substr(0, colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
      if (name.empty()) return fail("dkim: a header line is not a header field");
      HeaderField field;
      std::transform(name.begin(), name.end(), std::back_inserter(field.name), lower);
      field.spelled = name;
      fields.push_back(std::move(field));
      field_start = line.data();
    }
    const char* line_end = line.data() + line.size();
    fields.back().raw =
        std::string_view(field_start, static_cast<std::size_t>(line_end - field_start));
    at = next;
  }
  return fields;
}

// RFC 6376 section 3.4.2, relaxed header canonicalization of one field: the name
// in lower case, the value unfolded (CRLF removed), WSP runs as one SP, no WSP at
// either end of the value or before the colon. Without the trailing CRLF.
std::string relaxed_field(std::string_view raw) {
  std::size_t colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  std::string out;
  out.reserve(raw.size());
  std::transform(name.begin(), name.end(), std::back_inserter(out), lower);
  out += ':';
  bool pending_wsp = false;
  bool any = false;
  std::string_view value = raw.substr(colon + 1);
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
      ++i;  // unfold: the CRLF goes, the WSP after it stays (and joins the run)
    } else if (is_wsp(c)) {
      pending_wsp = true;
    } else {
      if (pending_wsp && any) out += ' ';
      pending_wsp = false;
      out += c;
      any = true;
    }
  }
  return out;
}

// RFC 6376 section 5.4.2: each name in h= signs the next instance of that name
// not signed yet, counting from the bottom of the header; a name with no instance
// left (oversigning) contributes nothing. The canonical fields, each with CRLF.
std::string signed_header_data(const std::vector<HeaderField>& fields,
                               const std::vector<std::string_view>& h) {
  std::map<std::string_view, std::size_t> unused_below;  // per name: instances at [0, n) unused
  std::string data;
  for (std::string_view name : h) {
    auto [it, inserted] = unused_below.try_emplace(name, fields.size());
    std::size_t i = it->second;
    while (i > 0) {
      --i;
      if (fields[i].name == name) {
        data += relaxed_field(fields[i].raw);
        data += "\r\n";
        break;
      }
    }
    it->second = i;
  }
  return data;
}

// Builds the folded header: words separated by SP, or by CRLF TAB where a line
// would grow past kMaxLineLength. Glued pieces (the parts of h= and b=)
// go on without SP, or after CRLF TAB, which RFC 6376 section 3.2 allows as FWS
// inside those tag values (relaxed canonicalization undoes it).
class Folder {
 public:
  explicit Folder(std::string_view start) : text_(start), line_length_(start.size()) {}

  void word(std::string_view w) { put(w, true); }
  void glued(std::string_view piece) { put(piece, false); }
  void new_line() {
    text_ += kFold;
    line_length_ = 1;
  }
  // Characters that may be split anywhere: as many as fit on each line.
  void splittable(std::string_view chars) {
    while (!chars.empty()) {
      if (line_length_ >= kMaxLineLength) new_line();
      std::size_t n = std::min(chars.size(), kMaxLineLength - line_length_);
      text_ += chars.substr(0, n);
      line_length_ += n;
      chars.remove_prefix(n);
    }
  }
  const std::string& text() const { return text_; }

 private:
  void put(std::string_view piece, bool space) {
    std::size_t sep = space ? 1 : 0;
    if (line_length_ + sep + piece.size() > kMaxLineLength && line_length_ > 1) {
      new_line();  // a piece longer than a line goes on a line of its own
    } else if (space) {
      text_ += ' ';
      ++line_length_;
    }
    text_ += piece;
    line_length_ += piece.size();
  }

  std::string text_;
  std::size_t line_length_;  // characters on the current line, the leading TAB counted as one
};

class Ed25519Signing final : public DkimSigning {
 public:
  Ed25519Signing(OwnedPkey key, std::string domain, std::string selector, std::time_t now)
      : key_(std::move(key)),
        domain_(std::move(domain)),
        selector_(std::move(selector)),
        now_(now) {}

  Status init() { return body_.init(); }

  Status chunk(std::string_view bytes) override {
    if (done_) return fail("dkim: chunk after the signature was finished or failed");
    if (in_header_) {
      std::size_t taken = find_header_end(bytes);
      if (header_.size() + taken > kEd25519MaxHeaderSectionBytes) {
        return give_up("dkim: the header section is longer than " +
                       std::to_string(kEd25519MaxHeaderSectionBytes) + " bytes");
      }
      header_.append(bytes.substr(0, taken));
      bytes.remove_prefix(taken);
      if (in_header_) return {};
      header_.resize(header_.size() - 2);  // the blank line ending the header section
    }
    if (auto st = body_.add(bytes); !st) return give_up(st.error().message);
    return {};
  }

  Result<std::string> finish() override {
    if (done_) return fail("dkim: finish after the signature was finished or failed");
    done_ = true;
    auto header = sign();
    header_.clear();
    header_.shrink_to_fit();
    key_.reset();
    return header;
  }

 private:
  // How many bytes of `bytes` belong to the header section (its blank line
  // included); clears in_header_ when they end it. The section ends at the first
  // CRLF CRLF, or at a CRLF at the very start of the message (no header fields).
  std::size_t find_header_end(std::string_view bytes) {
    static constexpr std::string_view kEnd = "\r\n\r\n";
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      char c = bytes[i];
      if (c == kEnd[matched_]) {
        if (++matched_ == kEnd.size()) {
          in_header_ = false;
          return i + 1;
        }
      } else {
        matched_ = c == '\r' ? 1 : 0;
      }
    }
    return bytes.size();
  }

  Result<std::string> sign() {
    if (in_header_ && !header_.empty() && !header_.ends_with("\r\n")) {
      header_ += "\r\n";  // a message that ends inside its last header field
    }
    if (header_.ends_with("\r\n")) header_.resize(header_.size() - 2);
    auto fields = split_fields(header_);
    if (!fields) return std::unexpected(fields.error());

    // h=: every listed name once per instance, in message order and spelled as
    // there (as libopendkim writes it), plus the oversigned From (RFC 6376 section
    // 8.15). `h` is what selects the fields, in lower case.
    std::vector<std::string_view> h;
    std::vector<std::string_view> h_spelled;
    bool has_from = false;
    for (const HeaderField& field : *fields) {
      if (std::find(kDkimSignedHeaders.begin(), kDkimSignedHeaders.end(), field.name) ==
          kDkimSignedHeaders.end()) {
        continue;
      }
      h.push_back(field.name);
      h_spelled.push_back(field.spelled);
      has_from |= field.name == "from";
    }
    // RFC 6376 section 5.4: From MUST be signed.
    if (!has_from) return fail("dkim: the message has no From header field");
    h.push_back(kDkimOversignedHeader);
    h_spelled.push_back(kDkimOversignedHeader);

    auto bh = body_.finish();
    if (!bh) return std::unexpected(bh.error());

    Folder folder("DKIM-Signature:");
    folder.word("v=1;");
    folder.word("a=ed25519-sha256;");
    folder.word("c=relaxed/relaxed;");
    folder.word("d=" + domain_ + ";");
    folder.word("s=" + selector_ + ";");
    folder.word("t=" + std::to_string(now_) + ";");
    folder.word("bh=" + *bh + ";");  // 48 characters: fits on a line of its own
    for (std::size_t i = 0; i < h_spelled.size(); ++i) {
      std::string piece =
          (i == 0 ? "h=" : "") + std::string(h_spelled[i]) + (i + 1 < h.size() ? ":" : ";");
      if (i == 0) {
        folder.word(piece);
      } else {
        folder.glued(piece);
      }
    }
    // b= on a line of its own, as it fills most of one. RFC 6376 section 3.7: the
    // DKIM-Signature field is hashed last, canonicalized like the others, with
    // the b= value empty and without its trailing CRLF.
    folder.new_line();
    folder.glued("b=");
    std::string data = signed_header_data(*fields, h) + relaxed_field(folder.text());

    // RFC 8463 section 3: ed25519-sha256 is PureEdDSA (RFC 8032) over the SHA-256
    // hash of the header data, i.e. the 32-byte digest is the message signed
    // (dkimpy and OpenDKIM do the same). OpenSSL takes Ed25519 only through the
    // one-shot EVP_DigestSign with no digest of its own.
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &digest_length, EVP_sha256(), nullptr) != 1 ||
        digest_length != kSha256Bytes) {
      ERR_clear_error();
      return fail("dkim: header hash failed");
    }
    OwnedMdCtx ctx(EVP_MD_CTX_new());
    std::array<unsigned char, 64> signature{};
    std::size_t signature_length = signature.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), signature.data(), &signature_length, digest, digest_length) !=
            1) {
      ERR_clear_error();
      return fail("dkim: Ed25519 signing with " + selector_ + "._domainkey." + domain_ + " failed");
    }
    folder.splittable(common::base64_encode(
        std::string_view(reinterpret_cast<const char*>(signature.data()), signature_length)));
    return folder.text() + "\r\n";
  }

  std::unexpected<common::Error> give_up(std::string message) {
    done_ = true;
    header_.clear();
    header_.shrink_to_fit();
    key_.reset();
    return fail(std::move(message));
  }

  OwnedPkey key_;
  std::string domain_;
  std::string selector_;
  std::time_t now_;
  RelaxedBodyHash body_;
  std::string header_;       // the header section so far (after the end: without its blank line)
  bool in_header_ = true;    // still reading the header section
  std::size_t matched_ = 2;  // bytes of CRLF CRLF seen: as if a CRLF came before the message
  bool done_ = false;        // finished or failed
};

}  // namespace

Status check_ed25519_key(const DkimKey& key) {
  if (!is_dns_name(key.domain) || !is_dns_name(key.selector)) {
    return fail("dkim: key has no domain or selector, or one that is not a DNS name");
  }
  if (auto pkey = read_ed25519_key(key.private_key_pem); !pkey) {
    return fail("dkim: key for " + key_name(key) + " " + pkey.error().message);
  }
  return {};
}

Result<std::string> ed25519_dns_public_key(std::string_view private_key_pem) {
  auto pkey = read_ed25519_key(private_key_pem);
  if (!pkey) return fail("dkim: key " + pkey.error().message);
  std::array<unsigned char, kEd25519RawKeyBytes> raw{};
  std::size_t length = raw.size();
  if (EVP_PKEY_get_raw_public_key(pkey->get(), raw.data(), &length) != 1 || length != raw.size()) {
    ERR_clear_error();
    return fail("dkim: cannot get the Ed25519 public key");
  }
  return common::base64_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), length));
}

Result<std::unique_ptr<DkimSigning>> begin_ed25519_signing(const DkimKey& key, std::time_t now) {
  if (!is_dns_name(key.domain) || !is_dns_name(key.selector)) {
    return fail("dkim: key has no domain or selector, or one that is not a DNS name");
  }
  if (now < 0) return fail("dkim: signing time before 1970");
  auto pkey = read_ed25519_key(key.private_key_pem);
  if (!pkey) return fail("dkim: key for " + key_name(key) + " " + pkey.error().message);
  auto signing = std::make_unique<Ed25519Signing>(std::move(*pkey), key.domain, key.selector, now);
  if (auto st = signing->init(); !st) return std::unexpected(st.error());
  return signing;
}

}  // namespace mta
