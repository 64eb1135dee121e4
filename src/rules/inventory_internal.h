// File: src/rules/inventory_internal.h (private to the rules module)
//
// The pieces of the model-file parsers that the TOML reader (inventory.cc) and the JSON Lines reader
// (inventory_jsonl.cc) share, so that a stage, a model or an event means the same in both formats.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>
#include <toml++/toml.h>

#include "flopline/core/toml_fields.h"
#include "flopline/rules/inventory.h"

namespace flopline::rules::internal {

inline const std::vector<std::string> kStageKinds = {"pretrain", "fine-tune", "rl", "synthetic-data", "other"};

// `key` must be one of `allowed`; absent gives `fallback`, or an error when there is none.
core::Result<std::string> OneOf(const core::TomlFields& f, std::string_view key,
                                const std::vector<std::string>& allowed, std::optional<std::string> fallback);
core::Result<core::Instant> ReadInstant(const core::TomlFields& f, const toml::table& t, std::string_view key);
core::Result<void> CheckMoneyField(const core::TomlFields& f, const toml::table& t, std::string_view key);
core::Result<void> CheckArrayOfTables(const toml::table& t, std::string_view key, const std::string& file,
                                      const std::string& name);

// One training stage from its table (the compute keys and `kind`), estimated by compute::.
core::Result<TrainingStage> ParseStage(const core::TomlFields& f, const toml::table& t,
                                       const compute::AcceleratorTable& accelerators,
                                       const compute::PriceTable& prices, const compute::ConfigLoader& load);

// Adds the models and events of one file to `out` (ids checked against out.index); lineage is
// linked by the caller once every file is read.
core::Result<void> ParseTomlModels(const ModelFile& file, Inventory& out,
                                   const compute::AcceleratorTable& accelerators,
                                   const compute::PriceTable& prices, const compute::ConfigLoader& load);
core::Result<void> ParseJsonlModels(const std::string& path, const simdjson::padded_string& text, Inventory& out,
                                    const compute::AcceleratorTable& accelerators,
                                    const compute::PriceTable& prices, const compute::ConfigLoader& load);

bool IsJsonl(std::string_view path);
core::Result<simdjson::padded_string> ReadPadded(const std::string& path);

}  // namespace flopline::rules::internal
