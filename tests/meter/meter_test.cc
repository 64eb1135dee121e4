// The meter: step-event parsing, counting each step once, the estimator's whole-run figure, the
// engine's lines, alerts once per fraction, and the state a restart resumes from.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include "flopline/compute/estimate.h"
#include "flopline/compute/hf_config.h"
#include "flopline/ledger/log.h"
#include "flopline/meter/alerts.h"
#include "flopline/meter/dcgm.h"
#include "flopline/meter/hf_log.h"
#include "flopline/meter/signing.h"
#include "flopline/meter/lines.h"
#include "flopline/meter/megatron_log.h"
#include "flopline/meter/meter.h"
#include "flopline/meter/session.h"
#include "flopline/meter/simulate.h"
#include "flopline/meter/state.h"
#include "flopline/meter/step_event.h"
#include "flopline/rules/engine.h"
#include "flopline/store/open.h"

namespace flopline::meter {
namespace {

std::string Source(const std::string& rel) { return std::string(FLOPLINE_SOURCE_DIR) + "/" + rel; }

core::Result<StepEvent> ParseOne(StepParser& p, const std::string& line) { return p.Parse(line, "steps.jsonl", 7); }

TEST(StepParserTest, ReadsEveryField) {
  StepParser p;
  auto e = ParseOne(p, R"({"run":"r1","seq":3,"time":1767225600.5,"step":12,"tokens":4096,"flop":1.5e15,)"
                       R"("world_size":8,"precision":"bf16","v":1})");
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_EQ(e->run, "r1");
  EXPECT_EQ(*e->seq, 3u);
  EXPECT_DOUBLE_EQ(e->time, 1767225600.5);
  EXPECT_EQ(e->step, 12);
  EXPECT_DOUBLE_EQ(e->tokens, 4096);
  EXPECT_DOUBLE_EQ(*e->flop, 1.5e15);
  EXPECT_EQ(*e->world_size, 8);
  EXPECT_EQ(e->precision, "bf16");
}

TEST(StepParserTest, TimeMayBeAnIsoInstant) {
  StepParser p;
  auto e = ParseOne(p, R"({"run":"r1","time":"2026-01-01T00:00:10Z","step":1,"tokens":1})");
  ASSERT_TRUE(e) << e.error().ToString();
  EXPECT_DOUBLE_EQ(e->time, 1767225610);
}

TEST(StepParserTest, BadLinesNameTheLineAndTheField) {
  StepParser p;
  struct Case {
    std::string line, field, message;
  };
  std::vector<Case> cases = {
      {R"({"run":"r1","time":1,"step":1,"tokens":-5})", "tokens", "negative"},
      {R"({"run":"r1","time":1,"step":1})", "tokens", "required"},
      {R"({"run":"r1","time":1,"step":1.5,"tokens":1})", "step", "whole number"},
      {R"({"run":"r1","time":1,"step":1,"tokens":"12"})", "tokens", "expected a number"},
      {R"({"run":"r1","time":1,"step":1,"tokens":1,"tokenz":1})", "tokenz", "unknown key"},
      {R"({"run":"r1","time":1,"step":1,"tokens":1,"tokens":2})", "tokens", "twice"},
      {R"({"run":"r1","time":1,"step":1,"tokens":1} {"run":"r1","time":2,"step":2,"tokens":1})", "", "JSON"},
      {R"({"run":"r1","time":1,"step":1,"tokens":1)", "", "JSON"},
      {R"([1,2])", "", "expected a JSON object"},
      {R"({"run":"","time":1,"step":1,"tokens":1})", "run", "empty"},
      {R"({"run":"r1","time":"yesterday","step":1,"tokens":1})", "time", ""},
      {R"({"run":"r1","time":1e15,"step":1,"tokens":1})", "time", "more than"},
      {R"({"run":"r1","time":1,"step":1,"tokens":1,"v":2})", "v", "version"},
  };
  for (const Case& c : cases) {
    auto e = ParseOne(p, c.line);
    ASSERT_FALSE(e) << c.line;
    EXPECT_EQ(e.error().field, c.field) << c.line;
    EXPECT_NE(e.error().message.find(c.message), std::string::npos) << c.line << ": " << e.error().message;
    ASSERT_TRUE(e.error().where);
    EXPECT_EQ(e.error().where->file, "steps.jsonl");
    EXPECT_EQ(e.error().where->line, 7);
  }
}

// Megatron-LM's log, written from training_log in megatron/training/training.py (core_r0.9.0):
// the iteration line with --log-throughput, among the other lines a job prints.
constexpr char kMegatronLog[] =
    "using world size: 64, data-parallel size: 8, context-parallel size: 1, tensor-model-parallel size: 8\n"
    "[after dataloaders are built] datetime: 2026-01-10 04:00:00 \n"
    " [2026-01-10 04:01:40] iteration       10/  500000 | consumed samples:         5120 | elapsed time per "
    "iteration (ms): 10000.0 | throughput per GPU (TFLOP/s/GPU): 400.0 | learning rate: 3.000000E-06 | global batch "
    "size:   512 | lm loss: 1.085432E+01 | loss scale: 1.0 | grad norm: 12.345 | number of skipped iterations:   0 | "
    "number of nan iterations:   0 |\n"
    " [2026-01-10 04:03:20] iteration       20/  500000 | consumed samples:        10240 | elapsed time per "
    "iteration (ms): 9900.0 | throughput per GPU (TFLOP/s/GPU): 404.0 | learning rate: 6.000000E-06 | global batch "
    "size:   512 | lm loss: 9.876543E+00 | loss scale: 1.0 | grad norm: 8.765 | number of skipped iterations:   0 | "
    "number of nan iterations:   0 |\n"
    "saving checkpoint at iteration      20 to /checkpoints/run in torch_dist format\n";

std::vector<core::Result<std::optional<StepEvent>>> ParseMegatron(MegatronLogParser& p, std::string_view text) {
  std::vector<core::Result<std::optional<StepEvent>>> out;
  int n = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    out.push_back(p.Parse(text.substr(0, nl), "train.log", ++n));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

TEST(MegatronLogTest, IterationLinesAreStepEventsWithMegatronsOwnFlop) {
  MegatronLogParser p({"r1", 64, 8192, 10});
  auto lines = ParseMegatron(p, kMegatronLog);
  ASSERT_EQ(lines.size(), 5u);
  for (std::size_t i : {0u, 1u, 4u}) {
    ASSERT_TRUE(lines[i]) << lines[i].error().ToString();
    EXPECT_FALSE(*lines[i]) << "line " << i + 1 << " is not an iteration line";
  }
  ASSERT_TRUE(lines[2] && *lines[2]);
  const StepEvent& a = **lines[2];
  EXPECT_EQ(a.run, "r1");
  EXPECT_EQ(a.step, 10);
  EXPECT_DOUBLE_EQ(a.time, 1768017700);  // 2026-01-10T04:01:40Z
  EXPECT_DOUBLE_EQ(a.tokens, 10.0 * 512 * 8192);
  // 400 TFLOP/s on each of 64 GPUs for 10 iterations of 10 s.
  ASSERT_TRUE(a.flop);
  EXPECT_DOUBLE_EQ(*a.flop, 400e12 * 64 * 10.0 * 10);
  EXPECT_EQ(*a.world_size, 64);
  ASSERT_TRUE(lines[3] && *lines[3]);
  EXPECT_DOUBLE_EQ(*(**lines[3]).flop, 404e12 * 64 * 9.9 * 10);  // iterations 11-20
}

TEST(MegatronLogTest, WithoutTheJobsGpusTheFlopIsLeftToTheConfig) {
  MegatronLogParser p({"r1", std::nullopt, 4096, 10});
  auto lines = ParseMegatron(p, kMegatronLog);
  ASSERT_TRUE(lines[2] && *lines[2]);
  EXPECT_FALSE((**lines[2]).flop);
  EXPECT_DOUBLE_EQ((**lines[2]).tokens, 10.0 * 512 * 4096);
  // Neither GPUs nor a sequence length: nothing to count with, said on the line.
  MegatronLogParser none({"r1", std::nullopt, std::nullopt, 10});
  auto bad = ParseMegatron(none, kMegatronLog);
  ASSERT_FALSE(bad[2]);
  EXPECT_EQ(bad[2].error().field, "throughput per GPU (TFLOP/s/GPU)");
}

TEST(MegatronLogTest, ARestartsFirstLineCountsOneIntervalAndItsStepsRepeat) {
  Session session(AlertPolicy{});
  ASSERT_TRUE(session.AddRun({{"r1", "m", std::nullopt}, std::nullopt}));
  MegatronLogParser p({"r1", 8, std::nullopt, 10});
  auto line = [](int iteration, int minute) {
    return fmt::format(" [2026-01-10 05:{:02d}:00] iteration {:8d}/  500000 | consumed samples: {:12d} | elapsed time "
                       "per iteration (ms): 1000.0 | throughput per GPU (TFLOP/s/GPU): 100.0 | global batch size:    64 |",
                       minute, iteration, iteration * 64);
  };
  int n = 0;
  // Iterations 10-30, a failure, a reload from the checkpoint at 20: 30 logged again, then 40.
  for (auto [iteration, minute] : {std::pair{10, 1}, {20, 2}, {30, 3}, {30, 9}, {40, 10}}) {
    auto e = p.Parse(line(iteration, minute), "train.log", ++n);
    ASSERT_TRUE(e && *e) << line(iteration, minute);
    session.FeedEvent(**e, "train.log", n);
  }
  const RunState& r = session.meter().run(0);
  EXPECT_EQ(r.steps_counted, 4u);
  EXPECT_EQ(r.steps_repeated, 1u);
  // Four intervals of 10 iterations of 1 s at 100 TFLOP/s on 8 GPUs.
  EXPECT_DOUBLE_EQ(r.flop.value(), 4 * 10 * 1.0 * 100e12 * 8);
}

TEST(MegatronLogTest, BadIterationLinesNameTheField) {
  struct Case {
    std::string line, field;
  };
  std::vector<Case> cases = {
      {" [2026-01-10 25:01:40] iteration 10/ 100 | elapsed time per iteration (ms): 1.0 |", "time"},
      {" [yesterday] iteration 10/ 100 | elapsed time per iteration (ms): 1.0 |", "time"},
      {" [2026-01-10 04:01:40] iteration ten/ 100 | elapsed time per iteration (ms): 1.0 |", "iteration"},
      {" [2026-01-10 04:01:40] iteration 0/ 100 | elapsed time per iteration (ms): 1.0 |", "iteration"},
      {" [2026-01-10 04:01:40] iteration 10/ 100 | throughput per GPU (TFLOP/s/GPU): 1.0 | global batch size: 8 |",
       "elapsed time per iteration (ms)"},
      {" [2026-01-10 04:01:40] iteration 10/ 100 | elapsed time per iteration (ms): -5 | throughput per GPU "
       "(TFLOP/s/GPU): 1.0 | global batch size: 8 |",
       "elapsed time per iteration (ms)"},
      {" [2026-01-10 04:01:40] iteration 10/ 100 | elapsed time per iteration (ms): 5 | throughput per GPU "
       "(TFLOP/s/GPU): nan | global batch size: 8 |",
       "throughput per GPU (TFLOP/s/GPU)"},
      {" [2026-01-10 04:01:40] iteration 10/ 100 | elapsed time per iteration (ms): 5 | elapsed time per iteration "
       "(ms): 5 | throughput per GPU (TFLOP/s/GPU): 1 | global batch size: 8 |",
       "elapsed time per iteration (ms)"},
      {" [2026-01-10 04:01:40] iteration 10/ 100 | elapsed time per iteration (ms): 5 | throughput per GPU "
       "(TFLOP/s/GPU): 1 |",
       "global batch size"},
  };
  for (const Case& c : cases) {
    MegatronLogParser p({"r1", 8, 1024, 10});
    auto e = p.Parse(c.line, "train.log", 12);
    ASSERT_FALSE(e) << c.line;
    EXPECT_EQ(e.error().field, c.field) << c.line;
    ASSERT_TRUE(e.error().where);
    EXPECT_EQ(e.error().where->file, "train.log");
    EXPECT_EQ(e.error().where->line, 12);
  }
}

StepEvent Event(const char* run, std::int64_t step, double time, double tokens, std::optional<double> flop = 1e18) {
  StepEvent e;
  e.run = run;
  e.step = step;
  e.time = time;
  e.tokens = tokens;
  e.flop = flop;
  return e;
}

TEST(MeterTest, RepeatedAndOutOfOrderStepsCountOnce) {
  Meter m;
  ASSERT_TRUE(m.AddRun({"r1", "m", std::nullopt}));
  core::Location at{"steps.jsonl", 1, 0};
  EXPECT_EQ(*m.Ingest(Event("r1", 1, 100, 10), at), IngestOutcome::kCounted);
  EXPECT_EQ(*m.Ingest(Event("r1", 3, 300, 10), at), IngestOutcome::kCounted);
  EXPECT_EQ(*m.Ingest(Event("r1", 2, 200, 10), at), IngestOutcome::kCounted);   // late, first time
  EXPECT_EQ(*m.Ingest(Event("r1", 2, 400, 10), at), IngestOutcome::kRepeated);  // a reload repeats it
  EXPECT_EQ(*m.Ingest(Event("r1", 3, 410, 10), at), IngestOutcome::kRepeated);
  EXPECT_EQ(*m.Ingest(Event("r1", 4, 420, 10), at), IngestOutcome::kCounted);
  const RunState& r = m.run(0);
  EXPECT_DOUBLE_EQ(r.flop.value(), 4e18);
  EXPECT_DOUBLE_EQ(r.tokens.value(), 40);
  EXPECT_EQ(r.steps_counted, 4u);
  EXPECT_EQ(r.steps_repeated, 2u);
  EXPECT_DOUBLE_EQ(r.repeated_flop.value(), 2e18);
}

TEST(MeterTest, BadEventsChangeNothing) {
  Meter m;
  ASSERT_TRUE(m.AddRun({"r1", "m", std::nullopt}));
  core::Location at{"steps.jsonl", 9, 0};
  ASSERT_TRUE(m.Ingest(Event("r1", 5, 500, 10), at));
  auto unknown = m.Ingest(Event("r2", 6, 600, 10), at);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().field, "run");
  EXPECT_EQ(unknown.error().where->line, 9);
  auto backwards = m.Ingest(Event("r1", 6, 400, 10), at);  // a later step stamped earlier
  ASSERT_FALSE(backwards);
  EXPECT_EQ(backwards.error().field, "time");
  auto no_flop = m.Ingest(Event("r1", 7, 700, 10, std::nullopt), at);  // no flop, no config
  ASSERT_FALSE(no_flop);
  EXPECT_EQ(no_flop.error().field, "flop");
  EXPECT_EQ(m.run(0).steps_counted, 1u);
  EXPECT_DOUBLE_EQ(m.run(0).flop.value(), 1e18);
  EXPECT_FALSE(m.run(0).steps.Contains(6));
}

TEST(MeterTest, SeqGoingForwardWhileTimeGoesBackIsBad) {
  Meter m;
  ASSERT_TRUE(m.AddRun({"r1", "m", std::nullopt}));
  core::Location at{"s", 1, 0};
  StepEvent a = Event("r1", 10, 1000, 1);
  a.seq = 5;
  ASSERT_TRUE(m.Ingest(a, at));
  StepEvent b = Event("r1", 3, 900, 1);  // an out-of-order step is fine, but not with a later seq
  b.seq = 6;
  EXPECT_FALSE(m.Ingest(b, at));
}

// The issue's first test: the meter's cumulative count equals compute's whole-run figure for the
// same tokens, through a run with restarts whose reloads repeat steps.
TEST(MeterTest, CumulativeEqualsTheEstimatorsWholeRunFigure) {
  auto arch = compute::LoadHfConfig(Source("examples/configs/llama-3.1-8b-instruct.json"));
  ASSERT_TRUE(arch) << arch.error().ToString();
  compute::EstimateRequest one;
  one.architecture = *arch;
  one.tokens = 1;
  auto per_token = compute::EstimateTraining(one, compute::AcceleratorTable(), compute::PriceTable());
  ASSERT_TRUE(per_token) << per_token.error().ToString();

  Session session(AlertPolicy{});
  ASSERT_TRUE(session.AddRun({{"sim", "m", per_token->architecture->flop_per_token_training}, std::nullopt}));
  SimulationSpec spec;
  spec.steps = 5000;
  spec.tokens_per_step = 1024.0 * 8192;
  spec.every = 3;
  spec.restarts = {{1200, 900, 600}, {4000, 3999, 60}};
  int n = 0;
  ASSERT_TRUE(Simulate(spec, [&](std::string_view line) { session.Feed(line, "sim.jsonl", ++n); }));
  EXPECT_EQ(session.bad_lines(), 0u);
  EXPECT_GT(session.repeated(), 0u);
  const RunState& r = session.meter().run(0);
  double tokens = spec.tokens_per_step * static_cast<double>(spec.steps);
  EXPECT_DOUBLE_EQ(r.tokens.value(), tokens);

  compute::EstimateRequest whole = one;
  whole.tokens = tokens;
  auto e = compute::EstimateTraining(whole, compute::AcceleratorTable(), compute::PriceTable());
  ASSERT_TRUE(e);
  EXPECT_NEAR(r.flop.value() / e->training_flop.point, 1.0, 1e-12) << r.flop.value() << " vs " << e->training_flop.point;
  EXPECT_EQ(r.flop_from_config, r.steps_counted);
}

TEST(MeterTest, RateAndItsRange) {
  Meter m(1000);
  ASSERT_TRUE(m.AddRun({"r1", "m", std::nullopt}));
  core::Location at{"s", 1, 0};
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(m.Ingest(Event("r1", i, 10.0 * i + 1, 1, i < 50 ? 1e18 : 2e18), at));
  Rate rate = m.RateOf(0);
  EXPECT_GT(rate.high, rate.low);
  EXPECT_NEAR(rate.low, 1e17, 1e15);
  EXPECT_NEAR(rate.high, 2e17, 1e15);
  EXPECT_GE(rate.point, rate.low);
  EXPECT_LE(rate.point, rate.high);
}

WatchedLine Line(double threshold, double offset = 0) {
  WatchedLine l;
  l.regime = "test";
  l.name = "a line";
  l.param = "flop_line";
  l.fact = "compute";
  l.readings = {"as written"};
  l.threshold = threshold;
  l.offset = offset;
  l.slope = 1;
  return l;
}

TEST(AlerterTest, EachFractionFiresOnce) {
  Meter m;
  ASSERT_TRUE(m.AddRun({"r1", "m", std::nullopt}));
  std::vector<WatchedLine> lines = {Line(100e18)};
  Alerter alerter(AlertPolicy{});
  core::Location at{"s", 1, 0};
  std::vector<std::string> kinds;
  std::vector<double> levels;
  for (int i = 1; i <= 120; ++i) {
    ASSERT_TRUE(m.Ingest(Event("r1", i, 10.0 * i, 1), at));
    for (const Alert& a : alerter.Check(m.run(0), m.RateOf(0), lines, 10.0 * i)) {
      kinds.push_back(a.kind);
      levels.push_back(a.level);
      if (a.level == 0.5) {
        EXPECT_DOUBLE_EQ(a.projection.value, 50e18);
        ASSERT_TRUE(a.projection.eta);
        EXPECT_NEAR(*a.projection.eta, 500, 1);  // 50 steps of 1e18 at one step per 10 s
      }
    }
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"fraction", "fraction", "fraction", "crossed"}));
  EXPECT_EQ(levels, (std::vector<double>{0.5, 0.8, 0.95, 1.0}));
  // Restored keys do not fire again (a restart).
  Alerter again(AlertPolicy{});
  again.Restore(std::vector<std::string>(alerter.fired().begin(), alerter.fired().end()));
  EXPECT_TRUE(again.Check(m.run(0), m.RateOf(0), lines, 1300).empty());
}

