#include "model_json.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "flopline/rules/regime.h"
#include "flopline/workspace/workspace.h"

namespace flopline::workspace {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxStages = 1000;
constexpr std::size_t kMaxText = 256;

}  // namespace

std::string FieldName(const std::string& key) { return key.empty() ? std::string("\"\"") : key; }

namespace {

core::Result<void> OnlyKeys(const json& j, const std::string& path, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return core::InvalidArgument("expected a JSON object", path.empty() ? "body" : path);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();  // not a structured binding: clang 14 cannot capture one
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; })) {
      return core::InvalidArgument("is not a known field", path.empty() ? FieldName(key) : path + "." + FieldName(key));
    }
  }
  return core::Ok();
}

std::string Field(const std::string& path, const char* key) { return path.empty() ? key : path + "." + key; }

core::Result<std::string> Text(const json& j, const std::string& path, const char* key, bool required,
                               const std::string& fallback = {}) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return core::InvalidArgument("is required", Field(path, key));
    return fallback;
  }
  if (!it->is_string()) return core::InvalidArgument("expected a string", Field(path, key));
  std::string s = it->get<std::string>();
  if (s.size() > kMaxText) return core::InvalidArgument(fmt::format("is longer than {} bytes", kMaxText), Field(path, key));
  if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return core::InvalidArgument("holds a control character", Field(path, key));
  }
  return s;
}

core::Result<std::optional<double>> Number(const json& j, const std::string& path, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number()) return core::InvalidArgument("expected a number", Field(path, key));
  double v = it->get<double>();
  if (!std::isfinite(v) || v < 0) return core::InvalidArgument("must be a finite number, zero or more", Field(path, key));
  return std::optional<double>(v);
}

core::Result<std::optional<double>> Money(const json& j, const std::string& path, const char* key) {
  FL_ASSIGN_OR_RETURN(std::optional<double> v, Number(j, path, key));
  if (v) {
    if (auto problem = rules::MoneyProblem(*v)) return core::InvalidArgument(*problem, Field(path, key));
  }
  return v;
}

core::Result<std::optional<bool>> Bool(const json& j, const std::string& path, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return core::InvalidArgument("expected true or false", Field(path, key));
  return std::optional<bool>(it->get<bool>());
}

core::Result<void> OneOf(const std::string& value, const std::vector<std::string>& allowed, const std::string& field) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return core::Ok();
  std::string list;
  for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
  return core::InvalidArgument(fmt::format("'{}' is not one of: {}", value, list), field);
}

const std::vector<std::string> kStageKinds = {"pretrain", "fine-tune", "rl", "synthetic-data", "other"};

core::Result<rules::TrainingStage> StageFromJson(const json& j, const std::string& path) {
  FL_RETURN_IF_ERROR(OnlyKeys(j, path, {"kind", "start", "flop", "flop_low", "flop_high", "flop_method", "cost_usd",
                                        "cost_source"}));
  rules::TrainingStage s;
  FL_ASSIGN_OR_RETURN(s.kind, Text(j, path, "kind", true));
  FL_RETURN_IF_ERROR(OneOf(s.kind, kStageKinds, Field(path, "kind")));
  FL_ASSIGN_OR_RETURN(std::string start, Text(j, path, "start", true));
  auto date = core::Date::Parse(start);
  if (!date) return core::InvalidArgument(date.error().message, Field(path, "start"));
  s.start = *date;
  FL_ASSIGN_OR_RETURN(std::optional<double> flop, Number(j, path, "flop"));
  if (!flop || *flop <= 0) return core::InvalidArgument("is required: the stage's training compute in FLOP, above zero", Field(path, "flop"));
  s.flop = *flop;
  FL_ASSIGN_OR_RETURN(std::optional<double> low, Number(j, path, "flop_low"));
  FL_ASSIGN_OR_RETURN(std::optional<double> high, Number(j, path, "flop_high"));
  s.flop_low = low.value_or(s.flop);
  s.flop_high = high.value_or(s.flop);
  if (s.flop_low > s.flop) return core::InvalidArgument("is above flop", Field(path, "flop_low"));
  if (s.flop_high < s.flop) return core::InvalidArgument("is below flop", Field(path, "flop_high"));
  FL_ASSIGN_OR_RETURN(s.flop_method, Text(j, path, "flop_method", false, "given"));
  FL_ASSIGN_OR_RETURN(s.cost_usd, Money(j, path, "cost_usd"));
  FL_ASSIGN_OR_RETURN(s.cost_source, Text(j, path, "cost_source", false, s.cost_usd ? "given" : "not given"));
  return s;
}

}  // namespace

