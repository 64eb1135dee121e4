#include "key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace flopline::cli {

core::Result<std::string> ReadKeyFile(const std::string& path, const std::string& field, bool secret) {
  core::ReadLimits limits;
  limits.max_bytes = kMaxKeyFileBytes;
  limits.refused_mode = secret ? 077 : 0;
  limits.allow_empty = false;
  auto text = core::ReadRegularFile(path, limits);
  if (!text) {
    core::Error e = text.error();
    e.field = field;
    if (e.code == core::Code::kNotFound && access(path.c_str(), F_OK) != 0 && secret) {
      e.message = "no key file (run `flopline ledger init`)";
    } else if (e.code == core::Code::kFailedPrecondition && secret) {
      e.message = fmt::format("the signing key {}", e.message);
    }
    return tl::unexpected(e);
  }
  return text;
}

core::Result<ledger::Signer> ReadSigner(const std::string& path) {
  FL_ASSIGN_OR_RETURN(std::string text, ReadKeyFile(path, "--key", /*secret=*/true));
  auto signer = ledger::Signer::Parse(text);
  if (!signer) return core::InvalidArgument(fmt::format("{}: {}", path, signer.error().message), "--key");
  return signer;
}

core::Result<void> WriteKeyFile(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return core::MakeError(core::Code::kUnavailable, fmt::format("{}: cannot create the key file", path));
  std::string line = text + "\n";
  bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && fsync(fd) == 0;
  close(fd);
  if (!ok) return core::MakeError(core::Code::kUnavailable, fmt::format("{}: cannot write the key file", path));
  return core::Ok();
}

core::Result<ledger::Signer> LoadOrCreateSigner(const std::string& path, const std::string& name) {
  if (access(path.c_str(), F_OK) == 0) return ReadSigner(path);
  FL_ASSIGN_OR_RETURN(ledger::Signer signer, ledger::Signer::Generate(name));
  FL_RETURN_IF_ERROR(WriteKeyFile(path, signer.SignerKey()));
  return signer;
}

}  // namespace flopline::cli
