// `stamp-bounced classify`. See classify_command.h.
#include "bounced/classify_command.h"

#include <glib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>

#include "bounced/classify/bounce_classifier.h"
#include "common/base/json.h"
#include "common/base/owned.h"
#include "common/base/result.h"

namespace bounced {
namespace {

namespace fs = std::filesystem;

common::Result<std::string> read_message_file(const std::string& path) {
  std::error_code ec;
  fs::file_status status = fs::status(path, ec);
  if (ec) return common::fail(ec.message());
  if (!fs::is_regular_file(status)) return common::fail("not a regular file");
  std::uintmax_t size = fs::file_size(path, ec);
  if (ec) return common::fail(ec.message());
  if (size > kMaxClassifiedMessageBytes) {
    return common::fail("larger than " + std::to_string(kMaxClassifiedMessageBytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return common::fail(std::strerror(errno));
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) return common::fail("short read");
  return bytes;
}

// Remote servers send any bytes; the JSON line must stay valid UTF-8.
std::string json_text(std::string_view text) {
  common::Owned<gchar, &g_free> valid(
      g_utf8_make_valid(text.data(), static_cast<gssize>(text.size())));
  return common::json_quote(valid ? std::string_view(valid.get()) : std::string_view());
}

std::string json_text_or_null(std::string_view text) {
  return text.empty() ? "null" : json_text(text);
}

std::string result_json(const BounceResult& result) {
  std::ostringstream out;
  out << "{\"recipient\": " << json_text_or_null(result.recipient)
      << ", \"class\": " << json_text(bounce_class_name(result.bounce_class))
      << ", \"type\": " << json_text(result.type) << ", \"type_code\": " << result.type_code
      << ", \"reason\": " << json_text(reason_name(result.reason))
      << ", \"status\": " << json_text_or_null(result.status)
      << ", \"diagnostic\": " << json_text_or_null(result.diagnostic) << "}";
  return out.str();
}

std::string report_json(const std::string& name, const BounceReport& report) {
  std::ostringstream out;
  out << "{\"file\": " << json_text(name)
      << ", \"kind\": " << json_text(report_kind_name(report.kind)) << ", \"results\": [";
  for (std::size_t i = 0; i < report.results.size(); ++i) {
    if (i > 0) out << ", ";
    out << result_json(report.results[i]);
  }
  out << "]}";
  return out.str();
}

}  // namespace

void print_classify_usage(std::FILE* out) {
  std::fprintf(out,
               "usage: stamp-bounced classify FILE...\n"
               "  Classifies each saved bounce, complaint or auto-reply and prints one JSON line "
               "per file.\n");
}

int run_classify_command(const std::vector<std::string>& args) {
  if (args.empty() || args.front() == "--help" || args.front() == "-h") {
    print_classify_usage(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  int exit_code = 0;
  for (const std::string& path : args) {
    std::string name = fs::path(path).filename().string();
    common::Result<std::string> bytes = read_message_file(path);
    if (!bytes) {
      std::cout << "{\"file\": " << json_text(name)
                << ", \"error\": " << json_text(bytes.error().message) << "}\n";
      exit_code = 1;
      continue;
    }
    std::cout << report_json(name, classify_message(*bytes)) << '\n';
  }
  std::cout.flush();
  return exit_code;
}

}  // namespace bounced
