// File: flopline/rules/engine.h
//
// Judges models against regimes as of a date. For every model (bases first) and regime, it
// computes the facts (own and cumulative compute and cost along the lineage, the base's status
// under the same regime and reading, ...), evaluates the rules under every combination of readings,
// and gives the status, the clause that decided it, the margins to each threshold, the obligations
// with their due dates and state, and the maximum penalty.
//
//   Engine engine(regimes, cpi);
//   auto answers = engine.Assess(inventory, {as_of});
//
// Thread safety: an Engine is immutable after construction; Assess and Classify may run
// concurrently.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flopline/core/date.h"
#include "flopline/core/result.h"
#include "flopline/rules/inventory.h"
#include "flopline/rules/regime.h"

namespace flopline::rules {

// Annual averages of a price index, for CPI-indexed amounts (data/cpi.toml).
struct CpiSeries {
  std::string id, name, source;
  std::map<int, double> annual;  // year -> annual average
};
core::Result<std::vector<CpiSeries>> LoadCpi(const std::string& path);
core::Result<std::vector<CpiSeries>> ParseCpi(std::string_view text, const std::string& file);

// A what-if: replace a parameter's value (e.g. a threshold a regulator might set).
struct Override {
  std::string regime, param;
  double value = 0;
};

struct AssessOptions {
  core::Date as_of;
  std::vector<Override> overrides;
  std::vector<std::string> regimes;  // ids to assess; empty = all
  // When given and set (from another thread) while models are judged, each judging thread stops
  // after the model it is on, and AssessEach/AssessChunks return kUnavailable naming "stop" without
  // handing over the unfinished chunk: a server that is stopping gives up a summary of every model.
  const std::atomic<bool>* stop = nullptr;
};


struct ParamValue {
  std::string name, unit, cite;
  double value = 0;
  std::string basis;  // where the value comes from: the statute's row, a regulator, an override, CPI
};

// What is the same for every model under one regime on one date: stated once, not per model.
struct RegimeContext {
  std::string id, title, note;
  bool in_force = true;
  std::vector<ParamValue> params;
  std::vector<std::string> notes;  // parameter notes (CPI, regulator-set values) and the in-force note
  std::vector<std::string> readings;  // the combinations' names, in the order of a determination's outcomes
  std::vector<Penalty> penalties;     // a determination's `penalty` indexes these
};

struct Margin {
  std::string left, op, right;
  double value = 0, threshold = 0;
  std::string holds;   // true | false | unknown
  std::string text;    // "1.20x above", "exactly at", "2.60x below"
};

struct Step {
  std::string text;
  std::string cite;
};

struct Outcome {
  std::string reading;     // the combination of readings, or "as written"
  std::string status;      // a regime status, or "unknown" when a rule that could decide had unknown inputs
  bool covered = false;    // the status carries duties (Regime::IsCovered)
  std::string rule, cite;  // the deciding rule (empty when the default applied)
  std::string developer;   // developer of record
  std::vector<Step> explanation;
  std::vector<Margin> margins;
};

struct ObligationState {
  std::string id, cite, text, retention;
  std::optional<core::Instant> due;
  std::string state;   // met | open | overdue | met-late | not-triggered
  std::string detail;
  int index = -1;      // of the obligation in its regime (Regime::obligations)
};

// A determination is explained (Assess, or AssessEach for a model `explain` selects) or a summary.
// A summary has the same status, covered, basis, outcomes' statuses and rules, obligations and
// penalties, but no explanation steps, no parameters, no title or note, margins only for the
// first reading, and only the notes of its own (the regime's are in RegimeContext): building the
// explanations is most of the work, and nobody reads a million of them. A brief summary (what
// `assess` prints) also leaves the penalty's texts and the notes that restate them to the regime's
// RegimeContext::penalties, naming the one that applies by `penalty`.
struct Determination {
  bool explained = true;
  std::string regime, title, note;
  bool in_force = true;
  std::string status;          // the status every reading agrees on, or "depends-on-reading"
  std::optional<bool> covered; // nullopt when unknown or when readings disagree on it
  std::vector<std::string> basis;
  std::vector<Outcome> outcomes;  // one per combination of readings
  std::vector<ParamValue> params;
  std::vector<ObligationState> obligations;
  std::optional<double> penalty_first, penalty_subsequent;
  std::string penalty_currency, penalty_cite;
  std::string penalty_condition;  // which violations the figure is for; empty = every violation
  std::string penalty_otherwise;  // the remedies for the others
  int penalty = -1;               // the regime's penalty (an index into RegimeContext::penalties), -1 none
  std::vector<std::string> notes;  // explained: the regime's notes first, then the model's own
};

struct ModelAnswer {
  std::string id, developer;
  double own_flop = 0, cumulative_flop = 0;
  std::optional<double> own_cost_usd, cumulative_cost_usd;
  std::vector<Determination> determinations;
};

class Engine {
 public:
  Engine(std::vector<Regime> regimes, std::vector<CpiSeries> cpi)
      : regimes_(std::move(regimes)), cpi_(std::move(cpi)) {}

