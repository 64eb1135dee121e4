#include "flopline/rules/regime.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "flopline/core/format.h"

#include "flopline/core/toml_fields.h"

namespace flopline::rules {

using core::Result;
using core::TomlFields;

FactSchema StandardFacts() {
  FactSchema s;
  s.AddNumber("own_flop");              // compute of this model's own training stages
  s.AddNumber("own_cost_usd");
  s.AddNumber("cumulative_flop");       // own + the base's cumulative, for derivations that keep weights
  s.AddNumber("cumulative_cost_usd");
  s.AddNumber("developer_lineage_flop");      // like cumulative, but only through bases of the same developer
  s.AddNumber("developer_lineage_cost_usd");
  s.AddNumber("finetune_flop");         // own stages that adjust weights on new data (fine-tune, rl)
  s.AddNumber("finetune_cost_usd");
  s.AddNumber("base_flop");             // the base model's cumulative compute
  s.AddNumber("developer_revenue_usd"); // preceding calendar year, with affiliates
  s.AddBool("foundation_model");
  s.AddBool("has_base");
  s.AddBool("base_covered");            // the base's status under this regime carries duties
  s.AddString("derivation", kDerivations);
  // Added for the law's corners (issue 11):
  s.AddBool("same_developer_as_base");  // the base has the same developer (false without a base)
  s.AddBool("open_source");             // free and open-source licence, weights public (EU Art. 53(2))
  s.AddBool("eu_established");          // provider established in the Union (EU Art. 54); may be unknown
  s.AddNumber("developer_turnover_eur");  // preceding financial year, worldwide (EU Art. 101); may be unknown
  // The cost of the covered model a penalty is measured on (SB 1047 §22606(a)(1)): the model's own
  // `cost_usd` under the reading when it is the covered model, its covered ancestor's when it is a
  // derivative. Known only when a penalty is computed.
  s.AddNumber("covered_model_cost_usd");
  return s;
}

namespace {

using core::Join;

// "72h", "15d", "2w", "3m" (months), "1y"; "0h" (at the event itself) only where `allow_zero`:
// a statute that says "whenever" without a grace period (GBL §1428(2)).
Result<void> ParseDelay(const std::string& text, Obligation& o, const TomlFields& f, std::string_view key,
                        bool allow_zero, bool months_only) {
  if (text.size() < 2) return f.Bad(key, "expected a duration such as 72h, 15d, 2w, 3m or 1y");
  long n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || ptr != text.data() + text.size() - 1 || n < (allow_zero ? 0 : 1) || n > 100000) {
    return f.Bad(key, fmt::format("'{}' is not a duration such as 72h, 15d, 2w, 3m or 1y", text));
  }
  if (months_only && text.back() != 'm' && text.back() != 'y') {
    return f.Bad(key, fmt::format("'{}': a recurring period is in months (m) or years (y)", text));
  }
  switch (text.back()) {
    case 'h': o.delay = std::chrono::hours(n); break;
    case 'd': o.delay = std::chrono::hours(24 * n); break;
    case 'w': o.delay = std::chrono::hours(24 * 7 * n); break;
    case 'm': o.delay_months = static_cast<int>(n); break;
    case 'y': o.delay_months = static_cast<int>(12 * n); break;
    default: return f.Bad(key, fmt::format("'{}': the unit must be h, d, w, m or y", text));
  }
  return core::Ok();
}

// One event kind or a list of them ("the first of any"): SB 1047 §22603(b) is triggered by use
// as well as by release.
Result<std::optional<std::vector<std::string>>> OptionalEvents(const TomlFields& f, const toml::table& t,
                                                               std::string_view key) {
  const toml::node* node = t.get(key);
  if (!node) return std::optional<std::vector<std::string>>();
  std::vector<std::string> kinds;
  if (node->is_string()) {
    kinds.push_back(node->as_string()->get());
  } else {
    FL_ASSIGN_OR_RETURN(kinds, f.Strings(key));
  }
  if (kinds.empty()) return f.Bad(key, "names no event");
  for (const auto& kind : kinds) {
    if (std::find(kEventKinds.begin(), kEventKinds.end(), kind) == kEventKinds.end()) {
      return f.Bad(key, fmt::format("unknown event '{}'; events: {}", kind, Join(kEventKinds)));
    }
  }
  return std::optional<std::vector<std::string>>(std::move(kinds));
}

Result<void> CheckEvent(const TomlFields& f, std::string_view key, const std::string& kind) {
  if (std::find(kEventKinds.begin(), kEventKinds.end(), kind) == kEventKinds.end()) {
    return f.Bad(key, fmt::format("unknown event '{}'; events: {}", kind, Join(kEventKinds)));
  }
  return core::Ok();
}

Result<void> CheckStatuses(const TomlFields& f, std::string_view key, const std::vector<std::string>& given,
                           const std::vector<std::string>& statuses) {
  for (const auto& s : given) {
    if (std::find(statuses.begin(), statuses.end(), s) == statuses.end()) {
      return f.Bad(key, fmt::format("unknown status '{}'; this regime's statuses: {}", s, Join(statuses)));
    }
  }
  return core::Ok();
}

Result<std::optional<std::vector<std::string>>> OptionalStrings(const TomlFields& f, const toml::table& t,
                                                                std::string_view key) {
  if (!t.get(key)) return std::optional<std::vector<std::string>>();
  FL_ASSIGN_OR_RETURN(auto values, f.Strings(key));
  return std::optional<std::vector<std::string>>(std::move(values));
}

Result<Regime> FromToml(const toml::table& root, const std::string& file) {
  Regime r;
  TomlFields top(root, file, "regime");
  FL_RETURN_IF_ERROR(top.OnlyKeys({"id", "title", "version", "in_force_from", "note", "source", "statuses",
                                   "default_status", "covered_statuses", "param", "reading", "rule",
                                   "obligation", "penalty", "line", "cost_component", "unknowns"}));
  FL_ASSIGN_OR_RETURN(r.id, top.String("id"));
  FL_ASSIGN_OR_RETURN(r.title, top.String("title"));
  FL_ASSIGN_OR_RETURN(r.version, top.RequiredDate("version"));
  FL_ASSIGN_OR_RETURN(r.in_force_from, top.OptionalDate("in_force_from"));
  FL_ASSIGN_OR_RETURN(r.note, top.StringOr("note", ""));
  FL_ASSIGN_OR_RETURN(r.source, top.String("source"));
  FL_ASSIGN_OR_RETURN(r.statuses, top.Strings("statuses"));
  if (r.statuses.empty()) return top.Bad("statuses", "needs at least one status");
  FL_ASSIGN_OR_RETURN(r.default_status, top.String("default_status"));
  FL_RETURN_IF_ERROR(CheckStatuses(top, "default_status", {r.default_status}, r.statuses));
  FL_ASSIGN_OR_RETURN(r.covered_statuses, top.Strings("covered_statuses"));
  FL_RETURN_IF_ERROR(CheckStatuses(top, "covered_statuses", r.covered_statuses, r.statuses));
  FL_ASSIGN_OR_RETURN(auto unknowns, OptionalStrings(top, root, "unknowns"));
  r.unknowns = unknowns.value_or(std::vector<std::string>{});

  std::set<std::string> names;
  FL_RETURN_IF_ERROR(core::ForEachTable(root, "param", file, false, [&](const TomlFields& f, const toml::table& t) -> Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"name", "unit", "cite", "values", "cpi_indexed_from", "cpi_series",
                                   "regulator_may_set_from", "regulator_note", "regulator_approval", "secondary"}));
    Parameter p;
    FL_ASSIGN_OR_RETURN(p.name, f.String("name"));
    if (!names.insert(p.name).second) return f.Bad("name", fmt::format("parameter '{}' is defined twice", p.name));
    FL_ASSIGN_OR_RETURN(p.unit, f.String("unit"));
    FL_ASSIGN_OR_RETURN(p.cite, f.String("cite"));
    const toml::array* values = t["values"].as_array();
    if (!values || values->empty()) return f.Bad("values", "needs at least one { from = DATE, value = N }");
    int i = 0;
    for (const toml::node& node : *values) {
      const toml::table* v = node.as_table();
      std::string name = f.Name("values") + fmt::format("[{}]", i++);
      if (!v) return core::InvalidArgument("expected { from = DATE, value = N }", name, core::TomlLocation(node, file));
      TomlFields vf(*v, file, name);
      FL_RETURN_IF_ERROR(vf.OnlyKeys({"from", "value", "source", "approved"}));
      DatedValue dv;
      FL_ASSIGN_OR_RETURN(dv.from, vf.RequiredDate("from"));
      FL_ASSIGN_OR_RETURN(dv.value, vf.Positive("value"));
      FL_ASSIGN_OR_RETURN(dv.source, vf.StringOr("source", ""));
      FL_ASSIGN_OR_RETURN(dv.approved, vf.OptionalDate("approved"));
      if (!p.values.empty() && !(p.values.back().from < dv.from)) {
        return vf.Bad("from", "dated values must be in ascending order of `from`, without repeats");
      }
      p.values.push_back(dv);
    }
    FL_ASSIGN_OR_RETURN(auto cpi_from, f.OptionalPositive("cpi_indexed_from"));
    if (cpi_from) {
      if (*cpi_from != std::floor(*cpi_from) || *cpi_from < 1900 || *cpi_from > 3000) {
        return f.Bad("cpi_indexed_from", "expected a year");
      }
      p.cpi_indexed_from = static_cast<int>(*cpi_from);
      FL_ASSIGN_OR_RETURN(p.cpi_series, f.String("cpi_series"));
    }
    FL_ASSIGN_OR_RETURN(p.regulator_may_set_from, f.OptionalDate("regulator_may_set_from"));
    FL_ASSIGN_OR_RETURN(p.regulator_note, f.StringOr("regulator_note", ""));
    FL_ASSIGN_OR_RETURN(p.regulator_approval, f.StringOr("regulator_approval", ""));
    FL_ASSIGN_OR_RETURN(p.secondary, f.StringOr("secondary", ""));
    if (!p.regulator_approval.empty() && !p.regulator_may_set_from) {
      return f.Bad("regulator_approval", "goes with regulator_may_set_from");
    }
    r.params.push_back(std::move(p));
    return core::Ok();
  }));
  // Each parameter a regulator may set gets a flag parameter saying whether it has (see Parameter).
  for (std::size_t i = 0, n = r.params.size(); i < n; ++i) {
    if (!r.params[i].regulator_may_set_from) continue;
    Parameter flag;
    flag.name = r.params[i].name + "_set_by_regulator";
    flag.unit = "flag";
    flag.cite = r.params[i].regulator_note;
    flag.values = {{r.params[i].values.front().from, 0, "", std::nullopt}};
    flag.regulator_flag_of = r.params[i].name;
    if (!names.insert(flag.name).second) {
      return top.Bad("param", fmt::format("parameter '{}' is reserved: it says whether a regulator set '{}'",
                                          flag.name, r.params[i].name));
    }
    r.params.push_back(std::move(flag));
  }

  FL_RETURN_IF_ERROR(core::ForEachTable(root, "reading", file, false, [&](const TomlFields& f, const toml::table& t) -> Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"id", "ambiguity", "text", "bind"}));
    Reading reading;
    FL_ASSIGN_OR_RETURN(reading.id, f.String("id"));
    FL_ASSIGN_OR_RETURN(reading.ambiguity, f.String("ambiguity"));
    FL_ASSIGN_OR_RETURN(reading.text, f.String("text"));
    if (const toml::table* bind = t["bind"].as_table()) {
      FactSchema standard = StandardFacts();
      for (const auto& [alias, target] : *bind) {
        const std::string* fact = target.as_string() ? &target.as_string()->get() : nullptr;
        if (!fact || standard.Find(*fact) < 0) {
          return core::InvalidArgument(fmt::format("must name a standard fact: {}", Join(standard.Names())),
                                       f.Name("bind." + std::string(alias.str())), core::TomlLocation(target, file));
        }
        reading.bind.emplace_back(std::string(alias.str()), *fact);
      }
    }
    r.readings.push_back(std::move(reading));
    return core::Ok();
  }));

  FL_RETURN_IF_ERROR(core::ForEachTable(root, "rule", file, false, [&](const TomlFields& f, const toml::table& t) -> Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"id", "status", "cite", "text", "when", "developer", "only_under", "ambiguity",
                                   "secondary"}));
    Rule rule;
    FL_ASSIGN_OR_RETURN(rule.id, f.String("id"));
    FL_ASSIGN_OR_RETURN(rule.status, f.String("status"));
    FL_RETURN_IF_ERROR(CheckStatuses(f, "status", {rule.status}, r.statuses));
    FL_ASSIGN_OR_RETURN(rule.cite, f.String("cite"));
    FL_ASSIGN_OR_RETURN(rule.text, f.String("text"));
    FL_ASSIGN_OR_RETURN(rule.when, f.String("when"));
    rule.where = core::TomlLocation(*t.get("when"), file);
    FL_ASSIGN_OR_RETURN(rule.developer, f.StringOr("developer", "self"));
    if (rule.developer != "self" && rule.developer != "base") return f.Bad("developer", "expected \"self\" or \"base\"");
    FL_ASSIGN_OR_RETURN(auto only_under, OptionalStrings(f, t, "only_under"));
    rule.only_under = only_under.value_or(std::vector<std::string>{});
    for (const auto& id : rule.only_under) {
      if (std::none_of(r.readings.begin(), r.readings.end(), [&](const Reading& x) { return x.id == id; })) {
        return f.Bad("only_under", fmt::format("unknown reading '{}'", id));
      }
    }
    FL_ASSIGN_OR_RETURN(rule.ambiguity, f.StringOr("ambiguity", ""));
    FL_ASSIGN_OR_RETURN(rule.secondary, f.StringOr("secondary", ""));
    r.rules.push_back(std::move(rule));
    return core::Ok();
  }));
  if (r.rules.empty()) return top.Bad("rule", "a regime needs at least one [[rule]]");

  FL_RETURN_IF_ERROR(core::ForEachTable(root, "obligation", file, false, [&](const TomlFields& f, const toml::table& t) -> Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"id", "cite", "text", "applies_to", "before", "within", "after", "annually_after",
                                   "every", "starting", "met_by", "from", "earlier", "earlier_due", "earlier_cite",
                                   "when", "when_text", "source", "retention", "secondary", "exempt_by"}));
    Obligation o;
    FL_ASSIGN_OR_RETURN(o.id, f.String("id"));
    FL_ASSIGN_OR_RETURN(o.cite, f.String("cite"));
    FL_ASSIGN_OR_RETURN(o.text, f.String("text"));
    FL_ASSIGN_OR_RETURN(o.applies_to, f.Strings("applies_to"));
    FL_RETURN_IF_ERROR(CheckStatuses(f, "applies_to", o.applies_to, r.statuses));
    FL_ASSIGN_OR_RETURN(auto before, OptionalEvents(f, t, "before"));
    FL_ASSIGN_OR_RETURN(auto within, f.OptionalString("within"));
    FL_ASSIGN_OR_RETURN(auto after, OptionalEvents(f, t, "after"));
    FL_ASSIGN_OR_RETURN(auto annually, OptionalEvents(f, t, "annually_after"));
    FL_ASSIGN_OR_RETURN(auto every, f.OptionalString("every"));
    FL_ASSIGN_OR_RETURN(auto starting, OptionalEvents(f, t, "starting"));
    int clocks = (before ? 1 : 0) + (within ? 1 : 0) + (annually ? 1 : 0) + (every ? 1 : 0);
    if (clocks != 1) {
      return f.Bad("before", "give exactly one clock: before = EVENT, within = DURATION (with after = EVENT), "
                             "annually_after = EVENT, or every = PERIOD (with starting = EVENT, or from the duty's start)");
    }
    if (before) {
      o.clock = Obligation::Clock::kBefore;
      o.triggers = *before;
    } else if (within) {
      o.clock = Obligation::Clock::kWithin;
      if (*within == "without-undue-delay") {
        o.without_undue_delay = true;  // never overdue by a date flopline would have to invent
      } else if (*within == "unknown") {
        o.period_unknown = true;  // the text has a period, but no source read gives it
      } else {
        FL_RETURN_IF_ERROR(ParseDelay(*within, o, f, "within", /*allow_zero=*/true, /*months_only=*/false));
      }
      if (!after) return f.Bad("within", "needs after = EVENT");
      o.triggers = *after;
    } else if (annually) {
      o.clock = Obligation::Clock::kEvery;
      o.delay_months = 12;
      o.triggers = *annually;
    } else {
      o.clock = Obligation::Clock::kEvery;
      FL_RETURN_IF_ERROR(ParseDelay(*every, o, f, "every", /*allow_zero=*/false, /*months_only=*/true));
      o.triggers = starting.value_or(std::vector<std::string>{});
    }
    if (after && !within) return f.Bad("after", "goes with within = DURATION");
    if (starting && !every) return f.Bad("starting", "goes with every = PERIOD");
    o.trigger = Join(o.triggers, " or ");
    FL_ASSIGN_OR_RETURN(o.met_by, f.StringOr("met_by", ""));
    if (!o.met_by.empty()) FL_RETURN_IF_ERROR(CheckEvent(f, "met_by", o.met_by));
    FL_ASSIGN_OR_RETURN(o.from, f.OptionalDate("from"));
    // A duty does not exist before its law: without a date of its own, it starts with the regime.
    if (!o.from) o.from = r.in_force_from;
    if (o.clock == Obligation::Clock::kEvery && o.triggers.empty() && !o.from) {
      return f.Bad("every", "needs starting = EVENT, or from = DATE (or the regime's in_force_from)");
    }
    FL_ASSIGN_OR_RETURN(std::string earlier, f.StringOr("earlier", "excused"));
    if (earlier == "excused") {
      o.earlier = Obligation::Earlier::kExcused;
    } else if (earlier == "clock-from-start") {
      o.earlier = Obligation::Earlier::kClockFromStart;
    } else if (earlier == "due-at-start") {
      o.earlier = Obligation::Earlier::kDueAtStart;
    } else if (earlier == "due-on") {
      o.earlier = Obligation::Earlier::kDueOn;
    } else {
      return f.Bad("earlier", "expected \"excused\", \"clock-from-start\", \"due-at-start\" or \"due-on\"");
    }
    FL_ASSIGN_OR_RETURN(o.earlier_due, f.OptionalDate("earlier_due"));
    if ((o.earlier == Obligation::Earlier::kDueOn) != o.earlier_due.has_value()) {
      return f.Bad("earlier_due", "is required with earlier = \"due-on\", and only then");
    }
    if (o.earlier != Obligation::Earlier::kExcused && !o.from) {
      return f.Bad("earlier", "needs from = DATE (or the regime's in_force_from)");
    }
    FL_ASSIGN_OR_RETURN(o.earlier_cite, f.StringOr("earlier_cite", ""));
    FL_ASSIGN_OR_RETURN(o.when, f.StringOr("when", ""));
    if (!o.when.empty()) o.where = core::TomlLocation(*t.get("when"), file);
    FL_ASSIGN_OR_RETURN(o.when_text, f.StringOr("when_text", o.when));
    FL_ASSIGN_OR_RETURN(o.source, f.StringOr("source", ""));
    FL_ASSIGN_OR_RETURN(o.retention, f.StringOr("retention", ""));
    FL_ASSIGN_OR_RETURN(o.secondary, f.StringOr("secondary", ""));
    if (o.period_unknown && o.secondary.empty()) {
      return f.Bad("within", "\"unknown\" says no source gives the period: name the source the duty was read from in `secondary`");
    }
    FL_ASSIGN_OR_RETURN(o.exempt_by, f.StringOr("exempt_by", ""));
    if (!o.exempt_by.empty()) FL_RETURN_IF_ERROR(CheckEvent(f, "exempt_by", o.exempt_by));
    r.obligations.push_back(std::move(o));
    return core::Ok();
  }));

  FL_RETURN_IF_ERROR(core::ForEachTable(root, "penalty", file, false, [&](const TomlFields& f, const toml::table& t) -> Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"applies_to", "cite", "currency", "from", "first", "subsequent", "condition",
                                   "otherwise", "secondary"}));
    Penalty p;
    FL_ASSIGN_OR_RETURN(p.applies_to, f.Strings("applies_to"));
    FL_RETURN_IF_ERROR(CheckStatuses(f, "applies_to", p.applies_to, r.statuses));
    FL_ASSIGN_OR_RETURN(p.cite, f.String("cite"));
    FL_ASSIGN_OR_RETURN(p.currency, f.StringOr("currency", "USD"));
    FL_ASSIGN_OR_RETURN(p.from, f.OptionalDate("from"));
    FL_ASSIGN_OR_RETURN(p.first, f.String("first"));
    FL_ASSIGN_OR_RETURN(p.subsequent, f.String("subsequent"));
    FL_ASSIGN_OR_RETURN(p.condition, f.StringOr("condition", ""));
    FL_ASSIGN_OR_RETURN(p.otherwise, f.StringOr("otherwise", ""));
    FL_ASSIGN_OR_RETURN(p.secondary, f.StringOr("secondary", ""));
    p.where = core::TomlLocation(*t.get("first"), file);
    r.penalties.push_back(std::move(p));
    return core::Ok();
  }));

  FL_RETURN_IF_ERROR(core::ForEachTable(root, "cost_component", file, false, [&](const TomlFields& f, const toml::table&) -> Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"component", "counts", "cite"}));
    CostComponent c;
    FL_ASSIGN_OR_RETURN(c.component, f.String("component"));
    if (std::find(kCostComponents.begin(), kCostComponents.end(), c.component) == kCostComponents.end()) {
      return f.Bad("component", fmt::format("unknown component '{}'; components: {}", c.component, Join(kCostComponents)));
    }
    if (std::any_of(r.cost_components.begin(), r.cost_components.end(),
                    [&](const CostComponent& x) { return x.component == c.component; })) {
      return f.Bad("component", fmt::format("'{}' is listed twice", c.component));
    }
    FL_ASSIGN_OR_RETURN(auto counts, f.OptionalBool("counts"));
    if (!counts) return f.Bad("counts", "is required: true or false");
    c.counts = *counts;
    // The cost facts hold compute at market price only: a text that counted more would need them
    // extended, not a flag that silently changes nothing.
    if (c.counts && c.component != "compute-market") {
      return f.Bad("counts", "only compute-market can count: flopline's cost facts hold the stages' compute at market price");
    }
    FL_ASSIGN_OR_RETURN(c.cite, f.String("cite"));
    r.cost_components.push_back(std::move(c));
    return core::Ok();
  }));
  if (!r.cost_components.empty() && r.cost_components.size() != kCostComponents.size()) {
    return top.Bad("cost_component", fmt::format("list every component ({}) or none", Join(kCostComponents)));
  }

  FL_RETURN_IF_ERROR(core::ForEachTable(root, "line", file, false, [&](const TomlFields& f, const toml::table&) -> Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"name", "flop", "cost"}));
    Line line;
    FL_ASSIGN_OR_RETURN(line.name, f.String("name"));
    FL_ASSIGN_OR_RETURN(line.flop_param, f.String("flop"));
    FL_ASSIGN_OR_RETURN(line.cost_param, f.StringOr("cost", ""));
    for (const auto& [key, param] : {std::pair<const char*, std::string>{"flop", line.flop_param}, {"cost", line.cost_param}}) {
      if (!param.empty() && r.ParamIndex(param) < 0) {
        return f.Bad(key, fmt::format("names no parameter of this regime; parameters: {}", Join(r.ParamNames())));
      }
    }
    r.lines.push_back(std::move(line));
    return core::Ok();
  }));
  return r;
}

}  // namespace