TEST(AlerterTest, WillBeMetWithinFiresOnceAheadOfTheLine) {
  Meter m;
  ASSERT_TRUE(m.AddRun({"r1", "m", std::nullopt}));
  std::vector<WatchedLine> lines = {Line(100e18)};
  AlertPolicy policy;
  policy.fractions = {};
  policy.within = std::chrono::seconds(200);  // 20 steps ahead
  Alerter alerter(policy);
  core::Location at{"s", 1, 0};
  std::vector<std::pair<std::string, int>> fired;
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(m.Ingest(Event("r1", i, 10.0 * i, 1), at));
    for (const Alert& a : alerter.Check(m.run(0), m.RateOf(0), lines, 10.0 * i)) fired.emplace_back(a.kind, i);
  }
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].first, "within");
  EXPECT_EQ(fired[0].second, 80);
  EXPECT_EQ(fired[1].first, "crossed");
  EXPECT_EQ(fired[1].second, 100);
}

TEST(AlertParsingTest, FractionsAndDurations) {
  EXPECT_EQ(*ParseFractions("0.8,50%,0.95", "--alert-at"), (std::vector<double>{0.5, 0.8, 0.95}));
  EXPECT_FALSE(ParseFractions("1.2", "--alert-at"));
  EXPECT_FALSE(ParseFractions("0.5,", "--alert-at"));
  EXPECT_EQ(*ParseDuration("14d", "--alert-within"), std::chrono::seconds(14 * 86400));
  EXPECT_EQ(*ParseDuration("36h", "--alert-within"), std::chrono::seconds(36 * 3600));
  EXPECT_FALSE(ParseDuration("14", "--alert-within"));
  EXPECT_FALSE(ParseDuration("-1d", "--alert-within"));
}

