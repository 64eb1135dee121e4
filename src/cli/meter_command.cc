// `flopline meter watch|simulate`: the live compute meter (docs/meter.md). Thin: flags -> the meter
// library (meter::Session: parser, accounting, the engine's lines, alerts) -> stdout, a webhook
// and the evidence ledger.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include <sodium.h>

#include "commands.h"
#include "flopline/http/server.h"
#include "flopline/compute/estimate.h"
#include "flopline/compute/hf_config.h"
#include "flopline/core/format.h"
#include "flopline/ledger/log.h"
#include "flopline/killswitch/client.h"
#include "flopline/meter/dcgm.h"
#include "flopline/meter/gate.h"
#include "flopline/meter/hf_log.h"
#include "flopline/meter/megatron_log.h"
#include "flopline/meter/prometheus.h"
#include "flopline/meter/session.h"
#include "flopline/meter/signing.h"
#include "flopline/meter/simulate.h"
#include "flopline/meter/state.h"
#include "flopline/meter/webhook.h"
#include "flopline/rules/engine.h"
#include "flopline/store/open.h"

namespace flopline::cli {
namespace {

using nlohmann::json;

struct WatchFlags {
  std::vector<std::string> inputs, runs, configs, models, regimes, telemetry, precisions, run_keys;
  std::string alert_at = "0.5,0.8,0.95", alert_within, store, webhook, format = "table", data_dir, regimes_dir;
  std::string stage_kind = "pretrain", priced_at;
  std::string gate_controller, gate_credential, gate_scope, metrics;
  std::string listen, push_token_file;
  std::string input_format = "steps";
  std::int64_t world_size = 0, log_interval = 0;  // 0: the format's default
  double tokens_per_step = 0;
  double gate_at = 0.95, gate_timeout = 30;
  std::int64_t seq_len = 0;
  double rate_window = 3600, idle_exit = 0;
  bool follow = false;
};

struct SimulateFlags {
  meter::SimulationSpec spec;
  std::vector<std::string> restarts;
  std::string start;
  double flop_per_token = 0;
};

int Fail(const std::string& sub, const core::Error& e) {
  return ReportError("meter " + sub, e.ToString(), e.code != core::Code::kDataLoss && e.code != core::Code::kUnavailable);
}

// "KEY=VALUE" for --run and --config.
core::Result<std::pair<std::string, std::string>> KeyValue(const std::string& text, const std::string& flag,
                                                           const std::string& shape) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    return core::InvalidArgument(fmt::format("expected {}, got '{}'", shape, text), flag);
  }
  return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

// "RUN=VALUE" of a flag about a run given with --run: the run's index and the value.
core::Result<std::pair<int, std::string>> RunFlag(meter::Session& session, const std::string& text,
                                                  const std::string& flag, const std::string& shape) {
  FL_ASSIGN_OR_RETURN(auto kv, KeyValue(text, flag, shape));
  int run = session.meter().FindRun(kv.first);
  if (run < 0) return core::InvalidArgument(fmt::format("{} names run '{}', which no --run gives", flag, kv.first), flag);
  return std::pair{run, kv.second};
}

core::Date Today() {
  return core::Date(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())));
}

