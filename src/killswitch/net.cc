#include "flopline/killswitch/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "flopline/killswitch/protocol.h"

namespace flopline::killswitch {

using core::Result;

Result<Endpoint> Endpoint::Parse(std::string_view text) {
  size_t colon = text.rfind(':');
  Endpoint e;
  unsigned port = 0;
  if (colon == std::string_view::npos || colon == 0) {
    return core::InvalidArgument(fmt::format("'{}' is not HOST:PORT", text));
  }
  auto [end, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
    return core::InvalidArgument(fmt::format("'{}' is not HOST:PORT", text));
  }
  e.host = text.substr(0, colon);
  e.port = static_cast<std::uint16_t>(port);
  return e;
}

std::string Endpoint::ToString() const { return fmt::format("{}:{}", host, port); }

namespace {

Result<sockaddr_in> Resolve(const Endpoint& e) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(e.port);
  std::string host = e.host == "localhost" ? "127.0.0.1" : e.host;
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return core::InvalidArgument(fmt::format("'{}' is not an IPv4 address", e.host));
  }
  return addr;
}

tl::unexpected<core::Error> SysError(std::string what) {
  return core::MakeError(core::Code::kUnavailable,
                         fmt::format("{}: {}", what, std::strerror(errno)));
}

}  // namespace

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

Result<int> Listen(const Endpoint& at) {
  FL_ASSIGN_OR_RETURN(sockaddr_in addr, Resolve(at));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SysError("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    auto e = SysError("cannot listen on " + at.ToString());
    close(fd);
    return e;
  }
  if (listen(fd, 4096) != 0) {
    auto e = SysError("listen");
    close(fd);
    return e;
  }
  SetNonBlocking(fd);
  return fd;
}

Result<int> Connect(const Endpoint& to, int timeout_ms) {
  FL_ASSIGN_OR_RETURN(sockaddr_in addr, Resolve(to));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SysError("socket");
  SetNonBlocking(fd);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (rc == 0 && err != 0) {
      errno = err;
      rc = -1;
    }
    if (rc != 0 && errno == 0) errno = ETIMEDOUT;
  }
  if (rc != 0) {
    auto e = SysError("cannot connect to " + to.ToString());
    close(fd);
    return e;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool LineConn::ReadSome() {
  if (overflowed_) return false;
  char buf[16384];
  // Bounded per call: a peer that sends without pause cannot keep the caller reading for ever.
  for (size_t budget = 4 * max_line_; budget > 0;) {
    // MSG_DONTWAIT: never blocks, whether the socket is blocking or not.
    ssize_t n = recv(fd_, buf, std::min(sizeof buf, budget), MSG_DONTWAIT);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      budget -= static_cast<size_t>(n);
      size_t last_eol = in_.rfind('\n');
      size_t unfinished = last_eol == std::string::npos ? in_.size() : in_.size() - last_eol - 1;
      if (unfinished > max_line_) {
        overflowed_ = true;
        in_.clear();
        return false;
      }
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
  return true;
}

std::optional<std::string> LineConn::NextLine() {
  size_t eol = in_.find('\n');
  if (eol == std::string::npos) return std::nullopt;
  if (eol > max_line_) {  // a long line that arrived whole in one read
    overflowed_ = true;
    in_.clear();
    return std::nullopt;
  }
  std::string line = in_.substr(0, eol);
  in_.erase(0, eol + 1);
  return line;
}

std::optional<std::string> LineConn::ReadLine(std::int64_t timeout_ms) {
  std::int64_t deadline = MonotonicMs() + std::max<std::int64_t>(timeout_ms, 0);
  pollfd p{fd_, POLLIN, 0};
  for (;;) {
    if (std::optional<std::string> line = NextLine()) return line;
    std::int64_t left = deadline - MonotonicMs();
    if (overflowed_ || left <= 0 || poll(&p, 1, static_cast<int>(left)) != 1) return std::nullopt;
    if (!ReadSome()) return NextLine();  // the peer's last lines before it closed still count
  }
}

void LineConn::Queue(std::string_view line) {
  if (out_.size() + line.size() > max_out_) {
    overflowed_ = true;
    return;
  }
  out_ += line;
  out_ += '\n';
}

bool LineConn::Flush() {
  if (overflowed_) return false;
  while (!out_.empty()) {
    ssize_t n = send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
  return true;
}

bool LineConn::SendLine(std::string_view line) {
  std::string data(line);
  data += '\n';
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void LineConn::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

}  // namespace flopline::killswitch