// The engine's lines for a model files' lineage.
class LinesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::vector<rules::Regime> regimes;
    for (const char* id : {"ca-sb1047", "ca-sb53", "ny-raise", "eu-ai-act-gpai"}) {
      auto r = rules::Regime::Load(Source(std::string("regimes/") + id + ".toml"));
      ASSERT_TRUE(r) << r.error().ToString();
      regimes.push_back(std::move(*r));
    }
    engine_ = new rules::Engine(std::move(regimes), {});
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  static rules::Inventory Models(const std::string& text) {
    auto inv = rules::ParseInventory({{"models.toml", text}}, compute::AcceleratorTable(), compute::PriceTable());
    EXPECT_TRUE(inv) << inv.error().ToString();
    return inv ? *inv : rules::Inventory{};
  }
  static LineContext Context(const std::string& models, const std::string& model) {
    LineContext c;
    c.engine = engine_;
    c.inventory = Models(models);
    c.model = model;
    c.run = "r1";
    c.usd_per_flop = 1e-18;  // $100M at 1e26 FLOP
    return c;
  }
  static const WatchedLine* Find(const LineWatch& w, const std::string& regime, const std::string& param,
                                 const std::string& reading = "") {
    for (const WatchedLine& l : w.lines()) {
      // A reading is named within its combination ("A3-lineage, A2-literal").
      bool has = reading.empty() || std::any_of(l.readings.begin(), l.readings.end(), [&](const std::string& r) {
                   return r.find(reading) != std::string::npos;
                 });
      if (l.regime == regime && l.param == param && has) return &l;
    }
    return nullptr;
  }
  static inline rules::Engine* engine_ = nullptr;
};

constexpr char kFrontier[] = R"(
[[model]]
id = "acme-f2"
developer = "Acme AI"
developer_revenue_usd = 2.0e9
foundation_model = true
derivation = "pretrain"

[[event]]
model = "acme-f2"
kind = "cybersecurity-attested"
at = 2026-01-15T12:00:00Z
)";

TEST_F(LinesTest, ThePretrainingRunsLinesComeFromTheRegimes) {
  auto now = *core::Instant::Parse("2026-02-01T00:00:00Z");
  auto w = LineWatch::Build(Context(kFrontier, "acme-f2"), 1e24, now, now);
  ASSERT_TRUE(w) << w.error().ToString();
  const WatchedLine* sb1047 = Find(*w, "ca-sb1047", "covered_flop");
  ASSERT_NE(sb1047, nullptr);
  EXPECT_DOUBLE_EQ(sb1047->threshold, 1e26);
  EXPECT_NEAR(sb1047->slope, 1.0, 1e-9);
  EXPECT_NEAR(sb1047->offset, 0.0, 1e12);
  EXPECT_EQ(sb1047->name, "covered model");
  EXPECT_FALSE(sb1047->cite.empty());
  EXPECT_EQ(sb1047->status_at_line, "covered-model");
  // SB 1047's duties before training: cybersecurity is recorded as met, the protocol is not.
  bool cyber = false, ssp = false;
  for (const Duty& d : sb1047->duties) {
    if (d.id == "cybersecurity-before-training") cyber = d.met();
    if (d.id == "ssp-before-training") {
      ssp = !d.met();
      EXPECT_EQ(d.met_by, "ssp-published");  // what to record to discharge it
    }
  }
  EXPECT_TRUE(cyber);
  EXPECT_TRUE(ssp);
  EXPECT_TRUE(sb1047->DutiesUnmet());
  const WatchedLine* eu = Find(*w, "eu-ai-act-gpai", "systemic_flop");
  ASSERT_NE(eu, nullptr);
  EXPECT_DOUBLE_EQ(eu->threshold, 1e25);
  auto status = w->StatusNow(1e24, now);
  ASSERT_TRUE(status);
  EXPECT_FALSE(status->empty());
}

