// The Beast server (server.h): one io_context run by a thread per core; each connection reads a
// request with bounded header and body, resolves the route, authenticates, checks the route's
// roles, and answers, inline for reads or on the worker pool for blocking writes.
#include "flopline/http/server.h"

#include <openssl/sha.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <list>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace flopline::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

Response Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::make_shared<const std::string>(std::move(body));
  return r;
}

Response Text(int status, std::shared_ptr<const std::string> body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Problem(int status, const std::string& title, const std::string& detail, const std::string& field,
                 const std::string& instance) {
  json doc = {{"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}, {"instance", instance}};
  if (!field.empty()) doc["errors"] = json::array({{{"field", field}, {"message", detail}}});
  Response r = Json(status, doc.dump(-1, ' ', false, json::error_handler_t::replace));
  r.content_type = "application/problem+json";
  return r;
}

namespace {

std::string PercentDecode(std::string_view s, bool* ok) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        *ok = false;
        return out;
      }
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string Etag(const std::string& body) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (int i = 0; i < 16; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out + "\"";
}

std::int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<std::string> CookieValue(const std::string& header, std::string_view name) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == ';')) ++pos;
    std::size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view pair(header.data() + pos, end - pos);
    if (pair.starts_with(name) && pair.size() > name.size() && pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    pos = end + 1;
  }
  return std::nullopt;
}

bool Safe(const std::string& method) { return method == "GET" || method == "HEAD" || method == "OPTIONS"; }

// Whether an Accept-Encoding header accepts gzip (a "gzip" or "*" coding whose q is not 0).
bool AcceptsGzip(std::string_view header) {
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    std::size_t semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && coding.front() == ' ') coding.remove_prefix(1);
    while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
    if (coding != "gzip" && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    std::string_view params = item.substr(semi + 1);
    std::size_t q = params.find("q=");
    if (q == std::string_view::npos) return true;
    double weight = std::strtod(std::string(params.substr(q + 2)).c_str(), nullptr);
    return weight > 0;
  }
  return false;
}

// Text worth compressing: JSON, scripts, style sheets, HTML, SVG, plain text.
bool Compressible(std::string_view content_type) {
  return content_type.starts_with("text/") || content_type.find("json") != std::string_view::npos ||
         content_type.find("javascript") != std::string_view::npos ||
         content_type.find("svg") != std::string_view::npos;
}

// Below this many bytes a body goes as it is: the gzip header and a round of deflate cost more
// than they save.
constexpr std::size_t kMinCompressBytes = 1024;

