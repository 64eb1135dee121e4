// dcgm-exporter's tensor-pipe activity, as Prometheus text or the Prometheus HTTP API's JSON
// (dcgm.h). The text form is read by hand after the exposition format's grammar (metric name, an
// optional label set with \\, \" and \n escapes, a value, an optional timestamp in milliseconds);
// only lines of the tensor-active metric are read further than their name.
#include "flopline/meter/dcgm.h"

#include <charconv>
#include <cmath>
#include <functional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "line_error.h"

namespace flopline::meter {
namespace {

using nlohmann::json;

// The latest time a sample may carry: the end of the year 9999 (a later one is a unit mistake).
constexpr double kMaxTime = 253402300799.0;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  return s;
}

// The ratio as text ("0.734000", "1e-3", "NaN", "+Inf"): in [0, 1], a hair above 1 (printing's
// rounding) read as 1.
core::Result<double> Ratio(std::string_view text, const At& at, const std::string& field) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  double v = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    return Bad(at, field, fmt::format("expected a number, got '{}'", text));
  }
  if (!std::isfinite(v) || v < 0 || v > 1 + 1e-6) {
    return Bad(at, field, fmt::format("the tensor-active ratio must be from 0 to 1, got '{}'", text));
  }
  return std::min(v, 1.0);
}

core::Result<double> Time(double seconds, const At& at, const std::string& field) {
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > kMaxTime) {
    return Bad(at, field, fmt::format("expected a time after 1970 and before 10000, got {:g} s", seconds));
  }
  return seconds;
}

using Labels = std::function<std::optional<std::string_view>(std::string_view)>;

// The sample the labels describe, or why they describe none.
core::Result<TensorSample> FromLabels(const Labels& label, double time, double active, const At& at,
                                      const std::string& prefix) {
  auto given = [&](std::string_view name) -> std::string_view {
    auto v = label(name);
    return v ? *v : std::string_view();
  };
  if (!given("GPU_I_ID").empty()) {
    return Bad(at, prefix + "GPU_I_ID",
               "a MIG instance's tensor activity is not metered (its share of the GPU's peak is in no table): run "
               "dcgm-exporter without MIG, or meter the job's step events");
  }
  TensorSample s;
  s.model_name = std::string(given("modelName"));
  if (s.model_name.empty()) {
    return Bad(at, prefix + "modelName", "is required: the accelerator's peak is found by it");
  }
  if (std::string_view uuid = given("UUID"); !uuid.empty()) {
    s.gpu = std::string(uuid);
  } else if (!given("Hostname").empty() && !given("gpu").empty()) {
    s.gpu = fmt::format("{}/{}", given("Hostname"), given("gpu"));
  } else {
    return Bad(at, prefix + "UUID", "is required (or Hostname and gpu): which GPU the sample is of");
  }
  s.time = time;
  s.active = active;
  return s;
}

}  // namespace

core::Result<const std::vector<TensorSample>*> DcgmParser::Parse(std::string_view line, const std::string& file,
                                                                 int line_number, std::optional<double> read_time) {
  samples_.clear();
  if (line.size() > kMaxTelemetryLineBytes) {
    return Bad(At{file, line_number}, "", fmt::format("the line is {} bytes; at most {}", line.size(), kMaxTelemetryLineBytes));
  }
  std::string_view s = TrimLeft(line);
  auto done = !s.empty() && s.front() == '{' ? ParseJson(s, file, line_number)
                                             : ParseText(s, file, line_number, read_time);
  if (!done) {
    samples_.clear();
    return tl::unexpected(done.error());
  }
  return &samples_;
}