// Builds the reading combinations and compiles every rule and penalty under each.
Result<void> CompileRegime(Regime& r, const std::string& file) {
  // Group readings by ambiguity, in order of first appearance.
  std::vector<std::vector<int>> groups;
  std::vector<std::string> group_names;
  for (std::size_t i = 0; i < r.readings.size(); ++i) {
    auto it = std::find(group_names.begin(), group_names.end(), r.readings[i].ambiguity);
    if (it == group_names.end()) {
      group_names.push_back(r.readings[i].ambiguity);
      groups.push_back({static_cast<int>(i)});
    } else {
      groups[static_cast<std::size_t>(it - group_names.begin())].push_back(static_cast<int>(i));
    }
  }
  r.combinations_ = {{}};
  for (const auto& group : groups) {
    std::vector<Regime::Combination> next;
    for (const auto& partial : r.combinations_) {
      for (int reading : group) {
        auto c = partial;
        c.push_back(reading);
        next.push_back(std::move(c));
      }
    }
    r.combinations_ = std::move(next);
  }
  if (r.combinations_.size() > 64) {
    return core::InvalidArgument("more than 64 combinations of readings", "reading", core::Location{file, 0, 0});
  }

  const std::vector<std::string> params = r.ParamNames();
  for (const auto& combination : r.combinations_) {
    FactSchema schema = StandardFacts();
    std::vector<std::string> base_values = r.statuses;
    base_values.push_back("none");
    schema.AddString("base_status", base_values);
    std::vector<std::string> ids;
    for (int reading : combination) {
      const Reading& rd = r.readings[static_cast<std::size_t>(reading)];
      ids.push_back(rd.id);
      for (const auto& [alias, fact] : rd.bind) schema.AddAlias(alias, schema.Find(fact));
    }
    std::vector<std::optional<Expr>> compiled;
    for (std::size_t i = 0; i < r.rules.size(); ++i) {
      const Rule& rule = r.rules[i];
      bool enabled = rule.only_under.empty() ||
                     std::any_of(rule.only_under.begin(), rule.only_under.end(),
                                 [&](const std::string& id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); });
      if (!enabled) {
        compiled.emplace_back();
        continue;
      }
      FL_ASSIGN_OR_RETURN(Expr e, Expr::Compile(rule.when, schema, params, rule.where,
                                                fmt::format("rule[{}].when", i)));
      compiled.emplace_back(std::move(e));
    }
    std::vector<Expr> penalties;
    for (std::size_t i = 0; i < r.penalties.size(); ++i) {
      const Penalty& p = r.penalties[i];
      FL_ASSIGN_OR_RETURN(Expr first, Expr::CompileNumber(p.first, schema, params, p.where, fmt::format("penalty[{}].first", i)));
      FL_ASSIGN_OR_RETURN(Expr next, Expr::CompileNumber(p.subsequent, schema, params, p.where,
                                                         fmt::format("penalty[{}].subsequent", i)));
      penalties.push_back(std::move(first));
      penalties.push_back(std::move(next));
    }
    std::vector<std::optional<Expr>> obligations;
    for (std::size_t i = 0; i < r.obligations.size(); ++i) {
      const Obligation& o = r.obligations[i];
      if (o.when.empty()) {
        obligations.emplace_back();
        continue;
      }
      FL_ASSIGN_OR_RETURN(Expr e, Expr::Compile(o.when, schema, params, o.where, fmt::format("obligation[{}].when", i)));
      obligations.emplace_back(std::move(e));
    }
    r.schemas_.push_back(std::move(schema));
    r.compiled_.push_back(std::move(compiled));
    r.compiled_penalties_.push_back(std::move(penalties));
    r.compiled_obligations_.push_back(std::move(obligations));
  }
  return core::Ok();
}