core::Instant Now() {
  return core::Instant(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
}

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

// The format of one input (--input-format, --telemetry).
struct InputFormat {
  std::optional<meter::MegatronLogOptions> megatron;  // Megatron-LM's log (megatron_log.h)
  std::optional<meter::HfLogOptions> hf;              // Hugging Face Trainer logs (hf_log.h)
  int telemetry_run = -1;                             // >= 0: dcgm telemetry of this run (dcgm.h)
};

// One input: a file (followed as it grows) or standard input. Reads whole lines into a buffer with
// simdjson's padding after it, so each line is parsed where it lies.
class Input {
 public:
  Input(std::string name, int fd, const InputFormat& format) : name_(std::move(name)), fd_(fd) {
    if (format.megatron) megatron_.emplace(*format.megatron);
    if (format.hf) {
      hf_.emplace(*format.hf);
      // trainer_state.json is one document, rewritten with each checkpoint: read whole, once.
      hf_state_ = name_.ends_with(".json");
    }
    telemetry_run_ = format.telemetry_run;
    // Hugging Face's logs carry no clock: a file read once is as of its last change.
    struct stat st {};
    if (fd_ >= 0 && fstat(fd_, &st) == 0) file_time_ = static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
    // A Prometheus API answer holds every GPU of the cluster on one line.
    if (telemetry_run_ >= 0) max_line_ = meter::kMaxTelemetryLineBytes;
  }
  ~Input() {
    if (fd_ > 0) close(fd_);
  }
  const std::string& name() const { return name_; }
  bool eof() const { return eof_; }

  // Reads what is there and feeds every complete line; at the end of a file that is not followed,
  // the last line without a newline too. Returns the number of bytes read.
  std::size_t Pump(meter::Session& session, bool follow) {
    constexpr std::size_t kChunk = 1 << 20;
    std::size_t total = 0;
    live_ = follow || fd_ == 0;
    if (hf_state_) return ReadTrainerState(session);
    for (;;) {
      std::size_t old = pending_;
      buffer_.resize(old + kChunk + simdjson::SIMDJSON_PADDING);
      ssize_t n = read(fd_, buffer_.data() + old, kChunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (!follow || fd_ == 0) {
          if (pending_ > 0) {
            Feed(session, buffer_.data(), pending_, pending_ + simdjson::SIMDJSON_PADDING);
            pending_ = 0;
          }
          eof_ = true;
        }
        return total;
      }
      total += static_cast<std::size_t>(n);
      std::size_t end = old + static_cast<std::size_t>(n);
      std::memset(buffer_.data() + end, 0, simdjson::SIMDJSON_PADDING);
      std::size_t start = 0;
      for (;;) {
        const char* nl = static_cast<const char*>(std::memchr(buffer_.data() + start, '\n', end - start));
        if (!nl) break;
        std::size_t len = static_cast<std::size_t>(nl - (buffer_.data() + start));
        Feed(session, buffer_.data() + start, len, end + simdjson::SIMDJSON_PADDING - start);
        start += len + 1;
      }
      std::memmove(buffer_.data(), buffer_.data() + start, end - start);
      pending_ = end - start;
      if (pending_ > max_line_) {  // a line that never ends: reported once, skipped
        Feed(session, buffer_.data(), pending_, pending_);
        pending_ = 0;
      }
      if (g_stop) return total;
    }
  }

 private:
  void Feed(meter::Session& session, const char* data, std::size_t len, std::size_t capacity) {
    ++line_;
    if (len > 0 && data[len - 1] == '\r') --len;
    bool blank = true;
    for (std::size_t i = 0; i < len && blank; ++i) blank = data[i] == ' ' || data[i] == '\t';
    if (blank) return;  // empty lines separate nothing and mean nothing
    if (hf_) {
      const meter::RunState& run = session.meter().run(0);
      auto event = hf_->ParseLine(std::string_view(data, len), name_, line_, live_ ? WallClock() : file_time_,
                                  {run.flop.value(), run.tokens.value()});
      if (!event) {
        session.FeedBadLine(event.error());
      } else if (*event) {
        session.FeedEvent(**event, name_, line_);
      }
      return;
    }
    if (megatron_) {
      auto event = megatron_->Parse(std::string_view(data, len), name_, line_);
      if (!event) {
        session.FeedBadLine(event.error());
      } else if (*event) {
        session.FeedEvent(**event, name_, line_);
      }
      return;
    }
    if (telemetry_run_ >= 0) {
      if (len > max_line_) {
        session.FeedBadLine(core::InvalidArgument(fmt::format("the line is {} bytes; at most {}", len, max_line_), "",
                                                  core::Location{name_, line_, 0})
                                .value());
        return;
      }
      // A sample without a timestamp is as of now when the scrapes are read as they come.
      std::optional<double> now;
      if (live_) now = WallClock();
      auto samples = dcgm_.Parse(std::string_view(data, len), name_, line_, now);
      if (!samples) {
        session.FeedBadLine(samples.error());
      } else if (!(*samples)->empty()) {
        session.FeedTelemetry(telemetry_run_, **samples, name_, line_);
      }
      return;
    }
    session.Feed(data, len, capacity, name_, line_);
  }

  static double WallClock() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }

  std::size_t ReadTrainerState(meter::Session& session) {
    std::string text;
    char chunk[1 << 16];
    for (;;) {
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      text.append(chunk, static_cast<std::size_t>(n));
      if (text.size() > meter::kMaxTrainerStateBytes) break;  // refused by the parser, naming the size
    }
    eof_ = true;
    const meter::RunState& run = session.meter().run(0);
    auto events = hf_->ParseTrainerState(text, name_, live_ ? WallClock() : file_time_,
                                         {run.flop.value(), run.tokens.value()});
    if (!events) {
      session.FeedBadLine(events.error());
      return text.size();
    }
    for (const auto& [line, event] : *events) session.FeedEvent(event, name_, line);
    return text.size();
  }

  std::string name_;
  int fd_;
  std::optional<meter::MegatronLogParser> megatron_;
  std::optional<meter::HfLogParser> hf_;
  bool hf_state_ = false;
  double file_time_ = 0;
  int telemetry_run_ = -1;
  meter::DcgmParser dcgm_;
  std::size_t max_line_ = meter::kMaxLineBytes;
  bool live_ = false;
  std::vector<char> buffer_;
  std::size_t pending_ = 0;
  int line_ = 0;
  bool eof_ = false;
};

std::string Eta(const json& crossing) {
  if (crossing["point"].is_null()) return "-";
  auto text = [](const json& v) { return v.is_null() ? std::string("?") : v.get<std::string>(); };
  return fmt::format("{} ({} to {})", text(crossing["point"]), text(crossing["earliest"]), text(crossing["latest"]));
}

void PrintReport(const json& report) {
  for (const json& run : report["runs"]) {
    std::cout << fmt::format("run {} (model {}): {} FLOP over {} tokens, {} steps counted, {} repeated ({} FLOP not "
                             "counted again)\n",
                             run["run"].get<std::string>(), run["model"].get<std::string>(),
                             core::Sci3(run["flop"].get<double>()), core::Sci3(run["tokens"].get<double>()),
                             run["steps_counted"].get<std::uint64_t>(), run["steps_repeated"].get<std::uint64_t>(),
                             core::Sci3(run["repeated_flop"].get<double>()));
    const json& rate = run["rate"];
    std::cout << fmt::format("rate: {} FLOP/s (range {} to {}) over the last {:.0f} s\n",
                             core::Sci3(rate["flop_per_second"].get<double>()), core::Sci3(rate["low"].get<double>()),
                             core::Sci3(rate["high"].get<double>()), rate["window_seconds"].get<double>());
    if (run["hardware"].is_object()) {
      const json& h = run["hardware"];
      std::vector<std::string> accelerators;
      for (const json& a : h["accelerators"]) {
        accelerators.push_back(fmt::format("{} as {} at {} {} FLOP/s", a["model_name"].get<std::string>(),
                                           a["accelerator"].get<std::string>(), a["precision"].get<std::string>(),
                                           core::Sci3(a["peak_flop_per_second"].get<double>())));
      }
      std::cout << fmt::format("hardware bound (tensor-active x peak): {} FLOP over {} GPUs, {:.1f} GPU-hours, {} to {} "
                               "({}); MFU {}, model FLOP / bound {}\n",
                               core::Sci3(h["flop_bound"].get<double>()), h["gpus"].get<std::uint64_t>(),
                               h["gpu_seconds"].get<double>() / 3600, h["first_sample"].get<std::string>(),
                               h["last_sample"].get<std::string>(), core::Join(accelerators, "; "),
                               run["mfu"].is_number() ? core::Percent(run["mfu"].get<double>()) : "-",
                               run["model_over_bound"].is_number() ? core::Percent(run["model_over_bound"].get<double>())
                                                                   : "-");
    }
    if (!run["lines"].empty()) {
      std::cout << fmt::format("{:<12} {:<48} {:>10} {:>10} {:>7}  {:<40} {}\n", "regime", "line (readings)",
                               "flop", "line", "used", "projected crossing (range)", "duties before it");
      for (const json& l : run["lines"]) {
        std::vector<std::string> duties;
        for (const json& d : l["duties"]) {
          duties.push_back(fmt::format("{} {}", d["id"].get<std::string>(),
                                       d["met"].get<bool>() ? "met" : d["state"].get<std::string>()));
        }
        std::vector<std::string> readings = l["readings"].get<std::vector<std::string>>();
        std::string name = fmt::format("{} ({})", l["line"].get<std::string>(), core::Join(readings, ", "));
        std::cout << fmt::format("{:<12} {:<48} {:>10} {:>10} {:>7}  {:<40} {}\n", l["regime"].get<std::string>(),
                                 name, core::Sci3(l["flop"].get<double>()),
                                 core::Sci3(l["threshold_flop"].get<double>()),
                                 core::Percent(l["fraction"].get<double>()),
                                 l["moved_by_run"].get<bool>() ? Eta(l["projected_crossing"]) : "not moved by this run",
                                 duties.empty() ? "-" : core::Join(duties, ", "));
      }
    }
    if (!run["status_if_stopped_now"].empty()) {
      std::vector<std::string> statuses;
      for (const json& s : run["status_if_stopped_now"]) {
        statuses.push_back(fmt::format("{} {}", s["regime"].get<std::string>(), s["status"].get<std::string>()));
      }
      std::cout << "status if training stopped now: " << core::Join(statuses, "; ") << "\n";
    }
  }
  std::cout << fmt::format("{} lines read, {} bad, {} steps counted, {} repeated\n",
                           report["lines_read"].get<std::uint64_t>(), report["bad_lines"].get<std::uint64_t>(),
                           report["steps_counted"].get<std::uint64_t>(), report["steps_repeated"].get<std::uint64_t>());
}