// `text` in gzip (RFC 1952) at zlib's `level`; nullopt if zlib fails.
std::optional<std::string> Gzip(std::string_view text, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  std::string out(deflateBound(&z, static_cast<uLong>(text.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  std::size_t size = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  out.resize(size);
  return out;
}

// The entity tag of a body's gzip form (a strong tag names one sequence of bytes): "X" -> "X-gz".
std::string GzipTag(const std::string& tag) {
  if (tag.size() >= 2 && tag.back() == '"') return tag.substr(0, tag.size() - 1) + "-gz\"";
  return tag;
}

}  // namespace

struct Server::Impl {
  Options options;
  std::vector<Route> routes;
  std::vector<std::vector<std::string_view>> patterns;  // each route's pattern, split at '/' (views into it)
  Authenticator& auth;
  std::unique_ptr<SessionKeys> keys;
  // One io_context per I/O thread, each run by its thread alone (a connection lives on one, given
  // round-robin as it is accepted): a request is read, answered and written on one thread, with no
  // hand-off between threads and no lock shared by them (one io_context run by every thread woke
  // another thread about twice per request: futex calls were a third of the server's system calls).
  std::vector<std::unique_ptr<net::io_context>> ios;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> keep;  // until Stop()
  std::atomic<std::size_t> next_io{0};
  net::thread_pool workers;
  // Bearer tokens not known to the authenticator are checked here (argon2id: 150-250 ms, 64 MiB
  // each), never on an I/O thread; at most kMaxTokenChecks wait or run, more are answered 503.
  static constexpr int kTokenCheckThreads = 2;
  static constexpr int kMaxTokenChecks = 16;
  net::thread_pool checks{kTokenCheckThreads};
  std::atomic<int> checks_pending{0};
  std::optional<net::ssl::context> tls;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  // The static files, each read once into a shared body with its entity tag and, when worth it, its
  // gzip form: a request copies neither.
  struct Static {
    const StaticFile* file;
    std::shared_ptr<const std::string> body, gzip;
    std::string etag;
  };
  std::unordered_map<std::string, Static> statics;

  // The gzip forms of the last shared bodies sent compressed (a cached determination): each body is
  // compressed once, not per request. Bounded; a body that has been freed is never matched.
  struct Compressed {
    std::weak_ptr<const std::string> body;
    std::shared_ptr<const std::string> gzip;
  };
  std::mutex gzip_mu;
  std::list<std::pair<const std::string*, Compressed>> gzip_cache;  // most recent first
  static constexpr std::size_t kGzipCacheEntries = 64;

  // Large shared bodies (a cached determination: 70 KB) as in-memory files (memfd), each written
  // once, so that a plain-TCP answer sends it with sendfile: the kernel then takes the file's pages
  // instead of copying the body from user space on every request (that copy was 18% of the
  // server's time under a determination load). Bounded like the gzip cache; a body that has been
  // freed is never matched.
  struct BodyFile {
    std::weak_ptr<const std::string> body;
    int fd = -1;
    std::size_t bytes = 0;
    BodyFile() = default;
    BodyFile(const BodyFile&) = delete;
    BodyFile& operator=(const BodyFile&) = delete;
    ~BodyFile() {
      if (fd >= 0) ::close(fd);
    }
  };
  std::mutex file_mu;
  std::list<std::pair<const std::string*, std::shared_ptr<const BodyFile>>> file_cache;  // most recent first
  static constexpr std::size_t kFileCacheEntries = 64;
  static constexpr std::size_t kFileCacheBytes = 32 << 20;  // the files' bytes, at most
  std::size_t file_cache_bytes = 0;
  static constexpr std::size_t kMinFileBytes = 16 << 10;

  // The in-memory file holding a shared body, written on first use; null when the body is small,
  // not shared (a fresh answer is sent once) or no file can be made (it is then sent as before).
  std::shared_ptr<const BodyFile> SharedFile(const std::shared_ptr<const std::string>& body) {
    if (!body || body->size() < kMinFileBytes || body.use_count() < 2) return nullptr;
    {
      std::lock_guard lock(file_mu);
      for (auto it = file_cache.begin(); it != file_cache.end(); ++it) {
        if (it->first == body.get() && it->second->body.lock() == body) {
          file_cache.splice(file_cache.begin(), file_cache, it);
          return it->second;
        }
      }
    }
    auto file = std::make_shared<BodyFile>();
    file->body = body;
    file->fd = ::memfd_create("flopline-body", MFD_CLOEXEC);
    if (file->fd < 0) return nullptr;
    for (std::size_t done = 0; done < body->size();) {
      ssize_t n = ::pwrite(file->fd, body->data() + done, body->size() - done, static_cast<off_t>(done));
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return nullptr;
      }
      done += static_cast<std::size_t>(n);
    }
    file->bytes = body->size();
    std::lock_guard lock(file_mu);
    // The files of bodies freed meanwhile are dropped (they can never be matched again), then the
    // least recently used while over the entry or byte bound.
    for (auto it = file_cache.begin(); it != file_cache.end();) {
      if (!it->second->body.expired()) {
        ++it;
        continue;
      }
      file_cache_bytes -= it->second->bytes;
      it = file_cache.erase(it);
    }
    file_cache.emplace_front(body.get(), file);
    file_cache_bytes += file->bytes;
    while (file_cache.size() > 1 && (file_cache.size() > kFileCacheEntries || file_cache_bytes > kFileCacheBytes)) {
      file_cache_bytes -= file_cache.back().second->bytes;
      file_cache.pop_back();
    }
    return file;
  }

  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex rate_mu;
  std::unordered_map<std::string, Bucket> buckets;

  Impl(Options o, std::vector<Route> r, Authenticator& a)
      : options(std::move(o)), routes(std::move(r)), auth(a), workers(options.workers) {
    unsigned n = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) {
      ios.push_back(std::make_unique<net::io_context>(1));
      keep.push_back(net::make_work_guard(*ios.back()));
    }
    for (const Route& route : routes) patterns.push_back(Segments(route.pattern));
    for (const StaticFile& f : options.static_files) {
      Static st{&f, std::make_shared<const std::string>(reinterpret_cast<const char*>(f.data), f.size), nullptr, ""};
      st.etag = Etag(*st.body);
      if (Compressible(f.content_type) && f.size >= kMinCompressBytes) {
        if (auto z = Gzip(*st.body, Z_BEST_COMPRESSION); z && z->size() < f.size) {
          st.gzip = std::make_shared<const std::string>(std::move(*z));
        }
      }
      statics[f.path] = std::move(st);
    }
  }

  // The gzip form of a shared body that others hold too (a cache's), compressed once.
  std::shared_ptr<const std::string> SharedGzip(const std::shared_ptr<const std::string>& body) {
    {
      std::lock_guard lock(gzip_mu);
      for (auto it = gzip_cache.begin(); it != gzip_cache.end(); ++it) {
        if (it->first == body.get() && it->second.body.lock() == body) {
          gzip_cache.splice(gzip_cache.begin(), gzip_cache, it);
          return it->second.gzip;
        }
      }
    }
    auto z = Gzip(*body, Z_DEFAULT_COMPRESSION);
    if (!z) return nullptr;
    auto gzip = std::make_shared<const std::string>(std::move(*z));
    std::lock_guard lock(gzip_mu);
    gzip_cache.push_front({body.get(), Compressed{body, gzip}});
    if (gzip_cache.size() > kGzipCacheEntries) gzip_cache.pop_back();
    return gzip;
  }

  bool Allow(const std::string& client) {
    if (options.rate_per_second <= 0) return true;
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(rate_mu);
    if (buckets.size() > 100000) buckets.clear();  // bounded: a flood of addresses resets, never grows
    auto [it, fresh] = buckets.try_emplace(client, Bucket{options.rate_burst, now});
    Bucket& b = it->second;
    double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(options.rate_burst, b.tokens + elapsed * options.rate_per_second);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  // The route for a method and path, with its parameters; `path_known` says whether any route has
  // the path (405 rather than 404).
  const Route* Match(const std::string& method, const std::string& path, std::map<std::string, std::string>& params,
                     bool& path_known) {
    std::vector<std::string_view> segs = Segments(path);
    for (std::size_t at = 0; at < routes.size(); ++at) {
      const Route& r = routes[at];
      const std::vector<std::string_view>& pat = patterns[at];
      if (pat.size() != segs.size()) continue;
      std::map<std::string, std::string> found;
      bool ok = true;
      for (std::size_t i = 0; i < pat.size() && ok; ++i) {
        if (pat[i].size() > 2 && pat[i].front() == '{' && pat[i].back() == '}') {
          if (segs[i].empty()) ok = false;
          found[std::string(pat[i].substr(1, pat[i].size() - 2))] = std::string(segs[i]);
        } else {
          ok = pat[i] == segs[i];
        }
      }
      if (!ok) continue;
      path_known = true;
      if (r.method == method || (method == "HEAD" && r.method == "GET")) {
        params = std::move(found);
        return &r;
      }
    }
    return nullptr;
  }

  // Authenticates and authorises; a problem response when refused.
  std::optional<Response> Admit(const Route& route, Request& req) {
    std::string instance = req.path;
    auto auth_header = req.headers.find("authorization");
    if (auth_header != req.headers.end()) {
      const std::string& value = auth_header->second;
      if (!value.starts_with("Bearer ")) {
        return Problem(401, "Unauthorized", "the Authorization header must be 'Bearer TOKEN'", "authorization", instance);
      }
      if (!req.token_checked) req.principal = auth.Token(value.substr(7));
      if (!req.principal) return Problem(401, "Unauthorized", "the token is not valid", "authorization", instance);
    } else if (auto cookie_header = req.headers.find("cookie"); cookie_header != req.headers.end()) {
      if (auto cookie = CookieValue(cookie_header->second, kSessionCookie)) {
        req.principal = keys->Open(*cookie, UnixNow());
        if (!req.principal && !route.open) {
          return Problem(401, "Unauthorized", "the session has expired or is not valid: log in again", "cookie",
                         instance);
        }
        if (req.principal && !auth.SessionHolds(*req.principal)) {
          req.principal.reset();
          if (!route.open) {
            return Problem(401, "Unauthorized",
                           "the session has ended (logged out, or the user's sessions were revoked): log in again",
                           "cookie", instance);
          }
        }
        if (req.principal && !Safe(req.method)) {
          auto token = req.headers.find(kCsrfHeader);
          if (token == req.headers.end() || !keys->CheckCsrf(*cookie, token->second)) {
            return Problem(403, "Forbidden", "a request with a session cookie must send its CSRF token in X-CSRF-Token",
                           kCsrfHeader, instance);
          }
        }
      }
    }
    if (route.open) return std::nullopt;
    if (!req.principal) {
      Response r = Problem(401, "Unauthorized", "log in (POST /api/v1/session) or send 'Authorization: Bearer TOKEN'",
                           "authorization", instance);
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      return r;
    }
    for (const std::string& role : route.roles) {
      if (role == req.principal->role) return std::nullopt;
    }
    return Problem(403, "Forbidden",
                   fmt::format("the role '{}' may not {} {}", req.principal->role, route.method, route.pattern), "role",
                   instance);
  }

  // Finishes a response: ETag and 304 for a successful GET; the body in gzip when the client
  // accepts it and it is text worth compressing (Vary: Accept-Encoding; the gzip form has its own
  // entity tag). `gzip` is the body's gzip form when the caller has one ready (a static file).
  void Finish(const Request& req, Response& res, std::shared_ptr<const std::string> gzip = nullptr) {
    bool compressible = res.body && Compressible(res.content_type) && res.body->size() >= kMinCompressBytes;
    if (compressible) res.headers.emplace_back("Vary", "Accept-Encoding");
    auto accept = req.headers.find("accept-encoding");
    bool compress = compressible && accept != req.headers.end() && AcceptsGzip(accept->second);
    if (res.status == 200 && (req.method == "GET" || req.method == "HEAD") && res.body) {
      std::string tag = res.etag.empty() ? Etag(*res.body) : res.etag;
      if (compress) tag = GzipTag(tag);
      res.headers.emplace_back("ETag", tag);
      auto inm = req.headers.find("if-none-match");
      if (inm != req.headers.end() && (inm->second == tag || inm->second == "W/" + tag || inm->second == "*")) {
        res.status = 304;
        res.body.reset();
        return;
      }
    }
    if (!compress) return;
    if (!gzip) {
      // A body someone else holds too is a cached one: compress it once. Else compress this one
      // quickly (a fresh answer is sent once).
      if (res.body.use_count() > 1) {
        gzip = SharedGzip(res.body);
      } else if (auto z = Gzip(*res.body, 4)) {
        gzip = std::make_shared<const std::string>(std::move(*z));
      }
    }
    if (!gzip || gzip->size() >= res.body->size()) return;
    res.body = std::move(gzip);
    res.headers.emplace_back("Content-Encoding", "gzip");
  }
};

namespace {

template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(Server::Impl& server, Stream stream, std::string client)
      : server_(server), stream_(std::move(stream)), client_(std::move(client)) {}

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->Read();
                              });
    } else {
      Read();
    }
  }

 private:
  using Self = Connection<Stream>;

  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(60));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout) return Close();
    if (ec == bhttp::error::body_limit) {
      keep_alive_ = false;
      return Write(Problem(413, "Content Too Large",
                           fmt::format("the body exceeds {} bytes", server_.options.max_body_bytes), "body", ""),
                   "POST");
    }
    if (ec == bhttp::error::header_limit) {
      keep_alive_ = false;
      return Write(Problem(431, "Request Header Fields Too Large",
                           fmt::format("the header exceeds {} bytes", server_.options.max_header_bytes), "headers", ""),
                   "GET");
    }
    if (ec) {
      if (ec.category() == beast::error_code(bhttp::error::bad_target).category()) {
        keep_alive_ = false;
        return Write(Problem(400, "Bad Request", "the request is not valid HTTP/1.1", "request", ""), "GET");
      }
      return Close();
    }
    bhttp::request<bhttp::string_body> raw = parser_->release();
    keep_alive_ = raw.keep_alive();
    auto req = std::make_shared<Request>();
    req->method = std::string(raw.method_string());
    req->target = std::string(raw.target());
    req->client = client_;
    req->body = std::move(raw.body());
    for (const auto& field : raw) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req->headers[name] = std::string(field.value());
    }
    Dispatch(req);
  }

  void Dispatch(const std::shared_ptr<Request>& req) {
    const std::string& method = req->method;
    if (!server_.Allow(client_)) {
      Response r = Problem(429, "Too Many Requests", "this client sent more requests than the server's rate limit",
                           "rate", req->target);
      r.headers.emplace_back("Retry-After", "1");
      return Write(std::move(r), method);
    }
    std::string_view target = req->target;
    std::size_t q = target.find('?');
    bool ok = true;
    req->path = PercentDecode(target.substr(0, q), &ok);
    if (q != std::string_view::npos) {
      std::string_view query = target.substr(q + 1);
      while (!query.empty() && ok) {
        std::size_t amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        std::size_t eq = pair.find('=');
        std::string key = PercentDecode(pair.substr(0, eq), &ok);
        std::string value = eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), &ok);
        if (!key.empty()) req->query[key] = value;
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      }
    }
    if (!ok || req->path.empty() || req->path[0] != '/') {
      return Write(Problem(400, "Bad Request", "the target is not a valid path and query", "target", req->target), method);
    }
    if (method == "GET" || method == "HEAD") {
      std::string file = req->path == "/" ? "/index.html" : req->path;
      if (auto it = server_.statics.find(file); it != server_.statics.end() && !req->path.starts_with("/api/")) {
        const Server::Impl::Static& st = it->second;
        Response r = Text(200, st.body, st.file->content_type);
        r.etag = st.etag;
        server_.Finish(*req, r, st.gzip);
        return Write(std::move(r), method);
      }
    }
    bool path_known = false;
    const Route* route = server_.Match(method, req->path, req->params, path_known);
    if (!route) {
      if (path_known) {
        return Write(Problem(405, "Method Not Allowed", fmt::format("{} is not allowed on {}", method, req->path),
                             "method", req->path),
                     method);
      }
      return Write(Problem(404, "Not Found", fmt::format("no resource at {}", req->path), "path", req->path), method);
    }
    Answer(route, req);
  }

  // `token` checked on the server's token pool, then the request answered back on this
  // connection's thread; 503 with Retry-After when too many checks wait already.
  void CheckToken(const Route* route, const std::shared_ptr<Request>& req, std::string token) {
    if (server_.checks_pending.fetch_add(1) >= Server::Impl::kMaxTokenChecks) {
      --server_.checks_pending;
      Response r = Problem(503, "Service Unavailable",
                           "too many bearer tokens are being checked at once: try again shortly", "authorization",
                           req->path);
      r.headers.emplace_back("Retry-After", "1");
      return Write(std::move(r), req->method);
    }
    net::post(server_.checks, [self = this->shared_from_this(), route, req, token = std::move(token)]() {
      std::optional<Principal> who;
      try {
        who = self->server_.auth.Token(token);
      } catch (const std::exception&) {
        who.reset();
      }
      --self->server_.checks_pending;
      net::post(self->stream_.get_executor(), [self, route, req, who = std::move(who)]() mutable {
        req->principal = std::move(who);
        req->token_checked = true;
        self->Answer(route, req);
      });
    });
  }

  // A matched route's request authenticated (its token, if any, already checked or known), then
  // answered.
  void Answer(const Route* route, const std::shared_ptr<Request>& req) {
    const std::string& method = req->method;
    // A read is authenticated and answered here, on one view of the workspace (one store read).
    std::shared_ptr<void> hold = route->blocking || route->poll ? nullptr : server_.auth.Hold();
    // A bearer token the authenticator does not know yet is checked off this thread (argon2id).
    if (auto header = req->headers.find("authorization");
        !req->token_checked && header != req->headers.end() && header->second.starts_with("Bearer ")) {
      if (!server_.auth.KnownToken(header->second.substr(7), req->principal)) {
        hold.reset();
        return CheckToken(route, req, header->second.substr(7));
      }
      req->token_checked = true;
    }
    if (auto refused = server_.Admit(*route, *req)) return Write(std::move(*refused), method);
    if (route->poll) return StartStream(*route, req);
    if (!route->blocking) {
      Response r = Run(*route, *req);
      if (r.later) return Defer(std::move(r.later), req);
      return Write(std::move(r), method);
    }
    net::post(server_.workers, [self = this->shared_from_this(), route, req]() {
      Response r = self->Run(*route, *req);
      net::post(self->stream_.get_executor(),
                [self, r = std::move(r), method = req->method]() mutable { self->Write(std::move(r), method); });
    });
  }

  // An answer given later (a write acknowledged by the group committer): no thread waits for it.
  void Defer(std::function<void(std::function<void(Response)>)> later, const std::shared_ptr<Request>& req) {
    auto answered = std::make_shared<std::atomic<bool>>(false);
    auto answer = [self = this->shared_from_this(), req, answered](Response r) {
      if (answered->exchange(true)) return;
      net::post(self->stream_.get_executor(), [self, req, r = std::move(r)]() mutable {
        self->server_.Finish(*req, r);
        self->Write(std::move(r), req->method);
      });
    };
    try {
      later(answer);
    } catch (const std::exception&) {
      answer(Problem(500, "Internal Server Error", "the server failed to answer: see its log", "", req->path));
    }
  }

  Response Run(const Route& route, Request& req) {
    Response r;
    try {
      r = route.handler(req);
    } catch (const std::exception& e) {
      r = Problem(500, "Internal Server Error", "the server failed to answer: see its log", "", req.path);
    }
    server_.Finish(req, r);
    return r;
  }

  // Sends the response. The body is not copied: Beast writes from the shared buffer (a cached
  // determination, a static file), which the completion handler keeps alive.
  void Write(Response r, const std::string& method) {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      if (method != "HEAD") {
        if (auto file = server_.SharedFile(r.body)) return SendFile(r, std::move(file));
      }
    }
    auto res = std::make_shared<bhttp::response<bhttp::span_body<const char>>>();
    Head(*res, r);
    if (r.body && method != "HEAD") res->body() = beast::span<const char>(r.body->data(), r.body->size());
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    if (method == "HEAD" && r.body) res->content_length(r.body->size());
    bhttp::async_write(stream_, *res,
                       [self = this->shared_from_this(), res, body = r.body](beast::error_code ec, std::size_t) {
                         if (ec || !self->keep_alive_) return self->Close();
                         self->Read();
                       });
  }

  // The status and header fields every answer has, then the response's own.
  template <class Body>
  static void Head(bhttp::response<Body>& res, const Response& r) {
    res.version(11);
    res.result(static_cast<bhttp::status>(r.status));
    res.set(bhttp::field::server, "flopline");
    res.set(bhttp::field::content_type, r.content_type);
    res.set(bhttp::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : r.headers) res.insert(name, value);
  }

  // Sends a large shared body from its in-memory file (plain TCP only): the header with MSG_MORE
  // (so the kernel sends it in the body's first segment, not in a packet of its own), then the body
  // by sendfile, each resumed when the socket is writable again; a client that takes no bytes for
  // 60 s is dropped, as Beast's writes are.
  void SendFile(const Response& r, std::shared_ptr<const Server::Impl::BodyFile> file) {
    bhttp::response<bhttp::empty_body> res;
    Head(res, r);
    res.content_length(r.body->size());
    res.keep_alive(keep_alive_);
    std::ostringstream text;
    text << res.base();
    auto out = std::make_shared<Outgoing>(Outgoing{text.str(), std::move(file), r.body, 0, 0});
    beast::error_code ec;
    stream_.socket().non_blocking(true, ec);
    if (ec) return Close();
    Send(std::move(out));
  }

  struct Outgoing {
    std::string head;
    std::shared_ptr<const Server::Impl::BodyFile> file;
    std::shared_ptr<const std::string> body;  // kept alive (the file's key) until sent
    std::size_t head_sent, body_sent;
  };

  void Send(std::shared_ptr<Outgoing> out) {
    int fd = stream_.socket().native_handle();
    while (out->head_sent < out->head.size()) {
      ssize_t n = ::send(fd, out->head.data() + out->head_sent, out->head.size() - out->head_sent,
                         MSG_NOSIGNAL | MSG_MORE | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return AwaitWritable(std::move(out));
      if (n <= 0) return Close();
      out->head_sent += static_cast<std::size_t>(n);
    }
    const std::size_t size = out->body->size();
    while (out->body_sent < size) {
      off_t offset = static_cast<off_t>(out->body_sent);
      ssize_t n = ::sendfile(fd, out->file->fd, &offset, size - out->body_sent);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return AwaitWritable(std::move(out));
      if (n <= 0) return Close();
      out->body_sent += static_cast<std::size_t>(n);
    }
    if (!keep_alive_) return Close();
    Read();
  }

  void AwaitWritable(std::shared_ptr<Outgoing> out) {
    if (!timer_) timer_.emplace(stream_.get_executor());
    timer_->expires_after(std::chrono::seconds(60));
    // Each wait has its own number: a timer that fired as the wait completed (its handler already
    // queued, too late to cancel) finds the number moved on and leaves the socket alone (else it
    // cancelled the next operation: the re-armed wait or the keep-alive Read).
    const std::uint64_t wait = ++write_wait_;
    timer_->async_wait([self = this->shared_from_this(), wait](beast::error_code ec) {
      if (!ec && wait == self->write_wait_) {
        beast::error_code ignored;
        self->stream_.socket().cancel(ignored);
      }
    });
    stream_.socket().async_wait(tcp::socket::wait_write, [self = this->shared_from_this(), out](beast::error_code ec) {
      ++self->write_wait_;  // this wait is over, whatever its timer does now
      self->timer_->cancel();
      if (ec) return self->Close();
      self->Send(out);
    });
  }

  // A server-sent event stream: the header, then an event whenever `poll` has one, and a comment
  // every 15 s so that proxies keep the connection.
  void StartStream(const Route& route, const std::shared_ptr<Request>& req) {
    route_ = &route;
    if (auto it = req->headers.find("last-event-id"); it != req->headers.end()) {
      last_event_ = std::strtoull(it->second.c_str(), nullptr, 10);
    }
    beast::get_lowest_layer(stream_).expires_never();
    auto head = std::make_shared<std::string>(
        "HTTP/1.1 200 OK\r\nServer: flopline\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n: stream opened\n\n");
    net::async_write(stream_, net::buffer(*head), [self = this->shared_from_this(), head](beast::error_code ec, std::size_t) {
      if (ec) return self->Close();
      self->timer_.emplace(self->stream_.get_executor());
      self->Poll();
    });
  }

  void Poll() {
    net::post(server_.workers, [self = this->shared_from_this()]() {
      std::optional<Route::Event> event;
      try {
        event = self->route_->poll(self->last_event_);
      } catch (const std::exception&) {
        event.reset();
      }
      net::post(self->stream_.get_executor(), [self, event = std::move(event)]() {
        auto text = std::make_shared<std::string>();
        if (event) {
          self->last_event_ = event->id;
          *text = fmt::format("id: {}\nevent: {}\ndata: {}\n\n", event->id, event->name, event->data);
        } else if (++self->idle_ticks_ * self->route_->period_ms >= 15000) {
          self->idle_ticks_ = 0;
          *text = ": keep-alive\n\n";
        }
        auto next = [self](beast::error_code ec) {
          if (ec) return self->Close();
          self->timer_->expires_after(std::chrono::milliseconds(self->route_->period_ms));
          self->timer_->async_wait([self](beast::error_code wait_ec) {
            if (!wait_ec) self->Poll();
          });
        };
        if (text->empty()) return next({});
        net::async_write(self->stream_, net::buffer(*text),
                         [next, text](beast::error_code ec, std::size_t) { next(ec); });
      });
    });
  }

  void Close() {
    beast::error_code ec;
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      Drain();
    }
  }

  // A lingering close: what the client is still sending (the rest of a body refused as too large)
  // is read and dropped, bounded in time and bytes, so that it reads the answer instead of a reset.
  void Drain() {
    if (drained_ >= (8u << 20)) return;
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
    stream_.async_read_some(net::buffer(drain_buffer_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (!ec) self->Drain();
                            });
  }

  Server::Impl& server_;
  Stream stream_;
  std::string client_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = true;
  const Route* route_ = nullptr;
  std::uint64_t last_event_ = 0;
  int idle_ticks_ = 0;
  std::optional<net::steady_timer> timer_;
  std::uint64_t write_wait_ = 0;  // AwaitWritable's current wait (its timer handler checks it)
  std::array<char, 16384> drain_buffer_{};
  std::size_t drained_ = 0;
};

