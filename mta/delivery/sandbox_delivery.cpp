// SandboxDelivery implementation. See sandbox_delivery.h.
#include "mta/delivery/sandbox_delivery.h"

#include <ctime>

#include <fcntl.h>
#include <unistd.h>

#include "common/base/json.h"
#include "common/base/log.h"
#include "common/base/owned.h"

namespace mta {
namespace {

common::Status write_durably(int dir_fd, const std::string& name, std::string_view contents) {
  std::string tmp = "." + name + ".tmp";
  common::OwnedFd fd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return common::fail_errno("create sandbox file " + tmp);
  while (!contents.empty()) {
    ssize_t n = ::write(fd.get(), contents.data(), contents.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return common::fail_errno("write sandbox file " + tmp);
    contents.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::fdatasync(fd.get()) != 0) return common::fail_errno("fdatasync sandbox file " + tmp);
  if (::close(fd.release()) != 0) return common::fail_errno("close sandbox file " + tmp);
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0) return common::fail_errno("rename sandbox file " + tmp);
  return {};
}

std::string envelope_json(const QueuedMessage& meta, std::size_t index, const common::verp::VerpCodec* verp) {
  const auto& rcpt = meta.envelope.recipients[index];
  const auto& mail = meta.envelope.mail_from;
  // The envelope sender as the outbound engine would send it (VERP when the
  // submission chose a Return-Path domain).
  std::string mail_from = mail.sender.to_string();
  if (verp && !meta.late.return_path_domain.empty() && !mail.sender.is_null()) {
    mail_from = verp->encode({meta.id, static_cast<std::uint32_t>(index)}) + "@" + meta.late.return_path_domain;
  }
  std::string out = "{";
  out += "\"queue_id\": " + common::json_quote(meta.id);
  out += ", \"tenant\": " + common::json_quote(meta.tenant);
  out += ", \"mail_from\": " + common::json_quote(mail_from);
  out += ", \"original_mail_from\": " + common::json_quote(mail.sender.to_string());
  out += ", \"sender_mode\": " + common::json_quote(meta.late.sender_mode);
  out += ", \"stream\": " + common::json_quote(meta.late.stream);
  out += ", \"tag\": " + common::json_quote(meta.late.tag);
  out += ", \"rcpt_to\": " + common::json_quote(rcpt.address.to_string());
  out += ", \"notify\": " + common::json_quote(rcpt.notify.given ? rcpt.notify.to_string() : "");
  out += ", \"orcpt\": " + common::json_quote(rcpt.orcpt.empty() ? "" : rcpt.orcpt_type + ";" + rcpt.orcpt);
  out += ", \"envid\": " + common::json_quote(mail.envid);
  out += ", \"ret\": " + common::json_quote(mail.ret == common::smtp::DsnRet::Full ? "FULL"
                                             : mail.ret == common::smtp::DsnRet::Headers ? "HDRS" : "");
  out += ", \"smtputf8\": " + std::string(mail.smtputf8 ? "true" : "false");
  out += ", \"arrival\": " + std::to_string(meta.arrival);
  out += "}\n";
  return out;
}

}  // namespace

SandboxDelivery::SandboxDelivery(common::event::EventLoop& loop, FsSpool& spool, std::filesystem::path directory,
                                 const common::verp::VerpCodec* verp, MessageLog* log)
    : loop_(loop), spool_(spool), directory_(std::move(directory)), verp_(verp), log_(log), alive_(std::make_shared<bool>(true)),
      pool_(std::make_unique<common::WorkerPool>("stamp-sandbox", 1)) {}

SandboxDelivery::~SandboxDelivery() {
  stopping_ = true;
  *alive_ = false;
  pool_.reset();
}

void SandboxDelivery::stop(std::function<void()> done) {
  stopping_ = true;
  // What the writer thread is doing now finishes; the rest waits in the spool.
  pool_->submit([this, alive = alive_, done = std::move(done)]() mutable {
    loop_.post([alive, done = std::move(done)] {
      if (*alive) done();
    });
  });
}

void SandboxDelivery::enqueue(const std::string& queue_id) {
  pool_->submit([this, alive = alive_, queue_id] {
    if (stopping_) return;  // still in the spool: recovered at the next start
    auto status = deliver(queue_id);
    if (status) return;
    common::log::error("delivery.sandbox_failed").kv("queue_id", queue_id).kv("error", status.error().message)
        .kv("retry_in_s", static_cast<long long>(kRetryDelay.count()));
    loop_.post([this, alive, queue_id] {
      if (!*alive) return;
      loop_.run_after(kRetryDelay, [this, alive, queue_id] {
        if (*alive) enqueue(queue_id);
      });
    });
  });
}

common::Status SandboxDelivery::deliver(const std::string& queue_id) {
  auto contents = spool_.read(queue_id);
  if (!contents) return std::unexpected(contents.error());
  auto parsed = parse_queue_file(*contents);
  if (!parsed) return common::fail("queue/" + queue_id + ": " + parsed.error().message);
  std::error_code ec;
  std::filesystem::create_directories(directory_, ec);
  common::OwnedFd dir_fd(::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return common::fail_errno("open sandbox directory " + directory_.string());
  const auto& recipients = parsed->meta.envelope.recipients;
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    std::string base = queue_id + "-" + std::to_string(i);
    if (auto st = write_durably(dir_fd.get(), base + ".json", envelope_json(parsed->meta, i, verp_)); !st) return st;
    if (auto st = write_durably(dir_fd.get(), base + ".eml", parsed->wire_message()); !st) return st;
  }
  // The files must be durable before the queue forgets the message.
  if (::fsync(dir_fd.get()) != 0) return common::fail_errno("fsync sandbox directory");
  for (std::size_t i = 0; i < recipients.size(); ++i) {
    common::log::info("delivery.sandbox").kv("queue_id", queue_id).kv("rcpt", recipients[i].address.to_string())
        .kv("file", (directory_ / (queue_id + "-" + std::to_string(i) + ".eml")).string()).kv("status", "delivered");
    if (log_) {
      log_->record(MessageLogEntry{queue_id, parsed->meta.tenant, parsed->meta.envelope.mail_from.sender.to_string(),
                                   recipients[i].address.to_string(), "delivered", "sandbox",
                                   "250 written to the sandbox", 1, static_cast<std::int64_t>(std::time(nullptr))});
    }
  }
  if (auto st = spool_.remove(queue_id); !st) return st;
  return {};
}

}  // namespace mta
