#include "flopline/rules/determination_json.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "flopline/core/format.h"

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

json DeadlineJson(const Determination& d) {
  const ObligationState* o = NextDeadline(d);
  if (!o) return nullptr;
  return {{"id", o->id}, {"cite", o->cite}, {"due", o->due->ToString()}, {"status", o->state}};
}

std::string MarginOrEmpty(const Determination& d) { return KeyMargin(d); }

// Every reading gives the same status, by the same rule, to the same developer: the determination's
// own status and developer_of_record say it all, and the summary lists no readings.
bool ReadingsAgree(const Determination& d) {
  const Outcome& first = d.outcomes.front();
  return std::all_of(d.outcomes.begin() + 1, d.outcomes.end(), [&](const Outcome& o) {
    return o.status == first.status && o.rule == first.rule && o.developer == first.developer;
  });
}

json PenaltyIndex(const Determination& d) { return d.penalty < 0 ? json(nullptr) : json(d.penalty); }

json DeterminationJson(const Determination& d) {
  json readings = json::array();
  for (const Outcome& o : d.outcomes) {
    json r = {{"reading", o.reading}, {"status", o.status}, {"rule", o.rule}, {"cite", o.cite},
              {"developer", o.developer}};
    if (d.explained) {
      r["explanation"] = StepsJson(o.explanation);
      r["margins"] = MarginsJson(o.margins);
    }
    readings.push_back(std::move(r));
  }
  const Outcome& first = d.outcomes.front();
  std::string margin = MarginOrEmpty(d);
  json out = {{"regime", d.regime},
              {"in_force", d.in_force},
              {"status", d.status},
              {"covered", OrNull(d.covered)},
              {"basis", d.basis},
              {"developer_of_record", first.developer},
              {"margin", margin.empty() ? json(nullptr) : json(margin)},
              {"next_deadline", DeadlineJson(d)},
              {"readings_agree", ReadingsAgree(d)},
              {"readings", readings},
              {"penalty", PenaltyIndex(d)},
              {"penalty_max_usd", d.penalty_currency == "USD" ? OrNull(d.penalty_first) : json(nullptr)},
              {"penalty_max", OrNull(d.penalty_first)},
              {"penalty_subsequent_max", OrNull(d.penalty_subsequent)},
              {"penalty_currency", d.penalty_currency.empty() ? json(nullptr) : json(d.penalty_currency)},
              {"penalty_cite", d.penalty_cite.empty() ? json(nullptr) : json(d.penalty_cite)},
              {"penalty_condition", d.penalty_condition.empty() ? json(nullptr) : json(d.penalty_condition)},
              {"penalty_otherwise", d.penalty_otherwise.empty() ? json(nullptr) : json(d.penalty_otherwise)},
              {"notes", d.notes}};
  if (!d.explained) return out;
  // The first reading's explanation and margins stand for the determination; each reading's are in "readings".
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
  out["title"] = d.title;
  out["note"] = d.note.empty() ? json(nullptr) : json(d.note);
  out["explanation"] = StepsJson(first.explanation);
  out["margins"] = MarginsJson(first.margins);
  out["parameters"] = params;
  out["obligations"] = obligations;
  return out;
}

void AppendNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";  // never produced by a checked inventory; JSON has no inf
    return;
  }
  fmt::format_to(std::back_inserter(out), FMT_COMPILE("{}"), v);
}

void AppendOptional(std::string& out, const std::optional<double>& v) {
  if (v) AppendNumber(out, *v);
  else out += "null";
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  AppendJsonEscaped(out, s);
  out += '"';
}

