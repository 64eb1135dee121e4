// The bulk inventory format: JSON Lines, read with simdjson (docs/assess.md). TOML cannot be read fast
// enough for a registry of a million models (toml++ alone takes 30 s and 2.1 GB for one); each line
// here is one model or one event with exactly the keys of its TOML table, so the two formats mean
// the same thing and a stage is estimated by the same code.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "flopline/compute/estimate.h"
#include "flopline/core/format.h"
#include "flopline/core/units.h"
#include "flopline/rules/determination_json.h"
#include "flopline/rules/regime.h"
#include "inventory_internal.h"

namespace flopline::rules::internal {
namespace {

using core::Result;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

struct Line {
  const std::string& path;
  int number;
  core::Location where() const { return core::Location{path, number, 0}; }
};

tl::unexpected<core::Error> Bad(const Line& at, std::string field, std::string message) {
  return core::InvalidArgument(std::move(message), std::move(field), at.where());
}

const char* TypeName(element_type type) {
  switch (type) {
    case element_type::ARRAY: return "array";
    case element_type::OBJECT: return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "number";
    case element_type::STRING: return "string";
    case element_type::BOOL: return "boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "value";
}

// Every key once: a JSON object may repeat a key, a TOML table may not.
Result<void> NoRepeatedKeys(object obj, const Line& at, const std::string& prefix) {
  std::vector<std::string_view> seen;
  for (auto [key, value] : obj) {
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return Bad(at, prefix + "." + std::string(key), "is given twice");
    }
    seen.push_back(key);
  }
  return core::Ok();
}

Result<std::optional<std::string_view>> OptionalString(object obj, std::string_view key, const Line& at,
                                                       const std::string& prefix) {
  element value;
  if (obj[key].get(value)) return std::optional<std::string_view>();
  std::string_view s;
  if (value.get_string().get(s)) {
    return Bad(at, prefix + "." + std::string(key), fmt::format("expected a string, got a {}", TypeName(value.type())));
  }
  return std::optional<std::string_view>(s);
}

Result<std::optional<double>> OptionalNumber(object obj, std::string_view key, const Line& at,
                                             const std::string& prefix) {
  element value;
  if (obj[key].get(value)) return std::optional<double>();
  double d = 0;
  if (value.type() == element_type::INT64) {
    d = static_cast<double>(value.get_int64().value_unsafe());
  } else if (value.type() == element_type::UINT64) {
    d = static_cast<double>(value.get_uint64().value_unsafe());
  } else if (value.type() == element_type::DOUBLE) {
    d = value.get_double().value_unsafe();
  } else {
    return Bad(at, prefix + "." + std::string(key), fmt::format("expected a number, got a {}", TypeName(value.type())));
  }
  return std::optional<double>(d);
}

Result<std::string> OneOfJson(object obj, std::string_view key, const std::vector<std::string>& allowed,
                              std::optional<std::string> fallback, const Line& at, const std::string& prefix) {
  FL_ASSIGN_OR_RETURN(auto value, OptionalString(obj, key, at, prefix));
  if (!value) {
    if (fallback) return *fallback;
    return Bad(at, prefix + "." + std::string(key), fmt::format("is required; one of: {}", core::Join(allowed)));
  }
  if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
    return Bad(at, prefix + "." + std::string(key), fmt::format("'{}' is not one of: {}", *value, core::Join(allowed)));
  }
  return std::string(*value);
}

Result<void> OnlyKeys(object obj, std::initializer_list<std::string_view> allowed, const Line& at,
                      const std::string& prefix) {
  for (auto [key, value] : obj) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (std::string_view name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
      return Bad(at, prefix + "." + std::string(key), fmt::format("unknown key; expected one of: {}", list));
    }
  }
  return NoRepeatedKeys(obj, at, prefix);
}

// The method name compute gives a known count, asked once rather than assumed.
const std::string& GivenMethod() {
  static const std::string method = [] {
    compute::EstimateRequest request;
    request.known_flop = 1e20;
    auto e = compute::EstimateTraining(request, compute::AcceleratorTable(), compute::PriceTable());
    return e ? e->method : std::string("given");
  }();
  return method;
}