// The push endpoint's one credential: the API token in --push-token-file, compared in constant time.
class PushAuthenticator : public http::Authenticator {
 public:
  explicit PushAuthenticator(std::string token) : token_(std::move(token)) {
    unsigned char secret[32];
    randombytes_buf(secret, sizeof secret);
    secret_.assign(reinterpret_cast<const char*>(secret), sizeof secret);
  }
  std::optional<http::Principal> Token(const std::string& token) override {
    if (token.size() != token_.size() || sodium_memcmp(token.data(), token_.data(), token.size()) != 0) {
      return std::nullopt;
    }
    return http::Principal{"push", "pusher"};
  }
  std::optional<http::Principal> Password(const std::string&, const std::string&) override { return std::nullopt; }
  std::string SessionSecret() override { return secret_; }

 private:
  std::string token_, secret_;
};

// Bounds of the push endpoint: a body of at most 1 MiB (some 5,000 events), 50 requests a second
// from one address with bursts of 100.
constexpr std::size_t kPushMaxBody = 1 << 20;
constexpr double kPushRate = 50, kPushBurst = 100;

// POST /v1/steps: the body's lines are fed to the session as lines of an input named
// "push:CLIENT", numbered from 1 in the body. 200 when every line was read; 400, a problem document
// naming each bad line and field, when any was not (the good lines still count, as in a file).
http::Response PushSteps(http::Request& request, meter::Session& session, std::vector<core::Error>& bad) {
  std::string source = "push:" + request.client;
  std::uint64_t counted = session.counted(), repeated = session.repeated();
  bad.clear();
  std::string_view body = request.body;
  int line = 0, events = 0;
  while (!body.empty()) {
    std::size_t nl = body.find('\n');
    std::string_view text = body.substr(0, nl);
    ++line;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") != std::string_view::npos) {
      ++events;
      session.Feed(text, source, line);
    }
    if (nl == std::string_view::npos) break;
    body.remove_prefix(nl + 1);
  }
  json summary = {{"lines", events},
                  {"counted", session.counted() - counted},
                  {"repeated", session.repeated() - repeated},
                  {"bad", bad.size()}};
  if (events == 0) {
    return http::Problem(400, "no step events", "the body holds no step event (JSON Lines, docs/meter.md)", "body",
                         request.path);
  }
  if (bad.empty()) return http::Json(200, summary.dump());
  json errors = json::array();
  for (const core::Error& e : bad) {
    errors.push_back({{"line", e.where ? e.where->line : 0}, {"field", e.field}, {"message", e.message}});
  }
  json problem = {{"type", "about:blank"},
                  {"title", "bad step events"},
                  {"status", 400},
                  {"detail", bad.front().ToString()},
                  {"instance", request.path},
                  {"errors", errors}};
  problem.update(summary);
  http::Response r = http::Json(400, problem.dump());
  r.content_type = "application/problem+json";
  return r;
}