  const std::vector<Regime>& regimes() const { return regimes_; }

  // Full answers, with explanations. Errors: an override or regime id that does not exist, or an
  // override that is not a finite number, zero or more.
  core::Result<std::vector<ModelAnswer>> Assess(const Inventory& inventory, const AssessOptions& options) const;

  // The answers one model at a time, in the inventory's order, without holding them all: statuses
  // along the lineage first (one pass, bases first), then determinations in chunks judged on
  // `threads` threads, each chunk handed to `sink` in order before the next is built. A model is
  // explained when `explain(model index)` is true (no function: none is), else summarised. Stops
  // early, without error, when `sink` returns false.
  core::Result<void> AssessEach(const Inventory& inventory, const AssessOptions& options,
                                const std::function<bool(std::size_t)>& explain,
                                const std::function<bool(std::size_t, const ModelAnswer&)>& sink,
                                unsigned threads = 1) const;

  // What AssessChunks's summaries (the models `explain` does not select) carry: kFull, everything a
  // summary Determination has (AssessEach's); kBrief, only what the summary table and JSON print:
  // the obligations reduced to the next deadline (NextDeadline gives the same one), with no details,
  // so that a million models cost almost no strings. Statuses, readings, basis, margins, penalty
  // and notes are the same in both.
  enum class Summaries { kFull, kBrief };

  // AssessEach a chunk at a time: `chunk(first, answers)` gets consecutive models (answers[i] is
  // model first + i), in order, valid until it returns; for callers that print a chunk on several
  // threads. Stops early, without error, when `chunk` returns false.
  //
  // `judged(part, index, answer)`, when given, is called on the judging thread as soon as each model
  // is judged, while its answer is still in that core's cache: `part` (0 to threads - 1) numbers the
  // chunk's consecutive runs of models in order, one per thread, so a caller that appends to one
  // buffer per part and writes the buffers in part order when `chunk` is called keeps the models'
  // order. (Printing a chunk after it is judged reads every answer again from memory.)
  core::Result<void> AssessChunks(const Inventory& inventory, const AssessOptions& options,
                                  const std::function<bool(std::size_t)>& explain,
                                  const std::function<bool(std::size_t, std::span<const ModelAnswer>)>& chunk,
                                  unsigned threads, Summaries summaries,
                                  const std::function<void(unsigned, std::size_t, const ModelAnswer&)>& judged = {}) const;

  // The regime-wide values and notes of the regimes `options` selects, in order.
  core::Result<std::vector<RegimeContext>> Context(const AssessOptions& options) const;

  // Statuses only (the first combination of readings' status per model and regime, indexed
  // [regime][model]): the fast path for large lineages.
  core::Result<std::vector<std::vector<int>>> Classify(const Inventory& inventory, const AssessOptions& options) const;

 private:
  std::vector<Regime> regimes_;
  std::vector<CpiSeries> cpi_;
};

// `flopline assess --compare A,B`: how two regime versions (ca-sb1047@2024-05-16 against
// ca-sb1047, or any two regimes) differ per model: status, coverage, duties and penalty.
struct VersionRow {
  std::string model;
  std::string status[2];
  std::optional<bool> covered[2];
  std::vector<std::string> duties_only[2];  // obligation ids owed under one version and not the other
  std::optional<double> penalty_first[2];
  std::string penalty_currency[2];
  bool differs = false;                     // any of the above differs
};
struct VersionComparison {
  std::string regime[2];
  std::vector<VersionRow> rows;             // one per model, in inventory order
};
// Errors: an unknown regime id (as Assess), or the same id twice.
core::Result<VersionComparison> CompareVersions(const Engine& engine, const Inventory& inventory, AssessOptions options,
                                                const std::string& left, const std::string& right);

}  // namespace flopline::rules
