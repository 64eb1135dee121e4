// The controller's fan-out to a fleet, measured with one process holding every agent connection.
//
// killswitch_bench runs real agents, one process each, and so stops at about a thousand on a small
// host: it measures the host's process wake-ups as much as the controller. Here N simulated agents
// live in this process, spread over a few threads, each thread one epoll loop over its share of
// the connections. Each simulated agent speaks the real protocol as `flopline killswitch agent`
// does: it answers the controller's hello, enrols with a fresh nonce under its own credential,
// checks the controller's signed enrolment (Ed25519) against the pinned key, renews every TTL/3,
// and on an order runs the agent's own CheckOrder (Ed25519 signature, expiry, fence above the
// signed floor, scope) before it sends its sealed acknowledgement. Only the workload is missing.
//
//   floor          this process alone: a bare server in this process writes one signed order to
//                  each of the N connections and reads one ack from each; the agents do exactly
//                  the same work (verify, seal, send). No controller, no authentication on the
//                  server side: what this host and this simulator cost by themselves.
//   flopline       `flopline killswitch controller` (a child process): the controller's report,
//                  from signing the order to the last confirmation.
//   flopline+etcd  the same with `--etcd` on a single-member etcd of our own (--etcd to run it).
//
// For each: p50 / p99 / max over rounds of the order-to-last-confirmation time, the controller's
// CPU time per agent for the fan-out (utime + stime from /proc across the shutdown) and its
// resident memory per enrolled agent (VmRSS with N agents less VmRSS before the first).
//
// usage: killswitch_fleet FLOPLINE_BINARY [--agents 1000,10000] [--rounds 5] [--threads 2]
//                         [--controller-threads 0] [--etcd] [--ttl-ms 30000] [--check]
// --controller-threads 1,2: the controller's --threads, one flopline row each (the etcd row has
// the last); 0 is the controller's default (one per core, at most 8).
// --check: exit 1 unless every round of every path was complete (every agent verified the order
// and was confirmed); the short ctest uses it. Needs etcd on PATH for --etcd.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/etcd.h"
#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/net.h"
#include "flopline/killswitch/protocol.h"
#include "flopline/ledger/note.h"
#include "killswitch_bench_util.h"

namespace {

using namespace flopline::killswitch;
using flopline::ledger::Signer;
using flopline::ledger::Verifier;
using nlohmann::json;
using flopline::bench::Ints;
using flopline::bench::Percentile;
using flopline::bench::Spawn;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "killswitch_fleet: %s\n", why.c_str());
  std::exit(2);
}

// What every worker needs to know about the current round.
struct Round {
  Endpoint target;
  bool floor = false;  // a bare server: no hello, no enrolment, orders only
  std::string model;
  const Verifier* verifier = nullptr;
  std::uint64_t floor_fence = 0;  // floor mode: the fence floor the agents start from
  std::int64_t ttl_ms = 30'000;
};

enum class Phase { kConnecting, kHello, kEnrolling, kLive, kDone, kFailed };

struct Agent {
  int fd = -1;
  std::string id;
  Secret credential{}, session{};
  std::string nonce;
  std::uint64_t seq = 0, floor = 0;
  Phase phase = Phase::kConnecting;
  std::string in, out;
  std::int64_t next_renew = 0;
  bool watch_out = false;  // registered for EPOLLOUT
};

// One thread's share of the fleet: one epoll loop.
class Worker {
 public:
  Worker(int first, int count, const Secret& master, int source_spread)
      : first_(first), count_(count), spread_(source_spread) {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    agents_.resize(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      Agent& a = agents_[static_cast<size_t>(i)];
      a.id = fmt::format("f{}", first + i);
      a.credential = DeriveCredential(master, "agent:" + a.id)->secret;
    }
  }
  ~Worker() { close(epoll_); }

