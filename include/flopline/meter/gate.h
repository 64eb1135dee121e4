// File: flopline/meter/gate.h
//
// Gate mode: before a run crosses a line whose prior duties are not met (a "before" duty of the
// regime not recorded as met, or any duty overdue: WatchedLine::DutiesUnmet), the meter asks the
// kill switch to stop the run's agents: one authenticated shutdown order through the existing
// controller with the operator credential, carrying the reason (the controller signs the order,
// reason included, with its Ed25519 key and a fencing token; agents marked exempt drain). The
// order and the controller's report are recorded in the ledger as a shutdown-order record.
//
// The gate acts on an alert (alerts.h): at the gate's fraction of a line (default 95%, added to the
// alert levels), when the line "will be met within T", or when it is crossed; once per line, since
// each alert fires once. A line whose duties are met is never gated.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "flopline/core/instant.h"
#include "flopline/core/result.h"
#include "flopline/killswitch/auth.h"
#include "flopline/ledger/log.h"
#include "flopline/meter/alerts.h"

namespace flopline::meter {

struct GateOptions {
  std::string controllers;              // ADDR:PORT[,...]
  killswitch::Credential credential;    // the operator's
  std::string scope;                    // empty: model:<the run's model>
  double at_fraction = 0.95;            // gate at this fraction of a line (an alert level)
  std::int64_t timeout_ms = 30'000;     // how long the controller may take to confirm the stop
};

struct GateOrder {
  std::string scope, reason;
  nlohmann::json report;                // the controller's report (fence, targeted, stopped, ...)
  bool complete = false;                // every targeted workload confirmed stopped, and some were
};

// Whether `alert` calls for the gate: its line's prior duties are unmet and it is the gate's
// fraction or beyond, a "within" alert, or the crossing.
bool GateApplies(const GateOptions& options, const Alert& alert);
// The order's reason, at most killswitch::kMaxReasonBytes: the run, the line and its clause, the
// fraction, and the unmet duties with their clauses.
std::string GateReason(const Alert& alert);
// Sends the order and, with `log`, records it (kind shutdown-order: scope, reason, the controller's
// report, the alert). Errors: the controller's (kUnavailable, kFailedPrecondition) or the ledger's.
core::Result<GateOrder> Stop(const GateOptions& options, const Alert& alert, ledger::Log* log, core::Instant now);

}  // namespace flopline::meter
