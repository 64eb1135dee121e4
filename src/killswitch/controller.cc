#include "flopline/killswitch/controller.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/protocol.h"
#include "flopline/ledger/log.h"

namespace flopline::killswitch {

using nlohmann::json;

namespace {

class Local final : public Coordinator {
 public:
  core::Result<std::uint64_t> NextFence() override {
    // Wall-clock milliseconds, kept increasing: a restarted controller still issues fences above
    // every fence its agents have acted on.
    last_ = std::max<std::uint64_t>(last_ + 1, static_cast<std::uint64_t>(NowMs()));
    return last_;
  }
  std::uint64_t AgentUp(const json&) override {
    last_ = std::max<std::uint64_t>(last_, static_cast<std::uint64_t>(NowMs()));
    return last_;
  }
  void AgentRenewed(const std::string&) override {}
  void AgentDown(const std::string&) override {}
  std::vector<json> RemoteAgents() override { return {}; }
  void PublishOrder(std::uint64_t, const std::string&, const std::vector<std::string>&) override {}
  void PublishAck(std::uint64_t, const json&) override {}
  Inbound Poll() override { return {}; }

 private:
  std::uint64_t last_ = 0;
};

// Every log line escaped (Printable): ids, peers, reasons and refusal details come from peers.
void Log(const std::string& message) {
  std::fprintf(stderr, "flopline killswitch controller: %s\n", Printable(message).c_str());
  std::fflush(stderr);
}

// Calls fn(i) for every i in [0, n) on `threads` threads (the caller one of them) and returns
// once all are done. Small jobs run on the caller alone: waking a thread costs more than they do.
class ForkJoin {
 public:
  explicit ForkJoin(int threads) {
    for (int t = 1; t < threads; ++t) helpers_.emplace_back([this] { Help(); });
  }
  ~ForkJoin() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    start_.notify_all();
    for (std::thread& t : helpers_) t.join();
  }
  void Run(std::size_t n, const std::function<void(std::size_t)>& fn) {
    if (helpers_.empty() || n < kMinParallel) {
      for (std::size_t i = 0; i < n; ++i) fn(i);
      return;
    }
    {
      std::lock_guard lock(mu_);
      job_ = &fn;
      n_ = n;
      next_ = 0;
      busy_ = helpers_.size();
      ++generation_;
    }
    start_.notify_all();
    Work(fn, n);
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return busy_ == 0; });
    job_ = nullptr;
  }

 private:
  static constexpr std::size_t kMinParallel = 32, kChunk = 16;
  void Work(const std::function<void(std::size_t)>& fn, std::size_t n) {
    for (std::size_t i; (i = next_.fetch_add(kChunk)) < n;) {
      for (std::size_t end = std::min(n, i + kChunk); i < end; ++i) fn(i);
    }
  }
  void Help() {
    std::uint64_t seen = 0;
    for (;;) {
      const std::function<void(std::size_t)>* job;
      std::size_t n;
      {
        std::unique_lock lock(mu_);
        start_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
        n = n_;
      }
      Work(*job, n);
      std::lock_guard lock(mu_);
      if (--busy_ == 0) done_.notify_one();
    }
  }
  std::vector<std::thread> helpers_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t n_ = 0, busy_ = 0;
  std::atomic<std::size_t> next_{0};
  std::uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace

std::unique_ptr<Coordinator> LocalCoordinator() { return std::make_unique<Local>(); }

struct Controller::Impl {
  struct Agent {
    std::string id, model, deployment;
    std::vector<std::string> lineage;
    int fd = -1;                  // -1 while disconnected
    std::int64_t last_renew = 0;  // monotonic ms
    // The fence floor signed at its latest enrolment: every order it can act on is above it, so an
    // ack at or below it is for an earlier enrolment under the same id.
    std::uint64_t floor = 0;
    std::string state = "live";   // live | stopped | drained | exited | lease-expired | fail-closed
  };
  struct Pending {
    Order order;
    std::string note;
    bool drill = false;
    std::vector<std::string> targeted;
    std::set<std::string> target_set;  // the same ids, for lookups: fleets are large
    std::map<std::string, json> acks;  // only targeted ids, so complete when sizes match
    std::int64_t start = 0, deadline = 0;  // monotonic ms
    int client = -1;
    std::int64_t last_confirm = 0;
    std::string inventory_error;  // why the store's lineage could not be used, if it could not
  };
  // A line from a connection, authenticated and parsed on any thread of the pool (Check); what
  // it does is done on the loop's thread, in the order the lines came (OnLine).
  struct Checked {
    std::string reject;  // why the connection must close, if it must
    std::string from;    // the envelope's sender
    Secret session{};    // the key it was sealed under
    std::optional<ClientMessage> msg;
    json doc;  // an acknowledgement as JSON, made here rather than on the loop's thread
  };
  // One connection: its hello nonce and, once its first message authenticated, whom it speaks for.
  struct Conn {
    std::unique_ptr<LineConn> line;
    std::string peer, nonce;
    std::optional<std::string> from;  // "agent:ID" or "operator"
    Secret session{};
    std::uint64_t last_seq = 0;
    std::int64_t opened = 0;  // monotonic ms
    std::uint64_t serial = 0;  // which connection this is, whatever its descriptor's number
    bool heard = false;       // has sent something (if only part of a line)
    bool watch_out = false;   // registered for EPOLLOUT (output waiting)
    // Waiting for a coordinator call made for one of its lines (Defer): its later lines are held
    // until that line is done, so each connection's lines still act in the order they came; a
    // connection that ended meanwhile is closed after them.
    int waiting = 0;  // deferred lines not yet done
    bool ended = false;
    std::deque<Checked> held;
  };

