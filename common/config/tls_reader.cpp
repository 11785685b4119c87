// The `tls:` block. See tls_reader.h.
#include "common/config/tls_reader.h"

#include <filesystem>

namespace common::config {

common::tls::TlsConfig read_tls(MapReader& tls) {
  common::tls::TlsConfig config;
  std::filesystem::path certificate;
  std::filesystem::path private_key;
  if (tls.read_path("certificate", certificate, Need::Required)) {
    config.certificate_file = certificate.string();
  }
  if (tls.read_path("private_key", private_key, Need::Required)) {
    config.private_key_file = private_key.string();
  }
  tls.read_bool("create_self_signed", config.create_self_signed);
  tls.finish();
  return config;
}

}  // namespace common::config
