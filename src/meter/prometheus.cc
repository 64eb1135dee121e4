// The Prometheus text exposition of a meter report (prometheus.h).
#include "flopline/meter/prometheus.h"

#include <chrono>
#include <sstream>

#include <fmt/format.h>

#include "flopline/core/format.h"
#include "flopline/core/instant.h"

namespace flopline::meter {
namespace {

using nlohmann::json;

std::string Escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

class Writer {
 public:
  void Family(const std::string& name, const std::string& type, const std::string& help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  void Sample(const std::string& name, const std::vector<std::pair<std::string, std::string>>& labels, double v) {
    out_ << name;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      out_ << (i ? "," : "{") << labels[i].first << "=\"" << Escape(labels[i].second) << "\"";
    }
    out_ << (labels.empty() ? " " : "} ") << fmt::format("{}", v) << "\n";
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

}  // namespace

std::string PrometheusText(const json& report) {
  Writer w;
  struct Counter {
    const char* name;
    const char* key;
    const char* type;
    const char* help;
  };
  const Counter per_run[] = {
      {"flopline_run_flop_total", "flop", "counter", "Model FLOP counted for the run, each step once."},
      {"flopline_run_tokens_total", "tokens", "counter", "Tokens counted for the run, each step once."},
      {"flopline_run_steps_total", "steps_counted", "counter", "Steps counted for the run."},
      {"flopline_run_repeated_steps_total", "steps_repeated", "counter", "Steps reported again (not counted again)."},
      {"flopline_run_repeated_flop_total", "repeated_flop", "counter", "FLOP of repeated steps (spent again, not counted)."},
  };
  for (const Counter& c : per_run) {
    w.Family(c.name, c.type, c.help);
    for (const json& r : report["runs"]) w.Sample(c.name, {{"run", r["run"]}, {"model", r["model"]}}, r[c.key].get<double>());
  }
  w.Family("flopline_run_flop_per_second", "gauge", "The run's current rate over the rate window.");
  for (const json& r : report["runs"]) {
    w.Sample("flopline_run_flop_per_second", {{"run", r["run"]}, {"model", r["model"]}},
             r["rate"]["flop_per_second"].get<double>());
  }
  // The hardware bound (dcgm telemetry) and MFU: only runs that have them.
  w.Family("flopline_run_hardware_flop_bound_total", "counter",
           "Tensor-active ratio x accelerator peak x time, summed over the run's GPUs (an upper bound), FLOP.");
  for (const json& r : report["runs"]) {
    if (r.contains("hardware") && r["hardware"].is_object())
      w.Sample("flopline_run_hardware_flop_bound_total", {{"run", r["run"]}, {"model", r["model"]}},
               r["hardware"]["flop_bound"].get<double>());
  }
  w.Family("flopline_run_model_flops_utilization", "gauge",
           "Model FLOP counted / (accelerator peak x GPU time in the telemetry): MFU as a ratio.");
  for (const json& r : report["runs"]) {
    if (r.contains("mfu") && r["mfu"].is_number())
      w.Sample("flopline_run_model_flops_utilization", {{"run", r["run"]}, {"model", r["model"]}}, r["mfu"].get<double>());
  }
  auto line_labels = [](const json& r, const json& l) {
    std::vector<std::string> readings = l["readings"].get<std::vector<std::string>>();
    return std::vector<std::pair<std::string, std::string>>{
        {"run", r["run"]}, {"regime", l["regime"]}, {"line", l["line"]}, {"param", l["param"]},
        {"readings", core::Join(readings, "; ")}};
  };
  w.Family("flopline_line_flop", "gauge", "The line's compute fact as the regime counts it (run and lineage), FLOP.");
  for (const json& r : report["runs"])
    for (const json& l : r["lines"]) w.Sample("flopline_line_flop", line_labels(r, l), l["flop"].get<double>());
  w.Family("flopline_line_threshold_flop", "gauge", "The line, FLOP.");
  for (const json& r : report["runs"])
    for (const json& l : r["lines"]) w.Sample("flopline_line_threshold_flop", line_labels(r, l), l["threshold_flop"].get<double>());
  w.Family("flopline_line_fraction", "gauge", "flopline_line_flop / flopline_line_threshold_flop.");
  for (const json& r : report["runs"])
    for (const json& l : r["lines"]) w.Sample("flopline_line_fraction", line_labels(r, l), l["fraction"].get<double>());
  w.Family("flopline_line_projected_crossing_timestamp_seconds", "gauge",
           "When the line will be met at the current rate (Unix time); absent when not projected.");
  for (const json& r : report["runs"]) {
    for (const json& l : r["lines"]) {
      const json& p = l["projected_crossing"]["point"];
      if (!p.is_string()) continue;
      auto at = core::Instant::Parse(p.get<std::string>());
      if (!at) continue;
      w.Sample("flopline_line_projected_crossing_timestamp_seconds", line_labels(r, l),
               static_cast<double>(at->time().time_since_epoch().count()));
    }
  }
  w.Family("flopline_meter_lines_read_total", "counter", "Input lines read.");
  w.Sample("flopline_meter_lines_read_total", {}, report["lines_read"].get<double>());
  w.Family("flopline_meter_bad_lines_total", "counter", "Input lines refused (each reported with its line number).");
  w.Sample("flopline_meter_bad_lines_total", {}, report["bad_lines"].get<double>());
  return w.str();
}

}  // namespace flopline::meter
