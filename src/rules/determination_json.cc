#include "flopline/rules/determination_json.h"

namespace flopline::rules {
namespace {

using json = nlohmann::json;

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json StepsJson(const std::vector<Step>& steps) {
  json out = json::array();
  for (const Step& s : steps) out.push_back({{"text", s.text}, {"cite", s.cite}});
  return out;
}

json MarginsJson(const std::vector<Margin>& margins) {
  json out = json::array();
  for (const Margin& m : margins) {
    out.push_back({{"left", m.left}, {"op", m.op}, {"right", m.right}, {"value", m.value},
                   {"threshold", m.threshold}, {"holds", m.holds}, {"margin", m.text}});
  }
  return out;
}

}  // namespace

json AssessmentToJson(core::Date as_of, const std::vector<ModelAnswer>& answers) {
  json models = json::array();
  for (const ModelAnswer& a : answers) {
    json determinations = json::array();
    for (const Determination& d : a.determinations) {
      json outcomes = json::array();
      for (const Outcome& o : d.outcomes) {
        outcomes.push_back({{"reading", o.reading}, {"status", o.status}, {"rule", o.rule}, {"cite", o.cite},
                            {"developer", o.developer}, {"explanation", StepsJson(o.explanation)},
                            {"margins", MarginsJson(o.margins)}});
      }
      json obligations = json::array();
      for (const ObligationState& o : d.obligations) {
        obligations.push_back({{"id", o.id}, {"cite", o.cite}, {"text", o.text},
                               {"due", o.due ? json(o.due->ToString()) : json(nullptr)}, {"status", o.state},
                               {"detail", o.detail}, {"retention", o.retention.empty() ? json(nullptr) : json(o.retention)}});
      }
      json params = json::array();
      for (const ParamValue& p : d.params) {
        params.push_back({{"name", p.name}, {"value", p.value}, {"unit", p.unit}, {"cite", p.cite}, {"basis", p.basis}});
      }
      // The first reading's explanation and margins stand for the determination; each reading's are in "readings".
      const Outcome& first = d.outcomes.front();
      determinations.push_back({{"regime", d.regime},
                                {"title", d.title},
                                {"note", d.note.empty() ? json(nullptr) : json(d.note)},
                                {"in_force", d.in_force},
                                {"status", d.status},
                                {"covered", OrNull(d.covered)},
                                {"basis", d.basis},
                                {"developer_of_record", first.developer},
                                {"explanation", StepsJson(first.explanation)},
                                {"margins", MarginsJson(first.margins)},
                                {"readings", outcomes},
                                {"parameters", params},
                                {"obligations", obligations},
                                {"penalty_max_usd", d.penalty_currency == "USD" ? OrNull(d.penalty_first) : json(nullptr)},
                                {"penalty_max", OrNull(d.penalty_first)},
                                {"penalty_subsequent_max", OrNull(d.penalty_subsequent)},
                                {"penalty_currency", d.penalty_currency.empty() ? json(nullptr) : json(d.penalty_currency)},
                                {"penalty_cite", d.penalty_cite.empty() ? json(nullptr) : json(d.penalty_cite)},
                                {"notes", d.notes}});
    }
    models.push_back({{"id", a.id},
                      {"developer", a.developer},
                      {"training_flop", a.own_flop},
                      {"cumulative_flop", a.cumulative_flop},
                      {"cost_usd", OrNull(a.own_cost_usd)},
                      {"cumulative_cost_usd", OrNull(a.cumulative_cost_usd)},
                      {"determinations", determinations}});
  }
  return {{"as_of", as_of.ToString()}, {"models", models}};
}

}  // namespace flopline::rules
