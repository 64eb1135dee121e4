// File: flopline/rules/regime.h
//
// A regime version loaded from regimes/<id>.toml (docs/regimes.md is the authoring guide): dated
// parameters, readings of the statute's ambiguities, rules that assign a status, obligations with
// their clocks, and penalties. Everything is checked at load (unknown keys, types of every `when`,
// unknown statuses, readings, events) with errors at file:line:column.
//
// Readings: where the text is ambiguous, a regime declares readings grouped by ambiguity (e.g. A3
// "cumulative compute": own stages only, or along the lineage). Each reading binds aliases used in
// the rules ("compute" -> "cumulative_flop"), or enables rules of its own (`only_under`). The engine
// evaluates every combination of one reading per ambiguity and reports each distinct answer.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/date.h"
#include "flopline/core/result.h"
#include "flopline/rules/expr.h"

namespace flopline::rules {

// The facts every regime's rules may use; the engine computes them per model (engine.h).
// `base_status` takes the regime's statuses (plus "none"), so it is added per regime.
FactSchema StandardFacts();
inline const std::vector<std::string> kDerivations = {"pretrain", "fine-tune", "post-training-modification",
                                                      "copy", "combination", "distillation"};
inline const std::vector<std::string> kEventKinds = {
    "training-started", "training-ended", "released", "incident-discovered", "incident-reported",
    "imminent-risk-discovered", "authority-notified", "ssp-published", "ssp-modified", "ssp-update-published",
    "ssp-reviewed", "audit-report-filed", "statement-filed", "framework-published", "framework-modified",
    "framework-update-published", "framework-reviewed", "transparency-report-published",
    "internal-use-summary-sent", "commission-notified", "cybersecurity-attested", "shutdown-drill",
    "capability-assessment-recorded", "technical-documentation-prepared", "safeguards-reevaluated", "withdrawn",
    // Use "for a purpose not exclusively related to the training or reasonable evaluation" of the
    // model (SB 1047 §22603(b)): duties that wait for release also wait for this.
    "internal-use",
    // A pre-training estimate that the EU systemic-risk line will be met: it "becomes known" then
    // (Art. 52(1); GPAI Guidelines para 31).
    "compute-estimated",
    "senior-personnel-designated", "safeguards-implemented", "attribution-implemented",
    "disclosure-statement-filed", "ownership-transferred", "disclosure-information-changed",
    "authorised-representative-appointed", "copyright-policy-adopted", "training-content-summary-published",
    "downstream-information-prepared", "systemic-risk-assessed", "serious-incident-reported",
    // SB 1047's earlier versions (regimes/ca-sb1047@*.toml): the introduced text's positive safety
    // determination and the Senate version's limited duty exemption, which relieved a covered model
    // of the pre-training duties; "all covered guidance"; the certification of compliance.
    "positive-safety-determination", "limited-duty-exemption", "covered-guidance-implemented",
    "certification-filed"};

// What a cost of training may consist of. Only "compute-market" (the stages' compute at cloud
// market prices, what `cost_usd` facts hold) can count toward a cost test; a regime lists each
// component with the clause that counts or excludes it (SB 1047 §22602(e)(1)(A)(i)).
inline const std::vector<std::string> kCostComponents = {"compute-market", "other-compute", "data", "people",
                                                         "earlier-runs"};

struct CostComponent {
  std::string component;
  bool counts = false;
  std::string cite;  // the clause, and why it counts or does not
};

struct DatedValue {
  core::Date from;
  double value = 0;
  std::string source;  // e.g. the regulation that set it
  // When a body must approve a regulator's value before it takes effect (SB 1047: the Board of
  // Frontier Models, Gov. Code §11547.6), the date of that approval; a value without it is not used.
  std::optional<core::Date> approved;
};

struct Parameter {
  std::string name, unit, cite;
  std::vector<DatedValue> values;             // ascending by `from`
  std::optional<int> cpi_indexed_from;        // first calendar year whose amount is adjusted
  std::string cpi_series;                     // id in data/cpi.toml
  std::optional<core::Date> regulator_may_set_from;  // a regulator's value replaces the statute's from then
  std::string regulator_note;
  std::string regulator_approval;  // who must approve a regulator's value first; empty = nobody
  // Set on the parameter "<name>_set_by_regulator" that the loader adds for every parameter a
  // regulator may set: its value is 1 while a regulator's value of <name> is in force, else 0, so
  // a rule can follow the statute's change of test ("equal to or greater than" -> "exceeds").
  std::string regulator_flag_of;
  std::string secondary;  // non-empty: read from a secondary source, named here (shown with the value)
};

struct Reading {
  std::string id, ambiguity, text;
  std::vector<std::pair<std::string, std::string>> bind;  // alias -> standard fact
};

struct Rule {
  std::string id, status, cite, text;
  std::string developer = "self";          // whose duty: "self" or "base" (the base model's developer)
  std::vector<std::string> only_under;     // reading ids; empty = every reading
  std::string ambiguity;                   // flagged in the answer when this rule decides
  std::string secondary;                   // non-empty: read from a secondary source (an analysis, not the
                                           // bill's text), named here; shown when the rule decides
  std::string when;
  core::Location where;                    // of the `when` string
};

struct Obligation {
  // kBefore: due at the first trigger. kWithin: due a delay after each trigger. kEvery: due at the
  // end of each period (months) counted from the first trigger (or `from`, whichever is later).
  enum class Clock { kBefore, kWithin, kEvery };
  // What a trigger that happened before `from` does: the law does not reach back (kExcused: no
  // duty arises from it), or a transitional rule gives the duty a start (kClockFromStart: the
  // clock runs from `from`, e.g. EU Art. 52(1) for a model already over the line; kDueAtStart: due
  // on `from`, e.g. a framework a developer must have from the law's start; kDueOn: due on
  // `earlier_due`, e.g. EU Art. 111(3)).
  enum class Earlier { kExcused, kClockFromStart, kDueAtStart, kDueOn };
  std::string id, cite, text;
  std::vector<std::string> applies_to;     // statuses
  Clock clock = Clock::kWithin;
  std::string trigger;                     // the trigger events as written ("released or internal-use")
  std::vector<std::string> triggers;       // event kinds; the first of any starts (or, for kBefore, ends) the clock
  std::chrono::seconds delay{0};           // kWithin: hours, days, weeks
  int delay_months = 0;                    // kWithin: months; kEvery: the period
  bool without_undue_delay = false;        // kWithin with no fixed period in the text (EU Art. 55(1)(c))
  bool period_unknown = false;             // kWithin whose period no source read gives (`within = "unknown"`):
                                           // shown open, never overdue by an invented date
  std::string exempt_by;                   // an event kind that relieves the model of this duty (SB 1047's
                                           // earlier versions: a positive safety determination, a limited
                                           // duty exemption); empty = none
  std::string met_by;                      // event kind that discharges it; empty = not trackable
  std::optional<core::Date> from;          // the duty exists from this date (default: the regime's in_force_from)
  Earlier earlier = Earlier::kExcused;
  std::optional<core::Date> earlier_due;   // kDueOn
  std::string earlier_cite;                // the transitional clause
  std::string when;                        // a condition on the model's facts; empty = always
  std::string when_text;                   // the condition in words, shown when it does not hold
  core::Location where;                    // of `when`
  std::string source;                      // not law: e.g. "Code of Practice"; shown with the duty
  std::string secondary;                   // non-empty: read from a secondary source, named here; shown
  std::string retention;                   // documents: how long to keep (shown, not computed)
};

struct Penalty {
  std::vector<std::string> applies_to;
  std::string cite, currency = "USD";
  std::optional<core::Date> from;          // violations on or after
  std::string first, subsequent;           // number expressions, e.g. "0.10 * cost_usd"
  std::string condition;                   // which violations the figure is for ("causes death or ...")
  std::string otherwise;                   // the remedies for other violations
  std::string secondary;                   // non-empty: read from a secondary source; shown
  core::Location where;
};

// A compute line of the statute, for `flopline forecast threshold`: the FLOP parameter and, where
// the statute has a cost conjunct ("> 10^26 and > $100M"), the cost parameter.
struct Line {
  std::string name;        // e.g. "covered model"
  std::string flop_param;  // a parameter of this regime
  std::string cost_param;  // empty when the line has no cost test
};

class Regime {
 public:
  // `file` is used in messages. Errors: kInvalidArgument at file:line:column naming the field.
  static core::Result<Regime> Parse(std::string_view text, const std::string& file);
  static core::Result<Regime> Load(const std::string& path);

