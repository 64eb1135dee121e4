// File: flopline/killswitch/agent.h
//
// The agent: wraps one workload, holds a lease with a controller and stops the workload when a
// valid order comes or when it cannot renew the lease in time. It fails closed:
//   - it never starts the workload before it holds a lease;
//   - it renews every TTL/3, and a lease runs from when the renewal was *sent*, so a slow reply
//     never extends it; past the deadline it stops the workload whatever the network is doing;
//   - a lost connection is retried against every controller it knows, while the lease lasts;
//   - orders are checked (signature, expiry, fence, scope) and refused ones are logged and
//   reported;
//   - every message it sends is authenticated with its credential (auth.h), and it trusts a
//     controller only once that controller has signed the agent's fresh nonce with the pinned key
//     (--pubkey) or, without one, the key it learnt at its first enrolment: a controller that
//     cannot is refused, and with no other the workload is never started or is stopped when the
//     lease ends;
//   - its fence floor is the one the controller signed at enrolment, never 0, so an order issued
//     before the agent enrolled is refused as a replay; orders still in force for its scope come
//     with the enrolment, re-issued above the floor, and it then never starts the workload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flopline/killswitch/auth.h"
#include "flopline/killswitch/net.h"
#include "flopline/killswitch/workload.h"

namespace flopline::killswitch {

struct AgentOptions {
  std::vector<Endpoint> controllers;
  std::string id, model;
  std::string deployment;            // what it serves or trains, for status (optional)
  std::vector<std::string> lineage;  // the model's ancestors, nearest first
  std::vector<std::string> command;
  std::int64_t grace_ms = 10'000;  // SIGTERM to SIGKILL
  std::optional<std::string>
      pubkey;             // pin the controller's key instead of learning it on enrolment
  Credential credential;  // agent:ID, issued by `flopline killswitch credential`
  // The workload in a cgroup of its own where the host allows it (workload.h).
  Containment containment = Containment::kAuto;
};

// Exit codes of Run(): the workload's own code if it ended by itself; 0 stopped by a valid order
// (or never started because one was in force); 3 stopped because the lease could not be renewed; 2
// never started (no lease, no controller proved its key, bad input).
int RunAgent(const AgentOptions& options);

}  // namespace flopline::killswitch