// The common bulk stage, {"kind", "start", "flop", "cost_usd"} with valid values, read directly:
// it is what compute's estimate gives for a known count and a given cost (tests/rules check that
// the two formats agree), without building a TOML table for each of a million stages. Anything
// else, including every invalid value, goes through the TOML stage parser for its error.
std::optional<TrainingStage> FastStage(object obj, const Line& at) {
  std::string_view kind, start;
  double flop = 0, cost = 0;
  int seen = 0;
  for (auto [key, value] : obj) {
    ++seen;
    if (key == "kind" && value.type() == element_type::STRING) {
      kind = value.get_string().value_unsafe();
    } else if (key == "start" && value.type() == element_type::STRING) {
      start = value.get_string().value_unsafe();
    } else if (key == "flop" && value.type() == element_type::DOUBLE) {
      flop = value.get_double().value_unsafe();
    } else if (key == "cost_usd" && value.type() == element_type::DOUBLE) {
      cost = value.get_double().value_unsafe();
    } else {
      return std::nullopt;
    }
  }
  if (seen != 4 || kind.empty() || start.empty()) return std::nullopt;
  if (!(std::isfinite(flop) && flop > 0) || !(std::isfinite(cost) && cost > 0) || MoneyProblem(cost)) {
    return std::nullopt;
  }
  if (std::find(kStageKinds.begin(), kStageKinds.end(), kind) == kStageKinds.end()) return std::nullopt;
  auto date = core::Date::Parse(start);
  if (!date) return std::nullopt;
  TrainingStage stage;
  stage.kind = std::string(kind);
  stage.start = *date;
  stage.flop = stage.flop_low = stage.flop_high = flop;
  stage.flop_method = GivenMethod();
  stage.cost_usd = core::UsdCents::FromDollars(cost).dollars();
  stage.cost_source = "given";
  stage.where = at.where();
  return stage;
}

// Any other stage: its scalars into a TOML table, read by the TOML stage parser, so that both
// formats accept and refuse the same stages with the same messages.
Result<TrainingStage> SlowStage(object obj, const Line& at, const std::string& prefix,
                                const compute::AcceleratorTable& accelerators, const compute::PriceTable& prices,
                                const compute::ConfigLoader& load) {
  FL_RETURN_IF_ERROR(NoRepeatedKeys(obj, at, prefix));
  toml::table table;
  for (auto [key, value] : obj) {
    std::string name(key);
    switch (value.type()) {
      case element_type::STRING: table.insert(name, std::string(value.get_string().value_unsafe())); break;
      case element_type::INT64: table.insert(name, value.get_int64().value_unsafe()); break;
      case element_type::UINT64: table.insert(name, static_cast<double>(value.get_uint64().value_unsafe())); break;
      case element_type::DOUBLE: table.insert(name, value.get_double().value_unsafe()); break;
      case element_type::BOOL: table.insert(name, value.get_bool().value_unsafe()); break;
      default:
        return Bad(at, prefix + "." + name, fmt::format("expected a string, number or boolean, got a {}",
                                                        TypeName(value.type())));
    }
  }
  core::TomlFields fields(table, at.path, prefix);
  auto stage = ParseStage(fields, table, accelerators, prices, load);
  if (!stage) {
    // Nodes built here have no place in a file: the line is the place.
    core::Error error = stage.error();
    if (!error.where || error.where->line == 0) error.where = at.where();
    return tl::unexpected(std::move(error));
  }
  stage->where = at.where();
  return stage;
}