  // Begins a round: every agent of this worker connects (and enrols) again, a few at a time.
  void Start(const Round& round) {
    round_ = round;
    live_ = failed_ = acked_ = refused_ = 0;
    last_ack_ms_ = 0;
    next_ = 0;
    pending_ = 0;
    active_ = true;
    for (Agent& a : agents_) {
      a.phase = Phase::kConnecting;
      a.seq = 0;
      a.in.clear();
      a.out.clear();
    }
  }
  // One turn of the loop: opens connections while few are pending, serves events, renews.
  void Turn(int timeout_ms) {
    while (active_ && next_ < count_ && pending_ < kMaxPending)
      Open(agents_[static_cast<size_t>(next_++)]);
    epoll_event events[256];
    int n = epoll_wait(epoll_, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
      Agent& a = agents_[events[i].data.u32];
      if (events[i].events & EPOLLOUT) OnWritable(a);
      if (a.fd >= 0 && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) OnReadable(a);
    }
    std::int64_t now = MonotonicMs();
    if (!round_.floor && now >= next_renew_check_) {
      next_renew_check_ = now + 50;
      for (Agent& a : agents_) {
        if (a.phase == Phase::kLive && now >= a.next_renew) {
          a.next_renew = now + round_.ttl_ms / 3;
          SendSealed(a, RenewMsg{0, a.id});
        }
      }
    }
  }
  void CloseAll() {
    active_ = false;
    for (Agent& a : agents_) Close(a);
  }
  int count() const { return count_; }
  int live() const { return live_; }
  int failed() const { return failed_; }
  int acked() const { return acked_; }
  int refused() const { return refused_; }
  std::int64_t last_ack_ms() const { return last_ack_ms_; }
  std::string first_error() const {
    std::lock_guard lock(error_mu_);
    return first_error_;
  }

 private:
  // Connections opened but not yet enrolled, per worker: the controller keeps at most 64
  // unauthenticated connections (a flood bound), so the fleet stays below it.
  static constexpr int kMaxPending = 24;

  void Fail(Agent& a, const std::string& why) {
    {
      std::lock_guard lock(error_mu_);
      if (first_error_.empty()) first_error_ = a.id + ": " + why;
    }
    if (a.phase != Phase::kLive && a.phase != Phase::kDone) --pending_;
    a.phase = Phase::kFailed;
    ++failed_;
    Close(a);
  }
  void Close(Agent& a) {
    if (a.fd >= 0) close(a.fd);
    a.fd = -1;
  }

