// `flopline flops`: training compute two ways, and its cost. Thin: flags -> EstimateRequest ->
// compute::EstimateTraining -> table or JSON.
#include <filesystem>
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "commands.h"
#include "flops_table.h"
#include "range_flag.h"
#include "flopline/compute/estimate_json.h"
#include "flopline/compute/hf_config.h"
#include "flopline/compute/runs_file.h"

namespace flopline::cli {
namespace {

struct FlopsOptions {
  std::string config, runs, data_dir, format = "table";
  std::optional<double> params, tokens, count, hours, cost_usd, price_per_hour, decoder_ratio;
  std::optional<std::int64_t> seq_len, image_size;
  std::optional<double> images_per_sample;
  std::string attention = "causal", accelerator, utilization, precision, start, pricing_accelerator;
  bool recompute = false;
};

// The family files of the data directory when it has them (a user's new family needs no rebuild);
// the ones compiled in otherwise, so an installed binary without data/architectures/ still counts.
core::Result<compute::FamilyCatalog> LoadFamilies(const std::string& data_dir) {
  std::error_code ec;
  std::string dir = data_dir + "/architectures";
  if (!std::filesystem::is_directory(dir, ec)) return compute::FamilyCatalog::Shipped();
  return compute::FamilyCatalog::LoadDir(dir);
}

core::Result<compute::EstimateRequest> BuildRequest(const FlopsOptions& o,
                                                    const compute::FamilyCatalog& families) {
  compute::EstimateRequest r;
  if (!o.config.empty()) {
    FL_ASSIGN_OR_RETURN(r.architecture, compute::LoadHfConfig(o.config, families));
    r.config_path = o.config;
  }
  r.params = o.params;
  r.tokens = o.tokens;
  r.seq_len = o.seq_len;
  r.decoder_ratio = o.decoder_ratio;
  r.images_per_sample = o.images_per_sample;
  r.image_size = o.image_size;
  r.mask = o.attention == "full" ? compute::AttentionMask::kFull : compute::AttentionMask::kCausal;
  r.recompute = o.recompute;
  if (!o.accelerator.empty()) {
    if (!o.count || !o.hours) {
      return core::InvalidArgument("needs --count N and --hours H", "--accelerator");
    }
    compute::HardwareRun h;
    h.accelerator = o.accelerator;
    h.count = *o.count;
    h.hours = *o.hours;
    h.precision = o.precision;
    if (!o.utilization.empty()) {
      FL_ASSIGN_OR_RETURN(auto u, ParseValueOrRange(o.utilization, "--utilization"));
      h.utilization_low = u.first;
      h.utilization_high = u.second;
    }
    r.hardware = h;
  } else if (o.count || o.hours || !o.utilization.empty()) {
    return core::InvalidArgument("--count, --hours and --utilization need --accelerator NAME", "--accelerator");
  }
  if (!o.start.empty()) {
    auto date = core::Date::Parse(o.start);
    if (!date) return core::InvalidArgument(date.error().message, "--start");
    r.start = *date;
  }
  r.cost_usd = o.cost_usd;
  r.price_per_hour = o.price_per_hour;
  if (!o.pricing_accelerator.empty()) r.pricing_accelerator = o.pricing_accelerator;
  return r;
}

int Run(const FlopsOptions& o) {
  std::string data_dir = FindDataDir(o.data_dir);
  auto accelerators = compute::AcceleratorTable::Load(data_dir + "/accelerators.toml");
  if (!accelerators) return ReportError("flops", accelerators.error().ToString());
  auto prices = compute::PriceTable::Load(data_dir + "/cloud-prices.toml");
  if (!prices) return ReportError("flops", prices.error().ToString());
  auto families = LoadFamilies(data_dir);
  if (!families) return ReportError("flops", families.error().ToString());

  if (!o.runs.empty()) {
    auto runs = compute::LoadRunsFile(
        o.runs, [&](const std::string& path) { return compute::LoadHfConfig(path, *families); });
    if (!runs) return ReportError("flops", runs.error().ToString());
    std::vector<std::string> names;
    std::vector<compute::Estimate> estimates;
    for (const compute::Run& run : *runs) {
      auto estimate = compute::EstimateTraining(run.request, *accelerators, *prices);
      if (!estimate) {
        return ReportError("flops", fmt::format("{}: run '{}': {}", o.runs, run.name,
                                                estimate.error().ToString()));
      }
      names.push_back(run.name);
      estimates.push_back(std::move(*estimate));
    }
    if (o.format == "json") {
      nlohmann::json out = nlohmann::json::array();
      for (std::size_t i = 0; i < estimates.size(); ++i) {
        nlohmann::json item = compute::EstimateToJson(estimates[i]);
        item["name"] = names[i];
        out.push_back(std::move(item));
      }
      std::cout << out.dump(2) << "\n";
    } else {
      PrintRunsTable(std::cout, names, estimates);
    }
    return 0;
  }

  auto request = BuildRequest(o, *families);
  if (!request) return ReportError("flops", request.error().ToString());
  auto estimate = compute::EstimateTraining(*request, *accelerators, *prices);
  if (!estimate) return ReportError("flops", estimate.error().ToString());
  if (o.format == "json") {
    std::cout << compute::EstimateToJson(*estimate).dump(2) << "\n";
  } else {
    PrintEstimate(std::cout, *estimate);
  }
  return 0;
}

}  // namespace

CommandRunner AddFlopsCommand(CLI::App& app) {
  auto options = std::make_shared<FlopsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "flops", "Training compute from a config.json (exact count and 6ND), from hardware time, or both; and its cost");
  FlopsOptions& o = *options;
  cmd->add_option("--config", o.config, "Hugging Face config.json of the model")->check(CLI::ExistingFile);
  cmd->add_option("--params", o.params, "parameter count N, for 6*N*D without a config");
  cmd->add_option("--tokens", o.tokens, "training tokens D");
  cmd->add_option("--seq-len", o.seq_len, "training sequence length (default: the config's pretraining length)");
  cmd->add_option("--decoder-ratio", o.decoder_ratio,
                  "encoder-decoder models (t5): decoder tokens per encoder token; --tokens counts encoder tokens");
  cmd->add_option("--images-per-sample", o.images_per_sample,
                  "vision-language models: images per training sample of --seq-len tokens");
  cmd->add_option("--image-size", o.image_size, "vision-language models: image side in pixels");
  cmd->add_option("--attention", o.attention, "causal (default) or full: the whole S x S score matrix")
      ->check(CLI::IsMember({"causal", "full"}));
  cmd->add_flag("--recompute", o.recompute, "also report full activation recomputation (+1 forward), apart");
  cmd->add_option("--accelerator", o.accelerator, "accelerator name (see data/accelerators.toml)");
  cmd->add_option("--count", o.count, "number of accelerators");
  cmd->add_option("--hours", o.hours, "wall-clock hours");
  cmd->add_option("--utilization", o.utilization, "model FLOP utilization, 0.4 or a range 0.3-0.45 (default: unknown)");
  cmd->add_option("--precision", o.precision, "precision of the peak: bf16, fp16, fp8, tf32, ... (default per accelerator)");
  cmd->add_option("--start", o.start, "start of training, YYYY-MM-DD: prices the run at that date's cloud prices");
  cmd->add_option("--cost-usd", o.cost_usd, "the run's cost if known: overrides pricing");
  cmd->add_option("--price-per-hour", o.price_per_hour, "USD per accelerator-hour: overrides the price table");
  cmd->add_option("--pricing-accelerator", o.pricing_accelerator,
                  "accelerator to price FLOP on when no hardware is given (default H100-SXM)");
  cmd->add_option("--runs", o.runs, "a runs file (TOML) of many runs; see docs/flops.md")->check(CLI::ExistingFile);
  cmd->add_option("--format", o.format, "table (default) or json")->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--data-dir", o.data_dir, "directory of accelerators.toml, cloud-prices.toml and architectures/");
  return [options] { return Run(*options); };
}

}  // namespace flopline::cli
