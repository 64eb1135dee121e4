// File: flopline/killswitch/protocol.h
//
// The shutdown control plane's wire protocol and its signed orders.
//
// Agents, controllers and clients speak newline-delimited JSON over TCP: one object per line, with
// a "type" (enroll, enrolled, renew, renewed, order, ack, exited, shutdown, report, status,
// agents). Connections are long-lived, so a controller pushes an order to a thousand agents without
// waiting for them to poll.
//
// An order is a C2SP signed note (ledger/note.h, Ed25519) whose text is one line of canonical JSON:
//   {"drain":[ids],"drain_ms":N,"expires_ms":T,"fence":F,"issued_ms":T0,"reason":"..","scope":"..",
//    "targets":[ids]}
// `targets` names the agents the scope reaches only through lineage the controller knows and the
// agent did not declare (the store's inventory); an agent acts if the scope includes it or the list
// names it. Usually empty, so an order to a thousand agents stays small.
// `fence` is the fencing token: it only ever increases, and an agent acts on an order only if its
// fence is above every fence it has acted on, so a replayed or reordered order is refused. `drain`
// lists the exempt workloads whose stop is a documented graceful drain (SB 1047 §22603(a)(2)(B)).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/ledger/note.h"

namespace flopline::killswitch {

// `text` fit for one log line: control characters (newlines included) and DEL as \n, \r, \t or
// \xNN, and backslashes doubled, so that a peer's string can neither forge nor split a line. Every
// log line of the controller, agent and etcd coordinator passes through it.
std::string Printable(std::string_view text);

// Milliseconds since the Unix epoch (system clock): orders carry wall-clock expiries.
std::int64_t NowMs();
// Milliseconds on the monotonic clock: leases and timeouts, immune to clock steps.
std::int64_t MonotonicMs();

// Which agents an order targets: all, agent:ID, model:ID, lineage:ID (the model and every model
// derived from it).
struct Scope {
  enum class Kind { kAll, kAgent, kModel, kLineage };
  Kind kind = Kind::kAll;
  std::string id;

  static core::Result<Scope> Parse(std::string_view text);
  std::string ToString() const;
  // `lineage` is the agent's model's ancestors, nearest first.
  bool Matches(const std::string& agent, const std::string& model,
               const std::vector<std::string>& lineage) const;
};

struct Order {
  std::uint64_t fence = 0;
  std::string scope;
  std::string reason;
  std::int64_t issued_ms = 0, expires_ms = 0;
  std::vector<std::string> drain;  // agent ids to drain gracefully instead of stopping
  std::int64_t drain_ms = 0;
  std::vector<std::string> targets;  // agents included through lineage they did not declare

  std::string Text() const;  // the note text: canonical JSON and a newline
  static core::Result<Order> ParseText(std::string_view text);
};

core::Result<std::string> SignOrder(const Order& order, const ledger::Signer& signer);

// Why an agent refuses an order, or nullopt when it must act on it.
enum class Refusal { kForged, kExpired, kReplayed, kNotForMe };
std::string_view RefusalName(Refusal r);
struct CheckedOrder {
  std::optional<Order> order;
  std::optional<Refusal> refusal;
  std::string detail;
};
CheckedOrder CheckOrder(std::string_view signed_note, const ledger::Verifier& verifier,
                        std::uint64_t last_fence, std::int64_t now_ms, const std::string& agent,
                        const std::string& model, const std::vector<std::string>& lineage);

}  // namespace flopline::killswitch