void AppendJsonEscaped(std::string& out, std::string_view s) {
  // Runs of characters that need no escape are copied whole: this writes gigabytes.
  auto plain = [](char c) { return c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20; };
  // Eight bytes at a time while none needs an escape (a byte below 0x20, '"' or '\\'): the
  // long texts of the law (penalty clauses, notes) are repeated in every model's answer.
  auto plain8 = [](const char* p) {
    std::uint64_t x;
    std::memcpy(&x, p, 8);
    constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
    auto zero_byte = [&](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
    const std::uint64_t below_space = (x - kOnes * 0x20) & ~x & kHigh;
    return (below_space | zero_byte(x ^ (kOnes * '"')) | zero_byte(x ^ (kOnes * '\\'))) == 0;
  };
  while (!s.empty()) {
    std::size_t run = 0;
    while (run + 8 <= s.size() && plain8(s.data() + run)) run += 8;
    while (run < s.size() && plain(s[run])) ++run;
    out.append(s.data(), run);
    s.remove_prefix(run);
    if (s.empty()) break;
    const char c = s.front();
    s.remove_prefix(1);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
}

const Margin* KeyMarginOf(const Determination& d) {
  if (d.outcomes.empty()) return nullptr;
  // The margin to a line: a comparison with a regime parameter (a threshold) first; "own_flop > 0"
  // says little about where a model stands.
  const Margin* key = nullptr;
  for (const Margin& m : d.outcomes.front().margins) {
    if (m.holds == "unknown") continue;
    if (m.right.find("param.") != std::string::npos && m.threshold > 0) return &m;
    if (!key && m.threshold > 0) key = &m;
  }
  return key;
}

// KeyMargin's text appended to `out`: one writer for the table, the API and the summary JSON. The
// threshold's text is formatted again only when it changes (a million summaries name a few lines).
void AppendKeyMarginText(std::string& out, const Margin& key) {
  thread_local double last_threshold = std::nan("");
  thread_local std::string threshold_text;
  if (!(key.threshold == last_threshold)) {
    last_threshold = key.threshold;
    threshold_text = core::Sci3(key.threshold);
  }
  std::string_view right = key.right;
  if (right.starts_with("param.")) right.remove_prefix(6);
  out += key.left;
  out += ' ';
  out += key.text;
  out += ' ';
  out += right;
  out += ' ';
  out += threshold_text;
}

// The same as a JSON string, or null, without a string per model (the summary's hot path).
void AppendKeyMargin(std::string& out, const Determination& d) {
  const Margin* key = KeyMarginOf(d);
  if (!key) {
    out += "null";
    return;
  }
  thread_local std::string text;
  text.clear();
  AppendKeyMarginText(text, *key);
  AppendJsonString(out, text);
}

std::string KeyMargin(const Determination& d) {
  const Margin* key = KeyMarginOf(d);
  if (!key) return "";
  std::string out;
  AppendKeyMarginText(out, *key);
  return out;
}

const ObligationState* NextDeadline(const Determination& d) { return NextDeadline(d.obligations); }

const ObligationState* NextDeadline(std::span<const ObligationState> obligations) {
  const ObligationState* best = nullptr;
  for (const ObligationState& o : obligations) {
    if (!o.due || (o.state != "overdue" && o.state != "open")) continue;
    if (!best) {
      best = &o;
      continue;
    }
    const bool o_overdue = o.state == "overdue", best_overdue = best->state == "overdue";
    if ((o_overdue && !best_overdue) || (o_overdue == best_overdue && *o.due < *best->due)) best = &o;
  }
  return best;
}

json ModelToJson(const ModelAnswer& a) {
  json determinations = json::array();
  for (const Determination& d : a.determinations) determinations.push_back(DeterminationJson(d));
  return {{"id", a.id},
          {"developer", a.developer},
          {"training_flop", a.own_flop},
          {"cumulative_flop", a.cumulative_flop},
          {"cost_usd", OrNull(a.own_cost_usd)},
          {"cumulative_cost_usd", OrNull(a.cumulative_cost_usd)},
          {"determinations", determinations}};
}

void AppendSummaryJson(std::string& out, const ModelAnswer& a) {
  out += "{\"id\":";
  AppendJsonString(out, a.id);
  out += ",\"developer\":";
  AppendJsonString(out, a.developer);
  out += ",\"training_flop\":";
  AppendNumber(out, a.own_flop);
  out += ",\"cumulative_flop\":";
  AppendNumber(out, a.cumulative_flop);
  out += ",\"cost_usd\":";
  AppendOptional(out, a.own_cost_usd);
  out += ",\"cumulative_cost_usd\":";
  AppendOptional(out, a.cumulative_cost_usd);
  out += ",\"determinations\":[";
  bool first_d = true;
  for (const Determination& d : a.determinations) {
    if (!first_d) out += ',';
    first_d = false;
    // Whether the regime is in force is the regime's: in the head (regimes[].in_force).
    out += "{\"regime\":";
    AppendJsonString(out, d.regime);
    out += ",\"status\":";
    AppendJsonString(out, d.status);
    out += ",\"covered\":";
    out += !d.covered ? "null" : *d.covered ? "true" : "false";
    out += ",\"basis\":[";
    for (std::size_t i = 0; i < d.basis.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, d.basis[i]);
    }
    out += "],\"developer_of_record\":";
    AppendJsonString(out, d.outcomes.front().developer);
    out += ",\"margin\":";
    AppendKeyMargin(out, d);
    out += ",\"next_deadline\":";
    if (const ObligationState* o = NextDeadline(d)) {
      out += "{\"id\":";
      AppendJsonString(out, o->id);
      out += ",\"cite\":";
      AppendJsonString(out, o->cite);
      out += ",\"due\":";
      AppendJsonString(out, o->due->ToString());
      out += ",\"status\":";
      AppendJsonString(out, o->state);
      out += '}';
    } else {
      out += "null";
    }
    // The readings only where they differ: their names are in the head (regimes[].readings).
    const bool agree = ReadingsAgree(d);
    out += agree ? ",\"readings_agree\":true,\"readings\":[" : ",\"readings_agree\":false,\"readings\":[";
    for (std::size_t i = 0; !agree && i < d.outcomes.size(); ++i) {
      const Outcome& o = d.outcomes[i];
      if (i) out += ',';
      out += "{\"reading\":";
      AppendJsonString(out, o.reading);
      out += ",\"status\":";
      AppendJsonString(out, o.status);
      out += ",\"rule\":";
      AppendJsonString(out, o.rule);
      out += ",\"cite\":";
      AppendJsonString(out, o.cite);
      out += ",\"developer\":";
      AppendJsonString(out, o.developer);
      out += '}';
    }
    // The penalty by its index in the head (regimes[].penalties: its clause, the violations the
    // figure is for, the other remedies), and the figures, which are the model's.
    // The figures only when a penalty applies (without one they are all null).
    out += "],\"penalty\":";
    if (d.penalty < 0) {
      out += "null";
    } else {
      fmt::format_to(std::back_inserter(out), FMT_COMPILE("{}"), d.penalty);
      out += ",\"penalty_max_usd\":";
      AppendOptional(out, d.penalty_currency == "USD" ? d.penalty_first : std::nullopt);
      out += ",\"penalty_max\":";
      AppendOptional(out, d.penalty_first);
      out += ",\"penalty_subsequent_max\":";
      AppendOptional(out, d.penalty_subsequent);
      out += ",\"penalty_currency\":";
      AppendJsonString(out, d.penalty_currency);
    }
    out += ",\"notes\":[";
    for (std::size_t i = 0; i < d.notes.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, d.notes[i]);
    }
    out += "]}";
  }
  out += "]}";
}

