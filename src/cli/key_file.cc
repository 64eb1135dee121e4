#include "key_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace flopline::cli {

core::Result<ledger::Signer> ReadSigner(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return core::NotFound(fmt::format("{}: no key file (run `flopline ledger init`)", path), "--key");
  }
  if ((st.st_mode & 077) != 0) {
    return core::MakeError(core::Code::kFailedPrecondition,
                           fmt::format("{}: the signing key is readable by others (mode {:o}); chmod 600 it", path,
                                       st.st_mode & 0777),
                           "--key");
  }
  FL_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
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
