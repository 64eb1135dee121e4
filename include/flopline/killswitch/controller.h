// File: flopline/killswitch/controller.h
//
// The controller: one epoll loop over its listening socket and every agent and client
// connection, the per-connection part of each turn spread over threads (ControllerOptions::threads). It grants and renews leases, knows which model and lineage each agent serves, signs
// shutdown orders (Ed25519, an expiry, a fencing token), pushes them to the targeted agents, and
// answers the client once every targeted workload is confirmed stopped or the timeout passes.
//
// With a Coordinator on etcd (etcd_coordinator.h) several controllers share agents, fences, orders
// and acknowledgements, so any one of them can die.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/killswitch/net.h"
#include "flopline/ledger/note.h"

namespace flopline::ledger {
class Log;
}

namespace flopline::killswitch {

// What a controller shares with the other controllers of a cluster. The local default shares
// nothing; the etcd one shares everything through etcd.
class Coordinator {
 public:
  virtual ~Coordinator() = default;
  // Fences only ever increase, across every controller of the cluster.
  virtual core::Result<std::uint64_t> NextFence() = 0;
  // An agent enrolled here, renewed here, or ended here (stopped, exited: no longer live).
  // AgentUp returns the fence floor: every fence issued so far is at or below it and every later
  // one above, so a newly enrolled agent refuses any order issued before it enrolled (a replay).
  virtual std::uint64_t AgentUp(const nlohmann::json& agent) = 0;
  virtual void AgentRenewed(const std::string& id) = 0;
  virtual void AgentDown(const std::string& id) = 0;
  // Agents enrolled at other controllers, as {"id","model","lineage"}.
  virtual std::vector<nlohmann::json> RemoteAgents() = 0;
  // Publishes an order for the other controllers to push to their agents, and an ack for the
  // controller that issued the order.
  virtual void PublishOrder(std::uint64_t fence, const std::string& note,
                            const std::vector<std::string>& targets) = 0;
  // Whether an order to `targets` (`named`: those its note names by lineage) can be published;
  // asked before it is issued, so that one that cannot is refused to its issuer, never lost.
  virtual core::Result<void> OrderFits(const std::vector<std::string>& targets,
                                       const std::vector<std::string>& named) const {
    (void)targets;
    (void)named;
    return core::Ok();
  }
  virtual void PublishAck(std::uint64_t fence, const nlohmann::json& ack) = 0;
  // Orders and acks published by other controllers since the last call.
  struct Inbound {
    std::vector<std::pair<std::string, std::vector<std::string>>> orders;  // note, targets
    std::vector<nlohmann::json> acks;                                      // each with "fence"
  };
  virtual Inbound Poll() = 0;
  // A descriptor that becomes readable when Poll() has something (-1: none).
  virtual int WakeFd() const { return -1; }
  // True when NextFence, AgentUp and RemoteAgents wait on the network (etcd): the controller then
  // calls them on a thread of their own, never on its loop, so that renewals are still answered
  // while they wait (a call can wait seconds during an election or on an unreachable member, and
  // agents fail closed when their renewals go unanswered for the lease's TTL).
  virtual bool Blocking() const { return false; }
};

std::unique_ptr<Coordinator> LocalCoordinator();

struct ControllerOptions {
  Endpoint listen;
  std::int64_t lease_ttl_ms = 5000;
  std::set<std::string> exempt;  // agent ids drained gracefully (§22603(a)(2)(B))
  std::int64_t drain_ms = 60'000;
  ledger::Log* log = nullptr;  // where orders and drills are recorded, if anywhere
  // Each model's base as the evidence store's inventory knows it (`flopline import`), read once per
  // lineage-scoped order and added to what agents declare with --lineage. Unset: agents' word only.
  // An error (the inventory does not verify against the logged imports) is never read as "no
  // bases": the order still goes to the agents whose declared lineage matches, and its report
  // carries `inventory_error` and is not complete.
  std::function<core::Result<std::map<std::string, std::string>>()> model_bases;
  // Connection limits. 0: the descriptor limit (RLIMIT_NOFILE, raised to its hard limit) less 32
  // kept for the listener, the store and etcd. Connections authenticated as agents, enrolled or
  // not, may hold all but kOperatorReserve of them, one per agent id (a new enrolment closes the
  // older connection); connections that have not authenticated are at most
  // `max_unauthenticated`, one of them is closed to make room for a new one, and each has
  // `auth_timeout_ms` to authenticate, and an agent's connection as long again to enrol: neither
  // idle sockets nor a stolen agent credential keep an operator's order out.
  std::size_t max_connections = 0;
  std::size_t max_unauthenticated = 64;
  std::int64_t auth_timeout_ms = 10'000;
  // Threads for the work of a turn that touches one connection only: sending an order to its
  // targets (signed and serialised once), and reading, authenticating and parsing what the ready
  // connections sent. What the lines do to the controller's state stays on the loop's thread, in
  // order. 0: one per core, at most 8; 1: the loop's thread alone.
  int threads = 1;
};

inline constexpr std::size_t kOperatorReserve = 8;

class Controller {
 public:
  Controller(ControllerOptions options, ledger::Signer signer,
             std::unique_ptr<Coordinator> coordinator);
  ~Controller();
  // Binds the socket; Run() then serves until Stop().
  core::Result<void> Bind();
  void Run();
  void Stop() { stopping_ = true; }
  // For tests and the fuzzer, without a listening socket: serve `fd` (a connected socket or one end
  // of a socketpair) as if it had been accepted, and run one turn of the loop, waiting up to
  // `timeout_ms` for something to happen.
  void Adopt(int fd);
  void Step(int timeout_ms);
  std::size_t connections() const;
  std::uint16_t port() const { return port_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stopping_{false};
  std::uint16_t port_ = 0;
};

}  // namespace flopline::killswitch
