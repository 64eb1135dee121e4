// File: flopline/http/server.h
//
// The HTTP server on Boost.Beast/Asio: an asynchronous listener on one io_context run by a thread
// per core, keep-alive, TCP_NODELAY, optional TLS (OpenSSL), request limits (header and body sizes,
// a per-client token-bucket rate limit), a router over ONE table of routes -> allowed roles, RFC
// 9457 problem+json errors naming the field, ETags (If-None-Match -> 304), authentication (Bearer
// tokens, or a session cookie with a CSRF token on unsafe methods), server-sent event streams, and
// static files embedded at build time. It knows nothing of the law or the ledger: routes are given
// to it as handlers (src/server/).
//
// Example:
//   http::Server server(options, routes, auth);
//   FL_RETURN_IF_ERROR(server.Listen());   // binds; server.port() is the port (0 asks the OS)
//   server.Run();                          // until Stop()
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/http/auth.h"

namespace flopline::http {

struct Request {
  std::string method, target, path;                 // path without the query, percent-decoded
  std::map<std::string, std::string> query, params;  // params: the route's {name} segments
  std::map<std::string, std::string> headers;        // lower-case names
  std::string body, client;
  std::optional<Principal> principal;                // set once authenticated
  bool token_checked = false;                        // the bearer token's principal is `principal`
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::shared_ptr<const std::string> body;
  std::vector<std::pair<std::string, std::string>> headers;
  // The entity tag of a successful GET; empty: the server hashes the body. A handler that knows
  // what version of the resource it answers with (cheaper than hashing a large body) sets it.
  std::string etag;
  // An answer given later, without a thread waiting for it (a durable write acknowledged by the
  // group committer): when set, nothing is sent now; the server calls `later` once with `answer`,
  // which sends the real response and may be called from any thread (once). The request stays
  // alive until then. For a route that is not `blocking`: `later` must not block.
  std::function<void(std::function<void(Response)> answer)> later;
};

Response Json(int status, std::string body);
Response Text(int status, std::shared_ptr<const std::string> body, std::string content_type);
// An RFC 9457 problem document: {"type", "title", "status", "detail", "instance", "errors":
// [{"field", "message"}]} (errors only when a field is named).
Response Problem(int status, const std::string& title, const std::string& detail, const std::string& field,
                 const std::string& instance);

using Handler = std::function<Response(Request&)>;

struct Route {
  std::string method;   // GET, POST, PUT, DELETE
  std::string pattern;  // "/api/v1/models/{id}"
  std::vector<std::string> roles;  // who may call it; empty with `open` = anyone, even unauthenticated
  bool open = false;
  bool blocking = false;  // runs on the worker pool (a durable write), not on an I/O thread
  std::string summary;    // for the OpenAPI document and docs/api.md
  Handler handler;
  // A server-sent event stream: `poll(last)` is called every `period_ms` on the worker pool;
  // when it returns an event (id, data), it is written as "id: ID\nevent: NAME\ndata: DATA\n\n".
  struct Event {
    std::uint64_t id = 0;
    std::string name, data;
  };
  std::function<std::optional<Event>(std::uint64_t last)> poll;
  int period_ms = 1000;
};

struct StaticFile {
  const char* path;          // "/index.html"
  const char* content_type;
  const unsigned char* data;
  std::size_t size;
};

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: the OS picks
  unsigned threads = 0;       // I/O threads; 0: one per core
  unsigned workers = 64;      // the pool for blocking routes
  std::string tls_cert, tls_key;  // PEM files; both or neither
  std::size_t max_header_bytes = 16 << 10;
  std::size_t max_body_bytes = 1 << 20;
  double rate_per_second = 1000;  // per client address; 0 turns the limit off
  double rate_burst = 2000;
  int session_seconds = 8 * 3600;
  std::vector<StaticFile> static_files;
};

// What the server asks of whoever keeps the users (the server module adapts the workspace).
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The principal for a bearer token, or nullopt. Called for every request with a token: cache.
  virtual std::optional<Principal> Token(const std::string& token) = 0;
  // The principal for a bearer token when it can be told without a slow check (argon2id): true,
  // with `out` (nullopt: refused). False: Token must run, and the server runs it off its I/O
  // threads (a few at once; more waiting are answered 503 with Retry-After). By default Token,
  // at once.
  virtual bool KnownToken(const std::string& token, std::optional<Principal>& out) {
    out = Token(token);
    return true;
  }
  virtual std::optional<Principal> Password(const std::string& name, const std::string& password) = 0;
  virtual std::string SessionSecret() = 0;
  // Whether an authentic, unexpired session cookie's session still holds: false when it was ended
  // before its expiry (logged out, the user's sessions revoked, the user disabled or given another
  // role). Called for every request with a session cookie.
  virtual bool SessionHolds(const Principal& who) { return !who.name.empty(); }
  // Held while one request answered on an I/O thread (a read) is authenticated and answered: the
  // workspace's adapter reads the store once for both (workspace::Workspace::ReadOnce).
  virtual std::shared_ptr<void> Hold() { return nullptr; }
};

class Server {
 public:
  Server(Options options, std::vector<Route> routes, Authenticator& auth);
  ~Server();

  // Binds and listens; kInvalidArgument naming --listen or --tls-cert/--tls-key on failure.
  core::Result<void> Listen();
  std::uint16_t port() const;
  // Serves until Stop() (from a signal handler's thread or another thread).
  void Run();
  void Stop();
  // After Run() returns: waits for the blocking handlers still running on the worker pool (a write
  // waiting for its durable append) to finish; their answers are not sent. Whatever is handed to
  // the stopped server later (an answer from the group committer) is dropped with it, never run.
  void Drain();

  // The route table as given (for the OpenAPI document and tests).
  const std::vector<Route>& routes() const;

  struct Impl;  // server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

// The cookie names: the session (HttpOnly, SameSite=Strict, Secure under TLS) and its CSRF token
// (readable by the page, sent back in the X-CSRF-Token header).
inline constexpr char kSessionCookie[] = "flopline_session";
inline constexpr char kCsrfHeader[] = "x-csrf-token";

}  // namespace flopline::http