void Accept(Server::Impl& impl);

}  // namespace

Server::Server(Options options, std::vector<Route> routes, Authenticator& auth)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(routes), auth)) {
  impl_->keys = std::make_unique<SessionKeys>(auth.SessionSecret());
  // sendfile has no MSG_NOSIGNAL: a client gone mid-answer must be an EPIPE, not the end of the
  // process (Asio's own sends pass MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
}

Server::~Server() {
  Stop();
  for (std::thread& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->checks.join();
  impl_->workers.join();
}

core::Result<void> Server::Listen() {
  Impl& s = *impl_;
  if (s.options.tls_cert.empty() != s.options.tls_key.empty()) {
    return core::InvalidArgument("give both --tls-cert and --tls-key, or neither", "--tls-key");
  }
  if (!s.options.tls_cert.empty()) {
    s.tls.emplace(net::ssl::context::tls_server);
    s.tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                       net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    s.tls->use_certificate_chain_file(s.options.tls_cert, ec);
    if (ec) return core::InvalidArgument(fmt::format("cannot use {}: {}", s.options.tls_cert, ec.message()), "--tls-cert");
    s.tls->use_private_key_file(s.options.tls_key, net::ssl::context::pem, ec);
    if (ec) return core::InvalidArgument(fmt::format("cannot use {}: {}", s.options.tls_key, ec.message()), "--tls-key");
  }
  beast::error_code ec;
  auto address = net::ip::make_address(s.options.host, ec);
  if (ec) return core::InvalidArgument(fmt::format("'{}' is not an IP address", s.options.host), "--listen");
  tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.emplace(*s.ios[0]);
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::InvalidArgument(fmt::format("cannot listen on {}:{}: {}", s.options.host, s.options.port, ec.message()),
                                 "--listen");
  }
  Accept(s);
  return core::Ok();
}

