// The lines bearing on a metered run, read from the rules engine's own determinations (lines.h).
#include "flopline/meter/lines.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace flopline::meter {
namespace {

// The amount by which the run's FLOP is moved to measure each line's slope: large enough that the
// difference is far above rounding at 1e27, and exact in a double.
constexpr double kProbeFlop = 1e24;

bool Close(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)}); }

struct Seen {
  std::string regime, reading, fact, op, param;
  double value = 0, threshold = 0;
};

// Every comparison of a compute fact with a line parameter in the answer, per regime and reading.
std::vector<Seen> Comparisons(const rules::ModelAnswer& answer, const std::vector<rules::Regime>& regimes) {
  std::vector<Seen> out;
  for (const rules::Determination& d : answer.determinations) {
    auto r = std::find_if(regimes.begin(), regimes.end(), [&](const rules::Regime& x) { return x.id == d.regime; });
    if (r == regimes.end()) continue;
    for (const rules::Outcome& o : d.outcomes) {
      for (const rules::Margin& m : o.margins) {
        for (const rules::Line& line : r->lines) {
          if (m.right != "param." + line.flop_param && m.right != line.flop_param) continue;
          bool dup = std::any_of(out.begin(), out.end(), [&](const Seen& s) {
            return s.regime == d.regime && s.reading == o.reading && s.fact == m.left && s.param == line.flop_param;
          });
          if (!dup) out.push_back({d.regime, o.reading, m.left, m.op, line.flop_param, m.value, m.threshold});
        }
      }
    }
  }
  return out;
}

// The value of `fact` under `regime` and `reading` as any margin of the answer shows it. A fact's
// value does not depend on the comparison that shows it, and the engine shows only the deciding
// rule's margins: at the second probe another rule may decide (a run past the EU's 1e23 general-
// purpose line shows cumulative_flop against that line, not the 1e25 systemic-risk line).
std::optional<double> FactValue(const rules::ModelAnswer& answer, const std::string& regime, const std::string& reading,
                                const std::string& fact) {
  for (const rules::Determination& d : answer.determinations) {
    if (d.regime != regime) continue;
    for (const rules::Outcome& o : d.outcomes) {
      if (o.reading != reading) continue;
      for (const rules::Margin& m : o.margins) {
        if (m.left == fact) return m.value;
      }
    }
  }
  return std::nullopt;
}

const rules::Determination* Find(const rules::ModelAnswer& answer, const std::string& regime) {
  for (const rules::Determination& d : answer.determinations) {
    if (d.regime == regime) return &d;
  }
  return nullptr;
}

}  // namespace

bool WatchedLine::DutiesUnmet() const {
  return std::any_of(duties.begin(), duties.end(), [](const Duty& d) { return d.Unmet(); });
}

core::Result<rules::ModelAnswer> LineWatch::AssessAt(double run_flop, core::Instant now) const {
  const rules::Inventory& full = context_.inventory;
  int m = full.Find(context_.model);
  if (m < 0) {
    return core::NotFound(fmt::format("run '{}' trains model '{}', which the model files do not name", context_.run,
                                      context_.model),
                          "--run");
  }
  // The model and its lineage only: the rest of the inventory cannot change its answer.
  rules::Inventory inv;
  std::vector<int> chain;
  for (int i = m; i >= 0; i = full.base_index[static_cast<std::size_t>(i)]) chain.push_back(i);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) inv.models.push_back(full.models[static_cast<std::size_t>(*it)]);
  bool started = false;
  for (const rules::Event& e : full.events) {
    bool in_chain = std::any_of(inv.models.begin(), inv.models.end(), [&](const rules::Model& x) { return x.id == e.model; });
    if (!in_chain) continue;
    inv.events.push_back(e);
    if (e.model == context_.model && e.kind == "training-started") started = true;
  }
  rules::Model& model = inv.models.back();
  rules::TrainingStage stage;
  stage.kind = context_.stage_kind;
  stage.start = start_.date();
  stage.flop = stage.flop_low = stage.flop_high = run_flop;
  stage.flop_method = "metered";
  if (context_.usd_per_flop) {
    stage.cost_usd = run_flop * *context_.usd_per_flop;
    stage.cost_source = "cloud-price-table";
  } else {
    stage.cost_source = "unknown: no price per FLOP for the run";
  }
  stage.where = core::Location{"meter:" + context_.run, 0, 0};
  model.training.push_back(stage);
  if (!started) inv.events.push_back({context_.model, "training-started", start_, core::Location{"meter:" + context_.run, 0, 0}});
  FL_RETURN_IF_ERROR(rules::LinkLineage(inv));
  rules::AssessOptions options;
  options.as_of = now.date();
  options.overrides = context_.overrides;
  options.regimes = context_.regimes;
  FL_ASSIGN_OR_RETURN(auto answers, context_.engine->Assess(inv, options));
  for (rules::ModelAnswer& a : answers) {
    if (a.id == context_.model) return std::move(a);
  }
  return core::MakeError(core::Code::kInternal, "the engine gave no answer for the run's model");
}

