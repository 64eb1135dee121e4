#include "flopline/rules/engine.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>
#include <type_traits>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "flopline/core/format.h"
#include "flopline/core/toml_fields.h"
#include "flopline/rules/determination_json.h"

namespace flopline::rules {
namespace {

using core::Result;

// Derivations that keep the base's weights: their compute adds to the base's (SB 53 §22757.11(i)(2),
// EU recital 111). A distilled student does not inherit its teacher's training (EU-GL Annex A C3).
bool InheritsCompute(const std::string& derivation) {
  return derivation == "fine-tune" || derivation == "post-training-modification" || derivation == "copy" ||
         derivation == "combination";
}

// Per-model facts that do not depend on the regime.
struct ModelFacts {
  double own_flop = 0, cumulative_flop = 0, lineage_flop = 0, finetune_flop = 0, base_flop = 0;
  std::optional<double> own_cost, cumulative_cost, lineage_cost, finetune_cost;
  bool same_developer = false;  // the base has this model's developer
  // The derivation's index in kDerivations, which is the `derivation` fact's value list in every
  // schema (StandardFacts): found once here rather than by name for every regime and reading.
  int derivation = -1;
};

std::optional<double> Sum(std::optional<double> a, std::optional<double> b) {
  return (a && b) ? std::optional<double>(*a + *b) : std::nullopt;
}

std::vector<ModelFacts> ComputeFacts(const Inventory& inv) {
  std::vector<ModelFacts> out(inv.models.size());
  for (int i : inv.order) {
    const Model& m = inv.models[static_cast<std::size_t>(i)];
    ModelFacts& f = out[static_cast<std::size_t>(i)];
    bool cost_known = true, finetune_cost_known = true;
    double cost = 0, finetune_cost = 0;
    for (const TrainingStage& s : m.training) {
      f.own_flop += s.flop;
      cost_known = cost_known && s.cost_usd.has_value();
      cost += s.cost_usd.value_or(0);
      if (s.kind == "fine-tune" || s.kind == "rl") {
        f.finetune_flop += s.flop;
        finetune_cost_known = finetune_cost_known && s.cost_usd.has_value();
        finetune_cost += s.cost_usd.value_or(0);
      }
    }
    if (cost_known) f.own_cost = cost;
    if (finetune_cost_known) f.finetune_cost = finetune_cost;
    f.cumulative_flop = f.lineage_flop = f.own_flop;
    f.cumulative_cost = f.lineage_cost = f.own_cost;
    const auto derivation = std::find(kDerivations.begin(), kDerivations.end(), m.derivation);
    f.derivation = derivation == kDerivations.end() ? -1 : static_cast<int>(derivation - kDerivations.begin());
    int base = inv.base_index[static_cast<std::size_t>(i)];
    if (base >= 0) {
      const ModelFacts& b = out[static_cast<std::size_t>(base)];
      f.base_flop = b.cumulative_flop;
      f.same_developer = inv.models[static_cast<std::size_t>(base)].developer == m.developer;
      if (InheritsCompute(m.derivation)) {
        f.cumulative_flop += b.cumulative_flop;
        f.cumulative_cost = Sum(f.own_cost, b.cumulative_cost);
        if (inv.models[static_cast<std::size_t>(base)].developer == m.developer) {
          f.lineage_flop += b.lineage_flop;
          f.lineage_cost = Sum(f.own_cost, b.lineage_cost);
        }
      }
    }
  }
  return out;
}

// Where each standard fact lives in a schema, resolved once per schema instead of by name per model.
struct FactSlots {
  int own_flop, own_cost, cumulative_flop, cumulative_cost, lineage_flop, lineage_cost, finetune_flop,
      finetune_cost, base_flop, revenue, foundation, has_base, base_covered, derivation, base_status, same_developer,
      open_source, eu_established, turnover_eur, covered_model_cost;
  explicit FactSlots(const FactSchema& s)
      : own_flop(s.Find("own_flop")), own_cost(s.Find("own_cost_usd")), cumulative_flop(s.Find("cumulative_flop")),
        cumulative_cost(s.Find("cumulative_cost_usd")), lineage_flop(s.Find("developer_lineage_flop")),
        lineage_cost(s.Find("developer_lineage_cost_usd")), finetune_flop(s.Find("finetune_flop")),
        finetune_cost(s.Find("finetune_cost_usd")), base_flop(s.Find("base_flop")),
        revenue(s.Find("developer_revenue_usd")), foundation(s.Find("foundation_model")), has_base(s.Find("has_base")),
        base_covered(s.Find("base_covered")), derivation(s.Find("derivation")), base_status(s.Find("base_status")),
        same_developer(s.Find("same_developer_as_base")), open_source(s.Find("open_source")),
        eu_established(s.Find("eu_established")), turnover_eur(s.Find("developer_turnover_eur")),
        covered_model_cost(s.Find("covered_model_cost_usd")) {}
};

// Fills the standard facts (and base_status) for one model under one schema.
void FillFacts(const FactSchema& schema, const FactSlots& at, const Model& m, const ModelFacts& f, int base_status,
               bool base_covered, bool base_known, int derivation_value, FactValues& v) {
  const std::size_t n = schema.size();
  v.numbers.assign(n, 0);
  v.known.assign(n, 1);
  v.strings.assign(n, 0);
  v.bools.assign(n, 0);
  auto number = [&](int i, std::optional<double> value) {
    v.numbers[static_cast<std::size_t>(i)] = value.value_or(0);
    v.known[static_cast<std::size_t>(i)] = value.has_value();
  };
  number(at.own_flop, f.own_flop);
  number(at.own_cost, f.own_cost);
  number(at.cumulative_flop, f.cumulative_flop);
  number(at.cumulative_cost, f.cumulative_cost);
  number(at.lineage_flop, f.lineage_flop);
  number(at.lineage_cost, f.lineage_cost);
  number(at.finetune_flop, f.finetune_flop);
  number(at.finetune_cost, f.finetune_cost);
  number(at.base_flop, m.base.empty() ? std::optional<double>() : f.base_flop);
  number(at.revenue, m.developer_revenue_usd);
  v.bools[static_cast<std::size_t>(at.foundation)] = m.foundation_model;
  v.bools[static_cast<std::size_t>(at.has_base)] = !m.base.empty();
  v.bools[static_cast<std::size_t>(at.base_covered)] = base_covered;
  v.known[static_cast<std::size_t>(at.base_covered)] = m.base.empty() || base_known;
  v.strings[static_cast<std::size_t>(at.derivation)] = derivation_value;
  v.strings[static_cast<std::size_t>(at.base_status)] = base_status;
  v.known[static_cast<std::size_t>(at.base_status)] = m.base.empty() || base_known;
  v.bools[static_cast<std::size_t>(at.same_developer)] = f.same_developer;
  v.bools[static_cast<std::size_t>(at.open_source)] = m.open_source;
  v.bools[static_cast<std::size_t>(at.eu_established)] = m.eu_established.value_or(false);
  v.known[static_cast<std::size_t>(at.eu_established)] = m.eu_established.has_value();
  number(at.turnover_eur, m.developer_turnover_eur);
  number(at.covered_model_cost, std::nullopt);  // filled where a penalty is computed
}

// Fills `v` with model m's facts under one combination of readings, given its base's status there
// (-1 when unknown; the number of statuses, "none", when it has no base).
// `covered`, when given, is IsCovered per status index (RegimeRun::covered), so that the lineage
// pass compares no names.
void FillFor(const Regime& r, const FactSchema& schema, const FactSlots& slots, const Model& m, const ModelFacts& f,
             int base_status, FactValues& v, const std::vector<char>* covered = nullptr) {
  const int none = static_cast<int>(r.statuses.size());
  const bool base_known = base_status >= 0;
  const auto at = static_cast<std::size_t>(base_status);
  const bool base_covered =
      base_known && base_status < none && (covered ? (*covered)[at] != 0 : r.IsCovered(r.statuses[at]));
  FillFacts(schema, slots, m, f, base_known ? base_status : none, base_covered, base_known, f.derivation, v);
}

// ---- parameters as of a date ----

const CpiSeries* FindCpi(const std::vector<CpiSeries>& cpi, const std::string& id) {
  for (const auto& s : cpi) {
    if (s.id == id) return &s;
  }
  return nullptr;
}

// The row of `p` in force on `as_of`. A regulator's value that needs another body's approval takes
// effect only once approved (SB 1047: Gov. Code §11547.6, the Board of Frontier Models); until
// then the previous value holds, and `notes` (when given) says why.
const DatedValue* RowInForce(const Parameter& p, core::Date as_of, std::vector<std::string>* notes) {
  const DatedValue* row = &p.values.front();
  for (const DatedValue& v : p.values) {
    if (v.from > as_of) continue;
    const bool regulator_row = p.regulator_may_set_from && v.from >= *p.regulator_may_set_from;
    if (regulator_row && !p.regulator_approval.empty() && (!v.approved || *v.approved > as_of)) {
      if (notes) {
        notes->push_back(fmt::format("{}: the value {} set from {} ({}) is not used: it needs the approval of {} first{}",
                                     p.name, core::Sci3(v.value), v.from.ToString(), v.source, p.regulator_approval,
                                     v.approved ? fmt::format(" (approved {})", v.approved->ToString()) : " (none recorded)"));
      }
      continue;
    }
    row = &v;
  }
  return row;
}

ParamValue ValueAt(const Regime& r, const Parameter& p, core::Date as_of, const std::vector<Override>& overrides,
                   const std::vector<CpiSeries>& cpi, std::vector<std::string>& notes) {
  ParamValue out{p.name, p.unit, p.cite, 0, ""};
  if (!p.regulator_flag_of.empty()) {
    // 1 when the value of `regulator_flag_of` in force was set by the regulator: the statute's
    // test can change with it (SB 1047 §22602(e)(1)(B)(i)(II): the threshold must be "exceeded").
    const Parameter& of = r.params[static_cast<std::size_t>(r.ParamIndex(p.regulator_flag_of))];
    const DatedValue* row = RowInForce(of, as_of, nullptr);
    const bool by_regulator = row && of.regulator_may_set_from && row->from >= *of.regulator_may_set_from;
    out.value = by_regulator ? 1 : 0;
    out.basis = by_regulator ? fmt::format("{} (from {})", row->source, row->from.ToString())
                          : fmt::format("no regulator value of {} in force", of.name);
    for (const Override& o : overrides) {
      if (o.regime == r.id && o.param == p.name) {
        out.value = o.value;
        out.basis = "what-if override (--set)";
      }
    }
    return out;
  }
  const DatedValue* row = RowInForce(p, as_of, &notes);
  out.value = row->value;
  out.basis = row->source.empty() ? fmt::format("{} (in force from {})", p.cite, row->from.ToString())
                                  : fmt::format("{} (from {})", row->source, row->from.ToString());
  if (p.values.front().from > as_of) {
    notes.push_back(fmt::format("{}: {} is before the first dated value ({}); that value is used", p.name,
                                as_of.ToString(), p.values.front().from.ToString()));
  }
  if (p.regulator_may_set_from && as_of >= *p.regulator_may_set_from && row->from < *p.regulator_may_set_from) {
    notes.push_back(fmt::format("{}: from {} a regulator may set this value ({}); none is recorded, so the statutory "
                                "value applies",
                                p.name, p.regulator_may_set_from->ToString(), p.regulator_note));
  }
  if (p.cpi_indexed_from && as_of.year() >= *p.cpi_indexed_from) {
    // Each January 1 from the first indexed year, adjust by the change in the annual average over
    // the preceding calendar year, to the nearest $100 (SB 1047 §22602(e)(2)).
    const CpiSeries* series = FindCpi(cpi, p.cpi_series);
    double amount = out.value;
    int missing = 0;
    for (int year = *p.cpi_indexed_from; year <= as_of.year(); ++year) {
      if (!series || !series->annual.count(year - 1) || !series->annual.count(year - 2)) {
        missing = year;
        break;
      }
      amount = std::round(amount * series->annual.at(year - 1) / series->annual.at(year - 2) / 100.0) * 100.0;
    }
    if (missing) {
      notes.push_back(fmt::format(
          "{}: the CPI adjustment for {} was not applied: data/cpi.toml has no {} annual averages for {} and {} "
          "(the statutory amount is used; add the figures to apply it)",
          p.name, missing, p.cpi_series, missing - 2, missing - 1));
    } else {
      out.value = amount;
      out.basis += fmt::format("; CPI-adjusted from {} through {} ({})", *p.cpi_indexed_from, as_of.year(), p.cpi_series);
    }
  }
  for (const Override& o : overrides) {
    if (o.regime == r.id && o.param == p.name) {
      out.value = o.value;
      out.basis = "what-if override (--set)";
    }
  }
  return out;
}

std::string MarginText(double value, double threshold) {
  if (value == threshold) return "exactly at";
  if (threshold <= 0 || value <= 0) return value > threshold ? "above" : "below";
  // Compiled formats: a million models' summaries format millions of these.
  return value > threshold ? fmt::format(FMT_COMPILE("{:.3g}x above"), value / threshold)
                           : fmt::format(FMT_COMPILE("{:.3g}x below"), threshold / value);
}

struct Evaluated {
  int status = -1;       // index into regime statuses; -1 = unknown
  int rule = -1;
  bool unknown_blocked = false;
};

// The status under one combination: the highest-precedence status among the rules that hold; if a
// rule of higher precedence than that is unknown, the answer is unknown (it might have decided).
Evaluated Decide(const Regime& r, std::size_t combination, const FactValues& facts, const std::vector<double>& params,
                 const std::vector<int>& status_rank) {
  const auto& rules = r.compiled_rules(combination);
  int best_true = static_cast<int>(r.statuses.size()), best_true_rule = -1;
  int best_unknown = static_cast<int>(r.statuses.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (!rules[i]) continue;
    int rank = status_rank[i];
    if (rank >= best_true) continue;
    Truth t = rules[i]->Evaluate(facts, params);
    if (t == Truth::kTrue) {
      best_true = rank;
      best_true_rule = static_cast<int>(i);
    } else if (t == Truth::kUnknown) {
      best_unknown = std::min(best_unknown, rank);
    }
  }
  Evaluated e;
  if (best_unknown < best_true) {
    e.unknown_blocked = true;
    return e;
  }
  if (best_true_rule >= 0) {
    e.status = best_true;
    e.rule = best_true_rule;
    return e;
  }
  e.status = static_cast<int>(std::find(r.statuses.begin(), r.statuses.end(), r.default_status) - r.statuses.begin());
  return e;
}

std::vector<int> StatusRanks(const Regime& r) {
  std::vector<int> ranks;
  for (const Rule& rule : r.rules) {
    ranks.push_back(static_cast<int>(std::find(r.statuses.begin(), r.statuses.end(), rule.status) - r.statuses.begin()));
  }
  return ranks;
}

// ---- obligations ----

core::Instant Due(const Obligation& o, core::Instant trigger) {
  core::Instant due = trigger + o.delay;
  return o.delay_months ? due.PlusMonths(o.delay_months) : due;
}

// The obligations of a model with `status` under combination c, given its facts (for conditions)
// and events. A duty never reaches back before its `from` date: a trigger before it gives no duty,
// unless the regime gives a transitional rule (Obligation::Earlier), which is then cited.
// `with_text` false: states and due times only (ids, cites and details left empty, `index` set), for
// a summary that shows one deadline of a million models. `out` is cleared first.
void Obligations(const Regime& r, std::size_t combination, const std::string& status,
                 const std::vector<const Event*>& events, const FactValues& facts, const std::vector<double>& params,
                 core::Date as_of, bool with_text, std::vector<ObligationState>& out) {
  out.clear();
  const core::Instant now = core::Instant::StartOf(as_of) + std::chrono::hours(24);  // through the end of as_of
  // The times of the events of the given kinds (a list, or one kind), sorted.
  auto of_kinds = [&](const auto& kinds) {
    std::vector<core::Instant> at;
    for (const Event* e : events) {
      if constexpr (std::is_same_v<std::decay_t<decltype(kinds)>, std::string>) {
        if (e->kind == kinds) at.push_back(e->at);
      } else if (std::find(kinds.begin(), kinds.end(), e->kind) != kinds.end()) {
        at.push_back(e->at);
      }
    }
    std::sort(at.begin(), at.end());
    return at;
  };
  for (std::size_t oi = 0; oi < r.obligations.size(); ++oi) {
    const Obligation& o = r.obligations[oi];
    if (std::find(o.applies_to.begin(), o.applies_to.end(), status) == o.applies_to.end()) continue;
    ObligationState base;
    base.index = static_cast<int>(oi);
    if (with_text) {
      base.id = o.id;
      base.cite = o.cite;
      base.text = o.text;
      base.retention = o.retention;
    }
    std::string prefix;  // texts only (with_text)
    // A duty that is not law (e.g. a Code of Practice timeline) says so in every state.
    if (with_text && !o.source.empty()) prefix = fmt::format("[{}, not law] ", o.source);
    // A duty read from an analysis rather than the bill's text says so in every state.
    if (with_text && !o.secondary.empty()) prefix += fmt::format("[read from a secondary source: {}] ", o.secondary);
    if (const auto& condition = r.compiled_obligations(combination)[oi]) {
      Truth holds = condition->Evaluate(facts, params);
      if (holds == Truth::kFalse) {
        base.state = "not-applicable";
        base.detail = !with_text ? std::string()
            : prefix + "does not apply: only " + o.when_text;
        out.push_back(std::move(base));
        continue;
      }
      if (with_text && holds == Truth::kUnknown) prefix += fmt::format("applies only {} (not known for this model); ", o.when_text);
    }
    std::vector<core::Instant> triggers = of_kinds(o.triggers);
    // An exemption (SB 1047's earlier versions: a positive safety determination, a limited duty
    // exemption) relieves the model of the duty from when it is recorded; a duty due before then
    // (a `before` clock whose event came first) was owed and is judged as usual.
    if (!o.exempt_by.empty()) {
      std::vector<core::Instant> exempt = of_kinds(o.exempt_by);
      if (!exempt.empty() && exempt.front() < now &&
          (o.clock != Obligation::Clock::kBefore || triggers.empty() || exempt.front() <= triggers.front())) {
        base.state = "not-applicable";
        base.detail = !with_text ? std::string()
            : prefix + fmt::format("relieved of it by {} at {}", o.exempt_by, exempt.front().ToString());
        out.push_back(std::move(base));
        continue;
      }
    }
    std::vector<core::Instant> met = o.met_by.empty() ? std::vector<core::Instant>{} : of_kinds(o.met_by);
    const bool self_renewing = std::find(o.triggers.begin(), o.triggers.end(), o.met_by) != o.triggers.end();
    const std::optional<core::Instant> from = o.from ? std::optional<core::Instant>(core::Instant::StartOf(*o.from))
                                                     : std::nullopt;
    const std::string transitional = !with_text || o.earlier_cite.empty() ? "" : fmt::format(" (transitional: {})", o.earlier_cite);
    auto track = [&](ObligationState s, core::Instant due, std::optional<core::Instant> done) {
      s.due = due;
      if (o.met_by.empty()) {
        // A prohibition or a continuing duty (SB 1047 §22603(c)): no event discharges it.
        s.state = "standing";
        s.detail = !with_text ? std::string()
            : prefix + fmt::format("binds from {}; no event discharges it", due.ToString());
        out.push_back(std::move(s));
        return;
      }
      if (o.without_undue_delay || o.period_unknown) {
        s.due.reset();
        s.state = done ? "met" : "open";
        s.detail = !with_text ? std::string()
            : prefix + (done                   ? fmt::format("{} at {}", o.met_by, done->ToString())
                             : o.without_undue_delay ? "without undue delay (the text sets no fixed period)"
                                                     : "the period is not known: no source read gives it");
        out.push_back(std::move(s));
        return;
      }
      if (done && *done <= due) {
        s.state = "met";
        s.detail = !with_text ? std::string()
            : fmt::format("{} at {}", o.met_by, done->ToString());
      } else if (done) {
        s.state = "met-late";
        s.detail = !with_text ? std::string()
            : fmt::format("{} at {}, after the due time", o.met_by, done->ToString());
      } else if (now > due) {
        s.state = "overdue";
        s.detail = !with_text ? std::string()
            : o.met_by.empty() ? "no event records it" : fmt::format("no {} event by the due time", o.met_by);
      } else {
        s.state = "open";
        s.detail = !with_text ? std::string()
            : o.met_by.empty() ? "" : fmt::format("record a {} event when done", o.met_by);
      }
      s.detail = !with_text ? std::string()
          : prefix + s.detail;
      out.push_back(std::move(s));
    };
    // When a trigger at `t` before the duty's start is due under the transitional rule, or nullopt
    // when the law does not reach back to it.
    auto earlier_due = [&]() -> std::optional<core::Instant> {
      switch (o.earlier) {
        case Obligation::Earlier::kExcused: return std::nullopt;
        case Obligation::Earlier::kClockFromStart: return o.clock == Obligation::Clock::kBefore ? *from : Due(o, *from);
        case Obligation::Earlier::kDueAtStart: return *from;
        case Obligation::Earlier::kDueOn: return core::Instant::StartOf(*o.earlier_due);
      }
      return std::nullopt;
    };
    auto excused = [&](ObligationState s, core::Instant t) {
      s.state = "not-applicable";
      s.detail = !with_text ? std::string()
          : prefix + fmt::format("{} at {}, before this duty began on {}: the law does not reach back", o.trigger,
                                      t.ToString(), o.from->ToString());
      out.push_back(std::move(s));
    };
    if (o.clock == Obligation::Clock::kBefore) {
      if (triggers.empty()) {
        base.state = "open";
        base.detail = !with_text ? std::string()
            : prefix + fmt::format("due before the first {} event (none yet)", o.trigger);
        if (!met.empty()) {
          base.state = "met";
          base.detail = !with_text ? std::string()
              : prefix + fmt::format("{} at {}", o.met_by, met.front().ToString());
        }
        out.push_back(base);
        continue;
      }
      // Events are sorted: the earliest recording decides between met and met-late.
      std::optional<core::Instant> done = met.empty() ? std::nullopt : std::optional<core::Instant>(met.front());
      if (from && triggers.front() < *from) {
        if (auto due = earlier_due()) {
          track(base, *due, done);
          if (with_text) out.back().detail += fmt::format("; {} at {} was before {}{}", o.trigger, triggers.front().ToString(),
                                           o.from->ToString(), transitional);
        } else {
          excused(base, triggers.front());
        }
        continue;
      }
      track(base, triggers.front(), done);
      continue;
    }
    if (o.clock == Obligation::Clock::kWithin) {
      if (triggers.empty()) {
        base.state = "not-triggered";
        base.detail = !with_text ? std::string()
            : prefix + fmt::format("starts at a {} event", o.trigger);
        out.push_back(base);
        continue;
      }
      // Pair each trigger with the first discharge at or after it, in order (strictly after it when
      // the duty renews itself, e.g. a statement due two years after the last one).
      // A list of several kinds names one moment, the first of any (EU Art. 52(1): an estimate or
      // the start of training); a single kind gives one duty per event (each incident).
      if (o.triggers.size() > 1) triggers.resize(1);
      std::size_t next_met = 0;
      for (core::Instant t : triggers) {
        core::Instant due = Due(o, t);
        std::string note;
        if (from && t < *from) {
          auto transitional_due = earlier_due();
          if (!transitional_due) {
            excused(base, t);
            continue;
          }
          due = *transitional_due;
          note = fmt::format(", before {}{}", o.from->ToString(), transitional);
        }
        while (next_met < met.size() && (self_renewing ? met[next_met] <= t : met[next_met] < t)) ++next_met;
        std::optional<core::Instant> done;
        if (next_met < met.size()) done = met[next_met++];
        ObligationState s = base;
        track(s, due, done);
        out.back().detail = !with_text ? std::string()
            : fmt::format("{}after {} at {}{}; {}", prefix, o.trigger, t.ToString(), note,
                                        out.back().detail.substr(prefix.size()));
      }
      continue;
    }
    // Recurring: every period from the first trigger, or from the duty's start when it has no
    // trigger of its own; never from before the duty's start.
    if (!o.triggers.empty() && triggers.empty()) {
      base.state = "not-triggered";
      base.detail = !with_text ? std::string()
          : prefix + fmt::format("every {} months from the first {} event", o.delay_months, o.trigger);
      out.push_back(base);
      continue;
    }
    const int period = o.delay_months;
    core::Instant anchor = triggers.empty() ? *from : triggers.front();
    if (from && anchor < *from) anchor = *from;
    core::Instant due = anchor.PlusMonths(period);
    core::Instant previous = anchor;
    while (due < now) {
      previous = due;
      due = due.PlusMonths(period);
    }
    auto met_between = [&](core::Instant a, core::Instant b) {
      for (core::Instant t : met) {
        if (t > a && t <= b) return std::optional<core::Instant>(t);
      }
      return std::optional<core::Instant>();
    };
    bool missed_previous = previous > anchor && !o.met_by.empty() && !met_between(previous.PlusMonths(-period), previous);
    ObligationState s = base;
    s.due = due;
    if (missed_previous) {
      s.state = "overdue";
      s.detail = !with_text ? std::string()
          : fmt::format("the period ending {} has no {} event; next due {}", previous.ToString(), o.met_by,
                             due.ToString());
    } else if (auto done = met_between(due.PlusMonths(-period), due); done && !o.met_by.empty()) {
      s.state = "met";
      s.detail = !with_text ? std::string()
          : fmt::format("{} at {} for the period ending {}", o.met_by, done->ToString(), due.ToString());
    } else {
      s.state = "open";
      s.detail = !with_text ? std::string()
          : fmt::format("every {} months from {}", period, anchor.ToString());
    }
    s.detail = !with_text ? std::string()
        : prefix + s.detail;
    out.push_back(std::move(s));
  }
}

// What the model file says the model cost beyond its stages' compute, and whether this regime's
// text counts each component toward its cost test, with the clause: one note, only for a model
// that records other costs (critics asked whether data, salaries and earlier runs count).
std::optional<std::string> CostComponentNote(const Regime& r, const Model& m, const ModelFacts& f) {
  if (r.cost_components.empty() || m.other_costs.empty()) return std::nullopt;
  std::string text;
  for (const CostComponent& c : r.cost_components) {
    std::optional<double> usd;
    if (c.component == "compute-market") {
      usd = f.own_cost;
    } else {
      for (const auto& [component, value] : m.other_costs) {
        if (component == c.component) usd = value;
      }
      if (!usd) continue;
    }
    text += fmt::format("{}{} {}: {} ({})", text.empty() ? "" : "; ", c.component,
                        usd ? "$" + core::Sci3(*usd) : "unknown", c.counts ? "counted" : "excluded", c.cite);
  }
  return "cost components under " + r.id + ": " + text;
}

Result<void> CheckOptions(const std::vector<Regime>& regimes, const AssessOptions& options) {
  for (const std::string& id : options.regimes) {
    if (std::none_of(regimes.begin(), regimes.end(), [&](const Regime& r) { return r.id == id; })) {
      std::string known;
      for (const auto& r : regimes) known += (known.empty() ? "" : ", ") + r.id;
      return core::InvalidArgument(fmt::format("unknown regime '{}'; known: {}", id, known), "--regime");
    }
  }
  for (const Override& o : options.overrides) {
    auto r = std::find_if(regimes.begin(), regimes.end(), [&](const Regime& x) { return x.id == o.regime; });
    if (r == regimes.end() || r->ParamIndex(o.param) < 0) {
      return core::InvalidArgument(fmt::format("no parameter '{}' in regime '{}'", o.param, o.regime), "--set");
    }
    // Every parameter is a threshold or an amount: nan would make every comparison false (a
    // 1.2e26 model "nanx below" the line), and a negative line is no line.
    if (!std::isfinite(o.value) || o.value < 0) {
      return core::InvalidArgument(
          fmt::format("{}.{}={}: a what-if value must be a finite number, zero or more", o.regime, o.param, o.value),
          "--set");
    }
  }
  return core::Ok();
}

// Every regime when none is named, except superseded versions (ca-sb1047@2024-05-16): a bill's
// earlier text is assessed only when asked for by name (--regime, --compare).
bool Selected(const Regime& r, const AssessOptions& options) {
  if (options.regimes.empty()) return !r.Superseded();
  return std::find(options.regimes.begin(), options.regimes.end(), r.id) != options.regimes.end();
}

}  // namespace

Result<std::vector<CpiSeries>> ParseCpi(std::string_view text, const std::string& file) {
  FL_ASSIGN_OR_RETURN(toml::table root, core::ParseToml(text, file));
  std::vector<CpiSeries> out;
  FL_RETURN_IF_ERROR(core::ForEachTable(root, "series", file, true, [&](const core::TomlFields& f, const toml::table& t) -> Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"id", "name", "source", "annual"}));
    CpiSeries s;
    FL_ASSIGN_OR_RETURN(s.id, f.String("id"));
    FL_ASSIGN_OR_RETURN(s.name, f.String("name"));
    FL_ASSIGN_OR_RETURN(s.source, f.String("source"));
    FL_RETURN_IF_ERROR(core::ForEachTable(t, "annual", file, false, [&](const core::TomlFields& af, const toml::table&) -> Result<void> {
      FL_RETURN_IF_ERROR(af.OnlyKeys({"year", "value"}));
      FL_ASSIGN_OR_RETURN(double year, af.Positive("year"));
      FL_ASSIGN_OR_RETURN(double value, af.Positive("value"));
      if (year != std::floor(year) || year < 1900 || year > 3000) return af.Bad("year", "expected a year");
      if (!s.annual.emplace(static_cast<int>(year), value).second) return af.Bad("year", "is listed twice");
      return core::Ok();
    }, f.prefix()));
    out.push_back(std::move(s));
    return core::Ok();
  }));
  return out;
}