Result<Regime> Regime::Parse(std::string_view text, const std::string& file) {
  FL_ASSIGN_OR_RETURN(toml::table root, core::ParseToml(text, file));
  FL_ASSIGN_OR_RETURN(Regime r, FromToml(root, file));
  FL_RETURN_IF_ERROR(CompileRegime(r, file));
  return r;
}

Result<Regime> Regime::Load(const std::string& path) {
  FL_ASSIGN_OR_RETURN(toml::table root, core::ParseTomlFile(path));
  FL_ASSIGN_OR_RETURN(Regime r, FromToml(root, path));
  FL_RETURN_IF_ERROR(CompileRegime(r, path));
  return r;
}

std::string Regime::CombinationName(std::size_t c) const {
  std::vector<std::string> ids;
  for (int reading : combinations_[c]) ids.push_back(readings[static_cast<std::size_t>(reading)].id);
  return ids.empty() ? "as written" : Join(ids);
}

int Regime::ParamIndex(std::string_view name) const {
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (params[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::vector<std::string> Regime::ParamNames() const {
  std::vector<std::string> out;
  for (const auto& p : params) out.push_back(p.name);
  return out;
}

double Regime::StatutoryValue(std::string_view name, core::Date date) const {
  const Parameter& p = params[static_cast<std::size_t>(ParamIndex(name))];
  const DatedValue* row = &p.values.front();
  for (const DatedValue& v : p.values) {
    if (v.from <= date) row = &v;
  }
  return row->value;
}

Result<std::vector<Regime>> LoadRegimeDir(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".toml") paths.push_back(entry.path().string());
  }
  if (ec || paths.empty()) {
    return core::NotFound(fmt::format("no regime files (*.toml) in '{}'", dir), "--regimes-dir");
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Regime> out;
  for (const auto& path : paths) {
    FL_ASSIGN_OR_RETURN(Regime r, Regime::Load(path));
    out.push_back(std::move(r));
  }
  return out;
}

bool Regime::IsCovered(std::string_view status) const {
  return std::find(covered_statuses.begin(), covered_statuses.end(), status) != covered_statuses.end();
}

}  // namespace flopline::rules