// Regression: past the EU's 1e23 general-purpose line the engine shows cumulative_flop against that
// line only, so the 1e25 systemic-risk line (seen at no compute, where no rule decides) had its
// slope probed where no margin showed it: slope 0, never alerted, never projected.
TEST_F(LinesTest, ALineAnotherRuleDecidesStillMovesWithTheRun) {
  auto now = *core::Instant::Parse("2026-02-01T00:00:00Z");
  for (double run_flop : {0.0, 5e22, 3e24, 2e25}) {
    auto w = LineWatch::Build(Context(kFrontier, "acme-f2"), run_flop, now, now);
    ASSERT_TRUE(w) << w.error().ToString();
    for (const char* param : {"systemic_flop", "gpai_flop"}) {
      const WatchedLine* eu = Find(*w, "eu-ai-act-gpai", param);
      ASSERT_NE(eu, nullptr) << param << " at " << run_flop;
      EXPECT_NEAR(eu->slope, 1.0, 1e-9) << param << " at " << run_flop;
      EXPECT_NEAR(eu->Value(run_flop), run_flop, 1e12) << param << " at " << run_flop;
    }
    const WatchedLine* systemic = Find(*w, "eu-ai-act-gpai", "systemic_flop");
    ASSERT_TRUE(systemic->RunFlopAtLine());
    EXPECT_NEAR(*systemic->RunFlopAtLine(), 1e25, 1e13);
    EXPECT_EQ(systemic->status_at_line, "gpai-systemic-risk");
  }
}

TEST_F(LinesTest, AFineTuneCountsItsBaseUnderTheCumulativeReading) {
  std::string models = std::string(kFrontier) + R"(
[[model.training]]
kind = "pretrain"
start = 2026-01-01
flop = 8e25
cost_usd = 8e7

[[model]]
id = "acme-f2-ft"
developer = "Acme AI"
developer_revenue_usd = 2.0e9
foundation_model = true
base = "acme-f2"
derivation = "fine-tune"
)";
  // The [[model.training]] above belongs to the first model: put it in the right place.
  models = std::string(R"(
[[model]]
id = "acme-f2"
developer = "Acme AI"
developer_revenue_usd = 2.0e9
foundation_model = true
derivation = "pretrain"
[[model.training]]
kind = "pretrain"
start = 2026-01-01
flop = 8e25
cost_usd = 8e7

[[model]]
id = "acme-f2-ft"
developer = "Acme AI"
developer_revenue_usd = 2.0e9
foundation_model = true
base = "acme-f2"
derivation = "fine-tune"
)");
  auto now = *core::Instant::Parse("2026-03-01T00:00:00Z");
  LineContext c = Context(models, "acme-f2-ft");
  c.stage_kind = "fine-tune";
  auto w = LineWatch::Build(c, 1e24, now, now);
  ASSERT_TRUE(w) << w.error().ToString();
  const WatchedLine* cumulative = Find(*w, "ca-sb1047", "covered_flop", "A3-lineage");
  const WatchedLine* own = Find(*w, "ca-sb1047", "covered_flop", "A3-own-training");
  ASSERT_NE(cumulative, nullptr);
  ASSERT_NE(own, nullptr);
  EXPECT_NEAR(cumulative->offset, 8e25, 1e13);  // the base's compute comes with the lineage
  EXPECT_NEAR(own->offset, 0, 1e13);
  ASSERT_TRUE(cumulative->RunFlopAtLine());
  EXPECT_NEAR(*cumulative->RunFlopAtLine(), 2e25, 1e13);
}

TEST_F(LinesTest, AModelNotInTheFilesIsAnError) {
  auto now = *core::Instant::Parse("2026-02-01T00:00:00Z");
  auto w = LineWatch::Build(Context(kFrontier, "nobody"), 0, now, now);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, core::Code::kNotFound);
}

// Records are stamped with the wall clock: the log refuses times before it was initialised.
core::Instant Now() { return core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now())); }

// The state a restart resumes from, through a real SQLite ledger.
TEST(StateTest, ARestartResumesFromTheLedgersLastState) {
  char dir_template[] = "/tmp/meter_state_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  auto storage = store::Open("sqlite:" + dir + "/ledger.db");
  ASSERT_TRUE(storage) << storage.error().ToString();
  auto signer = ledger::Signer::Generate("meter-test");
  ASSERT_TRUE(signer);
  ASSERT_TRUE(ledger::Log::Init(**storage, "meter-test", *signer));
  ledger::Log log(**storage);

  std::vector<WatchedLine> lines = {Line(100e18)};
  core::Location at{"s", 1, 0};
  Meter first;
  ASSERT_TRUE(first.AddRun({"r1", "m", std::nullopt}));
  Alerter alerter(AlertPolicy{});
  int alerts = 0;
  for (int i = 1; i <= 60; ++i) {
    ASSERT_TRUE(first.Ingest(Event("r1", i, 10.0 * i, 1), at));
    for (const Alert& a : alerter.Check(first.run(0), first.RateOf(0), lines, 10.0 * i)) {
      auto recorded = RecordAlert(log, a, Now());
      ASSERT_TRUE(recorded) << recorded.error().ToString();
      ++alerts;
    }
  }
  EXPECT_EQ(alerts, 1);  // 50%
  std::vector<std::string> fired(alerter.fired().begin(), alerter.fired().end());
  ASSERT_TRUE(SaveState(log, first.run(0), fired, Now()));

  // A new meter reads it back: the same steps again count nothing, and 50% does not fire again.
  auto saved = LoadState(**storage, "r1");
  ASSERT_TRUE(saved) << saved.error().ToString();
  ASSERT_TRUE(*saved);
  Meter second;
  ASSERT_TRUE(second.AddRun({"r1", "m", std::nullopt}));
  auto keys = RestoreState((*saved)->document, second.mutable_run(0));
  ASSERT_TRUE(keys) << keys.error().ToString();
  Alerter resumed(AlertPolicy{});
  resumed.Restore(*keys);
  std::vector<std::string> kinds;
  for (int i = 1; i <= 85; ++i) {
    auto o = second.Ingest(Event("r1", i, 10.0 * i + 1000, 1), at);
    ASSERT_TRUE(o);
    EXPECT_EQ(*o, i <= 60 ? IngestOutcome::kRepeated : IngestOutcome::kCounted);
    for (const Alert& a : resumed.Check(second.run(0), second.RateOf(0), lines, 10.0 * i + 1000)) {
      kinds.push_back(fmt::format("{}", a.level));
    }
  }
  EXPECT_EQ(kinds, std::vector<std::string>{"0.8"});
  EXPECT_DOUBLE_EQ(second.run(0).flop.value(), 85e18);
  EXPECT_EQ(second.run(0).steps_counted, 85u);
  EXPECT_FALSE(LoadState(**storage, "r2")->has_value());

  // The records are in the log, and it verifies.
  auto report = log.Verify();
  ASSERT_TRUE(report) << report.error().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
  std::filesystem::remove_all(dir);
}

TEST(StateTest, AMalformedStateIsRefused) {
  RunState r;
  EXPECT_FALSE(RestoreState(nlohmann::json::parse(R"({"run":"r1"})"), r));
  auto good = StateToJson(r, {});
  good["steps"] = nlohmann::json::array({nlohmann::json::array({5, 2})});
  EXPECT_FALSE(RestoreState(good, r));
}

// dcgm-exporter's /metrics, two scrapes of a two-GPU node, with timestamps (ms) as a scraper keeps
// them; dcgm-exporter 3.3's labels.
constexpr char kScrapes[] = R"(# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-aaaa",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="node-1"} 100 1767225600000
# HELP DCGM_FI_PROF_PIPE_TENSOR_ACTIVE Ratio of cycles the tensor (HMMA) pipe is active.
# TYPE DCGM_FI_PROF_PIPE_TENSOR_ACTIVE gauge
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="0",UUID="GPU-aaaa",pci_bus_id="00000000:10:1C.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="node-1",DCGM_FI_DRIVER_VERSION="550.54.15",container="",namespace="",pod=""} 0.400000 1767225600000
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="1",UUID="GPU-bbbb",pci_bus_id="00000000:10:1D.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="node-1",DCGM_FI_DRIVER_VERSION="550.54.15",container="",namespace="",pod=""} 0.600000 1767225600000
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="0",UUID="GPU-aaaa",pci_bus_id="00000000:10:1C.0",device="nvidia0",modelName="NVIDIA H100 80GB HBM3",Hostname="node-1",DCGM_FI_DRIVER_VERSION="550.54.15",container="",namespace="",pod=""} 0.600000 1767225610000
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="1",UUID="GPU-bbbb",pci_bus_id="00000000:10:1D.0",device="nvidia1",modelName="NVIDIA H100 80GB HBM3",Hostname="node-1",DCGM_FI_DRIVER_VERSION="550.54.15",container="",namespace="",pod=""} 0.600000 1767225610000)";

