// File: flopline/rules/inventory.h
//
// Models, their lineage and their events, from one or more model files (docs/assess.md):
//
//   [[model]]
//   id = "acme-f1"                 # unique across all files
//   developer = "Acme AI"
//   developer_revenue_usd = 2.0e9  # preceding calendar year, with affiliates
//   foundation_model = true
//   base = ""                      # the model this one was made from
//   derivation = "pretrain"        # pretrain | fine-tune | post-training-modification | copy | combination | distillation
//   [[model.training]]
//   kind = "pretrain"              # pretrain | fine-tune | rl | synthetic-data | other
//   start = 2026-02-01
//   flop = 1.2e26                  # or config + tokens, params + tokens, accelerator + count + hours
//   cost_usd = 1.5e8               # optional; else priced at `start` by compute::
//
//   [[event]]
//   model = "acme-f1"
//   kind = "released"
//   at = 2026-06-01T09:00:00Z
//
// Errors at file:line with the field: unknown keys, bad values, a duplicate id, a `base` that names
// no model, a derivation without a base (or a base without one), a cycle in the lineage, an event
// for an unknown model or of an unknown kind.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "flopline/compute/accelerators.h"
#include "flopline/compute/prices.h"
#include "flopline/compute/runs_file.h"
#include "flopline/core/instant.h"
#include "flopline/core/result.h"

namespace flopline::rules {

struct TrainingStage {
  std::string kind;                    // pretrain | fine-tune | rl | synthetic-data | other
  core::Date start;
  double flop = 0;
  double flop_low = 0, flop_high = 0;
  std::string flop_method;             // compute's method: given, architecture, hardware-time, ...
  std::optional<double> cost_usd;      // unknown when neither given nor priceable
  std::string cost_source;             // given | cloud-price-table | price-per-hour | why unknown
  core::Location where;
};

struct Model {
  std::string id, developer;
  std::optional<double> developer_revenue_usd;
  bool foundation_model = false;
  std::string base;                    // empty for a model trained from scratch
  std::string derivation = "pretrain";
  std::vector<TrainingStage> training;
  // EU AI Act (regimes/eu-ai-act-gpai.toml): a free and open-source licence with public weights
  // (Art. 53(2)); whether the provider is established in the Union (Art. 54); worldwide turnover
  // in euros for fines (Art. 101: never converted from USD without a dated rate).
  bool open_source = false;
  std::optional<bool> eu_established;
  std::optional<double> developer_turnover_eur;
  // Costs of making the model other than its stages' compute at market price, in USD, by
  // component (kCostComponents in regime.h: other-compute, data, people, earlier-runs), from
  // `[model.costs]`: recorded so each regime version can say whether its text counts them.
  std::vector<std::pair<std::string, double>> other_costs;
  core::Location where;
};

struct Event {
  std::string model, kind;
  core::Instant at;
  core::Location where;
};

// Model ids to their positions in a list of models: an open-addressing table of (hash, position)
// over the models' own ids, nothing copied. A million models cost 16 MB, no allocation each, and
// a lookup touches two cache lines (a map of strings allocated a node per model and was most of
// what `assess` does on one core between parsing and judging).
class IdIndex {
 public:
  // Adds models[at] (already in `models`); returns the position of an earlier model with the same
  // id (nothing added), or -1.
  int Insert(const std::vector<Model>& models, int at);
  // Adds models[begin, end) in order, each one's slot fetched from memory a few models ahead (the
  // table of a large inventory is larger than the caches: each insert is a miss); returns the
  // first position whose id an earlier model has (nothing from it on added), or -1.
  int InsertRange(const std::vector<Model>& models, int begin, int end);
  int Find(const std::vector<Model>& models, std::string_view id) const;  // -1 if absent
  // The same in steps, for many lookups in a row: Hash(id), Prefetch(hash) a few lookups ahead,
  // then Find with the hash.
  static std::uint64_t Hash(std::string_view id);
  void Prefetch(std::uint64_t hash) const;
  int Find(const std::vector<Model>& models, std::string_view id, std::uint64_t hash) const;
  std::size_t size() const { return size_; }
  void Clear();
  void Reserve(const std::vector<Model>& models, std::size_t count);

 private:
  struct Slot {
    std::uint32_t tag = 0;  // the hash's high bits: most mismatches end here, without the string
    std::int32_t at = -1;   // -1: empty
  };
  void Rehash(const std::vector<Model>& models, std::size_t capacity);
  int InsertHashed(const std::vector<Model>& models, int at, std::uint64_t hash);
  std::vector<Slot> slots_;  // a power of two long, at most half full
  std::size_t size_ = 0;
};

struct Inventory {
  std::vector<Model> models;
  std::vector<Event> events;           // in the order read
  std::vector<int> order;              // model indices, every base before its derivatives
  std::vector<int> base_index;         // per model: index of its base, or -1
  // id -> model index, kept by the parsers and LinkLineage; Find falls back to a scan when it is
  // stale (an inventory built or changed in code), so it is never wrong, only slower.
  IdIndex index;

  int Find(std::string_view id) const;  // -1 if absent
};

struct ModelFile {
  std::string path;
  std::string text;
};

// The largest amount of money a model file may give: compute keeps money in whole cents in an
// int64 (core::UsdCents), so anything larger would be clamped, not kept.
inline constexpr double kMaxUsd = 9.0e16;
// Why `usd` is not an amount a model file may give (non-finite, negative, or above kMaxUsd), or
// nullopt when it is.
std::optional<std::string> MoneyProblem(double usd);

// Parses the files: TOML, or JSON Lines when the path ends in ".jsonl" (docs/assess.md): one
// {"model": {...}} or {"event": {...}} per line, with the keys of a [[model]] or [[event]] table
// (stages as "training": [{...}], dates and instants as ISO 8601 strings); errors name the line and
// the field. Every file must hold a model or an event, and the files together at least one model. (stages estimated with the tables; configs read with `load`, or from disk).
core::Result<Inventory> ParseInventory(const std::vector<ModelFile>& files,
                                       const compute::AcceleratorTable& accelerators,
                                       const compute::PriceTable& prices,
                                       const compute::ConfigLoader& load = {});
core::Result<Inventory> LoadInventory(const std::vector<std::string>& paths,
                                      const compute::AcceleratorTable& accelerators,
                                      const compute::PriceTable& prices);

// Checks lineage (a duplicate id is an error) and fills `order`, `base_index` and `index`; for
// inventories built in code.
core::Result<void> LinkLineage(Inventory& inventory);

// Writes the models and events of the files (TOML or JSON Lines, read and checked as
// ParseInventory does) as JSON Lines, one {"model": ...} or {"event": ...} per line: the bulk format,
// key for key. Instants are written in UTC ("Z"); relative `config` paths, relative to their TOML
// file, are written absolute. The caller checks the files first (LoadInventory).
core::Result<void> WriteJsonl(const std::vector<std::string>& paths, std::ostream& out);

}  // namespace flopline::rules