core::Result<rules::Model> ModelFromJson(const json& j) {
  FL_RETURN_IF_ERROR(OnlyKeys(j, "", {"id", "developer", "developer_revenue_usd", "foundation_model", "base",
                                      "derivation", "open_source", "eu_established", "developer_turnover_eur", "costs",
                                      "training"}));
  rules::Model m;
  FL_ASSIGN_OR_RETURN(m.id, Text(j, "", "id", true));
  if (m.id.empty() || m.id.find_first_of("/?#% ") != std::string::npos) {
    return core::InvalidArgument("must be non-empty, without spaces, '/', '?', '#' or '%'", "id");
  }
  FL_ASSIGN_OR_RETURN(m.developer, Text(j, "", "developer", true));
  if (m.developer.empty()) return core::InvalidArgument("must not be empty", "developer");
  FL_ASSIGN_OR_RETURN(m.developer_revenue_usd, Money(j, "", "developer_revenue_usd"));
  FL_ASSIGN_OR_RETURN(std::optional<bool> foundation, Bool(j, "", "foundation_model"));
  m.foundation_model = foundation.value_or(false);
  FL_ASSIGN_OR_RETURN(m.base, Text(j, "", "base", false));
  FL_ASSIGN_OR_RETURN(m.derivation, Text(j, "", "derivation", false, m.base.empty() ? "pretrain" : ""));
  FL_RETURN_IF_ERROR(OneOf(m.derivation, rules::kDerivations, "derivation"));
  if (m.base.empty() != (m.derivation == "pretrain")) {
    return core::InvalidArgument(m.base.empty() ? "needs a base: only a pretrain has none"
                                                : "'pretrain' has no base: name the derivation",
                                 "derivation");
  }
  if (m.base == m.id) return core::InvalidArgument("a model cannot be its own base", "base");
  FL_ASSIGN_OR_RETURN(std::optional<bool> open, Bool(j, "", "open_source"));
  m.open_source = open.value_or(false);
  FL_ASSIGN_OR_RETURN(m.eu_established, Bool(j, "", "eu_established"));
  FL_ASSIGN_OR_RETURN(m.developer_turnover_eur, Money(j, "", "developer_turnover_eur"));
  if (auto it = j.find("costs"); it != j.end()) {
    if (!it->is_object()) return core::InvalidArgument("expected an object {component: usd}", "costs");
    for (const auto& [component, value] : it->items()) {
      std::string field = "costs." + component;
      if (component == "compute-market") {
        return core::InvalidArgument("is the stages' own compute: give it per training stage", field);
      }
      FL_RETURN_IF_ERROR(OneOf(component, rules::kCostComponents, field));
      if (!value.is_number()) return core::InvalidArgument("expected a number", field);
      double usd = value.get<double>();
      if (auto problem = rules::MoneyProblem(usd)) return core::InvalidArgument(*problem, field);
      m.other_costs.emplace_back(component, usd);
    }
  }
  if (auto it = j.find("training"); it != j.end()) {
    if (!it->is_array()) return core::InvalidArgument("expected an array of stages", "training");
    if (it->size() > kMaxStages) return core::InvalidArgument(fmt::format("holds more than {} stages", kMaxStages), "training");
    for (std::size_t i = 0; i < it->size(); ++i) {
      FL_ASSIGN_OR_RETURN(rules::TrainingStage s, StageFromJson((*it)[i], fmt::format("training[{}]", i)));
      m.training.push_back(std::move(s));
    }
  }
  return m;
}

json ModelToJson(const rules::Model& m) {
  json training = json::array();
  for (const rules::TrainingStage& s : m.training) {
    training.push_back({{"kind", s.kind},
                        {"start", s.start.ToString()},
                        {"flop", s.flop},
                        {"flop_low", s.flop_low},
                        {"flop_high", s.flop_high},
                        {"flop_method", s.flop_method},
                        {"cost_usd", s.cost_usd ? json(*s.cost_usd) : json(nullptr)},
                        {"cost_source", s.cost_source}});
  }
  json costs = json::object();
  for (const auto& [component, usd] : m.other_costs) costs[component] = usd;
  return {{"id", m.id},
          {"developer", m.developer},
          {"developer_revenue_usd", m.developer_revenue_usd ? json(*m.developer_revenue_usd) : json(nullptr)},
          {"foundation_model", m.foundation_model},
          {"base", m.base},
          {"derivation", m.derivation},
          {"open_source", m.open_source},
          {"eu_established", m.eu_established ? json(*m.eu_established) : json(nullptr)},
          {"developer_turnover_eur", m.developer_turnover_eur ? json(*m.developer_turnover_eur) : json(nullptr)},
          {"costs", costs},
          {"training", training}};
}

core::Result<rules::Event> EventFromJson(const json& j) {
  FL_RETURN_IF_ERROR(OnlyKeys(j, "", {"model", "kind", "at"}));
  rules::Event e;
  FL_ASSIGN_OR_RETURN(e.model, Text(j, "", "model", true));
  FL_ASSIGN_OR_RETURN(e.kind, Text(j, "", "kind", true));
  FL_RETURN_IF_ERROR(OneOf(e.kind, rules::kEventKinds, "kind"));
  FL_ASSIGN_OR_RETURN(std::string at, Text(j, "", "at", true));
  auto instant = core::Instant::Parse(at);
  if (!instant) return core::InvalidArgument(instant.error().message, "at");
  e.at = *instant;
  return e;
}

json EventToJson(const rules::Event& e) { return {{"model", e.model}, {"kind", e.kind}, {"at", e.at.ToString()}}; }

core::Result<json> NormaliseModel(const json& body) {
  FL_ASSIGN_OR_RETURN(rules::Model m, ModelFromJson(body));
  return ModelToJson(m);
}

core::Result<json> NormaliseModelText(std::string_view text) {
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return core::InvalidArgument("is not valid JSON", "body");
  return NormaliseModel(body);
}

}  // namespace flopline::workspace