int RunWatch(const WatchFlags& f) {
  const std::string sub = "watch";
  if (f.format != "table" && f.format != "json") {
    return Fail(sub, {core::Code::kInvalidArgument, "expected table or json", {}, "--format"});
  }
  meter::AlertPolicy policy;
  auto fractions = meter::ParseFractions(f.alert_at, "--alert-at");
  if (!fractions) return Fail(sub, fractions.error());
  policy.fractions = *fractions;
  if (!f.alert_within.empty()) {
    auto within = meter::ParseDuration(f.alert_within, "--alert-within");
    if (!within) return Fail(sub, within.error());
    policy.within = *within;
  }
  if (!(f.rate_window > 0)) return Fail(sub, {core::Code::kInvalidArgument, "must be positive", {}, "--rate-window"});
  // Gate mode: checked before anything is read or written.
  std::optional<meter::GateOptions> gate;
  if (!f.gate_controller.empty()) {
    if (f.models.empty()) {
      return Fail(sub, {core::Code::kInvalidArgument, "the gate needs the law: give --models", {}, "--gate-controller"});
    }
    if (auto c = killswitch::ParseControllers(f.gate_controller); !c) {
      return Fail(sub, {core::Code::kInvalidArgument, c.error().message, {}, "--gate-controller"});
    }
    auto credential = killswitch::ReadCredential(f.gate_credential, killswitch::Credential::Role::kOperator);
    if (!credential) {
      core::Error e = credential.error();
      e.field = "--gate-credential";
      return Fail(sub, e);
    }
    if (!(f.gate_at > 0 && f.gate_at <= 1)) {
      return Fail(sub, {core::Code::kInvalidArgument, "must be in (0, 1]", {}, "--gate-at"});
    }
    if (!(f.gate_timeout >= 1 && f.gate_timeout <= 86400)) {
      return Fail(sub, {core::Code::kInvalidArgument, "must be 1 to 86400 seconds", {}, "--gate-timeout"});
    }
    gate = meter::GateOptions{f.gate_controller, *credential, f.gate_scope, f.gate_at,
                              static_cast<std::int64_t>(std::llround(f.gate_timeout * 1000))};
    if (f.gate_at < 1) {
      policy.fractions.push_back(f.gate_at);
      std::sort(policy.fractions.begin(), policy.fractions.end());
    }
  } else if (!f.gate_credential.empty() || !f.gate_scope.empty()) {
    return Fail(sub, {core::Code::kInvalidArgument, "the gate needs --gate-controller ADDR:PORT", {}, "--gate-controller"});
  }

  // The push endpoint's token, read before anything else is.
  std::optional<std::string> push_token;
  if (!f.push_token_file.empty()) {
    if (f.listen.empty()) {
      return Fail(sub, {core::Code::kInvalidArgument, "a push token is for --listen HOST:PORT", {}, "--push-token-file"});
    }
    auto text = core::ReadFile(f.push_token_file);
    if (!text) return Fail(sub, {core::Code::kInvalidArgument, text.error().message, {}, "--push-token-file"});
    std::string token = *text;
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16 || token.find_first_of(" \t\r\n") != std::string::npos) {
      return Fail(sub, {core::Code::kInvalidArgument, "the token must be one line of at least 16 characters, no spaces",
                        {}, "--push-token-file"});
    }
    push_token = std::move(token);
  }

  std::string data = FindDataDir(f.data_dir);
  auto accelerators = compute::AcceleratorTable::Load(data + "/accelerators.toml");
  if (!accelerators) return Fail(sub, accelerators.error());
  auto prices = compute::PriceTable::Load(data + "/cloud-prices.toml");
  if (!prices) return Fail(sub, prices.error());

  // The law, when model files are given.
  std::unique_ptr<rules::Engine> engine;
  rules::Inventory inventory;
  std::optional<double> usd_per_flop;
  if (!f.models.empty()) {
    auto regimes = rules::LoadRegimeDir(FindRegimesDir(f.regimes_dir));
    if (!regimes) return Fail(sub, regimes.error());
    auto cpi = rules::LoadCpi(data + "/cpi.toml");
    if (!cpi) return Fail(sub, cpi.error());
    auto inv = rules::LoadInventory(f.models, *accelerators, *prices);
    if (!inv) return Fail(sub, inv.error());
    inventory = std::move(*inv);
    engine = std::make_unique<rules::Engine>(std::move(*regimes), std::move(*cpi));
    // The market price per FLOP, for the regimes' cost tests, from compute's price table.
    core::Date priced = Today();
    if (!f.priced_at.empty()) {
      auto d = core::Date::Parse(f.priced_at);
      if (!d) return Fail(sub, {core::Code::kInvalidArgument, d.error().message, {}, "--priced-at"});
      priced = *d;
    }
    compute::EstimateRequest req;
    req.known_flop = 1e25;
    req.start = priced;
    auto e = compute::EstimateTraining(req, *accelerators, *prices);
    if (e && e->cost && e->cost->usd_per_flop) usd_per_flop = e->cost->usd_per_flop->point;
  }

  std::map<std::string, std::string> configs;
  for (const std::string& c : f.configs) {
    auto kv = KeyValue(c, "--config", "RUN=config.json");
    if (!kv) return Fail(sub, kv.error());
    configs[kv->first] = kv->second;
  }
  meter::Session session(policy, f.rate_window);
  if (f.runs.empty()) return Fail(sub, {core::Code::kInvalidArgument, "name at least one run: --run RUN=MODEL", {}, "--run"});
  for (const std::string& r : f.runs) {
    auto kv = KeyValue(r, "--run", "RUN=MODEL");
    if (!kv) return Fail(sub, kv.error());
    meter::SessionRun run;
    run.spec.id = kv->first;
    run.spec.model = kv->second;
    if (auto c = configs.find(kv->first); c != configs.end()) {
      auto arch = compute::LoadHfConfig(c->second);
      if (!arch) return Fail(sub, arch.error());
      compute::EstimateRequest req;
      req.architecture = std::move(*arch);
      req.config_path = c->second;
      req.tokens = 1;
      if (f.seq_len > 0) req.seq_len = f.seq_len;
      auto e = compute::EstimateTraining(req, *accelerators, *prices);
      if (!e) return Fail(sub, e.error());
      run.spec.flop_per_token = e->architecture->flop_per_token_training;
      configs.erase(c);
    }
    if (engine) {
      if (inventory.Find(run.spec.model) < 0) {
        return Fail(sub, {core::Code::kNotFound,
                          fmt::format("model '{}' of run '{}' is in none of the model files", run.spec.model, run.spec.id),
                          {},
                          "--run"});
      }
      meter::LineContext law;
      law.engine = engine.get();
      law.inventory = inventory;
      law.model = run.spec.model;
      law.run = run.spec.id;
      law.stage_kind = f.stage_kind;
      law.usd_per_flop = usd_per_flop;
      law.regimes = f.regimes;
      run.law = std::move(law);
    }
    auto added = session.AddRun(std::move(run));
    if (!added) return Fail(sub, {core::Code::kInvalidArgument, added.error().message, {}, "--run"});
  }
  if (!configs.empty()) {
    return Fail(sub, {core::Code::kInvalidArgument,
                      fmt::format("--config names run '{}', which no --run gives", configs.begin()->first), {},
                      "--config"});
  }
  for (const std::string& p : f.precisions) {
    auto given = RunFlag(session, p, "--precision", "RUN=PRECISION");
    if (!given) return Fail(sub, given.error());
    session.meter().mutable_run(given->first).telemetry.precision = given->second;
  }
  // --run-key RUN=PUBKEY_FILE: the run's events count only when signed by its key.
  for (const std::string& k : f.run_keys) {
    auto kv = RunFlag(session, k, "--run-key", "RUN=PUBKEY_FILE");
    if (!kv) return Fail(sub, kv.error());
    int run = kv->first;
    auto text = core::ReadRegularFile(kv->second, {});
    if (!text) return Fail(sub, {core::Code::kInvalidArgument, text.error().message, {}, "--run-key"});
    auto key = meter::ParsePublicKey(*text, "--run-key");
    if (!key) {
      return Fail(sub, {core::Code::kInvalidArgument, fmt::format("{}: {}", kv->second, key.error().message), {}, "--run-key"});
    }
    session.SetRunKey(run, *key);
  }

  // The input format: step events, a framework's log of one run, or one run's telemetry.
  InputFormat format;
  if (f.input_format == "megatron" || f.input_format == "dcgm" || f.input_format == "hf") {
    if (f.runs.size() != 1) {
      return Fail(sub, {core::Code::kInvalidArgument,
                        fmt::format("a {} input is of one run: give exactly one --run",
                                    f.input_format == "dcgm" ? "telemetry" : f.input_format == "hf" ? "Trainer log" : "Megatron log"),
                        {},
                        "--run"});
    }
  }
  if (f.log_interval < 0) return Fail(sub, {core::Code::kInvalidArgument, "must be at least 1", {}, "--log-interval"});
  if (f.tokens_per_step < 0) return Fail(sub, {core::Code::kInvalidArgument, "must not be negative", {}, "--tokens-per-step"});
  if (f.input_format == "megatron") {
    if (f.world_size <= 0 && f.seq_len <= 0) {
      return Fail(sub, {core::Code::kInvalidArgument,
                        "a Megatron log needs --world-size (FLOP from its throughput) or --seq-len with --config (FLOP "
                        "from tokens)",
                        {},
                        "--input-format"});
    }
    format.megatron = meter::MegatronLogOptions{session.meter().run(0).spec.id,
                                                f.world_size > 0 ? std::optional<std::int64_t>(f.world_size) : std::nullopt,
                                                f.seq_len > 0 ? std::optional<std::int64_t>(f.seq_len) : std::nullopt,
                                                f.log_interval > 0 ? f.log_interval : 100};
  } else if (f.input_format == "hf") {
    const meter::RunState& run = session.meter().run(0);
    format.hf = meter::HfLogOptions{run.spec.id, f.log_interval > 0 ? f.log_interval : 500,
                                    f.tokens_per_step > 0 ? std::optional<double>(f.tokens_per_step) : std::nullopt,
                                    run.spec.flop_per_token.has_value()};
  } else if (f.input_format == "dcgm") {
    format.telemetry_run = 0;
  } else if (f.input_format != "steps") {
    return Fail(sub, {core::Code::kInvalidArgument, fmt::format("expected steps, megatron, hf or dcgm, got '{}'", f.input_format),
                      {}, "--input-format"});
  }
  session.set_accelerators(&*accelerators);

  // Inputs: opened before anything is written anywhere.
  std::vector<std::unique_ptr<Input>> inputs;
  auto open_input = [&](const std::string& name, const InputFormat& as) -> core::Result<void> {
    if (name == "-") {
      inputs.push_back(std::make_unique<Input>("<stdin>", 0, as));
      return core::Ok();
    }
    int fd = open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return core::NotFound(fmt::format("cannot open {}: {}", name, std::strerror(errno)), "input");
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    inputs.push_back(std::make_unique<Input>(name, fd, as));
    return core::Ok();
  };
  std::vector<std::string> names =
      f.inputs.empty() && f.telemetry.empty() && f.listen.empty() ? std::vector<std::string>{"-"} : f.inputs;
  for (const std::string& name : names) {
    if (auto opened = open_input(name, format); !opened) return Fail(sub, opened.error());
  }
  // --telemetry RUN=FILE: a run's dcgm telemetry beside its step events.
  for (const std::string& t : f.telemetry) {
    auto kv = RunFlag(session, t, "--telemetry", "RUN=FILE");
    if (!kv) return Fail(sub, kv.error());
    InputFormat telemetry;
    telemetry.telemetry_run = kv->first;
    if (auto opened = open_input(kv->second, telemetry); !opened) return Fail(sub, opened.error());
  }

  // The ledger: where alerts and the meter's state go, and where a restart resumes from.
  std::unique_ptr<ledger::Storage> storage;
  std::unique_ptr<ledger::Log> log;
  if (!f.store.empty()) {
    auto s = store::Open(f.store);
    if (!s) return Fail(sub, s.error());
    storage = std::move(*s);
    log = std::make_unique<ledger::Log>(*storage);
    if (auto origin = log->Origin(); !origin) {
      return Fail(sub, {core::Code::kFailedPrecondition,
                        fmt::format("{} is not an initialised evidence log ({}): run `flopline ledger init` first",
                                    f.store, origin.error().message),
                        {},
                        "--store"});
    }
    for (int i = 0; i < session.meter().runs(); ++i) {
      auto saved = meter::LoadState(*storage, session.meter().run(i).spec.id);
      if (!saved) return Fail(sub, saved.error());
      if (!*saved) continue;
      auto fired = meter::RestoreState((*saved)->document, session.meter().mutable_run(i));
      if (!fired) return Fail(sub, fired.error());
      session.alerter().Restore(*fired);
      std::cerr << fmt::format("flopline meter: run {} resumes from ledger entry {}: {} FLOP, {} steps counted\n",
                               session.meter().run(i).spec.id, (*saved)->index,
                               core::Sci3(session.meter().run(i).flop.value()), session.meter().run(i).steps_counted);
    }
  }

  int failures = 0;
  std::set<std::string> gated;  // runs the gate has ordered stopped
  bool json_out = f.format == "json";
  auto save_state = [&]() {
    if (!log) return;
    std::vector<std::string> fired(session.alerter().fired().begin(), session.alerter().fired().end());
    for (int i = 0; i < session.meter().runs(); ++i) {
      const meter::RunState& r = session.meter().run(i);
      std::vector<std::string> own;
      for (const std::string& k : fired) {
        if (k.starts_with(r.spec.id + "|")) own.push_back(k);
      }
      if (auto a = meter::SaveState(*log, r, own, Now(), session.RunReport(i)); !a) {
        ++failures;
        std::cerr << "flopline meter: ledger: " << a.error().ToString() << "\n";
      }
    }
  };
  std::vector<core::Error> push_bad;  // the bad lines of the push being answered
  bool pushing = false;
  session.on_bad_line = [&](const core::Error& e) {
    std::cerr << "flopline meter: " << e.ToString() << "\n";
    if (pushing) push_bad.push_back(e);
  };
  session.on_law_error = [&](const core::Error& e) {
    ++failures;
    std::cerr << "flopline meter: " << e.ToString() << "\n";
  };
  session.on_alert = [&](const meter::Alert& a) {
    json body = meter::AlertToJson(a);
    if (json_out) {
      std::cout << json{{"alert", body}}.dump() << "\n";
    } else {
      std::cout << meter::AlertToText(a) << "\n";
    }
    std::cout.flush();
    if (log) {
      if (auto r = meter::RecordAlert(*log, a, Now()); !r) {
        ++failures;
        std::cerr << "flopline meter: ledger: " << r.error().ToString() << "\n";
      }
    }
    if (!f.webhook.empty()) {
      if (auto r = meter::PostJson(f.webhook, body.dump()); !r) {
        ++failures;
        std::cerr << "flopline meter: " << r.error().ToString() << "\n";
      }
    }
    // One order per run: once its agents are told to stop, a later line changes nothing.
    if (gate && meter::GateApplies(*gate, a) && gated.insert(a.run).second) {
      auto order = meter::Stop(*gate, a, log.get(), Now());
      if (!order) {
        ++failures;
        std::cerr << "flopline meter: gate: " << order.error().ToString() << "\n";
        return;
      }
      if (!order->complete) ++failures;
      if (json_out) {
        std::cout << json{{"gate", {{"scope", order->scope}, {"reason", order->reason}, {"report", order->report},
                                    {"complete", order->complete}}}}.dump()
                  << "\n";
      } else {
        std::cout << fmt::format("GATE run {}: shutdown order {} ({}): {} of {} targeted workloads stopped; reason: {}\n",
                                 a.run, order->report.value("fence", 0), order->scope, order->report.value("stopped", 0),
                                 order->report.value("targeted", 0), order->reason);
      }
      if (!order->complete) {
        std::cerr << fmt::format("flopline meter: gate: order for {} did not stop every targeted workload (or reached "
                                 "none)\n",
                                 order->scope);
      }
      std::cout.flush();
    }
  };

  // The Prometheus text file: written whole beside the target, then renamed over it, so a scraper
  // (node_exporter's textfile collector) never reads half of it.
  auto write_metrics = [&]() {
    if (f.metrics.empty()) return;
    std::string text = meter::PrometheusText(session.Report());
    std::string temp = f.metrics + ".tmp";
    FILE* out = std::fopen(temp.c_str(), "w");
    bool ok = out && std::fwrite(text.data(), 1, text.size(), out) == text.size();
    if (out) ok = std::fclose(out) == 0 && ok;
    if (!ok || std::rename(temp.c_str(), f.metrics.c_str()) != 0) {
      ++failures;
      std::cerr << fmt::format("flopline meter: cannot write {}: {}\n", f.metrics, std::strerror(errno));
    }
  };
  auto last_metrics = std::chrono::steady_clock::now();

  // The push endpoint: its handler and this loop take turns with the session.
  std::mutex session_mu;
  std::atomic<std::uint64_t> pushes{0};
  std::unique_ptr<PushAuthenticator> push_auth;
  std::unique_ptr<http::Server> server;
  std::thread server_thread;
  if (!f.listen.empty()) {
    if (!push_token) {
      return Fail(sub, {core::Code::kInvalidArgument, "the push endpoint needs --push-token-file", {}, "--listen"});
    }
    http::Options options;
    auto colon = f.listen.rfind(':');
    int port = -1;
    if (colon != std::string::npos && colon > 0) {
      try {
        std::size_t used = 0;
        port = std::stoi(f.listen.substr(colon + 1), &used);
        if (used != f.listen.size() - colon - 1) port = -1;
      } catch (const std::exception&) {
        port = -1;
      }
    }
    if (port < 0 || port > 65535) {
      return Fail(sub, {core::Code::kInvalidArgument, fmt::format("expected HOST:PORT, got '{}'", f.listen), {}, "--listen"});
    }
    options.host = f.listen.substr(0, colon);
    options.port = static_cast<std::uint16_t>(port);
    options.threads = 1;
    options.workers = 2;
    options.max_body_bytes = kPushMaxBody;
    options.rate_per_second = kPushRate;
    options.rate_burst = kPushBurst;
    http::Route route;
    route.method = "POST";
    route.pattern = "/v1/steps";
    route.roles = {"pusher"};
    route.blocking = true;  // feeds the session, which may post a webhook or append to the ledger
    route.summary = "step events (JSON Lines) for the meter";
    route.handler = [&](http::Request& request) {
      std::lock_guard lock(session_mu);
      pushing = true;
      http::Response r = PushSteps(request, session, push_bad);
      pushing = false;
      ++pushes;
      return r;
    };
    push_auth = std::make_unique<PushAuthenticator>(*push_token);
    server = std::make_unique<http::Server>(options, std::vector<http::Route>{route}, *push_auth);
    if (auto listening = server->Listen(); !listening) return Fail(sub, listening.error());
    std::cerr << fmt::format("flopline meter: listening on {}:{} (POST /v1/steps)\n", options.host, server->port());
    server_thread = std::thread([&] { server->Run(); });
  }

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  auto last_data = std::chrono::steady_clock::now();
  auto last_save = last_data;
  std::uint64_t alerts_saved = session.alerter().fired().size();
  std::uint64_t pushes_seen = 0;
  for (;;) {
    std::unique_lock lock(session_mu);
    std::size_t got = 0;
    bool open_left = false;
    for (auto& in : inputs) {
      if (in->eof()) continue;
      got += in->Pump(session, f.follow);
      open_left = open_left || !in->eof();
    }
    auto now = std::chrono::steady_clock::now();
    if (std::uint64_t p = pushes.load(); p != pushes_seen) {
      pushes_seen = p;
      got += 1;  // pushed lines count as data arriving
    }
    if (got > 0) last_data = now;
    if (log && (session.alerter().fired().size() != alerts_saved || now - last_save > std::chrono::seconds(60))) {
      if (got > 0 || session.alerter().fired().size() != alerts_saved) save_state();
      alerts_saved = session.alerter().fired().size();
      last_save = now;
    }
    if (!f.metrics.empty() && got > 0 && now - last_metrics > std::chrono::seconds(10)) {
      write_metrics();
      last_metrics = now;
    }
    if ((!open_left && !server) || g_stop) break;
    if (f.idle_exit > 0 && now - last_data > std::chrono::duration<double>(f.idle_exit)) break;
    lock.unlock();
    if (got == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (server) {
    server->Stop();
    server_thread.join();
  }
  session.Refresh();
  save_state();
  json report = session.Report();
  write_metrics();
  if (json_out) {
    std::cout << json{{"report", report}}.dump() << "\n";
  } else {
    PrintReport(report);
  }
  if (session.bad_lines() > 0) return 2;
  return failures > 0 ? 1 : 0;
}

int RunSimulate(SimulateFlags f) {
  const std::string sub = "simulate";
  if (!f.start.empty()) {
    auto at = core::Instant::Parse(f.start);
    if (!at) return Fail(sub, {core::Code::kInvalidArgument, at.error().message, {}, "--start"});
    f.spec.start_time = static_cast<double>(at->time().time_since_epoch().count());
  }
  if (f.flop_per_token != 0) f.spec.flop_per_token = f.flop_per_token;
  for (const std::string& r : f.restarts) {
    // STEP:CHECKPOINT[:DOWNTIME_SECONDS]
    meter::SimulatedRestart restart;
    int parsed = std::sscanf(r.c_str(), "%ld:%ld:%lf", &restart.at_step, &restart.checkpoint_step,
                             &restart.downtime_seconds);
    if (parsed < 2) {
      return Fail(sub, {core::Code::kInvalidArgument,
                        fmt::format("expected STEP:CHECKPOINT[:DOWNTIME_SECONDS], got '{}'", r), {}, "--restart"});
    }
    f.spec.restarts.push_back(restart);
  }
  std::string out;
  auto done = meter::Simulate(f.spec, [&](std::string_view line) {
    out.append(line);
    out.push_back('\n');
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  });
  if (!done) return Fail(sub, done.error());
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

struct KeygenFlags {
  std::string secret, public_key;
};

// Writes `text` to a new file at `path` (never over an existing one) with `mode`.
core::Result<void> WriteNewFile(const std::string& path, const std::string& text, mode_t mode, const std::string& flag) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return core::InvalidArgument(fmt::format("cannot create {}: {}", path, std::strerror(errno)), flag);
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = close(fd) == 0 && ok;
  if (!ok) return core::InvalidArgument(fmt::format("cannot write {}", path), flag);
  return core::Ok();
}

int RunKeygen(const KeygenFlags& f) {
  const std::string sub = "keygen";
  if (f.secret.empty() || f.public_key.empty()) {
    return Fail(sub, {core::Code::kInvalidArgument, "give both --secret FILE and --public FILE", {}, "--secret"});
  }
  auto [pk, sk] = meter::GenerateKeyPair();
  if (auto w = WriteNewFile(f.secret, meter::KeyText(sk.data(), sk.size()) + "\n", 0600, "--secret"); !w) {
    return Fail(sub, w.error());
  }
  sodium_memzero(sk.data(), sk.size());
  if (auto w = WriteNewFile(f.public_key, meter::KeyText(pk.data(), pk.size()) + "\n", 0644, "--public"); !w) {
    return Fail(sub, w.error());
  }
  std::cout << meter::KeyText(pk.data(), pk.size()) << "\n";
  return 0;
}

struct SignFlags {
  std::string key, input = "-";
};

// Signs each step event of the input (one per line) with the run's secret key; a line that is not
// a step event is an error naming it, and nothing after it is written.
int RunSign(const SignFlags& f) {
  const std::string sub = "sign";
  auto text = core::ReadRegularFile(f.key, {.refused_mode = 077});
  if (!text) return Fail(sub, {text.error().code, text.error().message, {}, "--key"});
  auto key = meter::ParseSecretKey(*text, "--key");
  if (!key) return Fail(sub, {core::Code::kInvalidArgument, fmt::format("{}: {}", f.key, key.error().message), {}, "--key"});
  std::string name = f.input == "-" ? "<stdin>" : f.input;
  std::ifstream file;
  if (f.input != "-") {
    file.open(f.input);
    if (!file) return Fail(sub, {core::Code::kNotFound, fmt::format("cannot open {}", f.input), {}, "input"});
  }
  std::istream& in = f.input == "-" ? std::cin : file;
  meter::StepParser parser;
  std::string line, out;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto event = parser.Parse(line, name, n);
    if (!event) return Fail(sub, event.error());
    if (!event->sig.empty()) {
      return Fail(sub, core::InvalidArgument("is already there: the line is signed", "sig", core::Location{name, n, 0}).value());
    }
    auto signed_line = meter::SignLine(line, *key);
    if (!signed_line) return Fail(sub, signed_line.error());
    out += *signed_line;
    out += '\n';
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  sodium_memzero(key->data(), key->size());
  return 0;
}

}  // namespace