json RegimesToJson(const std::vector<RegimeContext>& regimes) {
  json out = json::array();
  for (const RegimeContext& r : regimes) {
    json params = json::array();
    for (const ParamValue& p : r.params) {
      params.push_back({{"name", p.name}, {"value", p.value}, {"unit", p.unit}, {"cite", p.cite}, {"basis", p.basis}});
    }
    json penalties = json::array();
    for (const Penalty& p : r.penalties) {
      auto text = [](const std::string& t) { return t.empty() ? json(nullptr) : json(t); };
      penalties.push_back({{"cite", p.cite},
                           {"applies_to", p.applies_to},
                           {"currency", p.currency},
                           {"first", p.first},
                           {"subsequent", p.subsequent},
                           {"from", p.from ? json(p.from->ToString()) : json(nullptr)},
                           {"condition", text(p.condition)},
                           {"otherwise", text(p.otherwise)},
                           {"secondary", text(p.secondary)}});
    }
    out.push_back({{"id", r.id},
                   {"title", r.title},
                   {"note", r.note.empty() ? json(nullptr) : json(r.note)},
                   {"in_force", r.in_force},
                   {"parameters", params},
                   {"notes", r.notes},
                   {"readings", r.readings},
                   {"penalties", penalties}});
  }
  return out;
}

json AssessmentToJson(core::Date as_of, const std::vector<ModelAnswer>& answers) {
  json models = json::array();
  for (const ModelAnswer& a : answers) models.push_back(ModelToJson(a));
  return {{"as_of", as_of.ToString()}, {"models", models}};
}

}  // namespace flopline::rules