// One model line; its id is checked against the others by the caller.
Result<Model> ReadModel(object obj, const Line& at, const compute::AcceleratorTable& accelerators,
                        const compute::PriceTable& prices, const compute::ConfigLoader& load) {
  const std::string prefix = "model";
  FL_RETURN_IF_ERROR(OnlyKeys(obj, {"id", "developer", "developer_revenue_usd", "foundation_model", "base",
                                    "derivation", "training", "open_source", "eu_established",
                                    "developer_turnover_eur", "costs"},
                              at, prefix));
  Model m;
  m.where = at.where();
  FL_ASSIGN_OR_RETURN(auto id, OptionalString(obj, "id", at, prefix));
  if (!id) return Bad(at, "model.id", "is required and missing");
  if (id->empty()) return Bad(at, "model.id", "must not be empty");
  m.id = std::string(*id);
  FL_ASSIGN_OR_RETURN(auto developer, OptionalString(obj, "developer", at, prefix));
  if (!developer) return Bad(at, "model.developer", "is required and missing");
  m.developer = std::string(*developer);
  FL_ASSIGN_OR_RETURN(m.developer_revenue_usd, OptionalNumber(obj, "developer_revenue_usd", at, prefix));
  if (m.developer_revenue_usd) {
    if (auto problem = MoneyProblem(*m.developer_revenue_usd)) return Bad(at, "model.developer_revenue_usd", *problem);
  }
  element foundation;
  if (!obj["foundation_model"].get(foundation)) {
    bool b = false;
    if (foundation.get_bool().get(b)) {
      return Bad(at, "model.foundation_model",
                 fmt::format("expected true or false, got a {}", TypeName(foundation.type())));
    }
    m.foundation_model = b;
  }
  for (const char* key : {"open_source", "eu_established"}) {
    element flag;
    if (obj[key].get(flag)) continue;
    bool b = false;
    if (flag.get_bool().get(b)) {
      return Bad(at, std::string("model.") + key, fmt::format("expected true or false, got a {}", TypeName(flag.type())));
    }
    if (std::string_view(key) == "open_source") m.open_source = b;
    else m.eu_established = b;
  }
  FL_ASSIGN_OR_RETURN(m.developer_turnover_eur, OptionalNumber(obj, "developer_turnover_eur", at, prefix));
  if (m.developer_turnover_eur) {
    if (auto problem = MoneyProblem(*m.developer_turnover_eur)) return Bad(at, "model.developer_turnover_eur", *problem);
  }
  element costs;
  if (!obj["costs"].get(costs)) {
    object cost_obj;
    if (costs.get_object().get(cost_obj)) {
      return Bad(at, "model.costs", "expected an object with other_compute_usd, data_usd, people_usd, earlier_runs_usd");
    }
    FL_RETURN_IF_ERROR(OnlyKeys(cost_obj, {"other_compute_usd", "data_usd", "people_usd", "earlier_runs_usd"}, at,
                                "model.costs"));
    // In the TOML reader's order, named as it names them ("data-usd" without "_usd").
    for (const char* key : {"other_compute_usd", "data_usd", "people_usd", "earlier_runs_usd"}) {
      FL_ASSIGN_OR_RETURN(auto usd, OptionalNumber(cost_obj, key, at, "model.costs"));
      if (!usd) continue;
      if (auto problem = MoneyProblem(*usd)) return Bad(at, std::string("model.costs.") + key, *problem);
      std::string component(key);
      component = component.substr(0, component.size() - 4);
      std::replace(component.begin(), component.end(), '_', '-');
      m.other_costs.emplace_back(component, *usd);
    }
  }
  FL_ASSIGN_OR_RETURN(auto base, OptionalString(obj, "base", at, prefix));
  m.base = base ? std::string(*base) : std::string();
  FL_ASSIGN_OR_RETURN(m.derivation, OneOfJson(obj, "derivation", kDerivations, std::string("pretrain"), at, prefix));
  if (m.derivation == "pretrain" && !m.base.empty()) {
    return Bad(at, "model.base",
               fmt::format("a pretrained model has no base; set derivation (one of: {})", core::Join(kDerivations)));
  }
  if (m.derivation != "pretrain" && m.base.empty()) {
    return Bad(at, "model.derivation", fmt::format("'{}' needs base = the id of the model it was made from", m.derivation));
  }
  element training;
  if (!obj["training"].get(training)) {
    simdjson::dom::array stages;
    if (training.get_array().get(stages)) {
      return Bad(at, "model.training", fmt::format("expected an array of stages, got a {}", TypeName(training.type())));
    }
    std::size_t i = 0;
    for (element s : stages) {
      const std::string stage_prefix = fmt::format("model.training[{}]", i++);
      object stage_obj;
      if (s.get_object().get(stage_obj)) {
        return Bad(at, stage_prefix, fmt::format("expected an object, got a {}", TypeName(s.type())));
      }
      if (auto fast = FastStage(stage_obj, at)) {
        m.training.push_back(std::move(*fast));
      } else {
        FL_ASSIGN_OR_RETURN(TrainingStage stage, SlowStage(stage_obj, at, stage_prefix, accelerators, prices, load));
        m.training.push_back(std::move(stage));
      }
    }
  }
  return m;
}

