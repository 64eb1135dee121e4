// File: flopline/killswitch/net.h
//
// TCP on POSIX sockets, framed as newline-delimited JSON: just enough for long-lived agent
// connections multiplexed by poll(2) in one controller thread.
#pragma once

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

core::Result<int> Listen(const Endpoint& at);  // a non-blocking listening socket
core::Result<int> Connect(const Endpoint& to, int timeout_ms);  // a blocking, connected socket
void SetNonBlocking(int fd);

// A connection's buffers: bytes read so far, split into lines; lines waiting to be written.
class LineConn {
 public:
  explicit LineConn(int fd) : fd_(fd) {}
  int fd() const { return fd_; }
  // Reads whatever is available without blocking; false on EOF or error.
  bool ReadSome();
  // The next complete line, without its newline.
  std::optional<std::string> NextLine();
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
  std::string in_, out_;
};

}  // namespace flopline::killswitch
