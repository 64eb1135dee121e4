// File: flopline/compute/runs_file.h
//
// A runs file lists training runs to estimate in one go (`flopline flops --runs FILE`), e.g.
//
//   [[run]]
//   name = "Llama 2 7B pretraining"
//   config = "configs/llama-2-7b-chat.json"   # relative to this file; or params = 6.7e9
//   tokens = 2.0e12
//   accelerator = "A100-SXM4-80GB"             # optional hardware-time method:
//   accelerator_hours = 184320                 #   accelerator_hours, or count and hours
//   start = 2023-01-01                         # optional: prices the run at that date
//
// Keys: name, config, params, flop, tokens, seq_len, attention ("causal" | "full"), recompute,
// accelerator, count, hours, accelerator_hours, utilization, precision, start, cost_usd,
// price_per_hour, pricing_accelerator. Unknown keys and bad values are errors at file:line.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/compute/estimate.h"
#include "flopline/core/result.h"
#include "flopline/core/toml_fields.h"

namespace flopline::compute {

struct Run {
  std::string name;
  EstimateRequest request;
};

// Reads one config.json; injectable so tests and fuzzers need no files.
using ConfigLoader = std::function<core::Result<Architecture>(const std::string& path)>;

// Reads the compute keys of one run (or one training stage of a model file) into a request: config,
// params, flop (a known count), tokens, seq_len, attention, recompute, accelerator, count, hours,
// accelerator_hours, utilization, precision, start, cost_usd, price_per_hour, pricing_accelerator.
// The caller checks which keys its table allows. Relative config paths resolve against f.file().
core::Result<EstimateRequest> ParseEstimateFields(const core::TomlFields& f, const ConfigLoader& load);
inline const std::vector<std::string_view> kEstimateKeys = {
    "config", "params", "flop", "tokens", "seq_len", "attention", "recompute", "accelerator", "count", "hours",
    "accelerator_hours", "utilization", "precision", "start", "cost_usd", "price_per_hour", "pricing_accelerator"};

// Parses the runs and loads each run's config with `load` (paths relative to the runs file's
// directory; LoadHfConfig by default).
core::Result<std::vector<Run>> ParseRunsFile(std::string_view text, const std::string& file,
                                             const ConfigLoader& load = {});
core::Result<std::vector<Run>> LoadRunsFile(const std::string& path, const ConfigLoader& load = {});

}  // namespace flopline::compute
