#include "flopline/killswitch/agent.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flopline/killswitch/protocol.h"
#include "flopline/killswitch/workload.h"

namespace flopline::killswitch {
namespace {

using nlohmann::json;

void Log(const AgentOptions& o, const std::string& message) {
  std::fprintf(stderr, "flopline killswitch agent %s: %s\n", o.id.c_str(), message.c_str());
  std::fflush(stderr);
}

struct Session {
  std::unique_ptr<LineConn> conn;
  std::int64_t ttl_ms = 0;
  std::string key;
  std::uint64_t fence_floor = 0;
};

// Connects to the first controller that answers and enrols; nullopt when none does.
std::optional<Session> Enroll(const AgentOptions& o, std::int64_t timeout_ms) {
  for (const Endpoint& c : o.controllers) {
    auto fd = Connect(c, static_cast<int>(std::max<std::int64_t>(timeout_ms, 1)));
    if (!fd) continue;
    auto conn = std::make_unique<LineConn>(*fd);
    json enroll = {{"type", "enroll"}, {"id", o.id}, {"model", o.model}, {"lineage", o.lineage},
                   {"deployment", o.deployment}};
    if (!conn->SendLine(enroll.dump())) continue;
    std::optional<std::string> line = conn->ReadLine(std::max<std::int64_t>(timeout_ms, 1));
    if (!line) {
      conn->Close();
      continue;
    }
    json reply = json::parse(*line, nullptr, false);
    if (reply.is_discarded() || reply.value("type", "") != "enrolled" || !reply["ttl_ms"].is_number_integer()) {
      Log(o, fmt::format("{} refused enrolment: {}", c.ToString(), *line));
      conn->Close();
      continue;
    }
    SetNonBlocking(*fd);
    return Session{std::move(conn), reply["ttl_ms"], reply.value("key", ""), reply.value("fence", std::uint64_t{0})};
  }
  return std::nullopt;
}

}  // namespace

int RunAgent(const AgentOptions& o) {
  signal(SIGPIPE, SIG_IGN);
  std::optional<Session> session = Enroll(o, 5000);
  if (!session) {
    Log(o, "no controller answered: the workload is not started (fail closed)");
    return 2;
  }
  std::string key = o.pubkey.value_or(session->key);
  if (o.pubkey && *o.pubkey != session->key) Log(o, "the controller's key differs from --pubkey; trusting --pubkey");
  auto verifier = ledger::Verifier::Parse(key);
  if (!verifier) {
    Log(o, "no usable controller key: " + verifier.error().message);
    return 2;
  }
  const std::int64_t ttl = session->ttl_ms;
  const std::int64_t renew_every = std::max<std::int64_t>(ttl / 3, 1);
  std::int64_t now = MonotonicMs();
  std::int64_t lease_deadline = now + ttl;  // enrolment is the first renewal
  auto workload = Workload::Start(o.command);
  if (!workload) {
    Log(o, workload.error().message);
    return 2;
  }
  Log(o, fmt::format("holding a {} ms lease; workload is process group {}", ttl, workload->pgid()));
  // Workload::Start blocked SIGCHLD; its deaths are read here as events.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  int child_events = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);

  // Orders issued before we first enrolled are replays.
  std::uint64_t last_fence = session->fence_floor, seq = 0;
  std::map<std::uint64_t, std::int64_t> renew_sent;  // seq -> when it was sent
  std::int64_t next_renew = now + renew_every, next_reconnect = 0;
  auto send = [&](const json& j) {
    if (session && session->conn) {
      session->conn->Queue(j.dump());
      if (!session->conn->Flush()) session->conn.reset();
    }
  };
  // The last word before exiting: written whole (blocking), or not at all if the peer is gone.
  auto send_final = [&](const json& j) {
    if (session && session->conn) {
      session->conn->Flush();
      fcntl(session->conn->fd(), F_SETFL, fcntl(session->conn->fd(), F_GETFL) & ~O_NONBLOCK);
      session->conn->SendLine(j.dump());
    }
  };

  for (;;) {
    now = MonotonicMs();
    if (workload->Gone()) {
      int code = workload->ExitCode().value_or(0);
      send_final({{"type", "exited"}, {"id", o.id}, {"code", code}});
      Log(o, fmt::format("workload ended by itself with code {}", code));
      return code;
    }
    if (now >= lease_deadline) {
      std::int64_t stopped = workload->Stop(o.grace_ms);
      Log(o, fmt::format("lease not renewed within {} ms: workload stopped (fail closed)", ttl));
      // "fail-closed": stopped by the agent itself, confirmed, unlike a lapse the controller only
      // infers ("lease-expired").
      send_final({{"type", "ack"}, {"id", o.id}, {"fence", 0}, {"result", "fail-closed"}, {"stopped_at_ms", stopped}});
      return 3;
    }
    if (!session || !session->conn) {
      if (now >= next_reconnect) {
        // Another controller (or the same, restarted) while the lease lasts; never past it.
        std::optional<Session> again = Enroll(o, std::min<std::int64_t>(lease_deadline - now, 1000));
        next_reconnect = MonotonicMs() + 100;
        if (again) {
          if (!o.pubkey && again->key != key) {
            Log(o, "a controller with another key answered; not trusted");
          } else {
            session = std::move(again);
            lease_deadline = std::max(lease_deadline, now + std::min(ttl, session->ttl_ms));
            Log(o, "re-enrolled");
          }
        }
      }
    } else if (now >= next_renew) {
      renew_sent[++seq] = now;
      send({{"type", "renew"}, {"id", o.id}, {"seq", seq}});
      next_renew = now + renew_every;
    }
    // Sleep until a message, a child's death (signalfd) or the next renewal or deadline: an idle
    // agent wakes three times a lease, not fifty times a second.
    bool connected = session && session->conn;
    std::int64_t until = std::min(connected ? next_renew : next_reconnect, lease_deadline);
    int wait = static_cast<int>(std::clamp<std::int64_t>(until - MonotonicMs(), 0, 60'000));
    pollfd p[2] = {{child_events, POLLIN, 0}, {connected ? session->conn->fd() : -1, POLLIN, 0}};
    if (poll(p, 2, wait) <= 0) continue;
    if (p[0].revents & POLLIN) {
      signalfd_siginfo info;
      while (read(child_events, &info, sizeof info) > 0) {
      }
    }
    if (!connected || (p[1].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    bool open = session->conn->ReadSome();
    while (std::optional<std::string> line = session->conn->NextLine()) {
      json m = json::parse(*line, nullptr, false);
      std::string type = m.is_object() ? m.value("type", "") : "";
      if (type == "renewed" && m["seq"].is_number_unsigned()) {
        auto it = renew_sent.find(m["seq"].get<std::uint64_t>());
        if (it != renew_sent.end()) {
          lease_deadline = std::max(lease_deadline, it->second + ttl);
          renew_sent.erase(renew_sent.begin(), std::next(it));
        }
      } else if (type == "order" && m["order"].is_string()) {
        CheckedOrder checked =
            CheckOrder(m["order"].get<std::string>(), *verifier, last_fence, NowMs(), o.id, o.model, o.lineage);
        if (checked.refusal) {
          Log(o, fmt::format("refused a {} order: {}", RefusalName(*checked.refusal), checked.detail));
          send({{"type", "ack"}, {"id", o.id}, {"fence", checked.order ? checked.order->fence : 0},
                {"result", "refused"}, {"refusal", RefusalName(*checked.refusal)}, {"detail", checked.detail}});
          continue;
        }
        const Order& order = *checked.order;
        last_fence = order.fence;
        bool drain = std::find(order.drain.begin(), order.drain.end(), o.id) != order.drain.end();
        Log(o, fmt::format("order {} ({}): {}; {} (received {} ms after issue)", order.fence, order.scope,
                           order.reason, drain ? "draining gracefully (exempt workload)" : "stopping",
                           NowMs() - order.issued_ms));
        std::int64_t stopped = workload->Stop(drain ? std::max(order.drain_ms, o.grace_ms) : o.grace_ms);
        send_final({{"type", "ack"}, {"id", o.id}, {"fence", order.fence}, {"result", drain ? "drained" : "stopped"},
                    {"stopped_at_ms", stopped}});
        Log(o, fmt::format("workload gone at {} ms; acknowledged", stopped));
        // Our work is done: tearing this process down must not take CPU from agents on the same
        // host that are still stopping their workloads (measured: 133 -> 25 ms for 100 agents).
        setpriority(PRIO_PROCESS, 0, 19);
        return 0;
      }
    }
    if (!open) {
      Log(o, "lost the controller; retrying while the lease lasts");
      session->conn.reset();
      renew_sent.clear();
    }
  }
}

}  // namespace flopline::killswitch