std::vector<TensorSample> ParseAll(DcgmParser& p, std::string_view text, std::optional<double> read_time = std::nullopt) {
  std::vector<TensorSample> out;
  int n = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    auto samples = p.Parse(text.substr(0, nl), "dcgm.prom", ++n, read_time);
    EXPECT_TRUE(samples) << samples.error().ToString();
    if (samples) out.insert(out.end(), (*samples)->begin(), (*samples)->end());
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

TEST(DcgmTest, TextScrapesGiveTheTensorMetricsSamplesOnly) {
  DcgmParser p;
  auto samples = ParseAll(p, kScrapes);
  ASSERT_EQ(samples.size(), 4u);
  EXPECT_EQ(samples[0].gpu, "GPU-aaaa");
  EXPECT_EQ(samples[0].model_name, "NVIDIA H100 80GB HBM3");
  EXPECT_DOUBLE_EQ(samples[0].time, 1767225600);
  EXPECT_DOUBLE_EQ(samples[0].active, 0.4);
  EXPECT_EQ(samples[3].gpu, "GPU-bbbb");
  EXPECT_DOUBLE_EQ(samples[3].time, 1767225610);
  // Without a UUID the GPU is the host's: labels with escapes, a trailing comma, spaces.
  auto one = p.Parse(R"(DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{ gpu = "3", Hostname="a\"b\\c", modelName="A100-SXM4-80GB", } +1e-1 1767225600500)",
                     "f", 1, std::nullopt);
  ASSERT_TRUE(one) << one.error().ToString();
  ASSERT_EQ((*one)->size(), 1u);
  EXPECT_EQ((**one)[0].gpu, "a\"b\\c/3");
  EXPECT_DOUBLE_EQ((**one)[0].time, 1767225600.5);
  EXPECT_DOUBLE_EQ((**one)[0].active, 0.1);
}

TEST(DcgmTest, ASampleWithoutATimestampIsAsOfItsReadingWhenLive) {
  std::string line = R"(DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{gpu="0",UUID="GPU-a",modelName="NVIDIA H100 80GB HBM3"} 0.5)";
  DcgmParser p;
  auto live = p.Parse(line, "f", 4, 1767225600.25);
  ASSERT_TRUE(live && (*live)->size() == 1u);
  EXPECT_DOUBLE_EQ((**live)[0].time, 1767225600.25);
  auto file = p.Parse(line, "f", 4, std::nullopt);
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().field, "timestamp");
}

TEST(DcgmTest, BadLinesNameTheLineAndTheField) {
  const std::string m = "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE";
  const std::string l = R"({gpu="0",UUID="GPU-a",modelName="NVIDIA H100 80GB HBM3"})";
  struct Case {
    std::string line, field;
  };
  std::vector<Case> cases = {
      {m + l + " NaN 1767225600000", "value"},
      {m + l + " 1.5 1767225600000", "value"},
      {m + l + " -0.1 1767225600000", "value"},
      {m + l + " half 1767225600000", "value"},
      {m + l + "0.5 1767225600000", "value"},
      {m + l + " 0.5 soon", "timestamp"},
      {m + l + " 0.5 1767225600000 extra", "timestamp"},
      {m + l + " 0.5 -5", "timestamp"},
      {m + R"({gpu="0",UUID="GPU-a"} 0.5 1767225600000)", "modelName"},
      {m + R"({gpu="0",modelName="H100"} 0.5 1767225600000)", "UUID"},
      {m + R"({gpu="0",UUID="GPU-a",modelName="H100",GPU_I_ID="1"} 0.5 1767225600000)", "GPU_I_ID"},
      {m + R"({gpu="0",UUID="GPU-a,modelName="H100"} 0.5 1767225600000)", "labels"},
      {m + R"({gpu="0",UUID="GPU-a",modelName="H100} 0.5 1767225600000)", "modelName"},
      {m + R"({gpu="0\t",UUID="GPU-a",modelName="H100"} 0.5 1767225600000)", "gpu"},
      {m + R"({gpu="0",gpu="1",UUID="GPU-a",modelName="H100"} 0.5 1767225600000)", "gpu"},
      {m + R"({gpu 0} 0.5 1767225600000)", "gpu"},
      {"{not json", ""},
      {R"({"status":"error","errorType":"bad_data","error":"parse error"})", "status"},
      {R"({"status":"success","data":{"resultType":"scalar","result":[1,"2"]}})", "data.resultType"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"UUID":"GPU-a","modelName":"H100"},"value":[1767225600,"2"]}]}})",
       "data.result[0].value"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"UUID":"GPU-a"},"value":[1767225600,"0.5"]}]}})",
       "data.result[0].metric.modelName"},
      {R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"UUID":"GPU-a","modelName":"H100"},"values":[[1767225600,"0.5"],[1767225610]]}]}})",
       "data.result[0].values[1]"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"UUID":7},"value":[1767225600,"0.5"]}]}})",
       "data.result[0].metric.UUID"},
      {"42 is not a metric", "metric"},
  };
  for (const Case& c : cases) {
    DcgmParser p;
    auto samples = p.Parse(c.line, "dcgm.prom", 9, std::nullopt);
    ASSERT_FALSE(samples) << c.line;
    EXPECT_EQ(samples.error().field, c.field) << c.line << ": " << samples.error().ToString();
    ASSERT_TRUE(samples.error().where);
    EXPECT_EQ(samples.error().where->file, "dcgm.prom");
    EXPECT_EQ(samples.error().where->line, 9);
  }
}

TEST(DcgmTest, PrometheusApiAnswersAreSamplesToo) {
  DcgmParser p;
  // An instant query: two GPUs and a series of another metric (skipped).
  auto vector = p.Parse(
      R"({"status":"success","data":{"resultType":"vector","result":[)"
      R"({"metric":{"__name__":"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE","UUID":"GPU-a","modelName":"NVIDIA H100 80GB HBM3","gpu":"0","Hostname":"n1"},"value":[1767225600.5,"0.75"]},)"
      R"({"metric":{"__name__":"DCGM_FI_DEV_GPU_UTIL","UUID":"GPU-a","modelName":"NVIDIA H100 80GB HBM3"},"value":[1767225600.5,"99"]},)"
      R"({"metric":{"UUID":"GPU-b","modelName":"NVIDIA H100 80GB HBM3"},"value":[1767225600.5,"0.25"]}]}})",
      "dcgm.json", 1, std::nullopt);
  ASSERT_TRUE(vector) << vector.error().ToString();
  ASSERT_EQ((*vector)->size(), 2u);
  EXPECT_EQ((**vector)[0].gpu, "GPU-a");
  EXPECT_DOUBLE_EQ((**vector)[0].time, 1767225600.5);
  EXPECT_DOUBLE_EQ((**vector)[0].active, 0.75);
  EXPECT_EQ((**vector)[1].gpu, "GPU-b");
  // A range query: each series' values in turn.
  auto matrix = p.Parse(
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"UUID":"GPU-a","modelName":"H100-SXM"},)"
      R"("values":[[1767225600,"0.5"],[1767225615,"0.7"],[1767225630,"0.9"]]}]}})",
      "dcgm.json", 2, std::nullopt);
  ASSERT_TRUE(matrix) << matrix.error().ToString();
  ASSERT_EQ((*matrix)->size(), 3u);
  EXPECT_DOUBLE_EQ((**matrix)[2].time, 1767225630);
  EXPECT_DOUBLE_EQ((**matrix)[2].active, 0.9);
}