core::Result<LineWatch> LineWatch::Build(LineContext context, double run_flop, core::Instant start,
                                         core::Instant now) {
  LineWatch w;
  w.context_ = std::move(context);
  w.start_ = start;
  // The engine gives the margins of the rule that decided (or of every rule when none did), so the
  // lines are read at the run's FLOP and at none (where, for a model of its own, no rule applies):
  // each probe twice, the second time kProbeFlop further, for the slope.
  const std::vector<rules::Regime>& regimes = w.context_.engine->regimes();
  struct Probed {
    Seen seen;
    double slope = 0, offset = 0;
  };
  std::vector<Probed> probed;
  for (double probe : run_flop > 0 ? std::vector<double>{run_flop, 0.0} : std::vector<double>{0.0}) {
    FL_ASSIGN_OR_RETURN(rules::ModelAnswer a0, w.AssessAt(probe, now));
    FL_ASSIGN_OR_RETURN(rules::ModelAnswer a1, w.AssessAt(probe + kProbeFlop, now));
    for (const Seen& s : Comparisons(a0, regimes)) {
      bool known = std::any_of(probed.begin(), probed.end(), [&](const Probed& p) {
        return p.seen.regime == s.regime && p.seen.reading == s.reading && p.seen.fact == s.fact && p.seen.param == s.param;
      });
      if (known) continue;
      std::optional<double> further = FactValue(a1, s.regime, s.reading, s.fact);
      double slope = further ? (*further - s.value) / kProbeFlop : 0;
      if (std::fabs(slope) < 1e-6) slope = 0;
      probed.push_back({s, slope, s.value - slope * probe});
    }
  }
  for (const Probed& found : probed) {
    const Seen& s = found.seen;
    double slope = found.slope, offset = found.offset;
    auto same = std::find_if(w.lines_.begin(), w.lines_.end(), [&](const WatchedLine& l) {
      return l.regime == s.regime && l.param == s.param && l.fact == s.fact && Close(l.threshold, s.threshold) &&
             Close(l.offset, offset) && Close(l.slope, slope);
    });
    if (same != w.lines_.end()) {
      same->readings.push_back(s.reading);
      continue;
    }
    WatchedLine line;
    line.regime = s.regime;
    line.param = s.param;
    line.fact = s.fact;
    line.op = s.op;
    line.readings = {s.reading};
    line.threshold = s.threshold;
    line.offset = offset;
    line.slope = slope;
    for (const rules::Regime& r : regimes) {
      if (r.id != s.regime) continue;
      for (const rules::Line& l : r.lines) {
        if (l.flop_param == s.param) line.name = l.name;
      }
      int p = r.ParamIndex(s.param);
      if (p >= 0) line.cite = r.params[static_cast<std::size_t>(p)].cite;
    }
    w.lines_.push_back(std::move(line));
  }
  // What holds just past each line the run can cross (and has not crossed yet, or has: the duties
  // are the same): status and duties from the engine, as of now.
  for (WatchedLine& line : w.lines_) {
    auto at = line.RunFlopAtLine();
    if (!at) continue;
    double past = std::max(0.0, *at) * (1 + 1e-9) + 1;
    FL_ASSIGN_OR_RETURN(rules::ModelAnswer a, w.AssessAt(past, now));
    const rules::Determination* d = Find(a, line.regime);
    if (!d) continue;
    line.status_at_line = d->status;
    const rules::Regime* regime = nullptr;
    for (const rules::Regime& r : regimes) {
      if (r.id == line.regime) regime = &r;
    }
    for (const rules::ObligationState& o : d->obligations) {
      if (o.state == "not-triggered") continue;
      bool before = false;
      std::string met_by;
      if (regime && o.index >= 0 && static_cast<std::size_t>(o.index) < regime->obligations.size()) {
        const rules::Obligation& ob = regime->obligations[static_cast<std::size_t>(o.index)];
        before = ob.clock == rules::Obligation::Clock::kBefore;
        met_by = ob.met_by;
      }
      // Owed by the time of the line only once its trigger has happened (a due time is set): a duty
      // due before release is not a duty before the compute line.
      if (!o.due) continue;
      line.duties.push_back({o.id, o.cite, o.text, std::move(met_by), o.state, o.due, before});
    }
  }
  return w;
}

core::Result<std::vector<RegimeStatus>> LineWatch::StatusNow(double run_flop, core::Instant now) const {
  FL_ASSIGN_OR_RETURN(rules::ModelAnswer a, AssessAt(run_flop, now));
  std::vector<RegimeStatus> out;
  for (const rules::Determination& d : a.determinations) out.push_back({d.regime, d.status, d.covered, d.basis});
  return out;
}

}  // namespace flopline::meter
