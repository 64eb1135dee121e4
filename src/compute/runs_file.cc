#include "flopline/compute/runs_file.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "flopline/compute/hf_config.h"
#include "flopline/core/toml_fields.h"

namespace flopline::compute {

using core::ParseToml;
using core::ParseTomlFile;
using core::TomlFields;
using core::TomlLocation;

core::Result<EstimateRequest> ParseEstimateFields(const TomlFields& f, const ConfigLoader& load) {
  EstimateRequest r;
  FL_ASSIGN_OR_RETURN(auto config, f.OptionalString("config"));
  if (config) {
    std::filesystem::path path(*config);
    if (path.is_relative()) path = std::filesystem::path(f.file()).parent_path() / path;
    r.config_path = path.lexically_normal().string();
    auto arch = load ? load(r.config_path) : LoadHfConfig(r.config_path);
    if (!arch) {
      // The config's own error first; the run that named it is where to fix a bad path.
      core::Error error = arch.error();
      if (error.code == core::Code::kNotFound) return f.Bad("config", fmt::format("cannot open '{}'", r.config_path));
      return tl::unexpected(std::move(error));
    }
    r.architecture = std::move(*arch);
  }
  FL_ASSIGN_OR_RETURN(r.params, f.OptionalPositive("params"));
  FL_ASSIGN_OR_RETURN(r.known_flop, f.OptionalPositive("flop"));
  FL_ASSIGN_OR_RETURN(r.tokens, f.OptionalPositive("tokens"));
  FL_ASSIGN_OR_RETURN(auto seq_len, f.OptionalPositive("seq_len"));
  if (seq_len) {
    // Range first: casting 9e52 to an integer is undefined (found by runs_file_fuzz).
    if (*seq_len > 1e8 || *seq_len != std::floor(*seq_len)) {
      return f.Bad("seq_len", "expected a whole number of tokens up to 1e8");
    }
    r.seq_len = static_cast<std::int64_t>(*seq_len);
  }
  FL_ASSIGN_OR_RETURN(auto attention, f.OptionalString("attention"));
  if (attention) {
    if (*attention == "causal") r.mask = AttentionMask::kCausal;
    else if (*attention == "full") r.mask = AttentionMask::kFull;
    else return f.Bad("attention", fmt::format("expected \"causal\" or \"full\", got \"{}\"", *attention));
  }
  FL_ASSIGN_OR_RETURN(auto recompute, f.OptionalBool("recompute"));
  r.recompute = recompute.value_or(false);

  FL_ASSIGN_OR_RETURN(auto accelerator, f.OptionalString("accelerator"));
  FL_ASSIGN_OR_RETURN(auto count, f.OptionalPositive("count"));
  FL_ASSIGN_OR_RETURN(auto hours, f.OptionalPositive("hours"));
  FL_ASSIGN_OR_RETURN(auto accelerator_hours, f.OptionalPositive("accelerator_hours"));
  FL_ASSIGN_OR_RETURN(auto utilization, f.OptionalPositive("utilization"));
  FL_ASSIGN_OR_RETURN(auto precision, f.OptionalString("precision"));
  if (accelerator) {
    HardwareRun h;
    h.accelerator = *accelerator;
    if (accelerator_hours && (count || hours)) {
      return f.Bad("accelerator_hours", "give accelerator_hours, or count and hours, not both");
    }
    if (accelerator_hours) {
      h.count = 1;  // the product is what the method uses
      h.hours = *accelerator_hours;
    } else if (count && hours) {
      h.count = *count;
      h.hours = *hours;
    } else {
      return f.Bad("accelerator", "needs accelerator_hours, or count and hours");
    }
    if (utilization) {
      if (*utilization > 1) return f.Bad("utilization", fmt::format("must be in (0, 1], got {}", *utilization));
      h.utilization_low = h.utilization_high = *utilization;
    }
    h.precision = precision.value_or("");
    r.hardware = h;
  } else if (count || hours || accelerator_hours || utilization || precision) {
    return f.Bad(count ? "count" : hours ? "hours" : accelerator_hours ? "accelerator_hours"
                 : utilization ? "utilization" : "precision",
                 "needs accelerator");
  }
  FL_ASSIGN_OR_RETURN(r.start, f.OptionalDate("start"));
  FL_ASSIGN_OR_RETURN(r.cost_usd, f.OptionalPositive("cost_usd"));
  FL_ASSIGN_OR_RETURN(r.price_per_hour, f.OptionalPositive("price_per_hour"));
  FL_ASSIGN_OR_RETURN(r.pricing_accelerator, f.OptionalString("pricing_accelerator"));
  return r;
}

namespace {

core::Result<Run> ParseRun(const TomlFields& f, const ConfigLoader& load) {
  std::vector<std::string_view> keys(kEstimateKeys);
  keys.push_back("name");
  FL_RETURN_IF_ERROR(f.OnlyKeys(keys));
  Run run;
  FL_ASSIGN_OR_RETURN(run.name, f.String("name"));
  FL_ASSIGN_OR_RETURN(run.request, ParseEstimateFields(f, load));
  return run;
}

}  // namespace

core::Result<std::vector<Run>> ParseRunsFile(std::string_view text, const std::string& file,
                                             const ConfigLoader& load) {
  FL_ASSIGN_OR_RETURN(toml::table root, ParseToml(text, file));
  for (const auto& [key, node] : root) {
    if (key.str() != "run") {
      return core::InvalidArgument("unknown key; a runs file holds [[run]] tables only",
                                   std::string(key.str()), TomlLocation(node, file));
    }
  }
  std::vector<Run> runs;
  FL_RETURN_IF_ERROR(core::ForEachTable(root, "run", file, /*required=*/true,
                                        [&](const TomlFields& f, const toml::table&) -> core::Result<void> {
    FL_ASSIGN_OR_RETURN(Run run, ParseRun(f, load));
    runs.push_back(std::move(run));
    return core::Ok();
  }));
  return runs;
}

core::Result<std::vector<Run>> LoadRunsFile(const std::string& path, const ConfigLoader& load) {
  FL_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
  return ParseRunsFile(text, path, load);
}

}  // namespace flopline::compute
