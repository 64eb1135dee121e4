// The compute meter's ingestion and alert latency (docs/benchmarks.md "Compute meter"):
//   read     the same bytes split into lines (memchr), each line's bytes summed: the I/O floor;
//   parse    simdjson's DOM parse of each line, nothing read from it: the parser's floor;
//   meter    the meter: parse, check every field, count each step once (no law);
//   law      the same with the engine's lines for the run's model and alert checks on every event;
// each the median of 5 rounds over the same events in one process, in events per second on one
// core. Then event-to-alert latency: for 500 runs, the time from handing an event line to the session
// to its alert's JSON being built, for the events that cross 50%, 80%, 95% and the line (every
// one must alert): with the day's lines already found, on a new day (the engine first), and with
// each alert appended to a SQLite evidence log. Then the other inputs' parsers, lines per second on
// one core, beside the step-event parser's in the same run: dcgm-exporter's Prometheus text and the
// same samples as Prometheus API JSON (dcgm.h), and Hugging Face Trainer console lines (hf_log.h).
// Usage: meter_bench [EVENTS] (default 2,000,000).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "flopline/ledger/log.h"
#include "flopline/meter/dcgm.h"
#include "flopline/meter/hf_log.h"
#include "flopline/meter/session.h"
#include "flopline/meter/simulate.h"
#include "flopline/meter/state.h"
#include "flopline/rules/engine.h"
#include "flopline/store/open.h"

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