std::uint16_t Server::port() const { return impl_->acceptor ? impl_->acceptor->local_endpoint().port() : 0; }

const std::vector<Route>& Server::routes() const { return impl_->routes; }

void Server::Run() {
  for (std::size_t i = 1; i < impl_->ios.size(); ++i) impl_->threads.emplace_back([this, i] { impl_->ios[i]->run(); });
  impl_->ios[0]->run();
  for (std::thread& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

void Server::Stop() {
  for (auto& io : impl_->ios) io->stop();
}

void Server::Drain() { impl_->workers.join(); }

namespace {

void Accept(Server::Impl& impl) {
  net::io_context& io = *impl.ios[impl.next_io++ % impl.ios.size()];
  impl.acceptor->async_accept(io, [&impl](beast::error_code ec, tcp::socket socket) {
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto remote = socket.remote_endpoint(ignored);
      std::string client = ignored ? "unknown" : remote.address().to_string();
      // The connection starts on its own thread (the socket's io_context), where all its work runs.
      auto executor = socket.get_executor();
      if (impl.tls) {
        auto c = std::make_shared<Connection<beast::ssl_stream<beast::tcp_stream>>>(
            impl, beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *impl.tls), client);
        net::post(executor, [c] { c->Start(); });
      } else {
        auto c = std::make_shared<Connection<beast::tcp_stream>>(impl, beast::tcp_stream(std::move(socket)), client);
        net::post(executor, [c] { c->Start(); });
      }
    }
    if (impl.acceptor->is_open()) Accept(impl);
  });
}

}  // namespace

}  // namespace flopline::http