// The Trainer's console output (transformers 4.4x): tqdm's bar, then the logs dict on the same
// line; an evaluation; the final metrics with total_flos.
constexpr char kHfConsole[] =
    " 10%|\xe2\x96\x88         | 10/100 [00:20<03:00,  2.00s/it]{'loss': 2.3456, 'grad_norm': 1.25, 'learning_rate': "
    "4.9e-05, 'epoch': 0.1, 'num_input_tokens_seen': 40960}\n"
    "{'loss': 2.1, 'grad_norm': tensor(1.1, device='cuda:0'), 'learning_rate': 4.8e-05, 'epoch': 0.2, "
    "'num_input_tokens_seen': 81920}\n"
    "{'eval_loss': 2.0, 'eval_runtime': 3.2, 'eval_samples_per_second': 31.2, 'epoch': 0.2}\n"
    "Saving model checkpoint to out/checkpoint-20\n"
    "{'train_runtime': 40.5, 'train_samples_per_second': 9.9, 'train_steps_per_second': 0.5, 'total_flos': "
    "1.5e+15, 'train_loss': 2.2, 'epoch': 0.2}";

std::vector<core::Result<std::optional<StepEvent>>> ParseHf(HfLogParser& p, std::string_view text, HfCounted counted = {}) {
  std::vector<core::Result<std::optional<StepEvent>>> out;
  int n = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    out.push_back(p.ParseLine(text.substr(0, nl), "train.log", ++n, 1767225600, counted));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

TEST(HfLogTest, WithAConfigEachTrainingEntryIsAStepOfItsTokens) {
  HfLogParser p({"r1", 10, std::nullopt, true});
  auto lines = ParseHf(p, kHfConsole);
  ASSERT_EQ(lines.size(), 5u);
  for (const auto& l : lines) ASSERT_TRUE(l) << l.error().ToString();
  ASSERT_TRUE(*lines[0] && *lines[1]);
  EXPECT_EQ((**lines[0]).run, "r1");
  EXPECT_EQ((**lines[0]).step, 10);
  EXPECT_DOUBLE_EQ((**lines[0]).tokens, 40960);
  EXPECT_FALSE((**lines[0]).flop);  // the meter computes it from the config
  EXPECT_EQ((**lines[1]).step, 20);
  EXPECT_DOUBLE_EQ((**lines[1]).tokens, 81920 - 40960);
  EXPECT_DOUBLE_EQ((**lines[1]).time, 1767225600);
  EXPECT_FALSE(*lines[2]);  // the evaluation
  EXPECT_FALSE(*lines[3]);  // not a logs dict
  EXPECT_FALSE(*lines[4]);  // total_flos: the config's count is used instead
}

TEST(HfLogTest, WithoutAConfigTheTrainersTotalFlosCountsOnce) {
  HfLogParser p({"r1", 10, std::nullopt, false});
  auto lines = ParseHf(p, kHfConsole);
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(lines[i]) << lines[i].error().ToString();
    EXPECT_FALSE(*lines[i]);
  }
  ASSERT_TRUE(lines[4] && *lines[4]);
  EXPECT_EQ((**lines[4]).step, 20);
  EXPECT_DOUBLE_EQ(*(**lines[4]).flop, 1.5e15);
  EXPECT_DOUBLE_EQ((**lines[4]).tokens, 81920);
  // What the run counted already (a restart resumed from the ledger) is not counted again.
  HfLogParser again({"r1", 10, std::nullopt, false});
  auto resumed = ParseHf(again, kHfConsole, {1e15, 40960});
  ASSERT_TRUE(resumed[4] && *resumed[4]);
  EXPECT_DOUBLE_EQ(*(**resumed[4]).flop, 0.5e15);
  HfLogParser done({"r1", 10, std::nullopt, false});
  auto all = ParseHf(done, kHfConsole, {1.5e15, 81920});
  ASSERT_TRUE(all[4]);
  EXPECT_FALSE(*all[4]);
}

TEST(HfLogTest, TokensPerStepWhenTheLogCountsNone) {
  HfLogParser p({"r1", 5, 4096.0, true});
  auto e = p.ParseLine("{'loss': 1.5, 'learning_rate': 1e-05, 'epoch': 0.5}", "train.log", 3, 1767225600, {});
  ASSERT_TRUE(e && *e) << (e ? "" : e.error().ToString());
  EXPECT_EQ((**e).step, 5);
  EXPECT_DOUBLE_EQ((**e).tokens, 5 * 4096.0);
  HfLogParser none({"r1", 5, std::nullopt, true});
  auto bad = none.ParseLine("{'loss': 1.5, 'learning_rate': 1e-05, 'epoch': 0.5}", "train.log", 3, 1767225600, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field, "num_input_tokens_seen");
}

TEST(HfLogTest, BadLogsDictsNameTheLineAndTheKey) {
  struct Case {
    std::string line, field;
    bool config = true;
  };
  std::vector<Case> cases = {
      {"{'loss': 2.0, 'num_input_tokens_seen': -5}", "num_input_tokens_seen"},
      {"{'loss': 2.0, 'num_input_tokens_seen': 1.5}", "num_input_tokens_seen"},
      {"{'loss': 2.0, 'num_input_tokens_seen': 'many'}", "num_input_tokens_seen"},
      {"{'loss': 2.0, 'epoch': 0.1", "epoch"},
      {"{'loss': 2.0, 'loss': 2.0, 'num_input_tokens_seen': 5}", "loss"},
      {"{'loss' 2.0}", "loss"},
      {"{'loss': }", "loss"},
      {"{'loss': 2.0, 'num_input_tokens_seen': 5} and more", "logs"},
      {"{'loss: 2.0}", "logs"},
      {"{'train_runtime': 40.5, 'epoch': 1.0}", "total_flos", false},
      {"{'train_runtime': 40.5, 'total_flos': nan}", "total_flos", false},
      {"{'train_runtime': 40.5, 'total_flos': -1.0}", "total_flos", false},
  };
  for (const Case& c : cases) {
    HfLogParser p({"r1", 10, std::nullopt, c.config});
    auto e = p.ParseLine(c.line, "train.log", 7, 1767225600, {});
    ASSERT_FALSE(e) << c.line;
    EXPECT_EQ(e.error().field, c.field) << c.line << ": " << e.error().ToString();
    ASSERT_TRUE(e.error().where);
    EXPECT_EQ(e.error().where->file, "train.log");
    EXPECT_EQ(e.error().where->line, 7);
  }
  // Tokens that go backwards (a log of another run appended): the later line is bad.
  HfLogParser p({"r1", 10, std::nullopt, true});
  ASSERT_TRUE(p.ParseLine("{'loss': 2.0, 'num_input_tokens_seen': 500}", "train.log", 1, 1767225600, {}));
  auto back = p.ParseLine("{'loss': 2.0, 'num_input_tokens_seen': 100}", "train.log", 2, 1767225600, {});
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().field, "num_input_tokens_seen");
}

// trainer_state.json as the Trainer writes it (indent 2, sorted keys), with a checkpoint's history.
constexpr char kTrainerState[] = R"({
  "best_metric": null,
  "best_model_checkpoint": null,
  "epoch": 0.3,
  "eval_steps": 500,
  "global_step": 30,
  "is_hyper_param_search": false,
  "is_local_process_zero": true,
  "is_world_process_zero": true,
  "log_history": [
    {
      "epoch": 0.1,
      "grad_norm": 1.25,
      "learning_rate": 4.9e-05,
      "loss": 2.3456,
      "num_input_tokens_seen": 40960,
      "step": 10
    },
    {
      "epoch": 0.2,
      "eval_loss": 2.0,
      "eval_runtime": 3.2,
      "step": 20
    },
    {
      "epoch": 0.2,
      "grad_norm": 1.1,
      "learning_rate": 4.8e-05,
      "loss": 2.1,
      "num_input_tokens_seen": 81920,
      "step": 20
    },
    {
      "epoch": 0.3,
      "grad_norm": 1.0,
      "learning_rate": 4.7e-05,
      "loss": 2.0,
      "num_input_tokens_seen": 122880,
      "step": 30
    }
  ],
  "logging_steps": 10,
  "max_steps": 100,
  "num_input_tokens_seen": 122880,
  "num_train_epochs": 1,
  "save_steps": 30,
  "total_flos": 2.25e+15,
  "train_batch_size": 4,
  "trial_name": null,
  "trial_params": null
}
)";