Result<std::vector<CpiSeries>> LoadCpi(const std::string& path) {
  FL_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
  return ParseCpi(text, path);
}

Result<std::vector<std::vector<int>>> Engine::Classify(const Inventory& inv, const AssessOptions& options) const {
  FL_RETURN_IF_ERROR(CheckOptions(regimes_, options));
  const std::vector<ModelFacts> facts = ComputeFacts(inv);
  std::vector<std::vector<int>> out;
  std::vector<std::string> notes;
  FactValues values;
  for (const Regime& r : regimes_) {
    if (!Selected(r, options)) continue;
    std::vector<double> params;
    for (const Parameter& p : r.params) params.push_back(ValueAt(r, p, options.as_of, options.overrides, cpi_, notes).value);
    const std::vector<int> ranks = StatusRanks(r);
    const FactSchema& schema = r.schema(0);
    const FactSlots slots(schema);
    const int none = static_cast<int>(r.statuses.size());
    std::vector<int> status(inv.models.size(), -1);
    for (int i : inv.order) {
      int base = inv.base_index[static_cast<std::size_t>(i)];
      FillFor(r, schema, slots, inv.models[static_cast<std::size_t>(i)], facts[static_cast<std::size_t>(i)],
              base >= 0 ? status[static_cast<std::size_t>(base)] : none, values);
      status[static_cast<std::size_t>(i)] = Decide(r, 0, values, params, ranks).status;
    }
    out.push_back(std::move(status));
  }
  return out;
}

