// File: flopline/ledger/inventory.h
//
// The inventory tables (developers, models, lineage, training runs, events) are derived state: each
// `flopline import` logs a model-inventory record holding the rows it derived from its model files,
// and writes the tables in the same transaction. Replaying those records in log order gives the
// tables exactly; verify compares the replay with the stored tables, so a deleted lineage row or an
// edited base is reported, not silently trusted by retention or by a kill switch's lineage scope.
//
// The record's document (canonical JSON, each top-level field committed in the leaf):
//   {"models": [{"id", "developer", "base", "derivation", "foundation_model",
//                "developer_revenue_usd" (number or null)}],
//    "runs":   [{"model", "kind", "start", "flop_method", "flop", "cost_usd" (number or null)}],
//    "events": [{"model", "kind", "at"}],
//    "files":  [sha256 hex of each model file, logged as model-file records before it]}
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flopline/core/instant.h"
#include "flopline/core/result.h"
#include "flopline/ledger/storage.h"

namespace flopline::ledger {

struct InventoryDocument {
  InventoryRows rows;                    // models, runs, events (lineage and developers derived)
  std::vector<std::string> file_sha256;  // hex
};

std::string InventoryToJson(const InventoryDocument& doc);
// Every field's type checked; kDataLoss naming the first bad one.
core::Result<InventoryDocument> InventoryFromJson(std::string_view text);

// The tables as a sequence of imports leaves them (the same upsert rules as the backends').
class InventoryReplay {
 public:
  void Apply(const InventoryRows& rows);
  // The tables, in a canonical order (see Canonical).
  InventoryRows Tables() const;
  // A model's events in log order, as (kind, at); unparseable times are skipped (import checks them).
  std::vector<std::pair<std::string, core::Instant>> Events(const std::string& model) const;

 private:
  std::map<std::string, InventoryRows::Model> models_;
  std::set<std::string> developers_;
  std::map<std::pair<std::string, std::string>, std::string> lineage_;  // (base, derivative)
  std::map<std::string, std::vector<InventoryRows::Run>> runs_;
  std::map<std::string, std::vector<InventoryRows::Event>> events_;
};

// Sorts the tables the way Tables() returns them: models by id, runs and events by model (stable:
// each model's rows keep their order), lineage by (base, derivative), developers by name. A
// database's collation never decides the comparison.
InventoryRows Canonical(InventoryRows rows);
// The first difference between the tables a replay expects and those stored, as one sentence;
// nullopt when they are the same.
std::optional<std::string> InventoryDifference(const InventoryRows& expected, const InventoryRows& stored);

}  // namespace flopline::ledger
