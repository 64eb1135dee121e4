// The compute meter's ingestion and alert latency (docs/benchmarks.md "Compute meter"):
//   read     the same bytes split into lines (memchr), each line's bytes summed: the I/O floor;
//   parse    simdjson's DOM parse of each line, nothing read from it: the parser's floor;
//   meter    the meter: parse, check every field, count each step once (no law);
//   law      the same with the engine's lines for the run's model and alert checks on every event;
// each the median of 5 rounds over the same events in one process, in events per second on one
// core. Then event-to-alert latency: for 500 runs, the time from handing an event to the session to
// its first alert's JSON being written, for the events that cross 50%, 80%, 95% and the line.
// Usage: meter_bench [EVENTS] (default 2,000,000).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "flopline/meter/session.h"
#include "flopline/meter/simulate.h"
#include "flopline/rules/engine.h"

using namespace flopline;
using Clock = std::chrono::steady_clock;

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

template <typename F>
void ForEachLine(const simdjson::padded_string& text, F&& f) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (!nl) nl = end;
    f(p, static_cast<std::size_t>(nl - p), static_cast<std::size_t>(end - p) + simdjson::SIMDJSON_PADDING);
    p = nl + 1;
  }
}

constexpr char kModels[] = R"(
[[model]]
id = "acme-f2"
developer = "Acme AI"
developer_revenue_usd = 2.0e9
foundation_model = true
derivation = "pretrain"
)";

rules::Engine* LoadEngine() {
  auto regimes = rules::LoadRegimeDir(std::string(FLOPLINE_SOURCE_DIR) + "/regimes");
  if (!regimes) {
    std::fprintf(stderr, "%s\n", regimes.error().ToString().c_str());
    std::exit(2);
  }
  return new rules::Engine(std::move(*regimes), {});
}

meter::LineContext Law(const rules::Engine* engine) {
  meter::LineContext law;
  law.engine = engine;
  auto inv = rules::ParseInventory({{"models.toml", kModels}}, compute::AcceleratorTable(), compute::PriceTable());
  if (!inv) std::exit(2);
  law.inventory = std::move(*inv);
  law.model = "acme-f2";
  law.usd_per_flop = 1.5e-18;
  return law;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t events = argc > 1 ? std::atoll(argv[1]) : 2'000'000;
  meter::SimulationSpec spec;
  spec.run = "r1";
  spec.steps = events;
  spec.step_seconds = 0.01;  // all within one day: the lines are found once
  spec.flop_per_token = 1e11;  // 4e17 FLOP a step: far below every line over the run
  std::string text;
  text.reserve(static_cast<std::size_t>(events) * 130);
  if (!meter::Simulate(spec, [&](std::string_view l) {
        text.append(l);
        text.push_back('\n');
      })) {
    return 2;
  }
  simdjson::padded_string bytes(text);
  std::printf("%lld events, %.1f MB, %.0f bytes each\n", static_cast<long long>(events), static_cast<double>(bytes.size()) / 1e6,
              static_cast<double>(bytes.size()) / static_cast<double>(events));
  rules::Engine* engine = LoadEngine();

  std::vector<double> read, parse, meter_only, law;
  for (int round = 0; round < 5; ++round) {
    std::size_t sum = 0;
    auto t0 = Clock::now();
    ForEachLine(bytes, [&](const char* p, std::size_t n, std::size_t) {
      for (std::size_t i = 0; i < n; ++i) sum += static_cast<unsigned char>(p[i]);
    });
    auto t1 = Clock::now();
    read.push_back(static_cast<double>(events) / Seconds(t0, t1));
    if (sum == 42) std::printf(" ");

    simdjson::dom::parser parser;
    std::size_t ok = 0;
    t0 = Clock::now();
    ForEachLine(bytes, [&](const char* p, std::size_t n, std::size_t cap) {
      simdjson::dom::element e;
      ok += !parser.parse(p, n, cap < n + simdjson::SIMDJSON_PADDING).get(e);
    });
    t1 = Clock::now();
    parse.push_back(static_cast<double>(events) / Seconds(t0, t1));
    if (ok != static_cast<std::size_t>(events)) return 3;

    for (bool with_law : {false, true}) {
      meter::Session session(meter::AlertPolicy{});
      meter::SessionRun run{{"r1", "acme-f2", std::nullopt}, std::nullopt};
      if (with_law) run.law = Law(engine);
      if (!session.AddRun(std::move(run))) return 3;
      int line = 0;
      t0 = Clock::now();
      ForEachLine(bytes, [&](const char* p, std::size_t n, std::size_t cap) { session.Feed(p, n, cap, "bench", ++line); });
      t1 = Clock::now();
      if (session.counted() != static_cast<std::uint64_t>(events) || session.bad_lines() != 0) return 4;
      (with_law ? law : meter_only).push_back(static_cast<double>(events) / Seconds(t0, t1));
    }
  }
  double floor_read = Median(read), floor_parse = Median(parse), m = Median(meter_only), l = Median(law);
  std::printf("%-8s %14s %12s\n", "stage", "events/s", "vs meter");
  std::printf("%-8s %14.0f %11.2fx\n", "read", floor_read, floor_read / m);
  std::printf("%-8s %14.0f %11.2fx\n", "parse", floor_parse, floor_parse / m);
  std::printf("%-8s %14.0f %11.2fx\n", "meter", m, 1.0);
  std::printf("%-8s %14.0f %11.2fx\n", "law", l, l / m);

  // Event-to-alert latency.
  meter::Session session(meter::AlertPolicy{});
  constexpr int kRuns = 500;
  for (int r = 0; r < kRuns; ++r) {
    if (!session.AddRun({{fmt::format("r{}", r), "acme-f2", std::nullopt}, Law(engine)})) return 5;
  }
  std::vector<double> latency;
  Clock::time_point sent;
  bool waiting = false;
  std::string sink;
  session.on_alert = [&](const meter::Alert& a) {
    sink = meter::AlertToJson(a).dump();  // what goes to stdout, the webhook and the ledger
    if (waiting) {
      latency.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
      waiting = false;
    }
  };
  // The EU's 1e25 line: 30%, then 55%, 85%, 96%, 105% of it.
  const double flop[] = {3e24, 2.5e24, 3e24, 1.1e24, 0.9e24};
  int line = 0;
  for (int r = 0; r < kRuns; ++r) {
    for (int s = 0; s < 5; ++s) {
      std::string event = fmt::format(R"({{"run":"r{}","time":{},"step":{},"tokens":1e9,"flop":{}}})", r,
                                      1767225600 + 60 * s, s + 1, flop[s]);
      waiting = s > 0;
      sent = Clock::now();
      session.Feed(event, "latency", ++line);
    }
  }
  if (latency.empty()) {
    std::printf("no alert fired: the lines were not found\n");
    return 6;
  }
  std::sort(latency.begin(), latency.end());
  auto pct = [&](double q) { return latency[static_cast<std::size_t>(q * static_cast<double>(latency.size() - 1))]; };
  std::printf("event-to-alert latency over %zu alerting events: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
              latency.size(), pct(0.5), pct(0.99), latency.back());
  delete engine;
  return 0;
}