namespace {

// One selected regime, prepared once per run: its parameters on the date, its notes, and the
// statuses of every model under every combination of readings (filled by the lineage pass).
struct RegimeRun {
  const Regime* regime = nullptr;
  RegimeContext context;
  std::vector<double> params;
  std::vector<int> ranks;
  std::vector<FactSlots> slots;
  std::vector<std::vector<int>> status;  // [combination][model], -1 unknown
  std::vector<std::vector<int>> rule;    // [combination][model]: the deciding rule, -1 none
  std::vector<std::string> reading_names;  // [combination]
  std::vector<char> covered;               // [status]: carries duties (IsCovered, asked once per status)
  // [combination][model]: the cost of the covered model a penalty is measured on (SB 1047
  // §22606(a)(1) "the covered model"): the model's own `cost_usd` under the reading when it has
  // the regime's first covered status, else its base's; nullopt when unknown or none.
  std::vector<std::vector<std::optional<double>>> covered_model_cost;
};

RegimeRun Prepare(const Regime& r, const AssessOptions& options, const std::vector<CpiSeries>& cpi) {
  RegimeRun run;
  run.regime = &r;
  run.context.id = r.id;
  run.context.title = r.title;
  run.context.note = r.note;
  run.context.in_force = !r.in_force_from || options.as_of >= *r.in_force_from;
  for (const std::string& status : r.statuses) run.covered.push_back(r.IsCovered(status) ? 1 : 0);
  for (const Parameter& p : r.params) {
    run.context.params.push_back(ValueAt(r, p, options.as_of, options.overrides, cpi, run.context.notes));
    run.params.push_back(run.context.params.back().value);
  }
  if (!run.context.in_force) {
    run.context.notes.push_back(fmt::format("{} is in force from {}; shown as if it applied on {}", r.id,
                                            r.in_force_from->ToString(), options.as_of.ToString()));
  }
  // What was read from an analysis rather than the text, and what no source gives, said once per
  // regime (the rules' and duties' own marks are shown with them).
  for (const Parameter& p : r.params) {
    if (!p.secondary.empty()) {
      run.context.notes.push_back(fmt::format("{}: read from a secondary source: {}", p.name, p.secondary));
    }
  }
  for (const std::string& u : r.unknowns) run.context.notes.push_back("not known for this version: " + u);
  run.ranks = StatusRanks(r);
  for (std::size_t c = 0; c < r.combinations().size(); ++c) {
    run.slots.emplace_back(r.schema(c));
    run.reading_names.push_back(r.CombinationName(c));
  }
  run.context.readings = run.reading_names;
  run.context.penalties = r.penalties;
  return run;
}

// The lineage pass: each model's status under each combination needs its base's, so models go
// bases first, one at a time; it is cheap (no strings), and the rest can then run in any order.
void JudgeLineage(RegimeRun& run, const Inventory& inv, const std::vector<ModelFacts>& facts) {
  const Regime& r = *run.regime;
  const int none = static_cast<int>(r.statuses.size());
  const std::size_t combos = r.combinations().size();
  run.status.assign(combos, std::vector<int>(inv.models.size(), -1));
  run.rule.assign(combos, std::vector<int>(inv.models.size(), -1));
  run.covered_model_cost.assign(combos, std::vector<std::optional<double>>(inv.models.size()));
  const int first_covered = static_cast<int>(
      std::find(r.statuses.begin(), r.statuses.end(), r.covered_statuses.front()) - r.statuses.begin());
  FactValues values;
  for (std::size_t c = 0; c < combos; ++c) {
    std::vector<int>& status = run.status[c];
    const int cost_alias = r.schema(c).Find("cost_usd");
    for (int i : inv.order) {
      const std::size_t mi = static_cast<std::size_t>(i);
      const int base = inv.base_index[mi];
      FillFor(r, r.schema(c), run.slots[c], inv.models[mi], facts[mi],
              base >= 0 ? status[static_cast<std::size_t>(base)] : none, values, &run.covered);
      const Evaluated e = Decide(r, c, values, run.params, run.ranks);
      status[mi] = e.status;
      run.rule[c][mi] = e.rule;
      if (status[mi] == first_covered && cost_alias >= 0 && values.known[static_cast<std::size_t>(cost_alias)]) {
        run.covered_model_cost[c][mi] = values.numbers[static_cast<std::size_t>(cost_alias)];
      } else if (status[mi] != first_covered && base >= 0) {
        run.covered_model_cost[c][mi] = run.covered_model_cost[c][static_cast<std::size_t>(base)];
      }
    }
  }
}

// What a determination carries: every step of every reading (explained), what the summary shows
// with every obligation and its details (summary), or only what the summary table and JSON print,
// the obligations reduced to the next deadline (brief).
enum class Detail { kExplained, kSummary, kBrief };

// A thread's working storage, reused model after model.
struct Scratch {
  FactValues values;
  std::vector<int> status;  // [combination]: the status index decided, -1 unknown
  std::vector<int> rules;   // [combination]: the deciding rule's index, -1 none
  std::vector<NumericComparison> numeric;
  std::vector<ObligationState> obligations;
};

// Every field emptied for Determine to fill again; the storage of what it assigns in place (status,
// outcomes, basis, margins) is kept, so a summary reused chunk after chunk allocates little.
void Reset(Determination& d) {
  d.title.clear();
  d.note.clear();
  d.covered.reset();
  d.params.clear();
  d.obligations.clear();
  d.penalty_first.reset();
  d.penalty_subsequent.reset();
  d.penalty_currency.clear();
  d.penalty_cite.clear();
  d.penalty_condition.clear();
  d.penalty_otherwise.clear();
  d.penalty = -1;
  d.notes.clear();
}

// The brief form of the obligations: the next deadline alone (NextDeadline's choice), with its id and
// cite, or none.
void KeepNextDeadline(const Regime& r, const std::vector<ObligationState>& all, std::vector<ObligationState>& out) {
  const ObligationState* next = NextDeadline(all);
  if (!next) return;
  ObligationState& kept = out.emplace_back(*next);
  const Obligation& o = r.obligations[static_cast<std::size_t>(next->index)];
  kept.id = o.id;
  kept.cite = o.cite;
}

// One model under one regime, its base's statuses already known, into `d` (see Detail).
void Determine(const RegimeRun& run, const Inventory& inv, std::size_t mi, const ModelFacts& fact,
               const std::vector<const Event*>& events, const AssessOptions& options, Detail detail,
               Scratch& scratch, Determination& d) {
  const bool explain = detail == Detail::kExplained;
  FactValues& values = scratch.values;
  const Regime& r = *run.regime;
  const Model& m = inv.models[mi];
  const int base = inv.base_index[mi];
  const int none = static_cast<int>(r.statuses.size());
  const std::size_t combos = r.combinations().size();
  const std::vector<double>& params = run.params;
  auto base_status = [&](std::size_t c) { return base >= 0 ? run.status[c][static_cast<std::size_t>(base)] : none; };
  // `values` holds the facts under reading `filled` (none yet): filled again only for another one.
  std::size_t filled = combos;
  auto fill = [&](std::size_t c) {
    if (filled == c) return;
    FillFor(r, r.schema(c), run.slots[c], m, fact, base_status(c), values, &run.covered);
    filled = c;
  };
  Reset(d);
  d.explained = explain;
  d.regime = r.id;
  d.in_force = run.context.in_force;
  if (explain) {
    d.title = r.title;
    d.note = r.note;
    d.params = run.context.params;
    d.notes = run.context.notes;
  }
  d.outcomes.resize(combos);
  scratch.status.resize(combos);
  scratch.rules.resize(combos);
  std::size_t basis_size = 0;
  for (std::size_t c = 0; c < combos; ++c) {
    Evaluated e;
    if (explain) {
      fill(c);
      e = Decide(r, c, values, params, run.ranks);
    } else {
      // The lineage pass decided every reading with these same facts; the first reading's facts
      // are filled again for its margins, not decided again.
      if (c == 0) fill(c);
      e.status = run.status[c][mi];
      e.rule = run.rule[c][mi];
    }

    Outcome& o = d.outcomes[c];  // assigned in place (see Reset)
    o.explanation.clear();
    o.rule.clear();
    o.cite.clear();
    o.reading = run.reading_names[c];
    o.status = e.status >= 0 ? std::string_view(r.statuses[static_cast<std::size_t>(e.status)])
                             : std::string_view("unknown");
    o.covered = e.status >= 0 && run.covered[static_cast<std::size_t>(e.status)];
    scratch.status[c] = e.status;
    scratch.rules[c] = e.rule;
    o.developer = m.developer;
    if (!explain) {
      // The first reading's margins, from the rules that give them, without a text trace. A brief
      // summary keeps only the one KeyMarginOf would pick (the first decided comparison with a
      // parameter on its right, else the first decided one): no text for the others.
      std::size_t kept = 0;
      const bool brief = detail == Detail::kBrief;
      bool key_found = false;
      for (std::size_t ri = 0; ri < r.rules.size() && c == 0 && !key_found; ++ri) {
        const auto& expr = r.compiled_rules(c)[ri];
        if (!expr || !(static_cast<int>(ri) == e.rule || e.rule < 0)) continue;
        expr->Evaluate(values, params, scratch.numeric);
        for (const NumericComparison& cmp : scratch.numeric) {
          if (brief) {
            if (cmp.holds == Truth::kUnknown || !(cmp.right_value > 0)) continue;
            const bool param = expr->RightText(cmp).find("param.") != std::string_view::npos;
            if (kept > 0 && !param) continue;  // the fallback is already kept
            kept = 0;
            key_found = param;
          }
          Margin& mg = kept < o.margins.size() ? o.margins[kept] : o.margins.emplace_back();
          ++kept;
          mg.left = expr->LeftText(cmp);
          mg.op = expr->OpText(cmp);
          mg.right = expr->RightText(cmp);
          mg.value = cmp.left_value;
          mg.threshold = cmp.right_value;
          mg.holds = TruthName(cmp.holds);
          mg.text = cmp.holds == Truth::kUnknown ? "unknown" : MarginText(cmp.left_value, cmp.right_value);
          if (key_found) break;
        }
      }
      o.margins.resize(kept);
    } else {
      o.margins.clear();
    }
    if (explain) {
      for (int reading : r.combinations()[c]) {
        const Reading& rd = r.readings[static_cast<std::size_t>(reading)];
        o.explanation.push_back({fmt::format("Reading {} of {}: {}", rd.id, rd.ambiguity, rd.text), ""});
      }
    }
    // Explain every rule that was considered, and why it did or did not apply. A summary needs
    // only the first reading's margins, and only from the rules that give them.
    const bool margins_only = !explain;
    for (std::size_t ri = 0; ri < r.rules.size() && explain; ++ri) {
      const auto& expr = r.compiled_rules(c)[ri];
      if (!expr) continue;
      const bool gives_margins = static_cast<int>(ri) == e.rule || e.rule < 0;
      if (margins_only && !gives_margins) continue;
      const Rule& rule = r.rules[ri];
      std::vector<Comparison> trace;
      Truth t = expr->Evaluate(values, params, &trace);
      std::string because;
      for (const Comparison& cmp : trace) {
        if (!cmp.numeric) {
          if (margins_only) continue;
          because += fmt::format("{}{}{} is {} ({})", because.empty() ? "" : "; ", cmp.left,
                                 cmp.op.empty() ? "" : " " + cmp.op + " " + cmp.right, TruthName(cmp.holds),
                                 cmp.op.empty() ? "" : cmp.left + " is " + cmp.actual);
          if (cmp.op.empty()) because.resize(because.size() - 3);  // a bare fact: no "( )"
          continue;
        }
        Margin mg{cmp.left, cmp.op, cmp.right, cmp.left_value, cmp.right_value, TruthName(cmp.holds),
                  cmp.holds == Truth::kUnknown ? "unknown" : MarginText(cmp.left_value, cmp.right_value)};
        if (!margins_only) {
          because += fmt::format("{}{} {} {} ({}) is {}: {} {}", because.empty() ? "" : "; ", cmp.left, cmp.op,
                                 cmp.right, core::Sci3(cmp.right_value), TruthName(cmp.holds),
                                 cmp.holds == Truth::kUnknown ? "value unknown" : core::Sci3(cmp.left_value),
                                 mg.text);
        }
        if (gives_margins) o.margins.push_back(std::move(mg));
      }
      if (margins_only) continue;
      std::string verdict = t == Truth::kTrue    ? "applies"
                            : t == Truth::kFalse ? "does not apply"
                                                 : "cannot be decided (unknown inputs)";
      o.explanation.push_back({fmt::format("Rule {} ({} if {}): {}{}", rule.id, rule.status, rule.when, verdict,
                                           because.empty() ? "" : " - " + because),
                               rule.cite});
    }
    if (e.rule >= 0) {
      const Rule& rule = r.rules[static_cast<std::size_t>(e.rule)];
      o.rule = rule.id;
      o.cite = rule.cite;
      if (rule.developer == "base" && base >= 0) o.developer = inv.models[static_cast<std::size_t>(base)].developer;
      if (explain) {
        o.explanation.push_back({fmt::format("Status: {}, by rule {}: \"{}\"{}", o.status, rule.id, rule.text,
                                             rule.secondary.empty() ? "" : " [read from a secondary source: " + rule.secondary + "]"),
                                 rule.cite});
      }
      // Said once per rule, however many readings it decided.
      const bool first_time = std::find(scratch.rules.begin(), scratch.rules.begin() + static_cast<std::ptrdiff_t>(c),
                                        e.rule) == scratch.rules.begin() + static_cast<std::ptrdiff_t>(c);
      if (first_time && !rule.ambiguity.empty()) {
        d.notes.push_back(fmt::format("rule {} decided under ambiguity {}: see the other readings", rule.id, rule.ambiguity));
      }
      if (first_time && !rule.secondary.empty()) {
        d.notes.push_back(fmt::format("rule {} was read from a secondary source: {}", rule.id, rule.secondary));
      }
    } else if (explain && e.unknown_blocked) {
      o.explanation.push_back({"Status unknown: a rule that could decide has unknown inputs (see above)", ""});
    } else if (explain) {
      o.explanation.push_back({fmt::format("Status: {} (no rule applies: the regime's default)", o.status), ""});
    }
  }

  // Summarise across readings.
  // By status index (scratch.status, -1 unknown), not by name.
  const int* status = scratch.status.data();
  const bool agree = std::all_of(status, status + combos, [&](int x) { return x == status[0]; });
  d.status = agree ? std::string_view(d.outcomes.front().status) : std::string_view("depends-on-reading");
  bool all_covered = true, none_covered = true, any_unknown = false;
  for (std::size_t c = 0; c < combos; ++c) {
    const Outcome& o = d.outcomes[c];
    const bool unknown = status[c] < 0;
    any_unknown = any_unknown || unknown;
    all_covered = all_covered && o.covered;
    none_covered = none_covered && !o.covered && !unknown;
    const auto basis_end = d.basis.begin() + static_cast<std::ptrdiff_t>(basis_size);
    if (!o.cite.empty() && std::find(d.basis.begin(), basis_end, o.cite) == basis_end) {
      if (basis_size < d.basis.size()) d.basis[basis_size] = o.cite;
      else d.basis.push_back(o.cite);
      ++basis_size;
    }
  }
  d.basis.resize(basis_size);
  if (!any_unknown && all_covered) d.covered = true;
  if (none_covered) d.covered = false;
  if (!agree) {
    std::string readings;
    for (const Outcome& o : d.outcomes) readings += fmt::format("{}{}: {}", readings.empty() ? "" : "; ", o.reading, o.status);
    d.notes.push_back("the statute is ambiguous here and the answer depends on the reading - " + readings);
  }
  if (m.training.empty()) d.notes.push_back("no training stages: the model's own compute is 0");
  for (const TrainingStage& s : m.training) {
    if (!s.cost_usd) d.notes.push_back(fmt::format("cost of the {} stage from {} unknown: {}", s.kind, s.start.ToString(), s.cost_source));
  }

  // Obligations and penalties under the first reading whose status carries duties.
  auto covered_outcome = std::find_if(d.outcomes.begin(), d.outcomes.end(), [](const Outcome& o) { return o.covered; });
  if (covered_outcome != d.outcomes.end()) {
    std::size_t c = static_cast<std::size_t>(covered_outcome - d.outcomes.begin());
    fill(c);
    if (detail == Detail::kBrief) {
      Obligations(r, c, covered_outcome->status, events, values, params, options.as_of, false, scratch.obligations);
      KeepNextDeadline(r, scratch.obligations, d.obligations);
    } else {
      Obligations(r, c, covered_outcome->status, events, values, params, options.as_of, true, d.obligations);
    }
    if (!agree) d.notes.push_back(fmt::format("obligations and penalties shown for the reading {} ({})",
                                              covered_outcome->reading, covered_outcome->status));
    {
      const auto slot = static_cast<std::size_t>(run.slots[c].covered_model_cost);
      const std::optional<double>& cost = run.covered_model_cost[c][mi];
      values.numbers[slot] = cost.value_or(0);
      values.known[slot] = cost.has_value();
    }
    for (std::size_t pi = 0; pi < r.penalties.size(); ++pi) {
      const Penalty& p = r.penalties[pi];
      if (std::find(p.applies_to.begin(), p.applies_to.end(), covered_outcome->status) == p.applies_to.end()) continue;
      bool known_first = true, known_next = true;
      double first = r.compiled_penalties(c)[2 * pi].EvaluateNumber(values, params, &known_first);
      double next = r.compiled_penalties(c)[2 * pi + 1].EvaluateNumber(values, params, &known_next);
      if (known_first) d.penalty_first = first;
      if (known_next) d.penalty_subsequent = next;
      d.penalty = static_cast<int>(pi);
      d.penalty_currency = p.currency;
      // A brief summary names the penalty by index: its texts, and the notes below that restate
      // them, are the regime's, written once (RegimeContext::penalties).
      if (detail == Detail::kBrief) break;
      d.penalty_cite = p.cite;
      d.penalty_condition = p.condition;
      d.penalty_otherwise = p.otherwise;
      // The figure is only for the violations the clause names: said beside it, every time.
      if (!p.condition.empty()) {
        d.notes.push_back(fmt::format("the maximum penalty is for {}{}", p.condition,
                                      p.otherwise.empty() ? "" : "; other violations: " + p.otherwise));
      }
      if (!p.secondary.empty()) d.notes.push_back("the penalty was read from a secondary source: " + p.secondary);
      if (!known_first) {
        d.notes.push_back(fmt::format("maximum penalty unknown: it depends on a figure that is not known ({})", p.first));
      }
      if (p.from && options.as_of < *p.from) {
        d.notes.push_back(fmt::format("penalties under {} apply to violations on or after {}", p.cite, p.from->ToString()));
      }
      break;
    }
  }
  if (auto costs = CostComponentNote(r, m, fact)) d.notes.push_back(std::move(*costs));
}

}  // namespace

