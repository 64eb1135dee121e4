#include "flopline/rules/inventory.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "flopline/core/format.h"

#include "flopline/compute/estimate.h"
#include "flopline/core/toml_fields.h"
#include "flopline/rules/regime.h"
#include "inventory_internal.h"

namespace flopline::rules {
namespace internal {

using core::Join;

using core::Result;
using core::TomlFields;

Result<std::string> OneOf(const TomlFields& f, std::string_view key, const std::vector<std::string>& allowed,
                          std::optional<std::string> fallback) {
  FL_ASSIGN_OR_RETURN(auto value, f.OptionalString(key));
  if (!value) {
    if (fallback) return *fallback;
    return f.Bad(key, fmt::format("is required; one of: {}", Join(allowed)));
  }
  if (std::find(allowed.begin(), allowed.end(), *value) == allowed.end()) {
    return f.Bad(key, fmt::format("'{}' is not one of: {}", *value, Join(allowed)));
  }
  return *value;
}

// An instant from a TOML date-time (with Z or an offset) or a date.
Result<core::Instant> ReadInstant(const TomlFields& f, const toml::table& t, std::string_view key) {
  const toml::node* node = t.get(key);
  if (!node) return f.Bad(key, "is required");
  if (node->is_date()) {
    toml::date d = node->as_date()->get();
    core::Date date = core::Date::FromYmd(d.year, d.month, d.day);
    if (!date.ymd().ok()) return f.Bad(key, "is not a real calendar date");
    return core::Instant::StartOf(date);
  }
  if (node->is_date_time()) {
    toml::date_time dt = node->as_date_time()->get();
    if (!dt.offset) return f.Bad(key, "needs a time zone: write it in UTC with a Z suffix");
    core::Date date = core::Date::FromYmd(dt.date.year, dt.date.month, dt.date.day);
    if (!date.ymd().ok()) return f.Bad(key, "is not a real calendar date");
    return core::Instant::StartOf(date) + std::chrono::hours(dt.time.hour) +
           std::chrono::minutes(dt.time.minute - dt.offset->minutes) + std::chrono::seconds(dt.time.second);
  }
  if (node->is_string()) {
    auto parsed = core::Instant::Parse(node->as_string()->get());
    if (!parsed) return f.Bad(key, parsed.error().message);
    return *parsed;
  }
  return f.Bad(key, "expected a date-time such as 2026-06-01T09:00:00Z");
}

// An amount of money from a model file: refused, with the field, unless it is a finite amount that
// fits compute's whole cents (core::UsdCents would otherwise clamp 1.7e308 to $9e16 silently).
Result<void> CheckMoneyField(const TomlFields& f, const toml::table& t, std::string_view key) {
  const toml::node* node = t.get(key);
  if (!node) return core::Ok();
  double value = 0;
  if (node->is_integer()) {
    value = static_cast<double>(node->as_integer()->get());
  } else if (node->is_floating_point()) {
    value = node->as_floating_point()->get();
  } else {
    return core::Ok();  // the typed read names the wrong type
  }
  if (auto problem = MoneyProblem(value)) return f.Bad(key, *problem);
  return core::Ok();
}

// `key` of `t` must be an array of tables ([[key]]): a single table ([key]) or a plain value would
// otherwise be skipped, and the models it holds would vanish without a word.
Result<void> CheckArrayOfTables(const toml::table& t, std::string_view key, const std::string& file,
                                const std::string& name) {
  const toml::node* node = t.get(key);
  if (!node || node->is_array_of_tables()) return core::Ok();
  if (node->is_table()) {
    return core::InvalidArgument(fmt::format("[{}] is a single table; write [[{}]], one per entry", name, name),
                                 name, core::TomlLocation(*node, file));
  }
  return core::InvalidArgument(fmt::format("expected [[{}]] tables", name), name, core::TomlLocation(*node, file));
}

Result<TrainingStage> ParseStage(const TomlFields& f, const toml::table& t, const compute::AcceleratorTable& accelerators,
                                 const compute::PriceTable& prices, const compute::ConfigLoader& load) {
  std::vector<std::string_view> keys(compute::kEstimateKeys);
  keys.push_back("kind");
  FL_RETURN_IF_ERROR(f.OnlyKeys(keys));
  FL_RETURN_IF_ERROR(CheckMoneyField(f, t, "cost_usd"));
  FL_RETURN_IF_ERROR(CheckMoneyField(f, t, "price_per_hour"));
  TrainingStage stage;
  stage.where = f.Where();
  FL_ASSIGN_OR_RETURN(stage.kind, OneOf(f, "kind", kStageKinds, std::nullopt));
  FL_ASSIGN_OR_RETURN(compute::EstimateRequest request, compute::ParseEstimateFields(f, load));
  if (!request.start) return f.Bad("start", "is required: the start of training dates the stage and prices it");
  stage.start = *request.start;
  // Compute first, unpriced, so that a missing price never hides the compute.
  compute::EstimateRequest unpriced = request;
  unpriced.start.reset();
  unpriced.cost_usd.reset();
  unpriced.price_per_hour.reset();
  auto estimate = compute::EstimateTraining(unpriced, accelerators, prices);
  if (!estimate) {
    core::Error error = estimate.error();
    if (!error.where) {
      error.where = f.Where();
      error.field = error.field.empty() ? f.Name("flop") : f.Name(error.field);
      if (error.message.find("nothing to estimate") != std::string::npos) {
        error.message = "needs its compute: flop, or config + tokens, params + tokens, or accelerator + count + hours";
      }
    }
    return tl::unexpected(error);
  }
  stage.flop = estimate->training_flop.point;
  stage.flop_low = estimate->training_flop.low;
  stage.flop_high = estimate->training_flop.high;
  stage.flop_method = estimate->method;
  auto priced = compute::EstimateTraining(request, accelerators, prices);
  if (priced && priced->cost) {
    stage.cost_usd = priced->cost->usd.point.dollars();
    stage.cost_source = priced->cost->source;
  } else {
    stage.cost_source = priced ? "not priced" : "not priced: " + priced.error().message;
  }
  return stage;
}

Result<void> ParseTomlModels(const ModelFile& file, Inventory& out, const compute::AcceleratorTable& accelerators,
                       const compute::PriceTable& prices, const compute::ConfigLoader& load) {
  FL_ASSIGN_OR_RETURN(toml::table root, core::ParseToml(file.text, file.path));
  for (const auto& [key, node] : root) {
    if (key.str() != "model" && key.str() != "event") {
      return core::InvalidArgument("unknown key; a model file holds [[model]] and [[event]] tables",
                                   std::string(key.str()), core::TomlLocation(node, file.path));
    }
  }
  FL_RETURN_IF_ERROR(CheckArrayOfTables(root, "model", file.path, "model"));
  FL_RETURN_IF_ERROR(CheckArrayOfTables(root, "event", file.path, "event"));
  if (root.empty()) {
    // An empty file (or a wrong one) must not pass as "nothing covered".
    return core::InvalidArgument("the file holds no [[model]] or [[event]] tables", "", core::Location{file.path, 1, 1});
  }
  FL_RETURN_IF_ERROR(core::ForEachTable(root, "model", file.path, false, [&](const TomlFields& f, const toml::table& t) -> Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"id", "developer", "developer_revenue_usd", "foundation_model", "base",
                                   "derivation", "training", "open_source", "eu_established",
                                   "developer_turnover_eur", "costs"}));
    Model m;
    m.where = f.Where();
    FL_ASSIGN_OR_RETURN(m.id, f.String("id"));
    if (m.id.empty()) return f.Bad("id", "must not be empty");
    if (out.index.Find(out.models, m.id) >= 0) return f.Bad("id", fmt::format("'{}' is already defined", m.id));
    FL_ASSIGN_OR_RETURN(m.developer, f.String("developer"));
    FL_ASSIGN_OR_RETURN(m.developer_revenue_usd, f.OptionalPositive("developer_revenue_usd", /*allow_zero=*/true));
    FL_RETURN_IF_ERROR(CheckMoneyField(f, t, "developer_revenue_usd"));
    FL_RETURN_IF_ERROR(CheckArrayOfTables(t, "training", file.path, f.Name("training")));
    FL_ASSIGN_OR_RETURN(auto foundation, f.OptionalBool("foundation_model"));
    m.foundation_model = foundation.value_or(false);
    FL_ASSIGN_OR_RETURN(auto open_source, f.OptionalBool("open_source"));
    m.open_source = open_source.value_or(false);
    FL_ASSIGN_OR_RETURN(m.eu_established, f.OptionalBool("eu_established"));
    FL_ASSIGN_OR_RETURN(m.developer_turnover_eur, f.OptionalPositive("developer_turnover_eur", /*allow_zero=*/true));
    FL_RETURN_IF_ERROR(CheckMoneyField(f, t, "developer_turnover_eur"));
    if (const toml::node* costs = t.get("costs")) {
      const toml::table* ct = costs->as_table();
      if (!ct) return f.Bad("costs", "expected a table: [model.costs] with other_compute_usd, data_usd, people_usd, earlier_runs_usd");
      TomlFields cf(*ct, file.path, f.Name("costs"));
      FL_RETURN_IF_ERROR(cf.OnlyKeys({"other_compute_usd", "data_usd", "people_usd", "earlier_runs_usd"}));
      for (const char* key : {"other_compute_usd", "data_usd", "people_usd", "earlier_runs_usd"}) {
        FL_RETURN_IF_ERROR(CheckMoneyField(cf, *ct, key));
        FL_ASSIGN_OR_RETURN(auto usd, cf.OptionalPositive(key, /*allow_zero=*/true));
        std::string component(key);
        component = component.substr(0, component.size() - 4);  // without "_usd"
        std::replace(component.begin(), component.end(), '_', '-');
        if (usd) m.other_costs.emplace_back(component, *usd);
      }
    }
    FL_ASSIGN_OR_RETURN(m.base, f.StringOr("base", ""));
    FL_ASSIGN_OR_RETURN(m.derivation, OneOf(f, "derivation", kDerivations, std::string("pretrain")));
    if (m.derivation == "pretrain" && !m.base.empty()) {
      return f.Bad("base", fmt::format("a pretrained model has no base; set derivation (one of: {})", Join(kDerivations)));
    }
    if (m.derivation != "pretrain" && m.base.empty()) {
      return f.Bad("derivation", fmt::format("'{}' needs base = the id of the model it was made from", m.derivation));
    }
    FL_RETURN_IF_ERROR(core::ForEachTable(t, "training", file.path, false, [&](const TomlFields& sf, const toml::table& st) -> Result<void> {
      FL_ASSIGN_OR_RETURN(TrainingStage stage, ParseStage(sf, st, accelerators, prices, load));
      m.training.push_back(std::move(stage));
      return core::Ok();
    }, f.prefix()));
    out.models.push_back(std::move(m));
    out.index.Insert(out.models, static_cast<int>(out.models.size()) - 1);  // absent: checked above
    return core::Ok();
  }));
  FL_RETURN_IF_ERROR(core::ForEachTable(root, "event", file.path, false, [&](const TomlFields& f, const toml::table& t) -> Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"model", "kind", "at"}));
    Event e;
    e.where = f.Where();
    FL_ASSIGN_OR_RETURN(e.model, f.String("model"));
    FL_ASSIGN_OR_RETURN(e.kind, OneOf(f, "kind", kEventKinds, std::nullopt));
    FL_ASSIGN_OR_RETURN(e.at, ReadInstant(f, t, "at"));
    out.events.push_back(std::move(e));
    return core::Ok();
  }));
  return core::Ok();
}

}  // namespace internal

