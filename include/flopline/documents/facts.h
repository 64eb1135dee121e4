// File: flopline/documents/facts.h
//
// The facts a document is filled from, each with its source: a record of the evidence log (its
// index and leaf hash, and the field the value is), or the engine's determination (regime, version,
// date, rule, clause). Nothing is taken from a stored column the log does not vouch for: every
// record is read through ledger::Log::Produce (leaf hash, inclusion in the signed checkpoint that
// covers it, document opening its commitment).
//
//   FL_ASSIGN_OR_RETURN(Evidence ev, LoadEvidence(log, storage, "acme-f1", as_of, accelerators, prices));
//   FL_ASSIGN_OR_RETURN(FactSet facts, GatherFacts(ev, engine, kind, as_of));
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/compute/accelerators.h"
#include "flopline/compute/prices.h"
#include "flopline/core/date.h"
#include "flopline/core/instant.h"
#include "flopline/core/result.h"
#include "flopline/documents/kinds.h"
#include "flopline/ledger/log.h"
#include "flopline/rules/engine.h"
#include "flopline/rules/inventory.h"

namespace flopline::documents {

// One logged record, produced (checked) from the log.
struct LoggedRecord {
  std::uint64_t index = 0;
  std::string leaf_hash;  // base64, as `flopline ledger` prints it
  std::string kind;
  core::Instant recorded_at;
  bool in_checkpoint = false;             // a signed checkpoint includes it
  std::optional<nlohmann::json> fields;   // the document, when it is a JSON object
  std::size_t size = 0;                   // document bytes
  std::string content_sha256;             // hex
};

// What the store holds about one model, as of a date (records recorded after its end are left out).
struct Evidence {
  std::string model;
  std::uint64_t log_size = 0;
  rules::Inventory inventory;                  // parsed from the logged model files
  std::map<std::string, LoggedRecord> files;   // inventory file name ("ledger entry N") -> its record
  std::vector<LoggedRecord> records;           // the model's records, in log order
  std::vector<LoggedRecord> drills;            // shutdown drills whose scope reaches the model
  std::vector<std::string> warnings;           // e.g. records no signed checkpoint covers yet
};

// kNotFound (field "--model") when no import recorded before the end of `as_of` holds the model;
// kDataLoss when a record fails its checks; kFailedPrecondition when the logged model files can no
// longer be read (e.g. a stage computed from a config file, which the log does not hold).
core::Result<Evidence> LoadEvidence(ledger::Log& log, ledger::Storage& storage, const std::string& model,
                                    core::Date as_of, const compute::AcceleratorTable& accelerators,
                                    const compute::PriceTable& prices);

struct Source {
  std::string type;  // "record" or "determination"
  std::uint64_t index = 0;
  std::string leaf_hash, record_kind, recorded_at, field;  // record
  std::string text;                                       // determination: regime, version, date, rule
};

struct Fact {
  std::string fact;   // the vocabulary id, e.g. "record.test-results"
  std::string label, value;
  Source source;
  std::string stale;  // why the evidence is stale; empty when it is not
};

struct FactSet {
  std::string status;                  // the model's status under the kind's regime
  std::string regime_title, regime_version;
  std::map<std::string, std::vector<Fact>> facts;  // by vocabulary id; absent when nothing fills it
};

core::Result<FactSet> GatherFacts(const Evidence& evidence, const rules::Engine& engine, const DocumentKind& kind,
                                  core::Date as_of);

}  // namespace flopline::documents