Result<std::vector<RegimeContext>> Engine::Context(const AssessOptions& options) const {
  FL_RETURN_IF_ERROR(CheckOptions(regimes_, options));
  std::vector<RegimeContext> out;
  for (const Regime& r : regimes_) {
    if (Selected(r, options)) out.push_back(Prepare(r, options, cpi_).context);
  }
  return out;
}

Result<void> Engine::AssessEach(const Inventory& inv, const AssessOptions& options,
                                const std::function<bool(std::size_t)>& explain,
                                const std::function<bool(std::size_t, const ModelAnswer&)>& sink,
                                unsigned threads) const {
  return AssessChunks(inv, options, explain, [&](std::size_t first, std::span<const ModelAnswer> answers) {
    for (std::size_t i = 0; i < answers.size(); ++i) {
      if (!sink(first + i, answers[i])) return false;
    }
    return true;
  }, threads, Summaries::kFull);
}

Result<void> Engine::AssessChunks(const Inventory& inv, const AssessOptions& options,
                                  const std::function<bool(std::size_t)>& explain,
                                  const std::function<bool(std::size_t, std::span<const ModelAnswer>)>& chunk,
                                  unsigned threads, Summaries summaries,
                                  const std::function<void(unsigned, std::size_t, const ModelAnswer&)>& judged) const {
  const Detail summary_detail = summaries == Summaries::kBrief ? Detail::kBrief : Detail::kSummary;
  FL_RETURN_IF_ERROR(CheckOptions(regimes_, options));
  const std::vector<ModelFacts> facts = ComputeFacts(inv);
  // Events grouped by model once: an inventory of a million models must not scan them per model.
  std::vector<std::vector<const Event*>> events(inv.models.size());
  for (const Event& e : inv.events) {
    int at = inv.Find(e.model);
    if (at < 0) return core::InvalidArgument(fmt::format("'{}' names no model", e.model), "event.model", e.where);
    events[static_cast<std::size_t>(at)].push_back(&e);
  }
  std::vector<RegimeRun> runs;
  for (const Regime& r : regimes_) {
    if (Selected(r, options)) runs.push_back(Prepare(r, options, cpi_));
  }
  // The lineage pass, each regime on its own (they share nothing), on up to `threads` threads.
  {
    std::atomic<std::size_t> next{0};
    auto lineage = [&] {
      for (std::size_t k = next++; k < runs.size(); k = next++) JudgeLineage(runs[k], inv, facts);
    };
    std::vector<std::thread> workers;
    for (unsigned t = 1; t < std::min<std::size_t>(std::max(1u, threads), runs.size()); ++t) workers.emplace_back(lineage);
    lineage();
    for (std::thread& w : workers) w.join();
  }

  // Determinations in chunks: bounded memory whatever the inventory's size, and each chunk split
  // across the threads (the runs, facts and events are only read, so they are shared).
  // An explained model holds hundreds of steps of text: explained runs use smaller chunks so
  // that memory stays flat whatever is asked.
  const std::size_t kChunk = explain ? 512 : 8192;
  threads = std::max(1u, threads);
  std::vector<ModelAnswer> answers;
  auto judge = [&](unsigned part, std::size_t begin, std::size_t end, std::size_t chunk_start) {
    Scratch scratch;
    for (std::size_t mi = begin; mi < end; ++mi) {
      if (options.stop && options.stop->load(std::memory_order_relaxed)) return;
      const ModelFacts& f = facts[mi];
      ModelAnswer& a = answers[mi - chunk_start];
      // Field by field, and determinations cleared rather than replaced: the answers are reused
      // chunk after chunk, so their storage is not freed and allocated again for every model.
      a.id = inv.models[mi].id;
      a.developer = inv.models[mi].developer;
      a.own_flop = f.own_flop;
      a.cumulative_flop = f.cumulative_flop;
      a.own_cost_usd = f.own_cost;
      a.cumulative_cost_usd = f.cumulative_cost;
      const Detail detail = explain && explain(mi) ? Detail::kExplained : summary_detail;
      if (detail == Detail::kExplained) a.determinations.clear();  // built afresh; summaries reuse theirs
      a.determinations.resize(runs.size());
      for (std::size_t k = 0; k < runs.size(); ++k) {
        Determine(runs[k], inv, mi, f, events[mi], options, detail, scratch, a.determinations[k]);
      }
      if (judged) judged(part, mi, a);
    }
  };
  for (std::size_t start = 0; start < inv.models.size(); start += kChunk) {
    const std::size_t end = std::min(inv.models.size(), start + kChunk);
    answers.resize(end - start);
    const std::size_t n = end - start;
    const unsigned use = static_cast<unsigned>(std::min<std::size_t>(threads, (n + 255) / 256));
    if (use <= 1) {
      judge(0, start, end, start);
    } else {
      std::vector<std::thread> workers;
      for (unsigned t = 1; t < use; ++t) {
        workers.emplace_back(judge, t, start + n * t / use, start + n * (t + 1) / use, start);
      }
      judge(0, start, start + n / use, start);
      for (std::thread& w : workers) w.join();
    }
    if (options.stop && options.stop->load()) {
      return core::MakeError(core::Code::kUnavailable, "stopped before every model was judged", "stop");
    }
    if (!chunk(start, std::span<const ModelAnswer>(answers.data(), n))) return core::Ok();
  }
  return core::Ok();
}

