// GMime-backed address headers. See address_header.h.
#include "common/mime/address_header.h"

#include <gmime/gmime.h>

#include <memory>
#include <mutex>

namespace common::mime {
namespace {

void ensure_gmime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

// GMime objects are reference counted GObjects.
struct Unref {
  void operator()(gpointer p) const noexcept {
    if (p) g_object_unref(p);
  }
};

void collect(InternetAddressList* list, std::vector<MailboxAddress>& out, int depth) {
  if (!list || depth > 4) return;
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* ia = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
      const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
      const char* name = internet_address_get_name(ia);
      if (addr && *addr) out.push_back({name ? name : "", addr});
    } else if (INTERNET_ADDRESS_IS_GROUP(ia)) {
      collect(internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)), out, depth + 1);
    }
  }
}

}  // namespace

std::vector<MailboxAddress> parse_address_list(std::string_view header_value) {
  ensure_gmime();
  std::string text(header_value);
  std::unique_ptr<InternetAddressList, Unref> list(internet_address_list_parse(nullptr, text.c_str()));
  std::vector<MailboxAddress> out;
  collect(list.get(), out, 0);
  return out;
}

std::string format_mailbox(std::string_view display_name, std::string_view address) {
  ensure_gmime();
  std::string name;
  for (unsigned char c : display_name) {
    if (c >= 0x20 && c != 0x7f) name += static_cast<char>(c);
  }
  std::string addr(address);
  std::unique_ptr<InternetAddress, Unref> mailbox(internet_address_mailbox_new(name.c_str(), addr.c_str()));
  char* text = internet_address_to_string(mailbox.get(), nullptr, TRUE);
  std::string out = text ? text : addr;
  g_free(text);
  // GMime folds long encoded names with CRLF+space; keep it on one logical line.
  std::string unfolded;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\r' || out[i] == '\n') continue;
    unfolded += out[i];
  }
  return unfolded;
}

}  // namespace common::mime