core::Result<void> DcgmParser::ParseText(std::string_view s, const std::string& file, int line_number,
                                         std::optional<double> read_time) {
  At at{file, line_number};
  if (s.empty() || s.front() == '#') return core::Ok();  // HELP, TYPE and other comments
  std::size_t i = 0;
  while (i < s.size() && (i == 0 ? IsNameStart(s[i]) : IsNameChar(s[i]))) ++i;
  if (i == 0) return Bad(at, "metric", fmt::format("expected a metric name, got '{}'", s.substr(0, 40)));
  if (s.substr(0, i) != kTensorActiveMetric) return core::Ok();  // another metric: not ours to read
  s.remove_prefix(i);

  std::vector<std::pair<std::string_view, std::string>> labels;
  if (!s.empty() && s.front() == '{') {
    s.remove_prefix(1);
    for (;;) {
      s = TrimLeft(s);
      if (!s.empty() && s.front() == '}') {
        s.remove_prefix(1);
        break;
      }
      std::size_t n = 0;
      while (n < s.size() && (n == 0 ? IsNameStart(s[n]) && s[n] != ':' : IsNameChar(s[n]) && s[n] != ':')) ++n;
      if (n == 0) return Bad(at, "labels", "expected a label name or '}'");
      std::string_view name = s.substr(0, n);
      s = TrimLeft(s.substr(n));
      if (s.empty() || s.front() != '=') return Bad(at, std::string(name), "expected '=' after the label's name");
      s = TrimLeft(s.substr(1));
      if (s.empty() || s.front() != '"') return Bad(at, std::string(name), "expected the label's value in quotes");
      s.remove_prefix(1);
      std::string value;
      bool closed = false;
      while (!s.empty()) {
        char c = s.front();
        s.remove_prefix(1);
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {
          if (s.empty()) break;
          char e = s.front();
          s.remove_prefix(1);
          if (e == 'n') {
            value += '\n';
          } else if (e == '\\' || e == '"') {
            value += e;
          } else {
            return Bad(at, std::string(name), fmt::format("unknown escape '\\{}' (the format has \\\\, \\\" and \\n)", e));
          }
          continue;
        }
        value += c;
      }
      if (!closed) return Bad(at, std::string(name), "the label's value is not closed with '\"'");
      for (const auto& [other, v] : labels) {
        if (other == name) return Bad(at, std::string(name), "is given twice");
      }
      labels.emplace_back(name, std::move(value));
      s = TrimLeft(s);
      if (!s.empty() && s.front() == ',') {
        s.remove_prefix(1);
      } else if (s.empty() || s.front() != '}') {
        return Bad(at, "labels", "expected ',' or '}' after a label");
      }
    }
  }
  if (s.empty() || !IsSpace(s.front())) return Bad(at, "value", "expected a space and the sample's value");
  s = TrimLeft(s);
  std::size_t v_end = 0;
  while (v_end < s.size() && !IsSpace(s[v_end])) ++v_end;
  FL_ASSIGN_OR_RETURN(double active, Ratio(s.substr(0, v_end), at, "value"));
  s = TrimLeft(s.substr(v_end));
  double time = 0;
  if (!s.empty()) {
    std::size_t t_end = 0;
    while (t_end < s.size() && !IsSpace(s[t_end])) ++t_end;
    std::string_view text = s.substr(0, t_end);
    std::int64_t ms = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return Bad(at, "timestamp", fmt::format("expected milliseconds since 1970 as a whole number, got '{}'", text));
    }
    FL_ASSIGN_OR_RETURN(time, Time(static_cast<double>(ms) / 1000, at, "timestamp"));
    if (!TrimLeft(s.substr(t_end)).empty()) return Bad(at, "timestamp", "unexpected text after the timestamp");
  } else if (read_time) {
    time = *read_time;
  } else {
    return Bad(at, "timestamp",
               "the sample has no timestamp and the input is not followed live: give samples timestamps, or read "
               "the scrapes as they come (--follow or standard input)");
  }
  Labels lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    for (const auto& [n, v] : labels) {
      if (n == name) return std::string_view(v);
    }
    return std::nullopt;
  };
  FL_ASSIGN_OR_RETURN(TensorSample sample, FromLabels(lookup, time, active, at, ""));
  samples_.push_back(std::move(sample));
  return core::Ok();
}

core::Result<void> DcgmParser::ParseJson(std::string_view line, const std::string& file, int line_number) {
  At at{file, line_number};
  json d = json::parse(line, nullptr, false);
  if (d.is_discarded()) return Bad(at, "", "not valid JSON");
  if (!d.is_object()) return Bad(at, "", "expected a Prometheus API response (a JSON object)");
  auto status = d.find("status");
  if (status == d.end() || !status->is_string()) return Bad(at, "status", "is required (\"success\")");
  if (*status != "success") {
    std::string why;
    if (auto e = d.find("error"); e != d.end() && e->is_string()) why = ": " + e->get<std::string>();
    return Bad(at, "status", fmt::format("the query did not succeed ({}){}", status->get<std::string>(), why));
  }
  auto data = d.find("data");
  if (data == d.end() || !data->is_object()) return Bad(at, "data", "is required (an object)");
  auto type = data->find("resultType");
  if (type == data->end() || !type->is_string() || (*type != "vector" && *type != "matrix")) {
    return Bad(at, "data.resultType", "expected \"vector\" or \"matrix\"");
  }
  bool matrix = *type == "matrix";
  auto result = data->find("result");
  if (result == data->end() || !result->is_array()) return Bad(at, "data.result", "is required (an array)");
  for (std::size_t k = 0; k < result->size(); ++k) {
    const json& r = (*result)[k];
    std::string where = fmt::format("data.result[{}]", k);
    if (!r.is_object()) return Bad(at, where, "expected an object");
    auto metric = r.find("metric");
    if (metric == r.end() || !metric->is_object()) return Bad(at, where + ".metric", "is required (an object)");
    for (const auto& [name, value] : metric->items()) {
      if (!value.is_string()) return Bad(at, where + ".metric." + name, "expected a string");
    }
    if (auto name = metric->find("__name__"); name != metric->end() && *name != std::string(kTensorActiveMetric)) {
      continue;  // another metric in the same answer
    }
    Labels lookup = [&](std::string_view name) -> std::optional<std::string_view> {
      auto v = metric->find(std::string(name));
      if (v == metric->end()) return std::nullopt;
      return std::string_view(v->get_ref<const std::string&>());
    };
    auto point = [&](const json& p, const std::string& field) -> core::Result<void> {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_string()) {
        return Bad(at, field, "expected [time, \"value\"]");
      }
      FL_ASSIGN_OR_RETURN(double time, Time(p[0].get<double>(), at, field));
      FL_ASSIGN_OR_RETURN(double active, Ratio(p[1].get_ref<const std::string&>(), at, field));
      FL_ASSIGN_OR_RETURN(TensorSample s, FromLabels(lookup, time, active, at, where + ".metric."));
      samples_.push_back(std::move(s));
      return core::Ok();
    };
    if (matrix) {
      auto values = r.find("values");
      if (values == r.end() || !values->is_array()) return Bad(at, where + ".values", "is required (an array)");
      for (std::size_t j = 0; j < values->size(); ++j) {
        FL_RETURN_IF_ERROR(point((*values)[j], fmt::format("{}.values[{}]", where, j)));
      }
    } else {
      auto value = r.find("value");
      if (value == r.end()) return Bad(at, where + ".value", "is required ([time, \"value\"])");
      FL_RETURN_IF_ERROR(point(*value, where + ".value"));
    }
  }
  return core::Ok();
}

}  // namespace flopline::meter
