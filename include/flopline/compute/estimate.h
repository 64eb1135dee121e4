// File: flopline/compute/estimate.h
//
// A training-compute estimate, two ways, with its conventions, its range and its cost:
//   - the architecture method: exact FLOP per token x tokens (flop_count.h), beside 6·N·D;
//   - the 6·N·D method alone, from a parameter count (--params) when there is no config;
//   - the hardware-time method: accelerators x hours x peak x utilization;
// and both together, reconciled (their ratio and the utilization the count implies).
//
// Example:
//   EstimateRequest req;
//   req.architecture = *LoadHfConfig("llama.json");
//   req.tokens = 2e12;
//   Estimate e = *EstimateTraining(req, accelerators, prices);
//   e.training_flop.point  // the exact count; e.training_flop.low/high its range
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flopline/compute/accelerators.h"
#include "flopline/compute/architecture.h"
#include "flopline/compute/flop_count.h"
#include "flopline/compute/prices.h"
#include "flopline/core/date.h"
#include "flopline/core/result.h"
#include "flopline/core/units.h"

namespace flopline::compute {

// Epoch AI's default utilization when none is known: 30% for LLMs, 40% for other models.
inline constexpr double kDefaultUtilizationLow = 0.30;
inline constexpr double kDefaultUtilizationHigh = 0.40;
// The accelerator FLOP alone are priced on when no hardware is named: the frontier workhorse of the
// years the price table covers. The output says it was defaulted.
inline constexpr const char* kDefaultPricingAccelerator = "H100-SXM";

struct Range {
  double low = 0;
  double point = 0;
  double high = 0;
};

struct MoneyRange {
  core::UsdCents low, point, high;
};

struct HardwareRun {
  std::string accelerator;  // as the user wrote it
  double count = 0;         // accelerators (GPUs or TPU chips)
  double hours = 0;         // wall-clock hours
  std::optional<double> utilization_low;   // given utilization (low == high for a point)
  std::optional<double> utilization_high;
  std::string precision;    // "" = the accelerator's default
};

struct EstimateRequest {
  std::optional<Architecture> architecture;
  std::string config_path;                 // for display only
  std::optional<double> params;            // N for 6·N·D when there is no config
  std::optional<double> known_flop;        // a count the developer reports: method "given"
  std::optional<double> tokens;            // D
  std::optional<std::int64_t> seq_len;     // overrides the config's pretraining length
  // Encoder-decoder models only (T5): decoder (target) tokens per encoder (input) token. `tokens`
  // then counts encoder tokens, and seq_len is the encoder's length.
  std::optional<double> decoder_ratio;
  // Vision-language models only: images per training sample (seq_len tokens, the images' own
  // tokens among them) and their side in pixels. Without them the vision tower is not counted.
  std::optional<double> images_per_sample;
  std::optional<std::int64_t> image_size;
  AttentionMask mask = AttentionMask::kCausal;
  bool recompute = false;
  std::optional<HardwareRun> hardware;
  std::optional<core::Date> start;             // start of training, for pricing
  std::optional<double> cost_usd;              // a cost the user knows: overrides pricing
  std::optional<double> price_per_hour;        // USD per accelerator-hour: overrides the table
  std::optional<std::string> pricing_accelerator;  // prices FLOP alone when no hardware is given
};

struct ArchitectureEstimate {
  std::string model_type;
  std::string family;
  std::string family_file;                // the architecture file it was read with
  std::vector<std::string> ignored_keys;  // config keys that do not change the count
  ParamCounts params;
  std::int64_t seq_len = 0;
  std::string seq_len_source;   // "--seq-len" or the config key it came from
  std::optional<EncoderDecoderRun> encoder_decoder;  // for an encoder-decoder model
  std::optional<VisionRun> vision;                   // when a vision tower's images are counted
  double vision_flop_per_image = 0;                  // forward
  std::int64_t image_tokens_per_image = 0;
  // The N of 6·N·D per (encoder) token and the all-active-parameters reading, with their meaning.
  double six_nd_n = 0;
  double six_nd_n_all_active = 0;
  std::string six_nd_n_definition;
  AttentionMask mask = AttentionMask::kCausal;
  PerTokenFlop per_token;
  double flop_per_token_training = 0;       // 3 x (forward + training-only forward)
  std::map<std::string, double> breakdown;  // training FLOP by component; sums to training_flop
  double training_flop = 0;                 // the exact count, without recomputation
  double training_flop_full_attention = 0;  // the same with no causal savings (range's upper end)
};

struct HardwareEstimate {
  std::string accelerator_id;
  std::string accelerator_name;
  std::string accelerator_source;
  std::string precision;
  double peak_flops = 0;       // per accelerator, dense
  double count = 0;
  double hours = 0;
  Range utilization;
  std::string utilization_source;  // "given" or the Epoch default range
  Range flop;
};

struct Reconciliation {
  double ratio = 0;                // counted / hardware estimate at its point utilization
  double implied_utilization = 0;  // counted FLOP / (peak x accelerator-seconds): model FLOP utilization
  std::optional<double> implied_hardware_utilization;  // with recomputation counted, when requested
};

struct CostEstimate {
  MoneyRange usd;
  std::string source;  // "given", "cloud-price-table", "price-per-hour"
  std::string basis;   // "accelerator-hours" or "price-per-flop" (empty when given)
  std::string detail;  // which row, date and accelerator were used
  std::optional<Range> usd_per_flop;
};

struct Estimate {
  std::string method;  // "architecture", "6nd-params", "given", "hardware-time", or two joined by "+"
  std::string config_path;
  std::optional<ArchitectureEstimate> architecture;
  std::optional<double> params_given;
  std::optional<double> tokens;
  Range training_flop;                    // point, low, high over every method used
  std::optional<double> training_flop_6nd;
  std::optional<double> six_nd_n;         // the N used for 6·N·D
  std::string six_nd_n_definition;
  std::optional<double> training_flop_6nd_total_active;  // the reading with all active parameters
  std::optional<double> recompute_flop;   // one more forward pass, only when requested
  std::optional<HardwareEstimate> hardware;
  std::optional<Reconciliation> reconciliation;
  std::optional<CostEstimate> cost;
  std::vector<std::string> notes;
};

// Errors (kInvalidArgument unless said): nothing to estimate from; --config without --tokens;
// non-positive or non-finite tokens, params, counts, hours or costs; utilization outside (0, 1];
// no sequence length known; an unknown accelerator or precision (kNotFound / kInvalidArgument,
// listing the known ones); no price for the accelerator at the start date (kNotFound).
core::Result<Estimate> EstimateTraining(const EstimateRequest& request,
                                        const AcceleratorTable& accelerators,
                                        const PriceTable& prices);

}  // namespace flopline::compute