  ControllerOptions opt;
  ledger::Signer signer;
  Secret master;
  std::unique_ptr<Coordinator> coord;
  int listener = -1;
  int spare = -1;  // a descriptor held back to accept-and-close when the process runs out
  // One epoll set over the listener, the coordinator's wake-up descriptor and every connection:
  // a turn of the loop costs what is ready, not what is connected (10,000 agents and more).
  int epoll = -1;
  bool listener_watched = false, wake_watched = false;
  // Kept as connections change, rather than counted on each new one.
  std::size_t agent_conns = 0, unauthenticated = 0;
  std::int64_t last_scan = 0;  // the last sweep for expired authentication bounds and leases
  // What the sweep checks, in the order it falls due (the clock only goes forward, so appending
  // keeps each sorted): a connection's authentication bound, and a lease's end as of each
  // enrolment and renewal. A sweep costs what is due, not what is connected: it walked every
  // connection and agent every 20 ms, half the controller's CPU at 10,000 agents (perf).
  struct AuthDue {
    std::int64_t at;
    int fd;
    std::uint64_t serial;
  };
  std::deque<AuthDue> auth_due;
  std::deque<std::pair<std::int64_t, Agent*>> lease_due;  // agents are never erased
  std::uint64_t next_serial = 0;
  std::size_t max_conns = 0;
  std::map<int, Conn> conns;
  std::map<int, std::string> agent_of;  // fd -> agent id
  std::map<std::string, Agent> agents;
  std::vector<Pending> pending;
  // Orders in force until they expire: an agent that enrols into their scope is told to stop.
  std::vector<std::pair<Order, std::string>> in_force;
  std::map<std::uint64_t, std::uint64_t> derived_of;  // fence of an order re-issued -> the original
  std::mt19937_64 rng{std::random_device{}()};        // which silent connection to evict
  static constexpr int kMaxAcceptsPerStep = 64;
  // The work of a turn that touches one connection only (its reads and writes, the lines'
  // authentication and parsing) is spread over these threads; what the lines then do to the
  // controller's state is done in order on the loop's thread.
  ForkJoin pool;
  // Coordinator calls that wait on the network run here, one at a time in the order asked, and
  // what follows each runs on the loop's thread when the loop next turns (Defer).
  struct Deferred {
    std::function<void()> call;  // on the coordinator's thread
    std::function<void()> then;  // on the loop's thread, after `call`
  };
  std::thread coord_thread;
  std::mutex coord_mu;
  std::condition_variable coord_cv;
  std::deque<Deferred> coord_calls;
  std::deque<std::function<void()>> coord_done;
  bool coord_stop = false;
  int coord_wake = -1;  // eventfd: a call is done
  bool coord_wake_watched = false;

  Impl(ControllerOptions o, ledger::Signer s, std::unique_ptr<Coordinator> c)
      : opt(std::move(o)),
        signer(std::move(s)),
        master(MasterSecret(signer)),
        coord(std::move(c)),
        pool(Threads(opt.threads)) {
    max_conns = opt.max_connections;
    if (max_conns == 0) {
      rlimit lim{};
      getrlimit(RLIMIT_NOFILE, &lim);
      if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
        getrlimit(RLIMIT_NOFILE, &lim);
      }
      max_conns = lim.rlim_cur > 32 + 2 * kOperatorReserve
                      ? static_cast<std::size_t>(lim.rlim_cur) - 32
                      : 2 * kOperatorReserve;
    }
    max_conns = std::max(max_conns, kOperatorReserve + 1);
    spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
    epoll = epoll_create1(EPOLL_CLOEXEC);
    coord_wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~Impl() {
    {
      std::lock_guard lock(coord_mu);
      coord_stop = true;
    }
    coord_cv.notify_all();
    if (coord_thread.joinable()) coord_thread.join();
    if (coord_wake >= 0) close(coord_wake);
    for (auto& [fd, c] : conns) c.line->Close();
    if (spare >= 0) close(spare);
    if (epoll >= 0) close(epoll);
  }

  static int Threads(int asked) {
    if (asked > 0) return std::min(asked, 64);
    return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
  }

  // The same line to many connections (an order to its targets): one serialisation, the sends
  // spread over the pool. Each connection is written by one thread; the maps are only read.
  void SendToMany(const std::vector<int>& fds, const std::string& line) {
    pool.Run(fds.size(), [&](std::size_t i) {
      auto it = conns.find(fds[i]);
      if (it == conns.end()) return;
      it->second.line->Queue(line);
      FlushConn(fds[i], it->second);
    });
  }

  void Watch(int fd, bool out, int op) {
    epoll_event ev{};
    ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
    ev.data.fd = fd;
    epoll_ctl(epoll, op, fd, &ev);
  }
  // Writes what the socket takes now; the rest when epoll says it is writable.
  void FlushConn(int fd, Conn& c) {
    c.line->Flush();
    if (c.line->WantsWrite() != c.watch_out) {
      c.watch_out = c.line->WantsWrite();
      Watch(fd, c.watch_out, EPOLL_CTL_MOD);
    }
  }
  void SendPlain(int fd, const json& j) { SendLine(fd, Dump(j)); }
  void SendLine(int fd, const std::string& line) {
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    it->second.line->Queue(line);
    FlushConn(fd, it->second);
  }
  // Sealed under the connection's session: only its authenticated peer can check it.
  void SendSealed(int fd, const json& j) {
    auto it = conns.find(fd);
    if (it == conns.end() || !it->second.from) return;
    it->second.line->Queue(Seal(it->second.session, Direction::kController, "controller", Dump(j)));
    FlushConn(fd, it->second);
  }

  bool LeaseValid(const Agent& a, std::int64_t now) const {
    return now - a.last_renew <= opt.lease_ttl_ms;
  }

  // What the agent declared, plus the model's ancestors in the inventory's base map.
  static std::vector<std::string> Lineage(const std::string& model,
                                          std::vector<std::string> declared,
                                          const std::map<std::string, std::string>& bases) {
    std::string at = model;
    for (size_t steps = 0; steps < bases.size(); ++steps) {  // bounded: a cycle cannot loop forever
      auto base = bases.find(at);
      if (base == bases.end() || base->second.empty()) break;
      at = base->second;
      if (std::find(declared.begin(), declared.end(), at) == declared.end()) declared.push_back(at);
    }
    return declared;
  }