CommandRunner AddMeterCommand(CLI::App& app) {
  auto watch_flags = std::make_shared<WatchFlags>();
  auto sim = std::make_shared<SimulateFlags>();
  CLI::App* meter_app = app.add_subcommand("meter", "the live compute meter: a run's FLOP against every line (docs/meter.md)");
  meter_app->require_subcommand(1);

  CLI::App* watch = meter_app->add_subcommand("watch", "count step events, project each line, alert (stdin or FILE...)");
  WatchFlags& f = *watch_flags;
  watch->add_option("input", f.inputs, "step-event files (JSON Lines); - or none: standard input");
  watch->add_option("--run", f.runs, "RUN=MODEL: a run the events name and the model it trains (repeatable)");
  watch->add_option("--config", f.configs, "RUN=config.json: the run's architecture, for events without flop");
  watch->add_option("--seq-len", f.seq_len,
                    "training sequence length for the config's count (default: the config's); a Megatron log's tokens");
  watch->add_option("--input-format", f.input_format,
                    "steps (step events, JSON Lines; default), megatron (Megatron-LM's log), hf (Hugging Face "
                    "Trainer's console log or trainer_state.json) or dcgm (dcgm-exporter's tensor activity, "
                    "Prometheus text or API JSON)");
  watch->add_option("--telemetry", f.telemetry, "RUN=FILE: the run's dcgm telemetry beside its step events (repeatable)");
  watch->add_option("--precision", f.precisions,
                    "RUN=PRECISION: the precision the run trains at, for its telemetry's peak (default: its step "
                    "events', else the accelerator's default)");
  watch->add_option("--world-size", f.world_size, "megatron: GPUs in the job (FLOP from the log's throughput)");
  watch->add_option("--log-interval", f.log_interval,
                    "megatron: the job's --log-interval (default 100); hf: the Trainer's logging_steps (default 500)");
  watch->add_option("--tokens-per-step", f.tokens_per_step,
                    "hf: tokens in one optimizer step, when the log has no num_input_tokens_seen");
  watch->add_option("--models", f.models, "model files (as for assess): the run's model, its lineage and events");
  watch->add_option("--regime", f.regimes, "regime ids to judge against (default: all)")->delimiter(',');
  watch->add_option("--alert-at", f.alert_at, "fractions of each line that alert (default 0.5,0.8,0.95)");
  watch->add_option("--alert-within", f.alert_within, "alert when a line will be met within this time (14d, 36h)");
  watch->add_option("--store", f.store, "evidence store (sqlite:PATH, postgres:...): alerts, threshold records, state");
  watch->add_option("--webhook", f.webhook, "URL each alert's JSON is POSTed to");
  watch->add_option("--metrics", f.metrics, "write the Prometheus text exposition to this file (every 10 s and at the end)");
  watch->add_option("--format", f.format, "table or json (JSON Lines: alerts, then the report)");
  watch->add_option("--run-key", f.run_keys,
                    "RUN=PUBKEY_FILE: the run's Ed25519 public key; only its signed events count (repeatable)");
  watch->add_option("--listen", f.listen,
                    "HOST:PORT: also accept step events POSTed to /v1/steps (JSON Lines; port 0: any free one)");
  watch->add_option("--push-token-file", f.push_token_file,
                    "with --listen: the file holding the API token pushers send as 'Authorization: Bearer TOKEN'");
  watch->add_flag("--follow", f.follow, "keep reading the files as they grow (until SIGINT/SIGTERM or --idle-exit)");
  watch->add_option("--idle-exit", f.idle_exit, "with --follow: stop after this many seconds without new lines");
  watch->add_option("--rate-window", f.rate_window, "seconds of event time the rate is measured over (default 3600)");
  watch->add_option("--stage-kind", f.stage_kind, "the training stage the run is: pretrain, fine-tune, rl, ...");
  watch->add_option("--priced-at", f.priced_at, "date of the cloud price per FLOP for cost tests (default today)");
  watch->add_option("--gate-controller", f.gate_controller,
                    "gate mode: the kill switch controller(s) that stop the run before a line whose prior duties are unmet");
  watch->add_option("--gate-credential", f.gate_credential, "gate mode: the operator credential file");
  watch->add_option("--gate-scope", f.gate_scope, "gate mode: the order's scope (default model:MODEL of the run)");
  watch->add_option("--gate-at", f.gate_at, "gate mode: the fraction of a line that stops the run (default 0.95)");
  watch->add_option("--gate-timeout", f.gate_timeout, "gate mode: seconds the controller may take to confirm (default 30)");
  watch->add_option("--data-dir", f.data_dir, "directory of accelerators.toml, cloud-prices.toml, cpi.toml");
  watch->add_option("--regimes-dir", f.regimes_dir, "directory of regime files");

  CLI::App* simulate = meter_app->add_subcommand("simulate", "write a synthetic run's step events (JSON Lines) to stdout");
  simulate->add_option("--run", sim->spec.run, "run id (default sim)");
  simulate->add_option("--steps", sim->spec.steps, "optimizer steps (default 1000)");
  simulate->add_option("--tokens-per-step", sim->spec.tokens_per_step, "global batch in tokens (default 4194304)");
  simulate->add_option("--step-seconds", sim->spec.step_seconds, "mean seconds per step (default 10)");
  simulate->add_option("--jitter", sim->spec.jitter, "relative spread of step times, [0, 1) (default 0.05)");
  simulate->add_option("--every", sim->spec.every, "one event per N steps (default 1)");
  simulate->add_option("--flop-per-token", sim->flop_per_token, "emit flop = this x tokens (default: omit flop)");
  simulate->add_option("--world-size", sim->spec.world_size, "accelerators in the job (default 1024)");
  simulate->add_option("--precision", sim->spec.precision, "precision reported (default bf16)");
  simulate->add_option("--start", sim->start, "time of the first step's start (default 2026-01-01T00:00:00Z)");
  simulate->add_option("--restart", sim->restarts, "STEP:CHECKPOINT[:DOWNTIME_S]: fail after STEP, resume after CHECKPOINT");
  simulate->add_option("--seed", sim->spec.seed, "random seed (default 1)");

  auto keygen_flags = std::make_shared<KeygenFlags>();
  CLI::App* keygen = meter_app->add_subcommand("keygen", "make an Ed25519 key pair for signing a run's step events");
  keygen->add_option("--secret", keygen_flags->secret, "new file for the secret key (base64, mode 0600)");
  keygen->add_option("--public", keygen_flags->public_key, "new file for the public key (base64): the meter's --run-key");
  auto sign_flags = std::make_shared<SignFlags>();
  CLI::App* sign = meter_app->add_subcommand("sign", "sign step events (JSON Lines, stdin or FILE) with a run's secret key");
  sign->add_option("input", sign_flags->input, "step-event file; - or none: standard input");
  sign->add_option("--key", sign_flags->key, "the secret key file (meter keygen --secret)")->required();

  return [watch_flags, sim, watch, simulate, keygen_flags, keygen, sign_flags, sign]() {
    if (watch->parsed()) return RunWatch(*watch_flags);
    if (simulate->parsed()) return RunSimulate(*sim);
    if (keygen->parsed()) return RunKeygen(*keygen_flags);
    if (sign->parsed()) return RunSign(*sign_flags);
    return 2;
  };
}

}  // namespace flopline::cli
