#include "flopline/core/result.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace flopline::core {

std::string Error::ToString() const {
  std::string out;
  if (where && !where->file.empty()) {
    out += where->file;
    if (where->line > 0) {
      out += fmt::format(":{}", where->line);
      if (where->column > 0) out += fmt::format(":{}", where->column);
    }
    out += ": ";
  }
  if (!field.empty()) out += fmt::format("field '{}': ", field);
  out += message;
  return out;
}

tl::unexpected<Error> MakeError(Code code, std::string message, std::string field,
                                std::optional<Location> where) {
  return tl::unexpected(Error{code, std::move(message), std::move(where), std::move(field)});
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open the file", {}, Location{path, 0, 0});
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return NotFound("cannot read the file", {}, Location{path, 0, 0});
  return buffer.str();
}

Result<std::string> ReadRegularFile(const std::string& path, const ReadLimits& limits) {
  Location where{path, 0, 0};
  int flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (limits.follow_symlink ? 0 : O_NOFOLLOW);
  int fd = open(path.c_str(), flags);
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP) return InvalidArgument("is a symbolic link; give the file itself", {}, where);
    return NotFound(fmt::format("cannot open: {}", std::strerror(err)), {}, where);
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) return NotFound(fmt::format("cannot stat: {}", std::strerror(errno)), {}, where);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgument(S_ISDIR(st.st_mode) ? "is a directory, not a file" : "is not a regular file", {}, where);
  }
  if ((st.st_mode & limits.refused_mode) != 0) {
    return MakeError(Code::kFailedPrecondition,
                     fmt::format("is readable by others (mode {:o}); chmod 600 it", st.st_mode & 0777), {}, where);
  }
  if (static_cast<std::uint64_t>(st.st_size) > limits.max_bytes) {
    return InvalidArgument(fmt::format("is {} bytes; at most {} are read", st.st_size, limits.max_bytes), {}, where);
  }
  // The regular file is read in blocking mode: O_NONBLOCK only kept the open from waiting.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string bytes;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return NotFound(fmt::format("cannot read: {}", std::strerror(errno)), {}, where);
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
    if (bytes.size() > limits.max_bytes) {
      return InvalidArgument(fmt::format("grew past {} bytes while being read", limits.max_bytes), {}, where);
    }
  }
  if (!limits.allow_empty && bytes.empty()) return InvalidArgument("is empty", {}, where);
  return bytes;
}

}  // namespace flopline::core