  // Runs `call` (coordinator calls) and then `then`. With a coordinator that waits on the network,
  // `call` runs on the coordinator's thread and `then` on the loop's thread once it is done, and
  // connection `fd` is busy meanwhile (its later lines are held); the loop goes on serving every
  // other line, renewals above all: an etcd call can wait seconds (an election, a member cut off),
  // and a loop that waited with it left renewals unanswered past the lease, so agents failed
  // closed (tests/cli/killswitch_chaos_test.sh, round 6; tests/cli/killswitch_etcd_stall_test.sh).
  // `then` checks that the connection is still the same one (Alive) before it answers it, and
  // returns false when the connection must close. Otherwise both run at once, here, and Defer
  // returns what `then` did.
  bool Defer(int fd, std::function<void()> call, std::function<bool()> then) {
    if (!coord->Blocking()) {
      call();
      return then();
    }
    auto it = conns.find(fd);
    if (it == conns.end()) return false;
    ++it->second.waiting;
    std::uint64_t serial = it->second.serial;
    if (!coord_thread.joinable()) coord_thread = std::thread([this] { CoordinatorThread(); });
    {
      std::lock_guard lock(coord_mu);
      coord_calls.push_back({std::move(call), [this, fd, serial, then = std::move(then)] {
                               bool open = then();
                               if (!Alive(fd, serial)) return;
                               --conns.at(fd).waiting;
                               if (!open) {
                                 Drop(fd);
                               } else {
                                 Resume(fd, serial);
                               }
                             }});
    }
    coord_cv.notify_one();
    return true;
  }
  void CoordinatorThread() {
    for (;;) {
      Deferred d;
      {
        std::unique_lock lock(coord_mu);
        coord_cv.wait(lock, [&] { return coord_stop || !coord_calls.empty(); });
        if (coord_stop) return;
        d = std::move(coord_calls.front());
        coord_calls.pop_front();
      }
      try {
        d.call();
      } catch (const std::exception& e) {  // a bug; the loop's part still runs and answers
        Log(std::string("internal error in a coordinator call: ") + e.what());
      }
      {
        std::lock_guard lock(coord_mu);
        coord_done.push_back(std::move(d.then));
      }
      std::uint64_t one = 1;
      if (write(coord_wake, &one, sizeof one) < 0) {
      }
    }
  }
  // The loop's part of every coordinator call done since the last turn, in the order asked.
  void RunDeferred() {
    std::uint64_t count;
    while (read(coord_wake, &count, sizeof count) > 0) {
    }
    std::deque<std::function<void()>> done;
    {
      std::lock_guard lock(coord_mu);
      done.swap(coord_done);
    }
    for (auto& then : done) then();
  }
  bool Alive(int fd, std::uint64_t serial) const {
    auto it = conns.find(fd);
    return it != conns.end() && it->second.serial == serial;
  }
  // A connection's deferred lines are done: its held lines act now, in order, until one of them
  // waits in turn; a connection that ended while it waited is closed once they are done.
  void Resume(int fd, std::uint64_t serial) {
    bool open = true;
    while (open && Alive(fd, serial) && conns.at(fd).waiting == 0 &&
           !conns.at(fd).held.empty()) {
      Checked k = std::move(conns.at(fd).held.front());
      conns.at(fd).held.pop_front();
      try {
        open = OnLine(fd, k, MonotonicMs());
      } catch (const std::exception& e) {
        open = Reject(fd, std::string("internal error: ") + e.what());
      }
    }
    if (!Alive(fd, serial)) return;
    const Conn& c = conns.at(fd);
    if (!open || (c.ended && c.waiting == 0 && c.held.empty())) Drop(fd);
  }

  // Signs a new order under `fence` (from the coordinator); the caller pushes it.
  core::Result<std::pair<Order, std::string>> Issue(const Scope& scope, const std::string& reason,
                                                    std::int64_t expires_ms,
                                                    std::vector<std::string> named,
                                                    const std::vector<std::string>& targeted,
                                                    std::uint64_t fence) {
    Order o;
    o.fence = fence;
    o.scope = scope.ToString();
    o.reason = reason;
    o.issued_ms = NowMs();
    o.expires_ms = expires_ms;
    o.drain_ms = opt.drain_ms;
    o.targets = std::move(named);
    for (const std::string& id : targeted) {
      if (opt.exempt.contains(id)) o.drain.push_back(id);
    }
    FL_ASSIGN_OR_RETURN(std::string note, SignOrder(o, signer));
    return std::make_pair(std::move(o), std::move(note));
  }

  // An enrolment: the coordinator's fence floor first (AgentUp, deferred), then EnrollDone.
  bool OnEnroll(int fd, const EnrollMsg& m) {
    std::uint64_t serial = conns.at(fd).serial;
    json agent = {{"id", m.id}, {"model", m.model}, {"lineage", m.lineage}};
    auto floor = std::make_shared<std::uint64_t>(0);
    return Defer(
        fd, [this, agent, floor] { *floor = coord->AgentUp(agent); },
        [this, fd, serial, m, floor] { return EnrollDone(fd, serial, m, *floor, nullptr); });
  }

  // The first order in force whose scope takes this agent in, if any.
  const std::pair<Order, std::string>* InForceFor(const EnrollMsg& m) {
    std::map<std::string, std::string> bases;
    bool bases_read = false;
    std::int64_t wall = NowMs();
    for (const auto& entry : in_force) {
      const Order& order = entry.first;
      if (order.expires_ms <= wall) continue;
      auto scope = Scope::Parse(order.scope);
      if (!scope) continue;
      bool in = scope->Matches(m.id, m.model, m.lineage) ||
                std::find(order.targets.begin(), order.targets.end(), m.id) != order.targets.end();
      if (!in && scope->kind == Scope::Kind::kLineage && opt.model_bases) {
        if (!bases_read) {
          bases_read = true;
          auto read = opt.model_bases();
          if (read) {
            bases = std::move(*read);
          } else {
            Log(
                fmt::format("WARNING: the evidence store's inventory cannot be used for lineage "
                            "order {} ({}): {}; agent {} is matched on its declared lineage only",
                            order.fence, order.scope, read.error().message, m.id));
          }
        }
        in = scope->Matches(m.id, m.model, Lineage(m.model, m.lineage, bases));
      }
      if (in) return &entry;
    }
    return nullptr;
  }

