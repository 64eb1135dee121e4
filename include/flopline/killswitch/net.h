// File: flopline/killswitch/net.h
//
// TCP on POSIX sockets, framed as newline-delimited JSON: just enough for long-lived agent
// connections multiplexed by poll(2) in one controller thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"

namespace flopline::killswitch {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  static core::Result<Endpoint> Parse(std::string_view text);  // HOST:PORT
  std::string ToString() const;
};

core::Result<int> Listen(const Endpoint& at);                   // a non-blocking listening socket
core::Result<int> Connect(const Endpoint& to, int timeout_ms);  // a blocking, connected socket
void SetNonBlocking(int fd);

// A connection's buffers: bytes read so far, split into lines; lines waiting to be written. Both
// are bounded: a line longer than `max_line` bytes, or more than `max_out` bytes the peer does not
// read, ends the connection (overflowed()), so one peer cannot grow the process without limit.
class LineConn {
 public:
  explicit LineConn(int fd, std::size_t max_line = 64 * 1024, std::size_t max_out = 16 << 20)
      : fd_(fd), max_line_(max_line), max_out_(max_out) {}
  int fd() const { return fd_; }
  // Reads what is available without blocking, at most a few lines' worth per call (the rest waits
  // in the kernel for the next call); false on EOF, error or overflow.
  bool ReadSome();
  // Why the connection was given up on, when it was for exceeding a bound.
  bool overflowed() const { return overflowed_; }
  // The next complete line, without its newline.
  std::optional<std::string> NextLine();
  // A complete line is already buffered (read with an earlier line): the socket will not say so.
  bool HasLine() const { return in_.find('\n') != std::string::npos; }
  // Waits up to `timeout_ms` for the next complete line; nullopt on timeout, EOF or error.
  std::optional<std::string> ReadLine(std::int64_t timeout_ms);
  // Queues a line; Flush writes what the socket takes. False when the peer is gone.
  void Queue(std::string_view line);
  bool Flush();
  bool WantsWrite() const { return !out_.empty(); }
  // Blocking: writes one line entirely.
  bool SendLine(std::string_view line);
  void Close();

 private:
  int fd_;
  std::size_t max_line_, max_out_;
  bool overflowed_ = false;
  std::string in_, out_;
};

}  // namespace flopline::killswitch
