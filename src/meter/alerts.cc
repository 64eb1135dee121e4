// Alerts at fractions of each line and ahead of it (alerts.h).
#include "flopline/meter/alerts.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "flopline/core/format.h"
#include "flopline/core/instant.h"

namespace flopline::meter {

using nlohmann::json;

core::Result<std::vector<double>> ParseFractions(const std::string& text, const std::string& field) {
  std::vector<double> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    bool percent = !item.empty() && item.back() == '%';
    if (percent) item.pop_back();
    double v = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || !std::isfinite(v)) {
      return core::InvalidArgument(fmt::format("'{}' is not a fraction (0.8 or 80%)", item), field);
    }
    if (percent) v /= 100;
    if (v <= 0 || v >= 1) {
      return core::InvalidArgument(fmt::format("{:g} is not strictly between 0 and 1 (the line itself is always watched)", v),
                                   field);
    }
    out.push_back(v);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

core::Result<std::chrono::seconds> ParseDuration(const std::string& text, const std::string& field) {
  if (text.size() < 2) return core::InvalidArgument(fmt::format("'{}' is not a duration (14d, 36h, 2w, 90m)", text), field);
  char unit = text.back();
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  long long scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : unit == 'w' ? 604800 : 0;
  if (ec != std::errc() || end != text.data() + text.size() - 1 || scale == 0 || n <= 0 || n > 100LL * 365 * 86400 / scale) {
    return core::InvalidArgument(fmt::format("'{}' is not a duration (14d, 36h, 2w, 90m; at most 100 years)", text),
                                 field);
  }
  return std::chrono::seconds(n * scale);
}

Projection Project(const WatchedLine& line, double run_flop, const Rate& rate) {
  Projection p;
  p.value = line.Value(run_flop);
  p.fraction = line.threshold > 0 ? p.value / line.threshold : 0;
  double remaining = line.threshold - p.value;
  if (line.slope <= 0 || remaining <= 0 || rate.point <= 0) return p;
  p.eta = remaining / (line.slope * rate.point);
  if (rate.high > 0) p.eta_low = remaining / (line.slope * rate.high);
  if (rate.low > 0) p.eta_high = remaining / (line.slope * rate.low);
  return p;
}

std::string InstantText(double seconds) {
  return core::Instant(std::chrono::sys_seconds(std::chrono::seconds(static_cast<long long>(std::floor(seconds)))))
      .ToString();
}

json LineToJson(const WatchedLine& l, const Projection& p, double time) {
  json duties = json::array();
  for (const Duty& d : l.duties) {
    duties.push_back({{"id", d.id},
                      {"cite", d.cite},
                      {"text", d.text},
                      {"met_by", d.met_by.empty() ? json(nullptr) : json(d.met_by)},
                      {"state", d.state},
                      {"met", d.met()},
                      {"unmet", d.Unmet()},
                      {"before_line", d.before},
                      {"due", d.due ? json(d.due->ToString()) : json(nullptr)}});
  }
  auto at = [&](const std::optional<double>& eta) { return eta ? json(InstantText(time + *eta)) : json(nullptr); };
  return {{"regime", l.regime},
          {"line", l.name},
          {"param", l.param},
          {"cite", l.cite},
          {"fact", l.fact},
          {"readings", l.readings},
          {"threshold_flop", l.threshold},
          {"flop", p.value},
          {"fraction", p.fraction},
          {"moved_by_run", l.slope > 0},
          {"run_flop_at_line", l.RunFlopAtLine() ? json(*l.RunFlopAtLine()) : json(nullptr)},
          {"projected_crossing",
           {{"point", at(p.eta)}, {"earliest", at(p.eta_low)}, {"latest", at(p.eta_high)}}},
          {"status_at_line", l.status_at_line},
          {"duties", duties},
          {"duties_unmet", l.DutiesUnmet()}};
}

json AlertToJson(const Alert& a) {
  json out = LineToJson(*a.line, a.projection, a.time);
  out["kind"] = a.kind;
  out["level"] = a.level;
  out["run"] = a.run;
  out["model"] = a.model;
  out["at"] = InstantText(a.time);
  return out;
}

std::string AlertToText(const Alert& a) {
  const WatchedLine& l = *a.line;
  std::string what = a.kind == "crossed"  ? "CROSSED"
                     : a.kind == "within" ? "will be met within the alert horizon"
                                          : fmt::format("at {} of", core::Percent(a.level, 0));
  std::string eta = a.projection.eta ? fmt::format("; met about {} (range {} to {})", InstantText(a.time + *a.projection.eta),
                                                   a.projection.eta_low ? InstantText(a.time + *a.projection.eta_low) : "?",
                                                   a.projection.eta_high ? InstantText(a.time + *a.projection.eta_high) : "?")
                                     : "";
  std::vector<std::string> owed;
  for (const Duty& d : l.duties) owed.push_back(fmt::format("{} ({}) {}", d.id, d.cite, d.met() ? "met" : d.state));
  return fmt::format("ALERT {} run {}: {} {} {} line ({}, {}): {} of {} FLOP{}{}{}", InstantText(a.time), a.run, what,
                     l.regime, l.name, l.cite, core::Join(l.readings, " / "), core::Sci3(a.projection.value),
                     core::Sci3(l.threshold), eta, l.status_at_line.empty() ? "" : "; status past it: " + l.status_at_line,
                     owed.empty() ? "" : "; duties before it: " + core::Join(owed, ", "));
}

Alerter::Alerter(AlertPolicy policy) : policy_(std::move(policy)) {
  policy_.fractions.erase(std::remove_if(policy_.fractions.begin(), policy_.fractions.end(),
                                         [](double f) { return !(f > 0 && f < 1); }),
                          policy_.fractions.end());
  std::sort(policy_.fractions.begin(), policy_.fractions.end());
  policy_.fractions.push_back(1.0);
}

std::vector<Alert> Alerter::Check(const RunState& run, const Rate& rate, const std::vector<WatchedLine>& lines,
                                  double now) {
  std::vector<Alert> out;
  double flop = run.flop.value();
  if (memo_lines_ != lines.data() || memo_.size() != lines.size()) {
    memo_lines_ = lines.data();
    memo_.assign(lines.size(), Memo{});
  }
  for (std::size_t n = 0; n < lines.size(); ++n) {
    const WatchedLine& line = lines[n];
    if (line.threshold <= 0 || line.slope <= 0) continue;
    double value = line.Value(flop);
    double fraction = value / line.threshold;
    bool within = false;
    Projection p;
    bool projected = false;
    if (policy_.within && rate.point > 0 && fraction < 1) {
      // Only the point estimate decides "will be met within T"; the alert gives the range.
      double eta = (line.threshold - value) / (line.slope * rate.point);
      within = eta <= static_cast<double>(policy_.within->count());
    }
    if (fraction < policy_.fractions.front() && !within) continue;  // the common case: nothing near
    int highest = -1;
    for (std::size_t i = 0; i < policy_.fractions.size(); ++i) {
      if (fraction >= policy_.fractions[i]) highest = static_cast<int>(i);
    }
    Memo& memo = memo_[n];
    if (highest <= memo.highest && (!within || memo.within)) continue;  // already settled for this line
    memo.highest = std::max(memo.highest, highest);
    memo.within = memo.within || within;
    auto key_of = [&](const std::string& level) {
      return fmt::format("{}|{}|{}|{}|{}|{:.17g}|{}", run.spec.id, line.regime, line.param, line.fact,
                         core::Join(line.readings, "+"), line.threshold, level);
    };
    auto fire = [&](std::string kind, double level, std::string key) {
      if (!fired_.insert(key).second) return;
      if (!projected) {
        p = Project(line, flop, rate);
        projected = true;
      }
      Alert a;
      a.kind = std::move(kind);
      a.level = level;
      a.run = run.spec.id;
      a.model = run.spec.model;
      a.line = &line;
      a.projection = p;
      a.time = now;
      a.key = std::move(key);
      a.duties_unmet = line.DutiesUnmet();
      out.push_back(std::move(a));
    };
    // Only the highest level reached fires when several are passed at once (a restart with a
    // large first step): the lower ones are marked as fired, not announced.
    for (int i = 0; i <= highest; ++i) {
      double level = policy_.fractions[static_cast<std::size_t>(i)];
      std::string key = key_of(fmt::format("{:g}", level));
      if (i < highest) {
        fired_.insert(key);
        continue;
      }
      fire(level >= 1 ? "crossed" : "fraction", level, std::move(key));
    }
    if (within) fire("within", 1.0, key_of("within"));
  }
  return out;
}

}  // namespace flopline::meter