Result<void> ReadEvent(object obj, const Line& at, std::vector<Event>& out) {
  const std::string prefix = "event";
  FL_RETURN_IF_ERROR(OnlyKeys(obj, {"model", "kind", "at"}, at, prefix));
  Event e;
  e.where = at.where();
  FL_ASSIGN_OR_RETURN(auto model, OptionalString(obj, "model", at, prefix));
  if (!model) return Bad(at, "event.model", "is required and missing");
  e.model = std::string(*model);
  FL_ASSIGN_OR_RETURN(e.kind, OneOfJson(obj, "kind", kEventKinds, std::nullopt, at, prefix));
  FL_ASSIGN_OR_RETURN(auto when, OptionalString(obj, "at", at, prefix));
  if (!when) return Bad(at, "event.at", "is required");
  auto instant = core::Instant::Parse(*when);
  if (!instant) return Bad(at, "event.at", instant.error().message);
  e.at = *instant;
  out.push_back(std::move(e));
  return core::Ok();
}

// The lines of one piece of a file, parsed on their own: the models and events read (lines
// numbered from 1 within the piece; LinesFrom renumbers them), and the first error, which ends it.
struct Piece {
  std::vector<Model> models;
  std::vector<Event> events;
  std::optional<core::Error> error;
  int lines = 0;
  bool any = false;
};

// The lines of `data` that start {"model" as most writers write them: what a piece reserves (any
// other spelling only grows the list as it is read; an event line reserves nothing).
std::size_t ModelLines(const char* data, std::size_t size) {
  constexpr std::string_view kModelLine = "{\"model\"";
  std::size_t models = 0;
  for (const char* p = data, *end = data + size; p < end;) {
    if (static_cast<std::size_t>(end - p) >= kModelLine.size() && std::memcmp(p, kModelLine.data(), kModelLine.size()) == 0) {
      ++models;
    }
    const void* newline = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
    if (!newline) break;
    p = static_cast<const char*>(newline) + 1;
  }
  return models;
}

void ParsePiece(const std::string& path, const char* data, std::size_t size, const compute::AcceleratorTable& accelerators,
                const compute::PriceTable& prices, const compute::ConfigLoader& load, Piece& out) {
  simdjson::dom::parser parser;
  // Room for the models at once, not a million moves as the list grows.
  out.models.reserve(ModelLines(data, size));
  std::size_t pos = 0;
  int& number = out.lines;
  auto fail = [&](Result<void> r) {
    if (!r) out.error = std::move(r.error());
    return !r;
  };
  while (pos < size) {
    ++number;
    const char* newline = static_cast<const char*>(std::memchr(data + pos, '\n', size - pos));
    const std::size_t end = newline ? static_cast<std::size_t>(newline - data) : size;
    const std::size_t length = end - pos;
    const Line at{path, number};
    std::string_view line(data + pos, length);
    const std::size_t first = pos;
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank lines are allowed
    // The bytes after each line (the rest of the file, then the padded_string's padding) are
    // readable, so simdjson needs no copy of the line.
    element doc;
    if (auto error = parser.parse(reinterpret_cast<const std::uint8_t*>(data + first), length, false).get(doc)) {
      fail(Bad(at, "", fmt::format("malformed JSON: {}", simdjson::error_message(error))));
      return;
    }
    object obj;
    if (doc.get_object().get(obj) || obj.size() != 1) {
      fail(Bad(at, "", "expected one object per line: {\"model\": {...}} or {\"event\": {...}}"));
      return;
    }
    auto [key, value] = *obj.begin();
    object inner;
    if (key != "model" && key != "event") {
      fail(Bad(at, std::string(key), "unknown key; a line holds {\"model\": {...}} or {\"event\": {...}}"));
      return;
    }
    if (value.get_object().get(inner)) {
      fail(Bad(at, std::string(key), fmt::format("expected an object, got a {}", TypeName(value.type()))));
      return;
    }
    if (key == "model") {
      auto model = ReadModel(inner, at, accelerators, prices, load);
      if (!model) {
        out.error = std::move(model.error());
        return;
      }
      out.models.push_back(std::move(*model));
    } else if (fail(ReadEvent(inner, at, out.events))) {
      return;
    }
    out.any = true;
  }
}