  // The rest of an enrolment, on the loop's thread, once the floor is known. An order in force
  // whose scope takes the agent in is re-issued for it alone, with a fence above the floor it is
  // about to learn, so that it stops at once (or never starts): that fence is one more deferred
  // call (`fence` is null until it is made), and the agent is enrolled here only with it.
  // False when the connection must close.
  bool EnrollDone(int fd, std::uint64_t serial, const EnrollMsg& m, std::uint64_t floor,
                  const std::shared_ptr<core::Result<std::uint64_t>>& fence) {
    if (!Alive(fd, serial)) return true;  // closed meanwhile (enrolled again): it retries
    if (floor == 0) {
      // A floor of 0 would let the agent act on any replayed order: refuse, it retries.
      SendSealed(fd, {{"type", "error"}, {"message", "the fence floor is unavailable; try again"}});
      return true;
    }
    const std::pair<Order, std::string>* order = InForceFor(m);
    if (order != nullptr && fence == nullptr) {
      auto next = std::make_shared<core::Result<std::uint64_t>>(0);
      return Defer(
          fd, [this, next] { *next = coord->NextFence(); },
          [this, fd, serial, m, floor, next] { return EnrollDone(fd, serial, m, floor, next); });
    }
    Agent& a = agents[m.id];
    if (a.fd >= 0 && a.fd != fd) {
      // One connection per agent: the newest enrolment wins, the older connection is closed
      // (a stolen credential cannot hold many, and a half-dead one does not linger).
      int older = a.fd;
      a.fd = -1;
      Log(fmt::format("agent {} enrolled again: closed its older connection", m.id));
      Drop(older);
    }
    a.id = m.id;
    a.model = m.model;
    a.deployment = m.deployment;
    a.lineage = m.lineage;
    a.fd = fd;
    a.last_renew = MonotonicMs();  // the enrolment is done now, however long etcd took
    lease_due.emplace_back(a.last_renew + opt.lease_ttl_ms, &a);
    a.floor = floor;
    a.state = "live";
    agent_of[fd] = a.id;
    std::vector<std::string> orders;
    if (order != nullptr) {
      const Order& o = order->first;
      auto again =
          fence && *fence
              ? Issue(Scope{Scope::Kind::kAgent, a.id},
                      fmt::format("order {} in force for {}: {}", o.fence, o.scope, o.reason),
                      o.expires_ms, {}, {a.id}, **fence)
              : core::Result<std::pair<Order, std::string>>(
                    tl::unexpected(fence ? fence->error() : core::Error{}));
      if (!again) {
        Log("could not re-issue order " + std::to_string(o.fence) + ": " + again.error().message);
      } else {
        derived_of[again->first.fence] = o.fence;
        orders.push_back(again->second);
        for (Pending& p : pending) {
          if (p.order.fence == o.fence && p.target_set.insert(a.id).second) {
            p.targeted.push_back(a.id);
          }
        }
        Log(fmt::format("agent {} enrolled into {}, stopped by order {}: told to stop (order {})",
                        a.id, o.scope, o.fence, again->first.fence));
      }
    }
    EnrolledNote text{a.id, m.nonce, floor, opt.lease_ttl_ms};
    auto note = signer.Sign(text.Text());
    if (!note) return Reject(fd, "cannot sign: " + note.error().message);
    SendSealed(fd,
               ToJson(ControllerMessage(EnrolledMsg{m.seq, *note, signer.VerifierKey(), orders})));
    Log(fmt::format("agent {} enrolled (model {}), fence floor {}", a.id, a.model, floor));
    return true;
  }

  // An acknowledgement, from an agent here (authenticated) or from another controller (etcd).
  void OnAck(const std::string& id, std::uint64_t fence, AckMsg::Result result, const json& doc,
             std::int64_t now, bool remote) {
    auto agent = agents.find(id);
    if (result == AckMsg::Result::kRefused) {
      Log(fmt::format("agent {} refused order {}: {} ({})", id, fence, doc.value("refusal", ""),
                      doc.value("detail", "")));
      return;
    }
    // An ack for an order at or below the agent's fence floor was for an earlier enrolment under
    // its id (etcd relays this controller's own acks back to it, sometimes after the agent has
    // enrolled again): it says nothing about the agent enrolled now, which must stay a target
    // (found by bench/killswitch_fleet.cc --etcd: 5 of 1,000 re-enrolled agents marked stopped,
    // left out of the next order, whose report still said complete). Fence 0: the agent's own
    // fail-closed stop, which it sends only on its own connection.
    if (agent != agents.end() && (fence == 0 ? !remote : fence > agent->second.floor)) {
      agent->second.state =
          result == AckMsg::Result::kNotStarted ? "stopped" : std::string(AckResultName(result));
      if (!remote) coord->AgentDown(id);
    }
    std::uint64_t original = derived_of.contains(fence) ? derived_of[fence] : fence;
    for (Pending& p : pending) {
      if ((p.order.fence == fence || p.order.fence == original) && p.target_set.contains(id)) {
        p.acks[id] = doc;
        p.last_confirm = now;
      }
    }
    if (!remote && fence != 0) coord->PublishAck(fence, doc);
  }

  bool OnShutdown(int fd, const ShutdownMsg& m, std::int64_t now) {
    auto scope = Scope::Parse(m.scope);
    if (!scope) {
      SendSealed(fd, {{"type", "error"}, {"message", scope.error().message}});
      return true;
    }
    if (m.timeout_ms < 1 || m.timeout_ms > 86'400'000) {
      SendSealed(fd,
                 {{"type", "error"}, {"message", "timeout_ms must be within 1 ms and one day"}});
      return true;
    }
    std::int64_t wall = NowMs();
    if (wall > m.sent_ms + m.timeout_ms || m.sent_ms > wall + 300'000) {
      // The client has stopped waiting (or its clock is far off): an order it cannot see the report
      // of is not issued behind its back.
      Log(fmt::format(
          "shutdown of {} refused: it arrived {} ms after it was sent, past its {} ms timeout",
          m.scope, wall - m.sent_ms, m.timeout_ms));
      SendSealed(fd, {{"type", "error"},
                      {"message", "the request arrived after its timeout; not carried out"}});
      return true;
    }
    auto pp = std::make_shared<Pending>();
    Pending& p = *pp;
    p.drill = m.drill;
    p.client = fd;
    p.start = now;
    p.last_confirm = now;
    p.deadline = now + m.timeout_ms;
    // Targets, and among them those the scope reaches only through the inventory's lineage: the
    // order names those, since the agent cannot know it is included (others check the scope).
    std::set<std::string> targets, named;
    std::map<std::string, std::string> bases;
    if (scope->kind == Scope::Kind::kLineage && opt.model_bases) {
      auto read = opt.model_bases();
      if (read) {
        bases = std::move(*read);
      } else {
        // Never "no bases, so fewer targets" in silence: the agents whose declared lineage
        // matches are still ordered, and the report says the store's lineage was not used.
        p.inventory_error = read.error().message;
        Log(
            fmt::format("WARNING: lineage order for {} without the evidence store's inventory, "
                        "which does not verify: {}; only agents' declared lineage is matched",
                        scope->ToString(), p.inventory_error));
      }
    }
    // The agents enrolled elsewhere and the fence, from the coordinator (deferred); then the
    // targets, this controller's own agents taken as they are once those are known.
    std::uint64_t serial = conns.at(fd).serial;
    auto remote = std::make_shared<std::vector<json>>();
    auto fence = std::make_shared<core::Result<std::uint64_t>>(0);
    return Defer(
        fd,
        [this, remote, fence] {
          *remote = coord->RemoteAgents();
          *fence = coord->NextFence();
        },
        [this, fd, serial, pp, sc = *scope, m, wall, bs = std::move(bases), remote, fence] {
          ShutdownDone(Alive(fd, serial) ? fd : -1, *pp, sc, m, wall, bs, *remote, *fence);
          return true;
        });
  }