// Lines per second of each input format's parser, parse only (nothing counted), on the same number
// of lines: step events (the simulated ones above), dcgm-exporter text (one GPU a line, 8 GPUs a
// node, a scrape every 15 s), the same samples as Prometheus API vector answers (one a line), and
// Hugging Face Trainer console lines (a training entry a line, FLOP left to the config).
int ParsersBench(const simdjson::padded_string& steps, std::int64_t events) {
  std::int64_t n = std::min<std::int64_t>(events, 1'000'000);
  std::vector<std::string> text, api, hf;
  text.reserve(static_cast<std::size_t>(n));
  api.reserve(static_cast<std::size_t>(n));
  hf.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t node = i / 8 % 512, gpu = i % 8, scrape = i / (8 * 512);
    double active = 0.55 + 0.3 * static_cast<double>((i * 7919) % 1000) / 1000.0;
    std::string uuid = fmt::format("GPU-604ac76c-{:04x}-{:04x}-9f2e-3c1d5a7b{:04x}", node, gpu, i % 65536);
    text.push_back(fmt::format(
        "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{{gpu=\"{}\",UUID=\"{}\",pci_bus_id=\"00000000:{:02X}:00.0\",device=\"nvidia{}\","
        "modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-{}\",DCGM_FI_DRIVER_VERSION=\"550.54.15\"}} {:.6f} {}",
        gpu, uuid, 0x19 + gpu, gpu, node, active, (1767225600 + scrape * 15) * 1000));
    api.push_back(fmt::format(
        R"({{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"__name__":"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE","UUID":"{}","gpu":"{}","modelName":"NVIDIA H100 80GB HBM3","Hostname":"node-{}"}},"value":[{}.0,"{:.6f}"]}}]}}}})",
        uuid, gpu, node, 1767225600 + scrape * 15, active));
    hf.push_back(fmt::format("{{'loss': {:.4f}, 'grad_norm': {:.4f}, 'learning_rate': 4.9e-05, 'epoch': {:.2f}, "
                             "'num_input_tokens_seen': {}}}",
                             2.5 - 1e-6 * static_cast<double>(i), 1.0 + active, static_cast<double>(i) / 1e5,
                             (i + 1) * 4194304));
  }
  auto mean_bytes = [&](const std::vector<std::string>& lines) {
    double b = 0;
    for (const auto& l : lines) b += static_cast<double>(l.size());
    return b / static_cast<double>(lines.size());
  };
  std::vector<double> step_rate, text_rate, api_rate, hf_rate;
  for (int round = 0; round < 5; ++round) {
    meter::StepParser steps_parser;
    std::int64_t line = 0, ok = 0;
    auto t0 = Clock::now();
    ForEachLine(steps, [&](const char* p, std::size_t len, std::size_t cap) {
      if (line < n) ok += steps_parser.Parse(p, len, cap, "bench", static_cast<int>(++line)).has_value();
    });
    auto t1 = Clock::now();
    if (ok != n) return 7;
    step_rate.push_back(static_cast<double>(n) / Seconds(t0, t1));

    for (auto* lines : {&text, &api}) {
      meter::DcgmParser dcgm;
      std::size_t samples = 0;
      int number = 0;
      t0 = Clock::now();
      for (const std::string& l : *lines) {
        auto got = dcgm.Parse(l, "bench", ++number, std::nullopt);
        if (!got) {
          std::fprintf(stderr, "meter_bench: %s\n", got.error().ToString().c_str());
          return 7;
        }
        samples += (*got)->size();
      }
      t1 = Clock::now();
      if (samples != static_cast<std::size_t>(n)) return 7;
      (lines == &text ? text_rate : api_rate).push_back(static_cast<double>(n) / Seconds(t0, t1));
    }

    meter::HfLogParser parser({"r1", 1, std::nullopt, true});
    meter::HfCounted counted;
    std::int64_t events_out = 0;
    int number = 0;
    t0 = Clock::now();
    for (const std::string& l : hf) {
      ++number;
      auto got = parser.ParseLine(l, "bench", number, 1767225600.0 + number, counted);
      if (!got) {
        std::fprintf(stderr, "meter_bench: %s\n", got.error().ToString().c_str());
        return 7;
      }
      events_out += got->has_value();
    }
    t1 = Clock::now();
    if (events_out != n) return 7;
    hf_rate.push_back(static_cast<double>(n) / Seconds(t0, t1));
  }
  double base = Median(step_rate);
  std::printf("%-36s %14s %10s %12s\n", "parser (parse only, one core)", "lines/s", "bytes/line", "vs steps");
  auto row = [&](const char* name, double rate, double bytes) {
    std::printf("%-36s %14.0f %10.0f %11.2fx\n", name, rate, bytes, rate / base);
  };
  row("step events (JSON Lines, simdjson)", base, static_cast<double>(steps.size()) / static_cast<double>(events));
  row("dcgm-exporter text (a GPU a line)", Median(text_rate), mean_bytes(text));
  row("dcgm as Prometheus API JSON", Median(api_rate), mean_bytes(api));
  row("Hugging Face Trainer console", Median(hf_rate), mean_bytes(hf));
  return 0;
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

  // Event-to-alert latency, three ways: the lines already found for the event's day (the common
  // case); each alerting event on a new day, so the lines are found again by the engine first (the
  // worst case, once a day per run); and the same-day case with each alert also appended to a SQLite
  // evidence log (synchronous=FULL: an fsync per record), as `meter watch --store` does.
  char dir_template[] = "/tmp/meter_bench_XXXXXX";
  if (!mkdtemp(dir_template)) return 5;
  std::string dir = dir_template;
  auto storage = store::Open("sqlite:" + dir + "/ledger.db");
  auto signer = ledger::Signer::Generate("meter-bench");
  if (!storage || !signer || !ledger::Log::Init(**storage, "meter-bench", *signer)) return 5;
  ledger::Log log(**storage);
  std::printf("%-34s %8s %9s %9s %9s\n", "event-to-alert latency", "alerts", "p50 ms", "p99 ms", "max ms");
  struct Case {
    const char* name;
    double step_seconds;
    bool ledger;
  };
  for (const Case& c : {Case{"lines found, same day", 60, false}, Case{"new day: lines found again first", 86400, false},
                        Case{"same day, recorded in the ledger", 60, true}}) {
    meter::Session session(meter::AlertPolicy{});
    constexpr int kRuns = 500;
    for (int r = 0; r < kRuns; ++r) {
      if (!session.AddRun({{fmt::format("r{}", r), "acme-f2", std::nullopt}, Law(engine)})) return 5;
    }
    bool law_failed = false;
    session.on_law_error = [&](const core::Error& e) {
      std::fprintf(stderr, "meter_bench: %s\n", e.ToString().c_str());
      law_failed = true;
    };
    std::vector<double> latency;
    Clock::time_point sent;
    bool waiting = false, ledger_failed = false;
    std::string sink;
    session.on_alert = [&](const meter::Alert& a) {
      sink = meter::AlertToJson(a).dump();  // what goes to stdout, the webhook and the ledger
      if (c.ledger) {
        auto now = core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
        ledger_failed = ledger_failed || !meter::RecordAlert(log, a, now);
      }
      if (waiting) {
        latency.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        waiting = false;
      }
    };
    // The EU's 1e25 line: 30%, then 55%, 85%, 96%, 105% of it.
    const double flop[] = {3e24, 2.5e24, 3e24, 1.1e24, 0.9e24};
    int line = 0;
    for (int r = 0; r < kRuns; ++r) {
      for (int step = 0; step < 5; ++step) {
        std::string event = fmt::format(R"({{"run":"r{}","time":{},"step":{},"tokens":1e9,"flop":{}}})", r,
                                        1767225600 + c.step_seconds * step, step + 1, flop[step]);
        waiting = step > 0;
        sent = Clock::now();
        session.Feed(event, "latency", ++line);
      }
    }
    if (law_failed || ledger_failed || latency.size() != 4 * kRuns) {
      std::printf("%s: %zu of %d alerting events alerted%s\n", c.name, latency.size(), 4 * kRuns,
                  ledger_failed ? " (a ledger append failed)" : "");
      return 6;
    }
    std::sort(latency.begin(), latency.end());
    auto pct = [&](double q) { return latency[static_cast<std::size_t>(q * static_cast<double>(latency.size() - 1))]; };
    std::printf("%-34s %8zu %9.3f %9.3f %9.3f\n", c.name, latency.size(), pct(0.5), pct(0.99), latency.back());
  }
  std::filesystem::remove_all(dir);
  delete engine;
  return ParsersBench(bytes, events);
}
