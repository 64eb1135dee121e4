// File: flopline/killswitch/agent.h
//
// The agent: wraps one workload, holds a lease with a controller and stops the workload when a
// valid order comes or when it cannot renew the lease in time. It fails closed:
//   - it never starts the workload before it holds a lease;
//   - it renews every TTL/3, and a lease runs from when the renewal was *sent*, so a slow reply
//     never extends it; past the deadline it stops the workload whatever the network is doing;
//   - a lost connection is retried against every controller it knows, while the lease lasts;
//   - orders are checked (signature, expiry, fence, scope) and refused ones are logged and reported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flopline/killswitch/net.h"

namespace flopline::killswitch {

struct AgentOptions {
  std::vector<Endpoint> controllers;
  std::string id, model;
  std::string deployment;            // what it serves or trains, for status (optional)
  std::vector<std::string> lineage;  // the model's ancestors, nearest first
  std::vector<std::string> command;
  std::int64_t grace_ms = 10'000;    // SIGTERM to SIGKILL
  std::optional<std::string> pubkey; // pin the controller's key instead of learning it on enrolment
};

// Exit codes of Run(): the workload's own code if it ended by itself; 0 stopped by a valid order;
// 3 stopped because the lease could not be renewed; 2 never started (no lease, bad input).
int RunAgent(const AgentOptions& options);

}  // namespace flopline::killswitch