Result<std::vector<ModelAnswer>> Engine::Assess(const Inventory& inv, const AssessOptions& options) const {
  std::vector<ModelAnswer> out;
  out.reserve(inv.models.size());
  FL_RETURN_IF_ERROR(AssessEach(
      inv, options, [](std::size_t) { return true; },
      [&](std::size_t, const ModelAnswer& a) {
        out.push_back(a);
        return true;
      }));
  return out;
}

Result<VersionComparison> CompareVersions(const Engine& engine, const Inventory& inv, AssessOptions options,
                                          const std::string& left, const std::string& right) {
  if (left == right) return core::InvalidArgument(fmt::format("--compare names '{}' twice", left), "--compare");
  options.regimes = {left, right};
  FL_ASSIGN_OR_RETURN(std::vector<ModelAnswer> answers, engine.Assess(inv, options));
  VersionComparison out;
  out.regime[0] = left;
  out.regime[1] = right;
  for (const ModelAnswer& a : answers) {
    VersionRow row;
    row.model = a.id;
    const Determination* d[2] = {nullptr, nullptr};
    for (const Determination& x : a.determinations) d[x.regime == left ? 0 : 1] = &x;
    std::vector<std::string> duties[2];
    for (int side = 0; side < 2; ++side) {
      row.status[side] = d[side]->status;
      row.covered[side] = d[side]->covered;
      row.penalty_first[side] = d[side]->penalty_first;
      row.penalty_currency[side] = d[side]->penalty_currency;
      for (const ObligationState& o : d[side]->obligations) {
        // A duty shown not-applicable is not owed; one id may appear once per event.
        if (o.state == "not-applicable") continue;
        if (std::find(duties[side].begin(), duties[side].end(), o.id) == duties[side].end()) duties[side].push_back(o.id);
      }
    }
    for (int side = 0; side < 2; ++side) {
      for (const std::string& id : duties[side]) {
        const auto& other = duties[1 - side];
        if (std::find(other.begin(), other.end(), id) == other.end()) row.duties_only[side].push_back(id);
      }
    }
    row.differs = row.status[0] != row.status[1] || row.covered[0] != row.covered[1] ||
                  !row.duties_only[0].empty() || !row.duties_only[1].empty() ||
                  row.penalty_first[0] != row.penalty_first[1] || row.penalty_currency[0] != row.penalty_currency[1];
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace flopline::rules