// Adds `lines` to every line number a piece holds: its place in the whole file.
void LinesFrom(Piece& piece, int lines) {
  for (Model& m : piece.models) {
    m.where.line += lines;
    for (TrainingStage& s : m.training) s.where.line += lines;
  }
  for (Event& e : piece.events) e.where.line += lines;
  if (piece.error && piece.error->where) piece.error->where->line += lines;
}

}  // namespace

bool IsJsonl(std::string_view path) { return path.size() >= 6 && path.substr(path.size() - 6) == ".jsonl"; }

Result<simdjson::padded_string> ReadPadded(const std::string& path) {
  simdjson::padded_string text;
  if (auto error = simdjson::padded_string::load(path).get(text)) {
    return core::NotFound(fmt::format("cannot read the file: {}", simdjson::error_message(error)), {},
                          core::Location{path, 0, 0});
  }
  return text;
}

Result<void> ParseJsonlModels(const std::string& path, const simdjson::padded_string& text, Inventory& out,
                              const compute::AcceleratorTable& accelerators, const compute::PriceTable& prices,
                              const compute::ConfigLoader& load) {
  // A large file is cut at line ends into pieces, four per core, that the cores take in turn (a
  // core slowed by another process takes fewer); the pieces are then joined in order, ids checked
  // and lines renumbered, so that the answer, and the first error (by line), are those of reading
  // it from the top.
  const char* data = text.data();
  const std::size_t size = text.size();
  constexpr std::size_t kPieceBytes = 4u << 20;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const std::size_t pieces = std::max<std::size_t>(1, std::min<std::size_t>(4 * cores, size / kPieceBytes));
  std::vector<std::size_t> cut{0};
  for (std::size_t i = 1; i < pieces; ++i) {
    const std::size_t from = std::max(cut.back(), size * i / pieces);
    const void* newline = std::memchr(data + from, '\n', size - from);
    cut.push_back(newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - data) + 1 : size);
  }
  cut.push_back(size);
  std::vector<Piece> parsed(pieces);
  {
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      for (std::size_t i = next++; i < pieces; i = next++) {
        ParsePiece(path, data + cut[i], cut[i + 1] - cut[i], accelerators, prices, load, parsed[i]);
      }
    };
    std::vector<std::thread> workers;
    for (std::size_t t = 1; t < std::min<std::size_t>(cores, pieces); ++t) workers.emplace_back(work);
    work();
    for (std::thread& w : workers) w.join();
  }
  int lines = 0;
  bool any = false;
  std::size_t total = out.models.size();
  for (const Piece& piece : parsed) total += piece.models.size();
  out.models.reserve(total);
  out.index.Reserve(out.models, total);
  for (Piece& piece : parsed) {
    LinesFrom(piece, lines);
    lines += piece.lines;
    any = any || piece.any;
    const int first = static_cast<int>(out.models.size());
    for (Model& m : piece.models) out.models.push_back(std::move(m));
    if (int again = out.index.InsertRange(out.models, first, static_cast<int>(out.models.size())); again >= 0) {
      const Model& m = out.models[static_cast<std::size_t>(again)];
      return Bad(Line{path, m.where.line}, "model.id", fmt::format("'{}' is already defined", m.id));
    }
    piece.models = {};
    out.events.insert(out.events.end(), std::make_move_iterator(piece.events.begin()),
                      std::make_move_iterator(piece.events.end()));
    piece.events = {};
    if (piece.error) return tl::unexpected(std::move(*piece.error));
  }
  if (!any) return core::InvalidArgument("the file holds no model or event lines", "", core::Location{path, 1, 1});
  return core::Ok();
}

}  // namespace flopline::rules::internal

