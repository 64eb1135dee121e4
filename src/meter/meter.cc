// The meter's accounting (meter.h): each (run, step) counted once, sums compensated, the rate over
// a sliding window of event time.
#include "flopline/meter/meter.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace flopline::meter {

void Sum::Add(double x) {
  double t = sum_ + x;
  if (std::fabs(sum_) >= std::fabs(x)) {
    compensation_ += (sum_ - t) + x;
  } else {
    compensation_ += (x - t) + sum_;
  }
  sum_ = t;
}

bool StepSet::Insert(std::int64_t step) {
  if (step < kDenseSteps) {
    auto word = static_cast<std::size_t>(step >> 6);
    if (word >= bits_.size()) bits_.resize(std::max(word + 1, bits_.size() * 2), 0);
    std::uint64_t mask = std::uint64_t{1} << (step & 63);
    if (bits_[word] & mask) return false;
    bits_[word] |= mask;
  } else if (!sparse_.insert(step).second) {
    return false;
  }
  ++size_;
  return true;
}

bool StepSet::Contains(std::int64_t step) const {
  if (step < kDenseSteps) {
    auto word = static_cast<std::size_t>(step >> 6);
    return word < bits_.size() && (bits_[word] >> (step & 63) & 1);
  }
  return sparse_.count(step) > 0;
}

std::vector<std::pair<std::int64_t, std::int64_t>> StepSet::Ranges() const {
  std::vector<std::int64_t> steps;
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  auto add = [&](std::int64_t s) {
    if (!out.empty() && out.back().second + 1 == s) {
      out.back().second = s;
    } else {
      out.emplace_back(s, s);
    }
  };
  for (std::size_t w = 0; w < bits_.size(); ++w) {
    std::uint64_t word = bits_[w];
    while (word) {
      int bit = __builtin_ctzll(word);
      add(static_cast<std::int64_t>(w) * 64 + bit);
      word &= word - 1;
    }
  }
  steps.assign(sparse_.begin(), sparse_.end());
  std::sort(steps.begin(), steps.end());
  for (std::int64_t s : steps) add(s);
  return out;
}

void StepSet::InsertRange(std::int64_t first, std::int64_t last) {
  for (std::int64_t s = first; s <= last; ++s) Insert(s);
}

core::Result<int> Meter::AddRun(RunSpec spec) {
  if (index_.count(spec.id)) {
    return core::MakeError(core::Code::kAlreadyExists, fmt::format("run '{}' is given twice", spec.id), "run");
  }
  int i = static_cast<int>(runs_.size());
  index_.emplace(spec.id, i);
  RunState state;
  state.spec = std::move(spec);
  runs_.push_back(std::move(state));
  return i;
}

int Meter::FindRun(std::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? -1 : it->second;
}

core::Result<IngestOutcome> Meter::Ingest(const StepEvent& e, const core::Location& where, int* run_index) {
  int i = FindRun(e.run);
  if (i < 0) {
    return core::InvalidArgument(
        fmt::format("unknown run '{}' (the meter was given no such run: add --run {}=MODEL)", e.run, e.run), "run",
        where);
  }
  if (run_index) *run_index = i;
  RunState& r = runs_[static_cast<std::size_t>(i)];
  double flop = 0;
  bool from_config = false;
  if (e.flop) {
    flop = *e.flop;
  } else if (r.spec.flop_per_token) {
    flop = *r.spec.flop_per_token * e.tokens;
    from_config = true;
  } else {
    return core::InvalidArgument(
        fmt::format("no flop given and run '{}' has no config to compute it from (--config {}=config.json)",
                    r.spec.id, r.spec.id),
        "flop", where);
  }
  if (e.seq && r.max_seq && *e.seq > *r.max_seq && e.time < r.time_at_max_seq) {
    return core::InvalidArgument(fmt::format("time goes backwards: seq {} at {:.3f} is earlier than seq {} at {:.3f}",
                                             *e.seq, e.time, *r.max_seq, r.time_at_max_seq),
                                 "time", where);
  }
  bool repeated = r.steps.Contains(e.step);
  if (!repeated && e.step > r.max_step && r.max_step >= 0 && e.time < r.time_at_max_step) {
    return core::InvalidArgument(fmt::format("time goes backwards: step {} at {:.3f} is earlier than step {} at {:.3f}",
                                             e.step, e.time, r.max_step, r.time_at_max_step),
                                 "time", where);
  }
  if (e.seq && (!r.max_seq || *e.seq > *r.max_seq)) {
    r.max_seq = e.seq;
    r.time_at_max_seq = e.time;
  }
  if (repeated) {
    ++r.steps_repeated;
    r.repeated_flop.Add(flop);
    return IngestOutcome::kRepeated;
  }
  r.steps.Insert(e.step);
  ++r.steps_counted;
  if (from_config) ++r.flop_from_config;
  r.flop.Add(flop);
  r.tokens.Add(e.tokens);
  if (e.step > r.max_step) {
    r.max_step = e.step;
    r.time_at_max_step = e.time;
  }
  if (r.first_time == 0 || e.time < r.first_time) r.first_time = e.time;
  r.last_time = std::max(r.last_time, e.time);
  if (e.world_size) r.world_size = e.world_size;
  if (!e.precision.empty() && e.precision != r.precision) r.precision = std::string(e.precision);
  // Samples keep time monotone: a late step's compute is added at the latest time seen.
  double t = r.samples.empty() ? e.time : std::max(e.time, r.samples.back().first);
  r.samples.emplace_back(t, r.flop.value());
  while (r.samples.size() > 2 && r.samples.front().first < t - window_) r.samples.pop_front();
  return IngestOutcome::kCounted;
}

IngestOutcome Meter::IngestTensor(int index, std::string_view gpu, double time, double active, double peak) {
  Telemetry& t = runs_[static_cast<std::size_t>(index)].telemetry;
  auto it = t.gpus.find(std::string(gpu));
  if (it != t.gpus.end() && time <= it->second.time) {
    ++t.samples_repeated;
    return IngestOutcome::kRepeated;
  }
  if (it == t.gpus.end()) {
    t.gpus.emplace(std::string(gpu), Telemetry::Gpu{time, active});
  } else {
    double seconds = time - it->second.time;
    t.bound.Add((it->second.active + active) / 2 * peak * seconds);
    t.peak.Add(peak * seconds);
    t.gpu_seconds.Add(seconds);
    it->second = {time, active};
  }
  ++t.samples;
  if (t.first_time == 0 || time < t.first_time) t.first_time = time;
  t.last_time = std::max(t.last_time, time);
  return IngestOutcome::kCounted;
}

Rate Meter::RateOf(int index) const {
  const RunState& r = run(index);
  Rate rate;
  if (r.samples.size() < 2) return rate;
  const auto& s = r.samples;
  double span = s.back().first - s.front().first;
  if (span <= 0) return rate;
  rate.seconds = span;
  rate.point = (s.back().second - s.front().second) / span;
  rate.low = rate.high = rate.point;
  std::size_t slices = std::min<std::size_t>(8, (s.size() - 1) / 2);
  for (std::size_t k = 0; k < slices; ++k) {
    std::size_t a = k * (s.size() - 1) / slices;
    std::size_t b = (k + 1) * (s.size() - 1) / slices;
    double dt = s[b].first - s[a].first;
    if (dt <= 0) continue;
    double v = (s[b].second - s[a].second) / dt;
    rate.low = std::min(rate.low, v);
    rate.high = std::max(rate.high, v);
  }
  return rate;
}

}  // namespace flopline::meter