using core::Result;

std::optional<std::string> MoneyProblem(double usd) {
  if (std::isfinite(usd) && usd >= 0 && usd <= kMaxUsd) return std::nullopt;
  if (std::isnan(usd)) return std::string("must be an amount in USD, got nan");
  if (usd < 0) return fmt::format("must be zero or more, got {}", usd);
  return fmt::format("is too large: at most {} USD fits in whole cents, got {}", kMaxUsd, usd);
}

std::uint64_t IdIndex::Hash(std::string_view id) { return std::hash<std::string_view>{}(id); }

void IdIndex::Prefetch(std::uint64_t hash) const {
  if (!slots_.empty()) __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
}

void IdIndex::Clear() {
  slots_.clear();
  size_ = 0;
}

void IdIndex::Reserve(const std::vector<Model>& models, std::size_t count) {
  std::size_t capacity = 16;
  while (capacity < 2 * count) capacity *= 2;
  if (capacity > slots_.size()) Rehash(models, capacity);
}

void IdIndex::Rehash(const std::vector<Model>& models, std::size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  const std::size_t mask = capacity - 1;
  for (const Slot& s : old) {
    if (s.at < 0) continue;
    const std::uint64_t h = Hash(models[static_cast<std::size_t>(s.at)].id);
    std::size_t i = h & mask;
    while (slots_[i].at >= 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

int IdIndex::Insert(const std::vector<Model>& models, int at) {
  if (2 * (size_ + 1) > slots_.size()) Rehash(models, std::max<std::size_t>(16, 2 * slots_.size()));
  return InsertHashed(models, at, Hash(models[static_cast<std::size_t>(at)].id));
}

int IdIndex::InsertRange(const std::vector<Model>& models, int begin, int end) {
  if (end <= begin) return -1;
  Reserve(models, size_ + static_cast<std::size_t>(end - begin));
  constexpr int kAhead = 16;
  std::uint64_t ahead[kAhead];  // the hashes of the next models, by position % kAhead
  const std::size_t mask = slots_.size() - 1;
  auto fetch = [&](int at) {
    ahead[at % kAhead] = Hash(models[static_cast<std::size_t>(at)].id);
    __builtin_prefetch(&slots_[ahead[at % kAhead] & mask]);
  };
  for (int at = begin; at < std::min(end, begin + kAhead); ++at) fetch(at);
  for (int at = begin; at < end; ++at) {
    const std::uint64_t h = ahead[at % kAhead];
    if (at + kAhead < end) fetch(at + kAhead);
    if (InsertHashed(models, at, h) >= 0) return at;
  }
  return -1;
}

// Adds models[at] with its id's hash; the table has room (Insert, InsertRange).
int IdIndex::InsertHashed(const std::vector<Model>& models, int at, std::uint64_t h) {
  const std::string& id = models[static_cast<std::size_t>(at)].id;
  const auto tag = static_cast<std::uint32_t>(h >> 32);
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = h & mask;
  for (; slots_[i].at >= 0; i = (i + 1) & mask) {
    if (slots_[i].tag == tag && models[static_cast<std::size_t>(slots_[i].at)].id == id) return slots_[i].at;
  }
  slots_[i] = Slot{tag, at};
  ++size_;
  return -1;
}

int IdIndex::Find(const std::vector<Model>& models, std::string_view id) const {
  return Find(models, id, Hash(id));
}

int IdIndex::Find(const std::vector<Model>& models, std::string_view id, std::uint64_t h) const {
  if (slots_.empty()) return -1;
  const auto tag = static_cast<std::uint32_t>(h >> 32);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask; slots_[i].at >= 0; i = (i + 1) & mask) {
    const auto at = static_cast<std::size_t>(slots_[i].at);
    if (slots_[i].tag == tag && at < models.size() && models[at].id == id) return slots_[i].at;
  }
  return -1;
}

int Inventory::Find(std::string_view id) const {
  // The index is trusted while it covers every model (the parsers and LinkLineage keep it so); an
  // inventory built or changed in code is scanned.
  if (index.size() == models.size()) return index.Find(models, id);
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (models[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

Result<void> LinkLineage(Inventory& inv) {
  if (inv.index.size() != inv.models.size()) {
    inv.index.Clear();
    if (int again = inv.index.InsertRange(inv.models, 0, static_cast<int>(inv.models.size())); again >= 0) {
      const Model& m = inv.models[static_cast<std::size_t>(again)];
      return core::InvalidArgument(fmt::format("'{}' is already defined", m.id), "id", m.where);
    }
  }
  // Each base's slot fetched a few models ahead: a large inventory's table is larger than the caches.
  constexpr std::size_t kAhead = 16;
  const std::size_t n = inv.models.size();
  std::vector<std::uint64_t> base_hash(std::min(n, kAhead));
  auto fetch = [&](std::size_t i) {
    if (inv.models[i].base.empty()) return;
    base_hash[i % kAhead] = IdIndex::Hash(inv.models[i].base);
    inv.index.Prefetch(base_hash[i % kAhead]);
  };
  for (std::size_t i = 0; i < std::min(n, kAhead); ++i) fetch(i);
  inv.base_index.assign(n, -1);
  for (std::size_t i = 0; i < n; ++i) {
    const Model& m = inv.models[i];
    const std::uint64_t hash = base_hash[i % kAhead];
    if (i + kAhead < n) fetch(i + kAhead);
    if (m.base.empty()) continue;
    const int base = inv.index.Find(inv.models, m.base, hash);
    if (base < 0) {
      return core::InvalidArgument(fmt::format("'{}' names no model in the files given", m.base), "base", m.where);
    }
    inv.base_index[i] = base;
  }
  // Every chain of bases must end; order models so that bases come first. Each model has one base,
  // so following bases from any model either ends or revisits a model of the same walk: a cycle.
  std::vector<std::uint8_t> state(inv.models.size(), 0);  // 0 new, 1 on the current walk, 2 placed
  inv.order.clear();
  inv.order.reserve(inv.models.size());
  std::vector<int> walk;
  for (std::size_t start = 0; start < inv.models.size(); ++start) {
    walk.clear();
    int at = static_cast<int>(start);
    while (at >= 0 && state[static_cast<std::size_t>(at)] == 0) {
      state[static_cast<std::size_t>(at)] = 1;
      walk.push_back(at);
      at = inv.base_index[static_cast<std::size_t>(at)];
    }
    if (at >= 0 && state[static_cast<std::size_t>(at)] == 1) {
      const Model& m = inv.models[static_cast<std::size_t>(at)];
      return core::InvalidArgument(fmt::format("the lineage of '{}' is a cycle: it is its own ancestor", m.id),
                                   "base", m.where);
    }
    for (auto it = walk.rbegin(); it != walk.rend(); ++it) {
      state[static_cast<std::size_t>(*it)] = 2;
      inv.order.push_back(*it);
    }
  }
  for (const Event& e : inv.events) {
    if (inv.index.Find(inv.models, e.model) < 0) {
      return core::InvalidArgument(fmt::format("'{}' names no model in the files given", e.model), "event.model", e.where);
    }
  }
  return core::Ok();
}

Result<Inventory> ParseInventory(const std::vector<ModelFile>& files, const compute::AcceleratorTable& accelerators,
                                 const compute::PriceTable& prices, const compute::ConfigLoader& load) {
  Inventory inv;
  for (const ModelFile& file : files) {
    if (internal::IsJsonl(file.path)) {
      // simdjson reads past the end of what it parses: give it a padded copy.
      simdjson::padded_string padded(file.text);
      FL_RETURN_IF_ERROR(internal::ParseJsonlModels(file.path, padded, inv, accelerators, prices, load));
    } else {
      FL_RETURN_IF_ERROR(internal::ParseTomlModels(file, inv, accelerators, prices, load));
    }
  }
  if (inv.models.empty()) {
    return core::InvalidArgument("the files given hold no [[model]] tables: nothing to assess", "model",
                                 core::Location{files.empty() ? std::string() : files.front().path, 1, 1});
  }
  FL_RETURN_IF_ERROR(LinkLineage(inv));
  return inv;
}

Result<Inventory> LoadInventory(const std::vector<std::string>& paths, const compute::AcceleratorTable& accelerators,
                                const compute::PriceTable& prices) {
  // One file at a time, each dropped once parsed: a million-model file is read once and never
  // held twice.
  Inventory inv;
  for (const std::string& path : paths) {
    if (internal::IsJsonl(path)) {
      FL_ASSIGN_OR_RETURN(simdjson::padded_string text, internal::ReadPadded(path));
      FL_RETURN_IF_ERROR(internal::ParseJsonlModels(path, text, inv, accelerators, prices, {}));
    } else {
      FL_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
      FL_RETURN_IF_ERROR(internal::ParseTomlModels({path, std::move(text)}, inv, accelerators, prices, {}));
    }
  }
  if (inv.models.empty()) {
    return core::InvalidArgument("the files given hold no [[model]] tables: nothing to assess", "model",
                                 core::Location{paths.empty() ? std::string() : paths.front(), 1, 1});
  }
  FL_RETURN_IF_ERROR(LinkLineage(inv));
  return inv;
}

}  // namespace flopline::rules