  void Open(Agent& a) {
    ++pending_;
    a.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a.fd < 0) return Fail(a, fmt::format("socket: {}", std::strerror(errno)));
    int one = 1;
    setsockopt(a.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // Beyond ~28,000 connections one source address runs out of ephemeral ports: spread them
    // over 127.0.0.2, .3, ...
    int agent_index = first_ + static_cast<int>(&a - agents_.data());
    if (spread_ > 0) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl(0x7f000002u + static_cast<unsigned>(agent_index / spread_));
      if (bind(a.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0)
        return Fail(a, fmt::format("bind: {}", std::strerror(errno)));
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(round_.target.port);
    inet_pton(AF_INET, round_.target.host.c_str(), &to.sin_addr);
    if (connect(a.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)
      return Fail(a, fmt::format("connect: {}", std::strerror(errno)));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u32 = static_cast<std::uint32_t>(&a - agents_.data());
    epoll_ctl(epoll_, EPOLL_CTL_ADD, a.fd, &ev);
    a.watch_out = true;
  }

  void Want(Agent& a, bool write) {
    if (a.watch_out == write) return;  // one epoll_ctl per change, not per send
    a.watch_out = write;
    epoll_event ev{};
    ev.events = EPOLLIN | (write ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<std::uint32_t>(&a - agents_.data());
    epoll_ctl(epoll_, EPOLL_CTL_MOD, a.fd, &ev);
  }

  void OnWritable(Agent& a) {
    if (a.phase == Phase::kConnecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) return Fail(a, fmt::format("connect: {}", std::strerror(err)));
      if (round_.floor) {
        // The bare server sends no hello: the agent is "enrolled" once connected.
        a.session = SessionKey(a.credential, "floor");
        a.floor = round_.floor_fence;
        Live(a);
      } else {
        a.phase = Phase::kHello;
      }
    }
    Flush(a);
  }

  void Live(Agent& a) {
    a.phase = Phase::kLive;
    --pending_;
    ++live_;
    // Renewals spread over the first third of the lease, as agents that enrolled at different
    // times would be.
    a.next_renew = MonotonicMs() + static_cast<std::int64_t>(rng_() % static_cast<std::uint64_t>(
                                                                  round_.ttl_ms / 3 + 1));
  }

  void Flush(Agent& a) {
    while (!a.out.empty()) {
      ssize_t n = send(a.fd, a.out.data(), a.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        a.out.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      return Fail(a, fmt::format("send: {}", std::strerror(errno)));
    }
    Want(a, !a.out.empty() || a.phase == Phase::kConnecting);
  }

  void SendSealed(Agent& a, ClientMessage m) {
    std::visit([&](auto& x) { x.seq = ++a.seq; }, m);
    a.out += Seal(a.session, Direction::kClient, "agent:" + a.id, Dump(ToJson(m)));
    a.out += '\n';
    Flush(a);
  }

  void OnReadable(Agent& a) {
    char buf[16384];
    for (;;) {
      ssize_t n = recv(a.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        a.in.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      // EOF or error: expected only once this agent is done.
      size_t eol;
      while (a.fd >= 0 && (eol = a.in.find('\n')) != std::string::npos) {
        std::string line = a.in.substr(0, eol);
        a.in.erase(0, eol + 1);
        OnLine(a, line);
      }
      if (a.phase == Phase::kDone) {
        Close(a);
      } else if (a.fd >= 0) {
        Fail(a, "the connection closed");
      }
      return;
    }
    size_t start = 0;
    for (size_t eol; a.fd >= 0 && (eol = a.in.find('\n', start)) != std::string::npos;
         start = eol + 1) {
      OnLine(a, std::string_view(a.in).substr(start, eol - start));
    }
    if (a.fd >= 0) a.in.erase(0, start);
  }

  void OnLine(Agent& a, std::string_view line) {
    switch (a.phase) {
      case Phase::kHello: {
        auto m = ParseControllerMessage(line);
        if (!m || !std::holds_alternative<HelloMsg>(*m)) return Fail(a, "no hello");
        a.session = SessionKey(a.credential, std::get<HelloMsg>(*m).nonce);
        a.nonce = RandomNonce();
        a.phase = Phase::kEnrolling;
        return SendSealed(a, EnrollMsg{0, a.id, round_.model, "", a.nonce, {}});
      }
      case Phase::kEnrolling: {
        auto env = ParseEnvelope(line);
        if (!env || !MacValid(a.session, Direction::kController, *env))
          return Fail(a, "an unsealed reply to enrol: " + std::string(line.substr(0, 200)));
        auto m = ParseControllerMessage(env->msg);
        if (!m || !std::holds_alternative<EnrolledMsg>(*m))
          return Fail(a, "not enrolled: " + env->msg.substr(0, 200));
        auto text = round_.verifier->Open(std::get<EnrolledMsg>(*m).note);
        if (!text) return Fail(a, "the controller did not prove its key: " + text.error().message);
        auto note = EnrolledNote::Parse(*text);
        if (!note || note->agent != a.id || note->nonce != a.nonce || note->fence == 0)
          return Fail(a, "the signed enrolment is not this agent's");
        a.floor = note->fence;
        return Live(a);
      }
      case Phase::kLive: {
        auto env = ParseEnvelope(line);
        if (env) {  // renewed or an error, sealed
          if (!MacValid(a.session, Direction::kController, *env)) return Fail(a, "bad mac");
          auto m = ParseControllerMessage(env->msg);
          if (m && std::holds_alternative<ErrorMsg>(*m))
            return Fail(a, "the controller says: " + std::get<ErrorMsg>(*m).message);
          return;
        }
        auto m = ParseControllerMessage(line);
        if (!m || !std::holds_alternative<OrderMsg>(*m)) return Fail(a, "not an order");
        CheckedOrder checked = CheckOrder(std::get<OrderMsg>(*m).order, *round_.verifier, a.floor,
                                          NowMs(), a.id, round_.model, {});
        if (checked.refusal) {
          ++refused_;
          return Fail(a, "refused the order: " + checked.detail);
        }
        a.phase = Phase::kDone;
        SendSealed(a, AckMsg{0, a.id, checked.order->fence, AckMsg::Result::kStopped, NowMs(), "",
                             ""});
        ++acked_;
        last_ack_ms_ = MonotonicMs();
        return;
      }
      default:
        return;
    }
  }

  int first_, count_, spread_;
  int epoll_ = -1;
  std::vector<Agent> agents_;
  Round round_;
  bool active_ = false;
  int next_ = 0, pending_ = 0;
  // Read by the main thread while this worker runs.
  std::atomic<int> live_{0}, failed_{0}, acked_{0}, refused_{0};
  std::atomic<std::int64_t> last_ack_ms_{0};
  std::int64_t next_renew_check_ = 0;
  mutable std::mutex error_mu_;
  std::string first_error_;
  std::mt19937_64 rng_{std::random_device{}()};
};

// The workers and their threads. Commands go through an atomic generation number.
class Fleet {
 public:
  Fleet(int agents, int threads, const Secret& master) {
    int spread = agents > 20'000 ? 20'000 : 0;
    for (int t = 0, first = 0; t < threads; ++t) {
      int count = agents / threads + (t < agents % threads ? 1 : 0);
      workers_.push_back(std::make_unique<Worker>(first, count, master, spread));
      first += count;
    }
    for (auto& w : workers_) {
      threads_.emplace_back([this, worker = w.get()] { Loop(*worker); });
    }
  }
  ~Fleet() {
    Command(kExit);
    for (auto& t : threads_) t.join();
  }
  // Connects every agent for `round`; true when all are live.
  bool Enrol(const Round& round, std::string* error) {
    round_ = round;
    Command(kStart);
    for (;;) {
      int settled = 0, failed = 0;
      for (auto& w : workers_) {
        settled += w->live() + w->failed();
        failed += w->failed();
      }
      if (settled == total()) {
        if (failed > 0) *error = fmt::format("{} agents failed to enrol; first: {}", failed,
                                             FirstError());
        return failed == 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // Waits up to `timeout_ms` for every agent to acknowledge; the monotonic ms of the last ack.
  std::optional<std::int64_t> AwaitAcks(std::int64_t timeout_ms) {
    std::int64_t deadline = MonotonicMs() + timeout_ms;
    while (MonotonicMs() < deadline) {
      int done = 0;
      std::int64_t last = 0;
      for (auto& w : workers_) {
        done += w->acked() + w->failed();
        last = std::max(last, w->last_ack_ms());
      }
      if (done == total()) {
        if (Acked() != total()) return std::nullopt;
        return last;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::nullopt;
  }
  void CloseAll() { Command(kClose); }
  int total() const {
    int n = 0;
    for (auto& w : workers_) n += w->count();
    return n;
  }
  int Acked() const {
    int n = 0;
    for (auto& w : workers_) n += w->acked();
    return n;
  }
  std::string FirstError() const {
    for (auto& w : workers_) {
      if (!w->first_error().empty()) return w->first_error();
    }
    return "";
  }

 private:
  enum Cmd { kNone, kStart, kClose, kExit };
  void Command(Cmd c) {
    {
      std::lock_guard lock(mu_);
      cmd_ = c;
      ++generation_;
      done_ = 0;
    }
    // Wait until every worker has taken the command in.
    while (done_ < static_cast<int>(workers_.size()))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void Loop(Worker& w) {
    std::uint64_t seen = 0;
    for (;;) {
      if (generation_ != seen) {
        Cmd c;
        {
          std::lock_guard lock(mu_);
          c = cmd_;
          seen = generation_;
        }
        if (c == kStart) w.Start(round_);
        if (c == kClose || c == kExit) w.CloseAll();
        ++done_;
        if (c == kExit) return;
      }
      w.Turn(5);
    }
  }
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  Cmd cmd_ = kNone;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> done_{0};
  Round round_;
};

// ---- processes and /proc -------------------------------------------------------------------

// utime + stime of `pid`, in milliseconds.
double CpuMs(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
  }
  return (utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// VmRSS of `pid`, in KiB.
long RssKiB(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return 0;
}

// ---- the operator ----------------------------------------------------------------------------

json Ask(const Endpoint& controller, const Credential& op, ClientMessage request,
         std::int64_t timeout_ms) {
  auto fd = Connect(controller, 5000);
  if (!fd) return json();
  // The reply may be large (a report lists every agent).
  LineConn conn(*fd, 1 << 26, 1 << 20);
  std::optional<std::string> hello = conn.ReadLine(timeout_ms);
  if (!hello) return json();
  auto h = ParseControllerMessage(*hello);
  if (!h || !std::holds_alternative<HelloMsg>(*h)) return json();
  Secret session = SessionKey(op.secret, std::get<HelloMsg>(*h).nonce);
  std::visit([](auto& m) { m.seq = 1; }, request);
  conn.SendLine(Seal(session, Direction::kClient, op.From(), Dump(ToJson(request))));
  std::optional<std::string> line = conn.ReadLine(timeout_ms);
  conn.Close();
  if (!line) return json();
  auto env = ParseEnvelope(*line);
  if (!env || !MacValid(session, Direction::kController, *env)) return json();
  return json::parse(env->msg, nullptr, false);
}

// ---- statistics ------------------------------------------------------------------------------

struct Series {
  std::string path;
  int agents = 0;
  std::vector<double> ms;
  // Per agent, over the timed span of each round: the server's CPU time (the controller, or the
  // floor's bare server) and this simulator's (every simulated agent's verification and ack).
  std::vector<double> cpu_us_per_agent, sim_cpu_us_per_agent;
  double rss_bytes_per_agent = 0;
  int incomplete = 0;
};

std::string Median(const std::vector<double>& v) {
  return v.empty() ? "-" : fmt::format("{:.1f}", Percentile(v, 0.5));
}

void PrintHeader() {
  std::printf("%-14s %-7s %6s %9s %9s %9s %14s %14s %14s\n", "path", "agents", "rounds",
              "p50 ms", "p99 ms", "max ms", "srv CPU us/ag", "sim CPU us/ag", "ctl RSS B/ag");
  std::fflush(stdout);
}

void Print(const Series& s) {
  if (s.ms.empty()) {
    std::printf("%-14s %-7d %6s %9s %9s %9s %14s %14s %14s  (%d incomplete)\n", s.path.c_str(),
                s.agents, "0", "-", "-", "-", "-", "-", "-", s.incomplete);
    std::fflush(stdout);
    return;
  }
  std::printf("%-14s %-7d %6zu %9.1f %9.1f %9.1f %14s %14s %14s%s\n", s.path.c_str(), s.agents,
              s.ms.size(), Percentile(s.ms, 0.5), Percentile(s.ms, 0.99),
              *std::max_element(s.ms.begin(), s.ms.end()), Median(s.cpu_us_per_agent).c_str(),
              Median(s.sim_cpu_us_per_agent).c_str(),
              s.rss_bytes_per_agent > 0 ? fmt::format("{:.0f}", s.rss_bytes_per_agent).c_str()
                                        : "-",
              s.incomplete > 0 ? fmt::format("  ({} incomplete)", s.incomplete).c_str() : "");
  std::fflush(stdout);
}

// CPU time of this process (every thread), in microseconds.
double ProcessCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// What one simulated agent's check of an order costs on one core: the agent's own CheckOrder
// (Ed25519 verification, the order's JSON, expiry, fence, scope), median of 5 batches of 200.
// N agents on T threads cannot take less than N x this / T: the simulator's own bound.
double CheckOrderUs(const Signer& signer, const Verifier& verifier) {
  Order order;
  order.fence = 2;
  order.scope = "model:calibration";
  order.reason = "calibration";
  order.issued_ms = NowMs();
  order.expires_ms = order.issued_ms + 600'000;
  std::string note = *SignOrder(order, signer);
  std::vector<double> batches;
  for (int b = 0; b < 5; ++b) {
    double t0 = ProcessCpuUs();
    for (int i = 0; i < 200; ++i) {
      CheckedOrder c = CheckOrder(note, verifier, 1, NowMs(), "f0", "calibration", {});
      if (c.refusal) Die("calibration: the order was refused: " + c.detail);
    }
    batches.push_back((ProcessCpuUs() - t0) / 200);
  }
  return Percentile(batches, 0.5);
}

// ---- the floor: a bare server in a process of its own ---------------------------------------

// Blocking writes and line reads on the pipes between this process and the floor's server.
void WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die(fmt::format("pipe: {}", std::strerror(errno)));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}
std::optional<std::string> ReadPipeLine(int fd) {
  std::string line;
  for (char c;;) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    if (c == '\n') return line;
    line += c;
  }
}

// The floor's server: a child process forked before the fleet's threads start, so that each
// process holds one descriptor per agent (the host's limit is per process, and this host's hard
// limit of 20,000 would otherwise stop the floor below 10,000 agents), and so that it competes
// with the simulator for the cores as the controller does. Commands, one line each on `in`:
//   "round N LEN" then LEN bytes (one order line): accept N connections, answer "ready";
//   "go": write the order line to every connection, then read one line from each; answer
//         "done ACKS MS CPU_US" (from the first write to the last ack: wall ms, and this
//         process's CPU time), and close them.
// EOF on `in` ends it.
[[noreturn]] void FloorServer(int listener, int in, int out) {
  for (;;) {
    std::optional<std::string> cmd = ReadPipeLine(in);
    if (!cmd) _exit(0);
    size_t n = 0, len = 0;
    if (std::sscanf(cmd->c_str(), "round %zu %zu", &n, &len) != 2) _exit(2);
    std::string line(len, '\0');
    for (size_t got = 0; got < len;) {
      ssize_t r = read(in, line.data() + got, len - got);
      if (r <= 0) _exit(2);
      got += static_cast<size_t>(r);
    }
    std::vector<int> conns;
    conns.reserve(n);
    std::int64_t give_up = MonotonicMs() + 600'000;
    while (conns.size() < n && MonotonicMs() < give_up) {
      int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns.push_back(fd);
      } else {
        pollfd p{listener, POLLIN, 0};
        poll(&p, 1, 100);
      }
    }
    WriteAll(out, "ready\n");
    if (ReadPipeLine(in) != "go") _exit(2);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    double cpu0 = ProcessCpuUs();
    std::int64_t t0 = MonotonicMs();
    bool short_write = false;
    for (size_t i = 0; i < conns.size(); ++i) {
      if (send(conns[i], line.data(), line.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(line.size()))
        short_write = true;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      epoll_ctl(ep, EPOLL_CTL_ADD, conns[i], &ev);
    }
    size_t acks = 0;
    std::vector<std::string> partial(conns.size());
    std::int64_t deadline = t0 + 120'000;
    while (!short_write && acks < conns.size() && MonotonicMs() < deadline) {
      epoll_event events[256];
      int ready = epoll_wait(ep, events, 256, 100);
      for (int i = 0; i < ready; ++i) {
        size_t c = events[i].data.u64;
        char buf[4096];
        ssize_t got = recv(conns[c], buf, sizeof buf, MSG_DONTWAIT);
        if (got <= 0) continue;
        partial[c].append(buf, static_cast<size_t>(got));
        if (partial[c].find('\n') != std::string::npos) {
          ++acks;
          epoll_ctl(ep, EPOLL_CTL_DEL, conns[c], nullptr);
        }
      }
    }
    std::int64_t t1 = MonotonicMs();
    double cpu1 = ProcessCpuUs();
    close(ep);
    for (int fd : conns) close(fd);
    WriteAll(out, fmt::format("done {} {} {:.0f}\n", acks, t1 - t0, cpu1 - cpu0));
  }
}

struct FloorProcess {
  pid_t pid = -1;
  std::uint16_t port = 0;
  int to = -1, from = -1;  // command and answer pipes
};

// Forks the floor's server; call while this process has no other threads.
FloorProcess StartFloor() {
  auto listener = Listen({"127.0.0.1", 0});
  if (!listener) Die(listener.error().message);
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(*listener, reinterpret_cast<sockaddr*>(&addr), &len);
  int cmd[2], ans[2];
  if (pipe2(cmd, O_CLOEXEC) != 0 || pipe2(ans, O_CLOEXEC) != 0) Die("pipe");
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) Die(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    close(cmd[1]);
    close(ans[0]);
    FloorServer(*listener, cmd[0], ans[1]);
  }
  close(*listener);
  close(cmd[0]);
  close(ans[1]);
  return {pid, ntohs(addr.sin_port), cmd[1], ans[0]};
}

void StopFloor(FloorProcess& f) {
  close(f.to);
  close(f.from);
  waitpid(f.pid, nullptr, 0);
}

// ---- the three paths -------------------------------------------------------------------------

// The floor: the bare server writes one order to each connection and reads one ack from each.
Series FloorRun(Fleet& fleet, FloorProcess& server, const Signer& signer,
                const Verifier& verifier, int rounds) {
  Series s;
  s.path = "floor";
  s.agents = fleet.total();
  for (int r = 0; r < rounds; ++r) {
    Round round;
    round.target = {"127.0.0.1", server.port};
    round.floor = true;
    round.model = fmt::format("floor{}", r);
    round.verifier = &verifier;
    round.floor_fence = 1;
    Order order;
    order.fence = 2;
    order.scope = "model:" + round.model;
    order.reason = "floor";
    order.issued_ms = NowMs();
    order.expires_ms = order.issued_ms + 600'000;
    std::string line = Dump(ToJson(ControllerMessage(OrderMsg{*SignOrder(order, signer)}))) + "\n";
    WriteAll(server.to, fmt::format("round {} {}\n", fleet.total(), line.size()) + line);
    std::string error;
    if (!fleet.Enrol(round, &error)) Die("floor: " + error);
    if (ReadPipeLine(server.from) != "ready") Die("floor: the server did not accept every agent");
    double sim0 = ProcessCpuUs();
    WriteAll(server.to, "go\n");
    std::optional<std::string> done = ReadPipeLine(server.from);
    std::optional<std::int64_t> last = fleet.AwaitAcks(10'000);
    double sim1 = ProcessCpuUs();
    size_t acks = 0;
    long long ms = 0;
    double cpu_us = 0;
    if (!done || std::sscanf(done->c_str(), "done %zu %lld %lf", &acks, &ms, &cpu_us) != 3)
      Die("floor: the server did not answer");
    fleet.CloseAll();
    if (acks == static_cast<size_t>(fleet.total()) && last) {
      s.ms.push_back(static_cast<double>(ms));
      s.cpu_us_per_agent.push_back(cpu_us / fleet.total());
      s.sim_cpu_us_per_agent.push_back((sim1 - sim0) / fleet.total());
    } else {
      ++s.incomplete;
      std::fprintf(stderr, "killswitch_fleet: floor round %d incomplete: %zu of %d acked; %s\n",
                   r, acks, fleet.total(), fleet.FirstError().c_str());
    }
  }
  return s;
}

// Rounds against a controller (already running, pid `ctl`): enrol all, shut down, check.
Series ControllerRun(const std::string& name, Fleet& fleet, pid_t ctl, const Endpoint& at,
                     const Credential& op, const Verifier& verifier, int rounds,
                     std::int64_t ttl_ms, long rss_before_kib) {
  Series s;
  s.path = name;
  s.agents = fleet.total();
  for (int r = 0; r < rounds; ++r) {
    Round round;
    round.target = at;
    round.model = fmt::format("{}-{}-{}", name, fleet.total(), r);
    round.verifier = &verifier;
    round.ttl_ms = ttl_ms;
    std::string error;
    if (!fleet.Enrol(round, &error)) Die(name + ": " + error);
    if (r == 0) {
      s.rss_bytes_per_agent = static_cast<double>(RssKiB(ctl) - rss_before_kib) * 1024.0 /
                              static_cast<double>(fleet.total());
    }
    double cpu0 = CpuMs(ctl), sim0 = ProcessCpuUs();
    json report = Ask(at, op,
                      ShutdownMsg{0, "model:" + round.model, "fleet benchmark", 120'000, NowMs(),
                                  false},
                      180'000);
    double cpu1 = CpuMs(ctl);
    std::optional<std::int64_t> last = fleet.AwaitAcks(10'000);
    double sim1 = ProcessCpuUs();
    bool complete = report.is_object() && report.value("complete", false) &&
                    report.value("stopped", 0) == fleet.total() && last.has_value();
    if (complete) {
      s.ms.push_back(report["elapsed_ms"].get<double>());
      s.cpu_us_per_agent.push_back((cpu1 - cpu0) * 1000.0 / fleet.total());
      s.sim_cpu_us_per_agent.push_back((sim1 - sim0) / fleet.total());
    } else {
      ++s.incomplete;
      std::fprintf(stderr, "killswitch_fleet: %s round %d incomplete: %d of %d acked; %s; %s\n",
                   name.c_str(), r, fleet.Acked(), fleet.total(),
                   report.is_object() ? fmt::format("controller: {} stopped of {}",
                                                    report.value("stopped", 0),
                                                    report.value("targeted", 0))
                                            .c_str()
                                      : "no report",
                   fleet.FirstError().c_str());
    }
    fleet.CloseAll();
  }
  return s;
}

std::uint16_t FreePort() {
  // A port the kernel hands out now, released again: free unless someone takes it in between.
  auto fd = Listen({"127.0.0.1", 0});
  if (!fd) Die(fd.error().message);
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(*fd);
  return ntohs(addr.sin_port);
}

// Starts a controller and waits until the operator can talk to it; its pid.
pid_t StartController(const std::string& bin, const std::string& dir, const std::string& key,
                      const Endpoint& at, std::int64_t ttl_ms, const std::string& etcd,
                      const Credential& op, int threads) {
  std::vector<std::string> argv = {bin,     "killswitch", "controller",
                                   "--listen", at.ToString(), "--lease-ttl",
                                   fmt::format("{}", static_cast<double>(ttl_ms) / 1000.0),
                                   "--key", key, "--threads", std::to_string(threads)};
  if (!etcd.empty()) {
    argv.push_back("--etcd");
    argv.push_back(etcd);
  }
  pid_t pid = Spawn(argv, dir + "/controller.log");
  for (int i = 0; i < 400; ++i) {
    if (Ask(at, op, StatusMsg{}, 1000).is_object()) return pid;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) Die("the controller exited; see " + dir);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Die("the controller did not answer; see " + dir);
}

void Stop(pid_t pid) {
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: killswitch_fleet FLOPLINE_BINARY [--agents 1000,10000] [--rounds 5] "
                 "[--threads 2] [--controller-threads 0] [--etcd] [--ttl-ms 30000] [--check]\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  std::string bin = argv[1];
  std::vector<int> sizes = {1000, 10000}, controller_threads = {0};
  int rounds = 5, threads = 2;
  bool with_etcd = false, check = false;
  std::int64_t ttl_ms = 30'000;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--agents") {
      sizes = Ints(value());
    } else if (a == "--rounds") {
      rounds = std::stoi(value());
    } else if (a == "--threads") {
      threads = std::stoi(value());
    } else if (a == "--controller-threads") {
      controller_threads = Ints(value());
    } else if (a == "--ttl-ms") {
      ttl_ms = std::stoll(value());
    } else if (a == "--etcd") {
      with_etcd = true;
    } else if (a == "--check") {
      check = true;
    } else {
      Die("unknown argument " + a);
    }
  }
  int most = *std::max_element(sizes.begin(), sizes.end());
  // Descriptors: each process holds one per agent (this one the agents' ends, the floor's server
  // and the controller, our children inheriting the limit, the other ends) and a few more. The
  // limit is per process; root may raise the hard limit up to fs.nr_open only with
  // CAP_SYS_RESOURCE, which this host does not give (hard limit 20,000: so at most about 19,900
  // agents here, the controller keeping 40 descriptors for itself and its operators).
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  rlim_t want = static_cast<rlim_t>(most) + 256;
  if (lim.rlim_cur < want) {
    lim.rlim_cur = want;
    if (lim.rlim_max < want) lim.rlim_max = want;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      Die(fmt::format("{} agents need {} descriptors per process: {} (the hard limit, ulimit -Hn, "
                      "is {})",
                      most, want, std::strerror(errno), lim.rlim_max));
    }
  }

  std::string dir =
      (std::filesystem::temp_directory_path() / fmt::format("flopline-ks-fleet-{}", getpid()))
          .string();
  std::filesystem::create_directories(dir);
  Signer signer = *Signer::Generate("flopline-killswitch");
  Verifier verifier = *Verifier::Parse(signer.VerifierKey());
  std::string key = dir + "/ks.key";
  {
    std::ofstream(key) << signer.SignerKey() << "\n";
    std::filesystem::permissions(key, std::filesystem::perms::owner_read |
                                          std::filesystem::perms::owner_write);
  }
  Secret master = MasterSecret(signer);
  Credential op = *DeriveCredential(master, "operator");

  pid_t etcd = -1;
  std::string etcd_endpoint;
  if (with_etcd) {
    std::uint16_t client = FreePort(), peer = FreePort();
    etcd_endpoint = fmt::format("http://127.0.0.1:{}", client);
    etcd = Spawn({"etcd", "--data-dir", dir + "/etcd", "--listen-client-urls", etcd_endpoint,
                  "--advertise-client-urls", etcd_endpoint, "--listen-peer-urls",
                  fmt::format("http://127.0.0.1:{}", peer), "--initial-advertise-peer-urls",
                  fmt::format("http://127.0.0.1:{}", peer), "--initial-cluster",
                  fmt::format("default=http://127.0.0.1:{}", peer)},
                 dir + "/etcd.log");
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
      EtcdClient probe({etcd_endpoint});
      up = probe.Put("/fleet/probe", "x").has_value();
      if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!up) Die("etcd did not start; see " + dir + "/etcd.log");
  }

  double check_us = CheckOrderUs(signer, verifier);
  std::printf("one agent's CheckOrder (Ed25519 + JSON) on one core: %.1f us; %d simulator threads\n",
              check_us, threads);
  PrintHeader();
  int incomplete = 0;
  for (int n : sizes) {
    // Forked before the fleet's threads start.
    FloorProcess floor_server = StartFloor();
    Fleet fleet(n, std::min(threads, n), master);
    Series floor = FloorRun(fleet, floor_server, signer, verifier, rounds);
    StopFloor(floor_server);
    std::printf("%-14s %-7d simulator bound: N x CheckOrder / threads = %.1f ms\n", "", n,
                n * check_us / 1000.0 / std::min(threads, n));
    Print(floor);
    incomplete += floor.incomplete;
    struct Path {
      std::string name, etcd;
      int threads;
    };
    std::vector<Path> paths;
    auto named = [&](std::string name, int t) {
      return controller_threads.size() > 1 ? fmt::format("{}/{}t", name, t) : name;
    };
    for (int t : controller_threads) paths.push_back({named("flopline", t), "", t});
    if (with_etcd) {
      int t = controller_threads.back();
      paths.push_back({named("flopline+etcd", t), etcd_endpoint, t});
    }
    for (const auto& [name, endpoint, ctl_threads] : paths) {
      Endpoint at{"127.0.0.1", FreePort()};
      pid_t ctl = StartController(bin, dir, key, at, ttl_ms, endpoint, op, ctl_threads);
      long rss0 = RssKiB(ctl);
      Series s = ControllerRun(name, fleet, ctl, at, op, verifier, rounds, ttl_ms, rss0);
      Stop(ctl);
      Print(s);
      incomplete += s.incomplete;
    }
  }
  if (etcd > 0) Stop(etcd);
  if (incomplete == 0) std::filesystem::remove_all(dir);
  else std::fprintf(stderr, "killswitch_fleet: %d incomplete rounds; logs in %s\n", incomplete, dir.c_str());
  return check && incomplete > 0 ? 1 : 0;
}