  std::string id, title, note, source;
  core::Date version;
  std::optional<core::Date> in_force_from;
  std::vector<std::string> statuses;           // precedence: the first matching wins
  std::string default_status;                  // when no rule applies
  std::vector<std::string> covered_statuses;   // statuses that carry duties
  std::vector<Parameter> params;
  std::vector<Reading> readings;
  std::vector<Rule> rules;
  std::vector<Obligation> obligations;
  std::vector<Penalty> penalties;
  std::vector<Line> lines;
  std::vector<CostComponent> cost_components;  // empty: the regime has no cost test
  // What no source read says for this version (a penalty amount, a deadline): shown with every
  // answer, so a missing duty or figure is never read as "none".
  std::vector<std::string> unknowns;
  // A superseded version (an id with '@', e.g. ca-sb1047@2024-05-16) is assessed only when named.
  bool Superseded() const { return id.find('@') != std::string::npos; }

  // One combination of readings: an index into `readings` per ambiguity group (empty if none).
  using Combination = std::vector<int>;
  const std::vector<Combination>& combinations() const { return combinations_; }
  std::string CombinationName(std::size_t c) const;  // "A3-cumulative, A2-literal" or "as written"
  const FactSchema& schema(std::size_t c) const { return schemas_[c]; }
  // The rules compiled under combination c (rules not enabled under it are absent: nullopt).
  const std::vector<std::optional<Expr>>& compiled_rules(std::size_t c) const { return compiled_[c]; }
  // Penalty expressions compiled under combination c, two per penalty (first, subsequent).
  const std::vector<Expr>& compiled_penalties(std::size_t c) const { return compiled_penalties_[c]; }
  // Obligation conditions compiled under combination c (nullopt for an obligation without one).
  const std::vector<std::optional<Expr>>& compiled_obligations(std::size_t c) const { return compiled_obligations_[c]; }
  int ParamIndex(std::string_view name) const;
  // The value of parameter `name` in force on `date`, before any CPI indexing (the statute's figure).
  double StatutoryValue(std::string_view name, core::Date date) const;
  std::vector<std::string> ParamNames() const;
  bool IsCovered(std::string_view status) const;

 private:
  std::vector<Combination> combinations_;
  std::vector<FactSchema> schemas_;
  std::vector<std::vector<std::optional<Expr>>> compiled_;
  std::vector<std::vector<Expr>> compiled_penalties_;
  std::vector<std::vector<std::optional<Expr>>> compiled_obligations_;
  friend core::Result<void> CompileRegime(Regime& regime, const std::string& file);
};

// Every *.toml in `dir`, sorted by file name. kNotFound when there is none.
core::Result<std::vector<Regime>> LoadRegimeDir(const std::string& dir);

}  // namespace flopline::rules