  // The rest of a shutdown, on the loop's thread: `fd` is the operator's connection, -1 if it
  // closed meanwhile (the order is still carried out and recorded).
  void ShutdownDone(int fd, Pending& p, const Scope& scope, const ShutdownMsg& m, std::int64_t wall,
                    const std::map<std::string, std::string>& bases,
                    const std::vector<json>& remote,
                    const core::Result<std::uint64_t>& fence) {
    p.client = fd;
    std::set<std::string> targets, named;
    auto consider = [&](const std::string& id, const std::string& model,
                        const std::vector<std::string>& declared) {
      if (scope.Matches(id, model, declared)) {
        targets.insert(id);
      } else if (!bases.empty() && scope.Matches(id, model, Lineage(model, declared, bases))) {
        targets.insert(id);
        named.insert(id);
      }
    };
    for (const auto& [id, a] : agents) {
      // Live agents, and agents whose lease lapsed without a confirmation that they stopped.
      if (a.state == "live" || a.state == "lease-expired") consider(id, a.model, a.lineage);
    }
    for (const json& r : remote) {
      auto id = StringField(r, "id");
      auto model = StringField(r, "model");
      auto lineage = StringsField(r, "lineage");
      if (id && model && lineage) consider(*id, *model, *lineage);
    }
    p.targeted.assign(targets.begin(), targets.end());
    p.target_set = std::move(targets);
    core::Result<void> fits = coord->OrderFits(p.targeted, {named.begin(), named.end()});
    if (!fence || !fits) {
      const std::string& why = !fence ? fence.error().message : fits.error().message;
      if (fd >= 0) SendSealed(fd, {{"type", "error"}, {"message", why}});
      Log(fmt::format("shutdown of {} not issued: {}", m.scope, why));
      return;
    }
    auto issued = Issue(scope, m.reason, wall + m.timeout_ms, {named.begin(), named.end()},
                        p.targeted, *fence);
    if (!issued) {
      if (fd >= 0) SendSealed(fd, {{"type", "error"}, {"message", issued.error().message}});
      return;
    }
    p.order = issued->first;
    p.note = issued->second;
    Log(fmt::format("order {} ({}): {} targeted; reason: {}", p.order.fence, p.order.scope,
                    p.targeted.size(), p.order.reason));
    if (p.targeted.empty())
      Log(fmt::format("order {} reaches no agent; it stays in force until it expires",
                      p.order.fence));
    // One line for every target: serialised once.
    std::string order = Dump(ToJson(ControllerMessage(OrderMsg{p.note})));
    SendToMany(TargetFds(p.targeted), order);
    coord->PublishOrder(p.order.fence, p.note, p.targeted);
    in_force.emplace_back(p.order, p.note);
    pending.push_back(std::move(p));
  }

  // The connections of those of `ids` connected here.
  std::vector<int> TargetFds(const std::vector<std::string>& ids) const {
    std::vector<int> fds;
    for (const std::string& id : ids) {
      auto a = agents.find(id);
      if (a != agents.end() && a->second.fd >= 0) fds.push_back(a->second.fd);
    }
    std::sort(fds.begin(), fds.end());  // each connection written by one thread only
    fds.erase(std::unique(fds.begin(), fds.end()), fds.end());
    return fds;
  }

  json Report(const Pending& p, std::int64_t now) {
    json stopped = json::array(), not_stopped = json::array(), drained = json::array();
    for (const std::string& id : p.targeted) {
      auto ack = p.acks.find(id);
      if (ack == p.acks.end()) {
        not_stopped.push_back(id);
      } else {
        (ack->second.value("result", "") == "drained" ? drained : stopped).push_back(id);
      }
    }
    bool complete = not_stopped.empty() && !p.targeted.empty() && p.inventory_error.empty();
    json why = json::object();
    for (const auto& id : not_stopped) {
      auto a = agents.find(id);
      std::string reason = "no confirmation before the timeout";
      if (a == agents.end()) {
        // Its confirmation comes through etcd: a write that no member accepts is kept and sent
        // again, and the controllers' logs say so (WARNING: no etcd member accepts ...).
        reason = "enrolled at another controller: no confirmation relayed through etcd before the "
                 "timeout";
      } else if (a->second.fd < 0) {
        reason = "disconnected: its lease lapses and it stops itself, unconfirmed";
      }
      why[id.get<std::string>()] = reason;
    }
    json report = {{"type", "report"},
                   {"fence", p.order.fence},
                   {"scope", p.order.scope},
                   {"reason", p.order.reason},
                   {"drill", p.drill},
                   {"targeted", p.targeted.size()},
                   {"stopped", stopped.size() + drained.size()},
                   {"stopped_agents", stopped},
                   {"drained_agents", drained},
                   {"not_stopped", not_stopped},
                   {"not_stopped_why", why},
                   {"elapsed_ms", complete ? p.last_confirm - p.start : now - p.start},
                   {"complete", complete}};
    if (!p.inventory_error.empty()) report["inventory_error"] = p.inventory_error;
    return report;
  }

