#include "flopline/killswitch/agent.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <variant>

#include "flopline/killswitch/messages.h"
#include "flopline/killswitch/protocol.h"
#include "flopline/killswitch/workload.h"

namespace flopline::killswitch {
namespace {

void Log(const AgentOptions& o, const std::string& message) {
  std::fprintf(stderr, "flopline killswitch agent %s: %s\n", Printable(o.id).c_str(),
               Printable(message).c_str());
  std::fflush(stderr);
}

struct Session {
  std::unique_ptr<LineConn> conn;
  Secret key{};           // the session key of this connection
  std::uint64_t seq = 0;  // the last seq sent
  std::int64_t ttl_ms = 0;
  std::string controller_key;  // the key that signed the enrolment
  std::uint64_t fence_floor = 0;
  std::vector<std::string> orders;  // orders in force for this agent, re-issued at enrolment

  // Sends `m` sealed with the next seq; false when the peer is gone. `blocking`: written whole.
  bool Send(const AgentOptions& o, ClientMessage m, bool blocking = false) {
    if (!conn) return false;
    std::visit([&](auto& x) { x.seq = ++seq; }, m);
    std::string line = Seal(key, Direction::kClient, o.credential.From(), Dump(ToJson(m)));
    if (blocking) {
      conn->Flush();
      fcntl(conn->fd(), F_SETFL, fcntl(conn->fd(), F_GETFL) & ~O_NONBLOCK);
      return conn->SendLine(line);
    }
    conn->Queue(line);
    return conn->Flush();
  }
};

// One line from the controller as a typed message: sealed ones checked against the session key;
// unsealed ones only if they need no session (orders carry their own signature; errors are words).
std::optional<ControllerMessage> Receive(const AgentOptions& o, const Secret& key,
                                         const std::string& line) {
  if (auto env = ParseEnvelope(line)) {
    if (!MacValid(key, Direction::kController, *env)) {
      Log(o, "ignored a message that does not carry this session's mac");
      return std::nullopt;
    }
    auto m = ParseControllerMessage(env->msg);
    if (!m) Log(o, "ignored a malformed message: " + m.error().ToString());
    return m ? std::optional<ControllerMessage>(*m) : std::nullopt;
  }
  auto m = ParseControllerMessage(line);
  if (!m) {
    Log(o, "ignored a malformed message: " + m.error().ToString());
    return std::nullopt;
  }
  if (std::holds_alternative<OrderMsg>(*m) || std::holds_alternative<ErrorMsg>(*m) ||
      std::holds_alternative<HelloMsg>(*m)) {
    return *m;
  }
  Log(o, "ignored an unauthenticated message that needs a session");
  return std::nullopt;
}

// Connects to the first controller that answers, enrols and proves its key (`trusted`: pinned or
// learnt at the first enrolment; empty: learn it now); nullopt when none does.
std::optional<Session> Enroll(const AgentOptions& o, std::int64_t timeout_ms,
                              const std::string& trusted) {
  timeout_ms = std::max<std::int64_t>(timeout_ms, 1);
  for (const Endpoint& c : o.controllers) {
    auto fd = Connect(c, static_cast<int>(timeout_ms));
    if (!fd) continue;
    Session s;
    s.conn = std::make_unique<LineConn>(*fd, kMaxLineBytes);
    auto fail = [&](const std::string& why) {
      Log(o, fmt::format("{}: {}", c.ToString(), why));
      s.conn->Close();
    };
    std::optional<std::string> line = s.conn->ReadLine(timeout_ms);
    std::optional<ControllerMessage> hello = line ? Receive(o, s.key, *line) : std::nullopt;
    if (!hello || !std::holds_alternative<HelloMsg>(*hello)) {
      fail("no hello");
      continue;
    }
    s.key = SessionKey(o.credential.secret, std::get<HelloMsg>(*hello).nonce);
    std::string nonce = RandomNonce();
    if (!s.Send(o, EnrollMsg{0, o.id, o.model, o.deployment, nonce, o.lineage}, true)) {
      fail("connection lost");
      continue;
    }
    line = s.conn->ReadLine(timeout_ms);
    std::optional<ControllerMessage> reply = line ? Receive(o, s.key, *line) : std::nullopt;
    if (!reply || !std::holds_alternative<EnrolledMsg>(*reply)) {
      fail(reply && std::holds_alternative<ErrorMsg>(*reply)
               ? "refused enrolment: " + std::get<ErrorMsg>(*reply).message
               : "no enrolment");
      continue;
    }
    const EnrolledMsg& e = std::get<EnrolledMsg>(*reply);
    std::string key = trusted.empty() ? e.key : trusted;
    auto verifier = ledger::Verifier::Parse(key);
    auto text = verifier ? verifier->Open(e.note)
                         : core::Result<std::string>(tl::unexpected(verifier.error()));
    auto note = text ? EnrolledNote::Parse(*text)
                     : core::Result<EnrolledNote>(tl::unexpected(text.error()));
    if (!note) {
      fail(fmt::format("did not prove the {} key ({}): not trusted (fail closed)",
                       trusted.empty() ? "offered" : "pinned", note.error().message));
      continue;
    }
    if (note->agent != o.id || note->nonce != nonce) {
      fail(
          "its signed enrolment is for another agent or another enrolment (a replay): not trusted");
      continue;
    }
    if (note->fence == 0 || note->ttl_ms <= 0) {
      fail("its signed enrolment has no fence floor or no lease: not trusted");
      continue;
    }
    SetNonBlocking(*fd);
    s.ttl_ms = note->ttl_ms;
    s.controller_key = key;
    s.fence_floor = note->fence;
    s.orders = e.orders;
    return s;
  }
  return std::nullopt;
}

}  // namespace

int RunAgent(const AgentOptions& o) {
  signal(SIGPIPE, SIG_IGN);
  if (o.credential.role != Credential::Role::kAgent || o.credential.id != o.id) {
    Log(o, "the credential is not this agent's: the workload is not started");
    return 2;
  }
  std::optional<Session> session = Enroll(o, 5000, o.pubkey.value_or(""));
  if (!session) {
    Log(o, "no controller answered and proved its key: the workload is not started (fail closed)");
    return 2;
  }
  const std::string key = session->controller_key;  // every later enrolment must prove this key
  auto verifier = ledger::Verifier::Parse(key);
  if (!verifier) {
    Log(o, "no usable controller key: " + verifier.error().message);
    return 2;
  }
  // Orders issued before we first enrolled are replays.
  std::uint64_t last_fence = session->fence_floor;
  // An order in force for this agent's scope: it never starts.
  for (const std::string& note : session->orders) {
    CheckedOrder checked =
        CheckOrder(note, *verifier, last_fence, NowMs(), o.id, o.model, o.lineage);
    if (checked.refusal) continue;
    Log(o, fmt::format("order {} ({}) is in force: {}; the workload is not started",
                       checked.order->fence, checked.order->scope, checked.order->reason));
    AckMsg ack{0, o.id, checked.order->fence, AckMsg::Result::kNotStarted, NowMs(), "", ""};
    session->Send(o, ack, true);
    return 0;
  }
  const std::int64_t ttl = session->ttl_ms;
  const std::int64_t renew_every = std::max<std::int64_t>(ttl / 3, 1);
  std::int64_t now = MonotonicMs();
  std::int64_t lease_deadline = now + ttl;  // enrolment is the first renewal
  auto workload = Workload::Start(o.command, o.containment);
  if (!workload) {
    Log(o, workload.error().message);
    return 2;
  }
  if (!workload->warning().empty()) Log(o, "WARNING: " + workload->warning());
  Log(o, fmt::format("holding a {} ms lease; workload is process group {}{}", ttl,
                     workload->pgid(),
                     workload->cgroup().empty() ? "" : " in cgroup " + workload->cgroup()));
  // Workload::Start blocked SIGCHLD; its deaths are read here as events.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int child_events = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);

  std::map<std::uint64_t, std::int64_t> renew_sent;  // seq -> when it was sent
  std::int64_t next_renew = now + renew_every, next_reconnect = 0;
  auto send = [&](ClientMessage m) {
    if (session && session->conn && !session->Send(o, std::move(m))) session->conn.reset();
  };
  // The last word before exiting: written whole (blocking), or not at all if the peer is gone.
  auto send_final = [&](ClientMessage m) {
    if (session && session->conn) session->Send(o, std::move(m), true);
  };
  // Acts on a checked order; the return value is the agent's exit code.
  auto obey = [&](const Order& order) {
    last_fence = order.fence;
    bool drain = std::find(order.drain.begin(), order.drain.end(), o.id) != order.drain.end();
    Log(o,
        fmt::format("order {} ({}): {}; {} (received {} ms after issue)", order.fence, order.scope,
                    order.reason, drain ? "draining gracefully (exempt workload)" : "stopping",
                    NowMs() - order.issued_ms));
    std::int64_t stopped =
        workload->Stop(drain ? std::max(order.drain_ms, o.grace_ms) : o.grace_ms);
    send_final(AckMsg{0, o.id, order.fence,
                      drain ? AckMsg::Result::kDrained : AckMsg::Result::kStopped, stopped, "",
                      ""});
    Log(o, fmt::format("workload gone at {} ms; acknowledged", stopped));
    // Our work is done: tearing this process down must not take CPU from agents on the same
    // host that are still stopping their workloads (measured: 133 -> 25 ms for 100 agents).
    setpriority(PRIO_PROCESS, 0, 19);
    return 0;
  };

  for (;;) {
    now = MonotonicMs();
    if (workload->Gone()) {
      int code = workload->ExitCode().value_or(0);
      send_final(ExitedMsg{0, o.id, code});
      Log(o, fmt::format("workload ended by itself with code {}", code));
      return code;
    }
    if (now >= lease_deadline) {
      std::int64_t stopped = workload->Stop(o.grace_ms);
      Log(o, fmt::format("lease not renewed within {} ms: workload stopped (fail closed)", ttl));
      // "fail-closed": stopped by the agent itself, confirmed, unlike a lapse the controller only
      // infers ("lease-expired").
      send_final(AckMsg{0, o.id, 0, AckMsg::Result::kFailClosed, stopped, "", ""});
      return 3;
    }
    if (!session || !session->conn) {
      if (now >= next_reconnect) {
        // Another controller (or the same, restarted) while the lease lasts; never past it. It must
        // prove the same key, or it is not trusted.
        std::optional<Session> again =
            Enroll(o, std::min<std::int64_t>(lease_deadline - now, 1000), key);
        next_reconnect = MonotonicMs() + 100;
        if (again) {
          session = std::move(again);
          lease_deadline = std::max(lease_deadline, now + std::min(ttl, session->ttl_ms));
          last_fence = std::max(last_fence, session->fence_floor);
          Log(o, "re-enrolled");
          for (const std::string& note : session->orders) {
            CheckedOrder checked =
                CheckOrder(note, *verifier, last_fence, NowMs(), o.id, o.model, o.lineage);
            if (!checked.refusal) return obey(*checked.order);
          }
        }
      }
    } else if (now >= next_renew) {
      send(RenewMsg{0, o.id});
      if (session->conn) renew_sent[session->seq] = now;
      next_renew = now + renew_every;
    }
    // Sleep until a message, a child's death (signalfd) or the next renewal or deadline: an idle
    // agent wakes three times a lease, not fifty times a second.
    bool connected = session && session->conn;
    // Lines that came in the same read as the enrolment (an order sent right after it) are
    // already buffered: the socket will not wake us for them. Such an order used to wait for the
    // next renewal, TTL/3 later: the benchmark's worst round of ~1.7 s with a 5 s lease (issue 16).
    bool buffered = connected && session->conn->HasLine();
    std::int64_t until = std::min(connected ? next_renew : next_reconnect, lease_deadline);
    int wait = buffered ? 0 : static_cast<int>(std::clamp<std::int64_t>(until - MonotonicMs(), 0,
                                                                          60'000));
    pollfd p[2] = {{child_events, POLLIN, 0}, {connected ? session->conn->fd() : -1, POLLIN, 0}};
    if (poll(p, 2, wait) <= 0 && !buffered) continue;
    if (p[0].revents & POLLIN) {
      signalfd_siginfo info;
      while (read(child_events, &info, sizeof info) > 0) {
      }
    }
    bool readable = connected && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    if (!readable && !buffered) continue;
    bool open = readable ? session->conn->ReadSome() : true;
    while (std::optional<std::string> line = session->conn->NextLine()) {
      std::optional<ControllerMessage> m = Receive(o, session->key, *line);
      if (!m) continue;
      if (auto* r = std::get_if<RenewedMsg>(&*m)) {
        auto it = renew_sent.find(r->seq);
        if (it != renew_sent.end()) {
          lease_deadline = std::max(lease_deadline, it->second + ttl);
          renew_sent.erase(renew_sent.begin(), std::next(it));
        }
      } else if (auto* e = std::get_if<ErrorMsg>(&*m)) {
        Log(o, "the controller says: " + e->message);
      } else if (auto* order_msg = std::get_if<OrderMsg>(&*m)) {
        CheckedOrder checked =
            CheckOrder(order_msg->order, *verifier, last_fence, NowMs(), o.id, o.model, o.lineage);
        if (checked.refusal) {
          Log(o,
              fmt::format("refused a {} order: {}", RefusalName(*checked.refusal), checked.detail));
          send(AckMsg{0, o.id, checked.order ? checked.order->fence : 0, AckMsg::Result::kRefused,
                      std::nullopt, std::string(RefusalName(*checked.refusal)), checked.detail});
          if (!session->conn) break;
          continue;
        }
        return obey(*checked.order);
      }
    }
    if (!open || !session->conn) {
      Log(o, "lost the controller; retrying while the lease lasts");
      if (session) session->conn.reset();
      renew_sent.clear();
    }
  }
}

}  // namespace flopline::killswitch