TEST(HfLogTest, TrainerStateLogHistoryGivesStepsWithTheirLines) {
  HfLogParser p({"r1", 500, std::nullopt, true});
  auto events = p.ParseTrainerState(kTrainerState, "trainer_state.json", 1767225600, {});
  ASSERT_TRUE(events) << events.error().ToString();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].first, 11);  // the line each entry starts on
  EXPECT_EQ((*events)[0].second.step, 10);
  EXPECT_DOUBLE_EQ((*events)[0].second.tokens, 40960);
  EXPECT_EQ((*events)[1].first, 25);
  EXPECT_EQ((*events)[1].second.step, 20);
  EXPECT_DOUBLE_EQ((*events)[2].second.tokens, 40960);
  // Without a config: the Trainer's total_flos at global_step, once.
  HfLogParser own({"r1", 500, std::nullopt, false});
  auto total = own.ParseTrainerState(kTrainerState, "trainer_state.json", 1767225600, {});
  ASSERT_TRUE(total) << total.error().ToString();
  ASSERT_EQ(total->size(), 1u);
  EXPECT_EQ((*total)[0].second.step, 30);
  EXPECT_DOUBLE_EQ(*(*total)[0].second.flop, 2.25e15);
  EXPECT_DOUBLE_EQ((*total)[0].second.tokens, 122880);
}

TEST(HfLogTest, BadTrainerStatesNameTheLineAndTheField) {
  std::string state = kTrainerState;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = state;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  struct Case {
    std::string text, field;
    int line;
  };
  std::vector<Case> cases = {
      {with("\"step\": 30", "\"step\": -30"), "step", 33},
      {with("\"num_input_tokens_seen\": 81920", "\"num_input_tokens_seen\": 10"), "num_input_tokens_seen", 25},
      {with("\"global_step\": 30,", "\"global_step\": \"thirty\","), "global_step", 1},
      {with("\"loss\": 2.1,", "\"loss\": 2.1,,"), "", 29},
      {with("\"log_history\": [", "\"log_history\": {\"a\": ["), "", 0},
      // A number beyond a double (found by hf_log_fuzz): the line it is on, never an exception.
      {with("\"total_flos\": 2.25e+15", "\"total_flos\": 1e400"), "", 47},
  };
  for (const Case& c : cases) {
    HfLogParser p({"r1", 500, std::nullopt, true});
    auto events = p.ParseTrainerState(c.text, "trainer_state.json", 1767225600, {});
    ASSERT_FALSE(events) << c.field;
    EXPECT_EQ(events.error().field, c.field) << events.error().ToString();
    ASSERT_TRUE(events.error().where);
    if (c.line > 0) {
      EXPECT_EQ(events.error().where->line, c.line) << events.error().ToString();
    }
  }
  HfLogParser own({"r1", 500, std::nullopt, false});
  auto no_flos = own.ParseTrainerState(with("\"total_flos\": 2.25e+15,", ""), "trainer_state.json", 1767225600, {});
  ASSERT_FALSE(no_flos);
  EXPECT_EQ(no_flos.error().field, "total_flos");
}

// The documented canonical form, built here by hand with libsodium (not through SignLine): the
// prefix, then the line without its sig member; the signature spliced in before the closing brace.
std::string SignByHand(const std::string& line, const SecretKey& key) {
  std::string message = std::string(kSignedPrefix) + line;
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(), key.data());
  return line.substr(0, line.size() - 1) + ",\"sig\":\"" + KeyText(sig, sizeof sig) + "\"}";
}

std::string StepLine(int step, double tokens = 1000, const char* run = "r1") {
  return fmt::format(R"({{"run":"{}","time":{},"step":{},"tokens":{},"flop":1e18}})", run, 1767225600 + 10 * step, step,
                     tokens);
}

TEST(SigningTest, AKeyedRunMetersOnlyWhatItsKeySigned) {
  ASSERT_GE(sodium_init(), 0);
  auto [pk, sk] = GenerateKeyPair();
  auto [other_pk, other_sk] = GenerateKeyPair();
  (void)other_pk;
  Session s(AlertPolicy{});
  ASSERT_TRUE(s.AddRun({{"r1", "m", std::nullopt}, std::nullopt}));
  ASSERT_TRUE(s.AddRun({{"r2", "m", std::nullopt}, std::nullopt}));
  s.SetRunKey(0, pk);
  std::vector<core::Error> bad;
  s.on_bad_line = [&](const core::Error& e) { bad.push_back(e); };

  auto signed1 = SignLine(StepLine(1), sk);
  ASSERT_TRUE(signed1) << signed1.error().ToString();
  s.Feed(*signed1, "steps.jsonl", 1);                    // signed with SignLine: counts
  s.Feed(SignByHand(StepLine(2), sk), "steps.jsonl", 2);  // signed by hand, as documented: counts
  s.Feed(StepLine(3), "steps.jsonl", 3);                  // unsigned
  std::string tampered = SignByHand(StepLine(4), sk);
  tampered.replace(tampered.find("\"tokens\":1000"), 13, "\"tokens\":1001");
  s.Feed(tampered, "steps.jsonl", 4);                        // changed after signing
  s.Feed(SignByHand(StepLine(5), other_sk), "steps.jsonl", 5);  // another key
  std::string spaced = SignByHand(StepLine(6), sk);
  spaced.replace(spaced.find(",\"sig\":\""), 8, ", \"sig\": \"");
  s.Feed(spaced, "steps.jsonl", 6);  // the member not written as documented
  std::string first = SignByHand(StepLine(7), sk);
  std::string sig = first.substr(first.find(",\"sig\":\"") + 8);
  sig.resize(sig.size() - 2);
  s.Feed(R"({"sig":")" + sig + R"(",)" + StepLine(7).substr(1), "steps.jsonl", 7);  // not the last member
  s.Feed(R"({"run":"r1","time":1767225680,"step":8,"tokens":1000,"flop":1e18,"sig":"not base64!"})", "steps.jsonl", 8);
  std::string as_r1 = SignByHand(StepLine(9, 1000, "r2"), sk);
  as_r1.replace(as_r1.find("\"r2\""), 4, "\"r1\"");
  s.Feed(as_r1, "steps.jsonl", 9);  // signed as another run's event
  s.FeedEvent(Event("r1", 10, 1767225700, 1000), "train.log", 10);  // a format with no signature

  std::vector<int> lines;
  for (const core::Error& e : bad) {
    EXPECT_EQ(e.field, "sig") << e.ToString();
    lines.push_back(e.where->line);
  }
  EXPECT_EQ(lines, (std::vector<int>{3, 4, 5, 6, 7, 8, 9, 10}));
  const RunState& r = s.meter().run(0);
  EXPECT_EQ(r.steps_counted, 2u);  // never metered: the refused events
  EXPECT_DOUBLE_EQ(r.flop.value(), 2e18);
  EXPECT_EQ(s.bad_lines(), 8u);
  nlohmann::json report = s.Report();
  EXPECT_EQ(report["runs"][0]["signatures"]["verified"], 2);
  EXPECT_EQ(report["runs"][0]["signatures"]["refused"], 8);
  EXPECT_EQ(report["runs"][0]["signatures"]["public_key"], KeyText(pk.data(), pk.size()));

  // A run without a key meters its events signed or not (a signature is then not checked).
  s.Feed(StepLine(1, 1000, "r2"), "steps.jsonl", 11);
  s.Feed(SignByHand(StepLine(2, 1000, "r2"), other_sk), "steps.jsonl", 12);
  EXPECT_EQ(s.meter().run(1).steps_counted, 2u);
  EXPECT_TRUE(s.Report()["runs"][1]["signatures"].is_null());
}

TEST(SigningTest, KeysAreCheckedAsTheyAreRead) {
  auto [pk, sk] = GenerateKeyPair();
  auto public_key = ParsePublicKey(KeyText(pk.data(), pk.size()) + "\n", "--run-key");
  ASSERT_TRUE(public_key);
  EXPECT_EQ(*public_key, pk);
  EXPECT_FALSE(ParsePublicKey(KeyText(sk.data(), sk.size()), "--run-key"));  // 64 bytes, not 32
  EXPECT_FALSE(ParsePublicKey("not a key", "--run-key"));
  ASSERT_TRUE(ParseSecretKey(KeyText(sk.data(), sk.size()), "--key"));
  SecretKey mixed = sk;
  mixed[40] ^= 1;  // the public half no longer the seed's
  auto refused = ParseSecretKey(KeyText(mixed.data(), mixed.size()), "--key");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "--key");
  EXPECT_FALSE(SignedMessage(StepLine(1)));
  EXPECT_FALSE(SignLine("not an event", sk));
}

class TelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = compute::AcceleratorTable::Load(Source("data/accelerators.toml"));
    ASSERT_TRUE(t) << t.error().ToString();
    table_ = std::move(*t);
  }
  void Feed(Session& s, int run, std::string_view text, const std::string& file = "dcgm.prom") {
    int n = 0;
    while (!text.empty()) {
      std::size_t nl = text.find('\n');
      auto samples = parser_.Parse(text.substr(0, nl), file, ++n, std::nullopt);
      if (!samples) {
        s.FeedBadLine(samples.error());
      } else if (!(*samples)->empty()) {
        s.FeedTelemetry(run, **samples, file, n);
      }
      if (nl == std::string_view::npos) break;
      text.remove_prefix(nl + 1);
    }
  }
  compute::AcceleratorTable table_;
  DcgmParser parser_;
};

TEST_F(TelemetryTest, TheBoundIsTensorActiveTimesPeakTimesTimeSummedOverGpus) {
  Session s(AlertPolicy{});
  ASSERT_TRUE(s.AddRun({{"r1", "m", std::nullopt}, std::nullopt}));
  s.set_accelerators(&table_);
  Feed(s, 0, kScrapes);
  Feed(s, 0, kScrapes);  // the same scrapes again (a file read twice): counted once
  const Telemetry& t = s.meter().run(0).telemetry;
  const double peak = 989.4e12;  // H100 SXM5 at bf16, the default precision: NVML's name is an alias
  // GPU 0: from 0.4 to 0.6 over 10 s; GPU 1: 0.6 throughout.
  EXPECT_DOUBLE_EQ(t.bound.value(), (0.5 + 0.6) * peak * 10);
  EXPECT_DOUBLE_EQ(t.peak.value(), 2 * peak * 10);
  EXPECT_DOUBLE_EQ(t.gpu_seconds.value(), 20);
  EXPECT_EQ(t.gpus.size(), 2u);
  EXPECT_EQ(t.samples, 4u);
  EXPECT_EQ(t.samples_repeated, 4u);
  EXPECT_EQ(s.bad_lines(), 0u);
  EXPECT_EQ(s.lines_read(), 8u);  // sample lines only: comments and other metrics are not read

  // The run's model FLOP beside it: both counts and their ratios.
  s.FeedEvent(Event("r1", 1, 1767225610, 1000, 5e15), "steps.jsonl", 1);
  nlohmann::json run = s.Report()["runs"][0];
  EXPECT_DOUBLE_EQ(run["hardware"]["flop_bound"].get<double>(), (0.5 + 0.6) * peak * 10);
  EXPECT_EQ(run["hardware"]["accelerators"][0]["accelerator"], "H100-SXM");
  EXPECT_EQ(run["hardware"]["accelerators"][0]["precision"], "bf16");
  EXPECT_DOUBLE_EQ(run["mfu"].get<double>(), 5e15 / (2 * peak * 10));
  EXPECT_DOUBLE_EQ(run["model_over_bound"].get<double>(), 5e15 / ((0.5 + 0.6) * peak * 10));
}

TEST_F(TelemetryTest, ThePeakIsTheRunsPrecisions) {
  Session s(AlertPolicy{});
  ASSERT_TRUE(s.AddRun({{"r1", "m", std::nullopt}, std::nullopt}));
  s.meter().mutable_run(0).telemetry.precision = "fp8";
  s.set_accelerators(&table_);
  Feed(s, 0, kScrapes);
  EXPECT_DOUBLE_EQ(s.meter().run(0).telemetry.peak.value(), 2 * 1978.9e12 * 10);
  // A precision the accelerator lists no peak for: the line is bad, naming the name.
  Session fp4(AlertPolicy{});
  ASSERT_TRUE(fp4.AddRun({{"r1", "m", std::nullopt}, std::nullopt}));
  fp4.meter().mutable_run(0).telemetry.precision = "fp4";
  fp4.set_accelerators(&table_);
  std::vector<std::string> errors;
  fp4.on_bad_line = [&](const core::Error& e) { errors.push_back(e.ToString()); };
  Feed(fp4, 0, kScrapes);
  EXPECT_EQ(fp4.bad_lines(), 4u);
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find("fp4"), std::string::npos) << errors[0];
}

TEST_F(TelemetryTest, AnUnknownAcceleratorIsABadLineNamingFileLineAndName) {
  Session s(AlertPolicy{});
  ASSERT_TRUE(s.AddRun({{"r1", "m", std::nullopt}, std::nullopt}));
  s.set_accelerators(&table_);
  std::vector<core::Error> errors;
  s.on_bad_line = [&](const core::Error& e) { errors.push_back(e); };
  // A Prometheus answer whose second GPU is unknown: nothing of the line counts.
  Feed(s, 0,
       R"({"status":"success","data":{"resultType":"vector","result":[)"
       R"({"metric":{"UUID":"GPU-a","modelName":"NVIDIA H100 80GB HBM3"},"value":[1767225600,"0.5"]},)"
       R"({"metric":{"UUID":"GPU-b","modelName":"Quantum Abacus 9000"},"value":[1767225600,"0.5"]}]}})",
       "dcgm.json");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "modelName");
  EXPECT_EQ(errors[0].where->file, "dcgm.json");
  EXPECT_EQ(errors[0].where->line, 1);
  EXPECT_NE(errors[0].message.find("Quantum Abacus 9000"), std::string::npos) << errors[0].message;
  EXPECT_EQ(s.meter().run(0).telemetry.samples, 0u);
  EXPECT_TRUE(s.Report()["runs"][0]["hardware"].is_null());
}

TEST_F(TelemetryTest, NvmlNamesFindTheirAccelerators) {
  Session s(AlertPolicy{});
  ASSERT_TRUE(s.AddRun({{"r1", "m", std::nullopt}, std::nullopt}));
  s.set_accelerators(&table_);
  std::vector<std::pair<std::string, std::string>> names = {
      {"NVIDIA H100 80GB HBM3", "H100-SXM"},      {"NVIDIA H100 PCIe", "H100-PCIe"},
      {"NVIDIA A100-SXM4-80GB", "A100-SXM4-80GB"}, {"NVIDIA A100 80GB PCIe", "A100-PCIe"},
      {"Tesla V100-SXM2-32GB", "V100-SXM2"},      {"NVIDIA H200", "H200-SXM"},
      {"NVIDIA B200", "B200"}};
  int i = 0;
  for (const auto& [name, id] : names) {
    Feed(s, 0, fmt::format(R"(DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{{UUID="GPU-{}",modelName="{}"}} 0.5 1767225600000)", i++, name));
    EXPECT_EQ(s.meter().run(0).telemetry.accelerators.at(name).id, id) << name;
  }
  EXPECT_EQ(s.bad_lines(), 0u);
}

TEST(StateTest, TelemetryResumesFromTheSavedState) {
  Meter first;
  ASSERT_TRUE(first.AddRun({"r1", "m", std::nullopt}));
  EXPECT_EQ(first.IngestTensor(0, "GPU-a", 100, 0.5, 1e15), IngestOutcome::kCounted);
  EXPECT_EQ(first.IngestTensor(0, "GPU-a", 110, 0.5, 1e15), IngestOutcome::kCounted);
  Meter second;
  ASSERT_TRUE(second.AddRun({"r1", "m", std::nullopt}));
  ASSERT_TRUE(RestoreState(StateToJson(first.run(0), {}), second.mutable_run(0)));
  // The file read again from its start: its samples are repeats; the next one goes on from 110 s.
  EXPECT_EQ(second.IngestTensor(0, "GPU-a", 100, 0.5, 1e15), IngestOutcome::kRepeated);
  EXPECT_EQ(second.IngestTensor(0, "GPU-a", 110, 0.5, 1e15), IngestOutcome::kRepeated);
  EXPECT_EQ(second.IngestTensor(0, "GPU-a", 120, 1.0, 1e15), IngestOutcome::kCounted);
  EXPECT_DOUBLE_EQ(second.run(0).telemetry.bound.value(), 0.5 * 1e15 * 10 + 0.75 * 1e15 * 10);
  auto bad = StateToJson(first.run(0), {});
  bad["telemetry"]["gpus"]["GPU-a"] = "yesterday";
  RunState r;
  auto refused = RestoreState(bad, r);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().field, "telemetry.gpus");
}

TEST(SimulateTest, RestartsRepeatStepsAndCheckTheirSpec) {
  SimulationSpec spec;
  spec.steps = 20;
  spec.restarts = {{10, 5, 60}};
  std::vector<std::string> lines;
  ASSERT_TRUE(Simulate(spec, [&](std::string_view l) { lines.emplace_back(l); }));
  EXPECT_EQ(lines.size(), 25u);  // steps 6-10 twice
  spec.restarts = {{10, 12, 60}};
  EXPECT_FALSE(Simulate(spec, [](std::string_view) {}));
}

}  // namespace
}  // namespace flopline::meter