namespace flopline::rules {
namespace {

using core::Result;

// A TOML value of a model table as JSON; the model file was checked before, so only the types a
// model file allows appear.
void TomlToJson(const toml::node& node, std::string& out) {
  if (const auto* s = node.as_string()) {
    AppendJsonString(out, s->get());
  } else if (const auto* i = node.as_integer()) {
    out += fmt::format("{}", i->get());
  } else if (const auto* f = node.as_floating_point()) {
    out += fmt::format("{}", f->get());
  } else if (const auto* b = node.as_boolean()) {
    out += b->get() ? "true" : "false";
  } else if (const auto* d = node.as_date()) {
    toml::date v = d->get();
    out += fmt::format("\"{:04}-{:02}-{:02}\"", v.year, v.month, v.day);
  } else if (const auto* a = node.as_array()) {
    out += '[';
    bool first = true;
    for (const toml::node& item : *a) {
      if (!first) out += ',';
      first = false;
      TomlToJson(item, out);
    }
    out += ']';
  } else if (const auto* t = node.as_table()) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : *t) {
      if (!first) out += ',';
      first = false;
      AppendJsonString(out, key.str());
      out += ':';
      TomlToJson(value, out);
    }
    out += '}';
  } else {
    out += "null";
  }
}

}  // namespace

Result<void> WriteJsonl(const std::vector<std::string>& paths, std::ostream& out) {
  std::string line;
  for (const std::string& path : paths) {
    if (internal::IsJsonl(path)) {
      // Already the bulk format: copied line by line, blank lines dropped.
      std::ifstream in(path, std::ios::binary);
      if (!in) return core::NotFound("cannot open the file", {}, core::Location{path, 0, 0});
      while (std::getline(in, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        out << line << '\n';
      }
      continue;
    }
    FL_ASSIGN_OR_RETURN(toml::table root, core::ParseTomlFile(path));
    if (const toml::array* models = root["model"].as_array()) {
      const std::filesystem::path dir = std::filesystem::absolute(path).parent_path();
      for (const toml::node& node : *models) {
        const toml::table* t = node.as_table();
        if (!t) continue;
        // A relative `config` is relative to the TOML file; written absolute, so that the JSON
        // Lines file can live anywhere.
        toml::table m = *t;
        if (toml::array* stages = m["training"].as_array()) {
          for (toml::node& stage : *stages) {
            toml::table* st = stage.as_table();
            const toml::node* config = st ? st->get("config") : nullptr;
            if (!config || !config->is_string()) continue;
            std::filesystem::path p(config->as_string()->get());
            if (p.is_relative()) st->insert_or_assign("config", (dir / p).lexically_normal().string());
          }
        }
        line = "{\"model\":";
        TomlToJson(m, line);
        line += "}\n";
        out << line;
      }
    }
    // Events through the event parser, so that every form of `at` (a date, a date-time with an
    // offset) is written as one UTC instant.
    FL_RETURN_IF_ERROR(core::ForEachTable(root, "event", path, false,
                                          [&](const core::TomlFields& f, const toml::table& t) -> Result<void> {
      FL_ASSIGN_OR_RETURN(auto model, f.String("model"));
      FL_ASSIGN_OR_RETURN(auto kind, f.String("kind"));
      FL_ASSIGN_OR_RETURN(core::Instant at, internal::ReadInstant(f, t, "at"));
      line = "{\"event\":{\"model\":";
      AppendJsonString(line, model);
      line += ",\"kind\":";
      AppendJsonString(line, kind);
      line += ",\"at\":";
      AppendJsonString(line, at.ToString());
      line += "}}\n";
      out << line;
      return core::Ok();
    }));
  }
  if (!out) return core::InvalidArgument("could not write the JSON Lines output");
  return core::Ok();
}

}  // namespace flopline::rules