  void Record(const Pending& p, const json& report) {
    if (opt.log == nullptr) return;
    json doc = report;
    doc.erase("type");
    doc["order"] = p.note;
    doc["acks"] = p.acks;
    ledger::RecordInput r{
        p.drill ? "shutdown-drill" : "shutdown-order",
        "",
        Dump(doc, 2),
        core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())),
        {}};
    auto appended = opt.log->Append({r});
    if (!appended) {
      Log("could not record the order in the ledger: " + appended.error().ToString());
    } else {
      Log(fmt::format("order {} recorded as ledger entry {}", p.order.fence,
                      appended->front().index));
    }
  }

  void Finish(std::int64_t now) {
    for (auto it = pending.begin(); it != pending.end();) {
      bool all = it->acks.size() == it->targeted.size();
      if (!all && now < it->deadline) {
        ++it;
        continue;
      }
      json report = Report(*it, now);
      if (it->client >= 0) SendSealed(it->client, report);
      Log(fmt::format("order {}: {} of {} confirmed stopped in {} ms", it->order.fence,
                      report["stopped"].get<size_t>(), it->targeted.size(),
                      report["elapsed_ms"].get<std::int64_t>()));
      Record(*it, report);
      it = pending.erase(it);
    }
    std::int64_t wall = NowMs();
    if (std::erase_if(in_force, [&](const auto& o) { return o.first.expires_ms <= wall; }) > 0) {
      std::erase_if(derived_of, [&](const auto& d) {
        auto same = [&](std::uint64_t fence) { return fence == d.second; };
        return std::none_of(in_force.begin(), in_force.end(),
                            [&](const auto& o) { return same(o.first.fence); }) &&
               std::none_of(pending.begin(), pending.end(),
                            [&](const Pending& p) { return same(p.order.fence); });
      });
    }
  }

  // `elsewhere`: the agents enrolled at other controllers (RemoteAgents).
  json Status(std::int64_t now, const std::vector<json>& elsewhere) {
    json list = json::array();
    for (const auto& [id, a] : agents) {
      std::string state = a.state == "live" && !LeaseValid(a, now) ? "lease-expired" : a.state;
      list.push_back(
          {{"id", id},
           {"model", a.model},
           {"lineage", a.lineage},
           {"deployment", a.deployment},
           {"state", state},
           {"connected", a.fd >= 0},
           {"exempt", opt.exempt.contains(id)},
           {"lease_ms_left", std::max<std::int64_t>(0, a.last_renew + opt.lease_ttl_ms - now)}});
    }
    for (const json& r : elsewhere) {
      auto id = StringField(r, "id");
      if (!id || agents.contains(*id)) continue;
      json remote = r;
      remote["state"] = "live";
      remote["connected"] = false;
      remote["controller"] = "another";
      list.push_back(remote);
    }
    return {{"type", "agents"}, {"agents", list}, {"lease_ttl_ms", opt.lease_ttl_ms}};
  }

  // Ends a connection for what it sent: logged, the peer told why, the process untouched.
  bool Reject(int fd, const std::string& reason) {
    auto it = conns.find(fd);
    std::string who = it == conns.end() ? "?" : it->second.peer;
    if (it != conns.end() && it->second.from) who += " (" + *it->second.from + ")";
    Log(fmt::format("closed the connection from {}: {}", who, reason));
    SendPlain(fd, {{"type", "error"}, {"message", reason}});
    return false;
  }

  // A line from a connection, authenticated and parsed on any thread of the pool (Check); what
  // it does is done on the loop's thread, in the order the lines came (OnLine).
  // `from` and `session`: the connection's sender and key as of the lines before this one.
  Checked Check(const Conn& c, const std::optional<std::string>& from, const Secret& session,
                const std::string& line) const {
    Checked out;
    auto env = ParseEnvelope(line);
    if (!env) {
      out.reject = "unauthenticated message: " + env.error().message;
      return out;
    }
    if (from && *from != env->from) {
      out.reject = "a connection speaks for one sender only";
      return out;
    }
    out.session = session;
    if (!from) {
      auto cred = DeriveCredential(master, env->from);
      if (!cred) {
        out.reject = "authentication failed: unknown sender " + env->from.substr(0, 64);
        return out;
      }
      out.session = SessionKey(cred->secret, c.nonce);
    }
    if (!MacValid(out.session, Direction::kClient, *env)) {
      out.reject = "authentication failed for " + env->from.substr(0, 64) + ": bad mac";
      return out;
    }
    auto msg = ParseClientMessage(env->msg);
    if (!msg) {
      out.reject = "bad message from " + env->from + ": " + msg.error().ToString();
      return out;
    }
    if (std::holds_alternative<AckMsg>(*msg)) out.doc = ToJson(*msg);
    out.from = std::move(env->from);
    out.msg = std::move(*msg);
    return out;
  }

  // One checked line; false when the connection must close.
  bool OnLine(int fd, Checked& k, std::int64_t now) {
    Conn& c = conns.at(fd);
    if (!k.reject.empty()) return Reject(fd, k.reject);
    if (c.from && *c.from != k.from) return Reject(fd, "a connection speaks for one sender only");
    ClientMessage& msg = *k.msg;
    if (SeqOf(msg) <= c.last_seq) {
      return Reject(fd, fmt::format("replayed message: seq {} after {}", SeqOf(msg), c.last_seq));
    }
    std::string agent_id = AgentIdOf(msg);
    bool agent_msg = !agent_id.empty();
    if (agent_msg ? k.from != "agent:" + agent_id : k.from != "operator") {
      return Reject(fd, fmt::format("{} may not send this message{}", k.from,
                                    agent_msg ? " for agent " + agent_id : ""));
    }
    c.last_seq = SeqOf(msg);
    if (!c.from) {
      // Agents' connections, enrolled or not, may hold all but kOperatorReserve slots: the rest
      // is the operators' (and the unauthenticated connections', which make way for them).
      if (agent_msg && agent_conns >= max_conns - kOperatorReserve) {
        return Reject(fd, "no room for another agent (the rest is reserved for operators)");
      }
      c.from = k.from;
      c.session = k.session;
      --unauthenticated;
      if (agent_msg) ++agent_conns;
    }
    if (auto* e = std::get_if<EnrollMsg>(&msg)) return OnEnroll(fd, *e);
    if (auto* r = std::get_if<RenewMsg>(&msg)) {
      auto a = agents.find(r->id);
      // "lease-expired" is only what this controller inferred (its loop may have stalled past the
      // TTL); the agent on its connection, renewing, is still within the lease it counts itself.
      if (a == agents.end() || a->second.fd != fd ||
          (a->second.state != "live" && a->second.state != "lease-expired")) {
        SendSealed(fd, {{"type", "error"}, {"message", "not enrolled here"}});
        return true;
      }
      a->second.state = "live";
      a->second.last_renew = now;
      lease_due.emplace_back(now + opt.lease_ttl_ms, &a->second);
      coord->AgentRenewed(a->first);
      SendSealed(fd, ToJson(ControllerMessage(RenewedMsg{r->seq})));
      return true;
    }
    if (auto* a = std::get_if<AckMsg>(&msg)) {
      OnAck(a->id, a->fence, a->result, k.doc, now, false);
      return true;
    }
    if (auto* x = std::get_if<ExitedMsg>(&msg)) {
      auto a = agents.find(x->id);
      if (a != agents.end()) {
        a->second.state = "exited";
        coord->AgentDown(a->first);
      }
      return true;
    }
    if (auto* s = std::get_if<ShutdownMsg>(&msg)) return OnShutdown(fd, *s, now);
    std::uint64_t serial = c.serial;
    auto remote = std::make_shared<std::vector<json>>();
    return Defer(
        fd, [this, remote] { *remote = coord->RemoteAgents(); },
        [this, fd, serial, remote] {
          if (Alive(fd, serial)) SendSealed(fd, Status(MonotonicMs(), *remote));
          return true;
        });
  }

  void Drop(int fd) {
    if (auto a = agent_of.find(fd); a != agent_of.end()) {
      auto agent = agents.find(a->second);
      if (agent != agents.end() && agent->second.fd == fd) agent->second.fd = -1;
      agent_of.erase(a);
    }
    for (Pending& p : pending) {
      if (p.client == fd) p.client = -1;
    }
    auto it = conns.find(fd);
    if (it == conns.end()) return;
    const std::optional<std::string>& from = it->second.from;
    if (!from) {
      --unauthenticated;
    } else if (from->starts_with("agent:")) {
      --agent_conns;
    }
    it->second.line->Flush();
    epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
    it->second.line->Close();
    conns.erase(it);
  }

  // Closes an unauthenticated connection to make room: one chosen at random among those that
  // have sent nothing yet, else the oldest (a client half-way through its first line, such as an
  // operator on a slow link, is the last to go). False if there is none.
  bool EvictUnauthenticated(const std::string& why) {
    std::vector<int> silent;
    int oldest = -1;
    std::int64_t at = 0;
    for (const auto& [fd, c] : conns) {
      if (c.from) continue;
      if (!c.heard) silent.push_back(fd);
      if (oldest < 0 || c.opened < at) {
        oldest = fd;
        at = c.opened;
      }
    }
    if (oldest < 0) return false;
    int victim =
        silent.empty()
            ? oldest
            : silent[std::uniform_int_distribution<std::size_t>(0, silent.size() - 1)(rng)];
    Log(fmt::format("closed the unauthenticated connection from {}: {}", conns.at(victim).peer,
                    why));
    Drop(victim);
    return true;
  }

  void Adopt(int fd, std::string peer, std::int64_t now) {
    if (conns.size() >= max_conns && !EvictUnauthenticated("connection limit reached")) {
      Log(fmt::format("refused a connection from {}: {} connections, all authenticated", peer,
                      conns.size()));
      close(fd);
      return;
    }
    if (unauthenticated >= opt.max_unauthenticated) {
      EvictUnauthenticated("too many unauthenticated connections");
    }
    Conn c;
    c.line = std::make_unique<LineConn>(fd, kMaxLineBytes);
    c.peer = std::move(peer);
    c.nonce = RandomNonce();
    c.opened = now;
    c.serial = ++next_serial;
    auth_due.push_back({now + opt.auth_timeout_ms, fd, c.serial});
    json hello = ToJson(ControllerMessage(HelloMsg{c.nonce}));
    conns[fd] = std::move(c);
    ++unauthenticated;
    Watch(fd, false, EPOLL_CTL_ADD);
    SendPlain(fd, hello);
  }

  void Accept(std::int64_t now) {
    // Bounded per turn, so that a stream of new connections cannot keep the loop from the
    // connections it already has (the rest wait in the listen backlog).
    for (int accepted = 0; accepted < kMaxAcceptsPerStep; ++accepted) {
      sockaddr_in addr{};
      socklen_t len = sizeof addr;
      int fd =
          accept4(listener, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno != EMFILE && errno != ENFILE) return;
        // Out of descriptors: make room by the oldest unauthenticated connection, or take the
        // waiting one and close it so the listener does not stay readable for ever.
        if (EvictUnauthenticated("out of file descriptors")) continue;
        if (spare >= 0) {
          close(spare);
          int drop = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
          if (drop >= 0) close(drop);
          spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
          Log("out of file descriptors: refused a connection");
        }
        return;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      char ip[INET_ADDRSTRLEN] = "?";
      inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
      Adopt(fd, fmt::format("{}:{}", ip, ntohs(addr.sin_port)), now);
    }
  }

  void PollCoordinator(std::int64_t now) {
    Coordinator::Inbound in = coord->Poll();
    for (const auto& [note, targets] : in.orders) {
      SendToMany(TargetFds(targets), Dump(ToJson(ControllerMessage(OrderMsg{note}))));
    }
    for (const json& ack : in.acks) {
      auto id = StringField(ack, "id");
      auto fence = UnsignedField(ack, "fence");
      auto result = StringField(ack, "result");
      std::optional<AckMsg::Result> r = result ? AckResultFromName(*result) : std::nullopt;
      if (id && fence && r) OnAck(*id, *fence, *r, ack, now, true);
    }
  }

  // One ready connection's part of a turn. Gather runs on any thread of the pool and touches
  // only this connection: it writes what waits, reads what came and checks every complete line.
  // Apply then acts on the lines on the loop's thread.
  struct Ready {
    int fd;
    std::uint32_t events;
    std::uint64_t serial = 0;  // 0: not a connection (any longer)
    bool open = true, ended = false, overflowed = false;
    std::vector<Checked> lines;
  };
  void Gather(Ready& r) {
    auto it = conns.find(r.fd);
    if (it == conns.end()) return;
    Conn& conn = it->second;
    r.serial = conn.serial;
    LineConn& c = *conn.line;
    if (r.events & EPOLLOUT) {
      r.open = c.Flush();
      if (r.open) FlushConn(r.fd, conn);
    }
    // The peer's end (EOF) is acted on only after the lines it sent before it: an agent's last
    // ack or exited often arrives together with its FIN.
    if (r.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
      conn.heard = true;
      r.ended = !c.ReadSome();
    }
    std::optional<std::string> from = conn.from;
    Secret session = conn.session;
    while (r.open) {
      std::optional<std::string> line = c.NextLine();
      if (!line) break;
      Checked k;
      try {
        k = Check(conn, from, session, *line);
      } catch (const std::exception& e) {  // a bug, not the peer's right to stop the controller
        k.reject = std::string("internal error: ") + e.what();
      }
      bool rejected = !k.reject.empty();
      if (!rejected && !from) {
        from = k.from;
        session = k.session;
      }
      r.lines.push_back(std::move(k));
      if (rejected) break;
    }
    r.overflowed = c.overflowed();
  }
  void Apply(Ready& r, std::int64_t now) {
    auto it = conns.find(r.fd);
    // Closed by an earlier line of this turn (an agent that enrolled again closes its older one).
    if (r.serial == 0 || it == conns.end() || it->second.serial != r.serial) return;
    bool open = r.open;
    for (Checked& k : r.lines) {
      if (!open) break;
      if (Alive(r.fd, r.serial) && conns.at(r.fd).waiting > 0) {
        conns.at(r.fd).held.push_back(std::move(k));
        continue;
      }
      try {
        open = OnLine(r.fd, k, now);
      } catch (const std::exception& e) {
        open = Reject(r.fd, std::string("internal error: ") + e.what());
      }
    }
    if (r.overflowed) {
      open = Reject(r.fd, fmt::format("a line longer than {} bytes, or too much unread output",
                                      kMaxLineBytes));
    }
    if (!open) {
      Drop(r.fd);
    } else if (r.ended && Alive(r.fd, r.serial)) {
      Conn& c = conns.at(r.fd);
      if (c.waiting == 0 && c.held.empty()) {
        Drop(r.fd);
      } else {
        // Closed once its waiting lines are done (Resume); until then out of the epoll set, which
        // would report its end on every turn.
        c.ended = true;
        epoll_ctl(epoll, EPOLL_CTL_DEL, r.fd, nullptr);
      }
    }
  }

  // Closes connections past their authentication bound and notes lapsed leases, from the queues
  // of what falls due; at most every 20 ms.
  void Sweep(std::int64_t now) {
    if (now - last_scan < 20) return;
    last_scan = now;
    for (; !auth_due.empty() && auth_due.front().at < now; auth_due.pop_front()) {
      const AuthDue due = auth_due.front();
      auto it = conns.find(due.fd);
      if (it == conns.end() || it->second.serial != due.serial) continue;  // closed already
      const Conn& c = it->second;
      // Unauthenticated, or an agent's connection that has not enrolled, past the bound.
      bool unauthenticated_late = !c.from;
      bool unenrolled = c.from && c.from->starts_with("agent:") && !agent_of.contains(due.fd);
      if (unenrolled && c.waiting > 0) {  // its enrolment waits on the coordinator: not yet
        auth_due.push_back({now + opt.auth_timeout_ms, due.fd, due.serial});
        continue;
      }
      if (unauthenticated_late || unenrolled) {
        Log(fmt::format("closed the connection from {}: not {} within {} ms", c.peer,
                        unauthenticated_late ? "authenticated" : "enrolled",
                        opt.auth_timeout_ms));
        Drop(due.fd);
      }
    }
    for (; !lease_due.empty() && lease_due.front().first < now; lease_due.pop_front()) {
      Agent& a = *lease_due.front().second;
      // Renewed since (a later entry stands for it), or no longer live: nothing lapsed.
      if (a.state == "live" && !LeaseValid(a, now)) {
        a.state = "lease-expired";
        Log(fmt::format("agent {}'s lease lapsed: it stops its workload itself (fail closed)",
                        a.id));
      }
    }
  }

  void Step(int timeout_ms) {
    if (listener >= 0 && !listener_watched) {
      listener_watched = true;
      Watch(listener, false, EPOLL_CTL_ADD);
    }
    if (coord->WakeFd() >= 0 && !wake_watched) {
      wake_watched = true;
      Watch(coord->WakeFd(), false, EPOLL_CTL_ADD);
    }
    if (coord_wake >= 0 && !coord_wake_watched) {
      coord_wake_watched = true;
      Watch(coord_wake, false, EPOLL_CTL_ADD);
    }
    epoll_event events[512];
    int n = epoll_wait(epoll, events, 512, timeout_ms);
    std::int64_t now = MonotonicMs();
    bool accept = false;
    std::vector<Ready> ready;
    ready.reserve(static_cast<std::size_t>(std::max(n, 0)));
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        accept = true;  // after the others: a new connection may take a number closed just now
      } else if (fd != coord->WakeFd() && fd != coord_wake) {
        ready.push_back(Ready{fd, events[i].events, 0, true, false, false, {}});
      }
    }
    pool.Run(ready.size(), [&](std::size_t i) { Gather(ready[i]); });
    for (Ready& r : ready) Apply(r, now);
    if (accept) Accept(now);
    RunDeferred();
    Sweep(now);
    PollCoordinator(now);
    Finish(now);
  }
};

Controller::Controller(ControllerOptions options, ledger::Signer signer,
                       std::unique_ptr<Coordinator> coordinator)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(signer), std::move(coordinator))) {
}

Controller::~Controller() {
  if (impl_->listener >= 0) close(impl_->listener);
}

core::Result<void> Controller::Bind() {
  FL_ASSIGN_OR_RETURN(impl_->listener, Listen(impl_->opt.listen));
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  getsockname(impl_->listener, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  return core::Ok();
}

void Controller::Run() {
  signal(SIGPIPE, SIG_IGN);
  while (!stopping_) impl_->Step(10);
}

void Controller::Adopt(int fd) {
  SetNonBlocking(fd);
  impl_->Adopt(fd, "local", MonotonicMs());
}

void Controller::Step(int timeout_ms) { impl_->Step(timeout_ms); }

std::size_t Controller::connections() const { return impl_->conns.size(); }

}  // namespace flopline::killswitch
