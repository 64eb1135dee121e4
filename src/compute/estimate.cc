#include "flopline/compute/estimate.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "flopline/core/format.h"

namespace flopline::compute {
namespace {

using core::Result;

// 6·N·D from a bare parameter count omits the attention products over the context, which add
// 0-30% for common widths and sequence lengths; 30% is also the error the EU guidelines accept for
// any method (shared/law/regimes.md §6.2 C4). The range is therefore [6ND, 1.3 x 6ND].
constexpr double kSixNdHighFactor = 1.3;

Result<void> CheckPositive(std::optional<double> value, const char* field) {
  if (value && !(std::isfinite(*value) && *value > 0)) {
    return core::InvalidArgument(fmt::format("must be a positive number, got {}", *value), field);
  }
  return core::Ok();
}

// A double overflows silently: 1e300 tokens gave "inf FLOP" and exit 0 (issue 10, item 15). Every
// result is checked, and one that is not finite is refused, naming the input that took it there.
Result<void> CheckFiniteResult(double value, const char* field, double input, std::string_view what) {
  if (std::isfinite(value)) return core::Ok();
  return core::InvalidArgument(
      fmt::format("{:g} gives {} beyond what a double holds (1.8e308); check the value", input, what),
      field);
}

// Of two inputs whose product overflowed, the larger is named: it is the likelier typo.
const char* LargerOf(double a, const char* a_field, double b, const char* b_field) {
  return a > b ? a_field : b_field;
}

// UsdCents holds about 9.2e16 dollars; above that it would clamp, and a clamped cost is a wrong one.
constexpr double kMaxUsd = 9.0e16;

Result<void> CheckCost(double high_dollars, const char* field, double input) {
  if (std::isfinite(high_dollars) && high_dollars <= kMaxUsd) return core::Ok();
  return core::InvalidArgument(
      fmt::format("{:g} gives a cost of {:.3g} USD, beyond what flopline represents ({:.1g} USD)", input,
                  high_dollars, kMaxUsd),
      field);
}

Result<ArchitectureEstimate> CountArchitecture(const EstimateRequest& request, double tokens,
                                               std::vector<std::string>& notes) {
  const Architecture& arch = *request.architecture;
  ArchitectureEstimate out;
  out.model_type = arch.model_type;
  out.family = arch.family;
  out.family_file = arch.family_file;
  out.ignored_keys = arch.ignored_keys;
  out.params = CountParams(arch);
  out.mask = request.mask;
  if (request.seq_len) {
    out.seq_len = *request.seq_len;
    out.seq_len_source = "--seq-len";
  } else if (arch.pretraining_seq_len) {
    out.seq_len = *arch.pretraining_seq_len;
    out.seq_len_source = arch.pretraining_seq_len_source;
  } else {
    return core::InvalidArgument(
        "the config states no pretraining sequence length; give --seq-len", "seq_len");
  }
  if (out.seq_len < 1) return core::InvalidArgument("must be at least 1", "seq_len");
  out.six_nd_n = static_cast<double>(out.params.active_non_embedding);
  out.six_nd_n_all_active = static_cast<double>(out.params.active);
  out.six_nd_n_definition =
      "active non-embedding parameters: per-token parameters excluding the token and position "
      "embedding tables and the output head (Kaplan et al. 2020)";
  const EncoderDecoderRun* run = nullptr;
  if (arch.encoder_decoder()) {
    if (!request.decoder_ratio) {
      return core::InvalidArgument(
          fmt::format("is required for the encoder-decoder model_type '{}': decoder (target) tokens "
                      "per encoder (input) token, e.g. 0.22 for T5's span corruption (114 targets per "
                      "512 inputs); --tokens then counts encoder tokens",
                      arch.model_type),
          "decoder_ratio");
    }
    FL_RETURN_IF_ERROR(CheckPositive(request.decoder_ratio, "decoder_ratio"));
    const double ratio = *request.decoder_ratio;
    if (ratio > 1e6) return core::InvalidArgument(fmt::format("{:g} is not a ratio of tokens", ratio), "decoder_ratio");
    EncoderDecoderRun ed;
    ed.decoder_tokens_per_encoder_token = ratio;
    ed.decoder_seq_len = std::max<std::int64_t>(1, std::llround(ratio * static_cast<double>(out.seq_len)));
    out.encoder_decoder = ed;
    run = &*out.encoder_decoder;
    // Per encoder token, the encoder's parameters run once and the decoder's `ratio` times.
    auto active_params = [](const Layer& l) {
      double sum = static_cast<double>(l.other_params);
      for (const Linear& linear : l.dense) sum += static_cast<double>(linear.Params());
      for (const Linear& linear : l.routed_expert) {
        sum += static_cast<double>(l.experts_per_token) * static_cast<double>(linear.Params());
      }
      return sum;
    };
    double encoder = 0, decoder = static_cast<double>(arch.final_norm_params);
    for (const Layer& l : arch.encoder_layers) encoder += active_params(l);
    for (const Linear& l : arch.encoder_side) encoder += static_cast<double>(l.Params());
    for (const Layer& l : arch.layers) decoder += active_params(l);
    const double head = static_cast<double>(arch.vocab_size) * static_cast<double>(arch.hidden_size);
    out.six_nd_n = encoder + ratio * decoder;
    out.six_nd_n_all_active = out.six_nd_n + ratio * head;
    out.six_nd_n_definition = fmt::format(
        "per encoder token: the encoder's non-embedding parameters plus {:g} x the decoder's "
        "(decoder tokens per encoder token); embeddings and the output head excluded",
        ratio);
    notes.push_back(fmt::format(
        "encoder-decoder: --tokens counts encoder (input) tokens over a {}-token encoder sequence; "
        "{:g} decoder (target) tokens per encoder token over a {}-token decoder sequence; encoder "
        "self-attention is bidirectional, decoder cross-attention sees the whole encoder sequence",
        out.seq_len, ratio, ed.decoder_seq_len));
  } else if (request.decoder_ratio) {
    return core::InvalidArgument(
        fmt::format("applies to encoder-decoder models only; model_type '{}' is decoder-only", arch.model_type),
        "decoder_ratio");
  }
  const VisionRun* vision = nullptr;
  if (arch.vision && request.images_per_sample) {
    if (!(std::isfinite(*request.images_per_sample) && *request.images_per_sample >= 0) ||
        *request.images_per_sample > 1e6) {
      return core::InvalidArgument(fmt::format("must be a number of images from 0, got {}", *request.images_per_sample),
                                   "images_per_sample");
    }
    if (!request.image_size) {
      return core::InvalidArgument("is required with --images-per-sample: the images' side in pixels", "image_size");
    }
    if (*request.image_size < arch.vision->patch_size || *request.image_size > (1 << 20)) {
      return core::InvalidArgument(
          fmt::format("must be from the patch size {} to 1048576 pixels, got {}", arch.vision->patch_size,
                      *request.image_size),
          "image_size");
    }
    out.vision = VisionRun{*request.images_per_sample, *request.image_size};
    vision = &*out.vision;
    out.vision_flop_per_image = arch.vision->ForwardFlopPerImage(*request.image_size);
    out.image_tokens_per_image = arch.vision->Patches(*request.image_size) / (arch.vision->merge * arch.vision->merge);
    notes.push_back(fmt::format(
        "vision tower: {:g} images of {}x{} pixels per {}-token sample, {} image tokens each (among the "
        "sample's tokens), {} forward FLOP per image; counted as trained (x3) like the language model",
        *request.images_per_sample, *request.image_size, *request.image_size, out.seq_len,
        out.image_tokens_per_image, core::Sci3(out.vision_flop_per_image)));
  } else if (arch.vision) {
    notes.push_back("vision tower not counted: give --images-per-sample N and --image-size PIXELS");
  } else if (request.images_per_sample || request.image_size) {
    return core::InvalidArgument(
        fmt::format("applies to vision-language models only; model_type '{}' has no vision tower", arch.model_type),
        request.images_per_sample ? "images_per_sample" : "image_size");
  }
  out.per_token = CountPerToken(arch, out.seq_len, request.mask, run, vision);
  out.flop_per_token_training = 3.0 * (out.per_token.forward + out.per_token.training_only_forward);
  for (const auto& [component, flop] : out.per_token.forward_by_component) {
    out.breakdown[component] = 3.0 * flop * tokens;
  }
  if (out.per_token.training_only_forward > 0) {
    out.breakdown[ComponentName(Component::kMtp)] += 3.0 * out.per_token.training_only_forward * tokens;
  }
  out.training_flop = out.flop_per_token_training * tokens;
  PerTokenFlop full = CountPerToken(arch, out.seq_len, AttentionMask::kFull, run, vision);
  out.training_flop_full_attention = 3.0 * (full.forward + full.training_only_forward) * tokens;
  for (const std::string& note : arch.notes) notes.push_back(note);
  return out;
}

Result<HardwareEstimate> EstimateHardware(const HardwareRun& run, const AcceleratorTable& table) {
  FL_RETURN_IF_ERROR(CheckPositive(run.count, "count"));
  FL_RETURN_IF_ERROR(CheckPositive(run.hours, "hours"));
  FL_ASSIGN_OR_RETURN(const Accelerator* accelerator, table.Find(run.accelerator));
  FL_ASSIGN_OR_RETURN(core::FlopPerSecond peak, table.Peak(*accelerator, run.precision));
  HardwareEstimate out;
  out.accelerator_id = accelerator->id;
  out.accelerator_name = accelerator->name;
  out.accelerator_source = accelerator->source;
  out.precision = run.precision.empty() ? accelerator->default_precision : run.precision;
  out.peak_flops = peak.value();
  out.count = run.count;
  out.hours = run.hours;
  if (run.utilization_low) {
    double low = *run.utilization_low, high = run.utilization_high.value_or(low);
    for (double u : {low, high}) {
      if (!(u > 0 && u <= 1)) {
        return core::InvalidArgument(fmt::format("must be in (0, 1], got {}", u), "utilization");
      }
    }
    if (low > high) std::swap(low, high);
    out.utilization = {low, (low + high) / 2, high};
    out.utilization_source = low == high ? "given" : "given range";
  } else {
    out.utilization = {kDefaultUtilizationLow, (kDefaultUtilizationLow + kDefaultUtilizationHigh) / 2,
                       kDefaultUtilizationHigh};
    out.utilization_source =
        "unknown: Epoch AI's defaults (30% for LLMs, 40% for other models) give the range";
  }
  core::Flop capacity = peak * core::Hours(run.hours * run.count);
  out.flop = {capacity.value() * out.utilization.low, capacity.value() * out.utilization.point,
              capacity.value() * out.utilization.high};
  return out;
}

MoneyRange Dollars(double low, double point, double high) {
  return {core::UsdCents::FromDollars(low), core::UsdCents::FromDollars(point),
          core::UsdCents::FromDollars(high)};
}

// SB 1047 §22602(e)(1)(A): "average market prices of cloud compute at the start of training".
Result<std::optional<CostEstimate>> EstimateCost(const EstimateRequest& request, const Estimate& e,
                                                 const AcceleratorTable& accelerators,
                                                 const PriceTable& prices,
                                                 std::vector<std::string>& notes) {
  if (request.cost_usd) {
    FL_RETURN_IF_ERROR(CheckPositive(request.cost_usd, "cost_usd"));
    if (*request.cost_usd > kMaxUsd) {
      return core::InvalidArgument(
          fmt::format("{:g} USD is beyond what flopline represents ({:.1g} USD)", *request.cost_usd, kMaxUsd),
          "cost_usd");
    }
    CostEstimate cost;
    cost.usd = Dollars(*request.cost_usd, *request.cost_usd, *request.cost_usd);
    cost.source = "given";
    cost.detail = "the cost given with --cost-usd; no pricing applied";
    return std::optional<CostEstimate>(cost);
  }
  FL_RETURN_IF_ERROR(CheckPositive(request.price_per_hour, "price_per_hour"));
  if (!request.start && !request.price_per_hour) {
    notes.push_back("not priced: give --start DATE to price at the cloud prices of that date, "
                    "--price-per-hour USD, or --cost-usd");
    return std::optional<CostEstimate>();
  }

  // The hourly price range, from the user or from the table row in force at the start date.
  std::string accelerator_id;
  if (e.hardware) {
    accelerator_id = e.hardware->accelerator_id;
  } else {
    std::string name = request.pricing_accelerator.value_or(kDefaultPricingAccelerator);
    FL_ASSIGN_OR_RETURN(const Accelerator* a, accelerators.Find(name));
    accelerator_id = a->id;
  }
  Range hourly;
  CostEstimate cost;
  if (request.price_per_hour) {
    hourly = {*request.price_per_hour, *request.price_per_hour, *request.price_per_hour};
    cost.source = "price-per-hour";
    cost.detail = fmt::format("${:.2f} per {}-hour, given with --price-per-hour", *request.price_per_hour,
                              accelerator_id);
  } else {
    FL_ASSIGN_OR_RETURN(const PriceRow* row, prices.At(accelerator_id, *request.start));
    hourly = {row->low, row->typical, row->high};
    cost.source = "cloud-price-table";
    cost.detail = fmt::format(
        "{} at {}: ${:.2f} / ${:.2f} / ${:.2f} per accelerator-hour (low / typical / high), row from "
        "{} ({}:{}); {}",
        accelerator_id, request.start->ToString(), row->low, row->typical, row->high,
        row->from.ToString(), row->file, row->line, row->source);
  }

  // The input a too-large cost is blamed on: the hourly price when the user gave it, else the
  // hardware or the tokens that priced it.
  const char* blame = request.price_per_hour ? "price_per_hour"
                      : e.hardware ? LargerOf(e.hardware->count, "count", e.hardware->hours, "hours")
                      : request.tokens ? "tokens" : "flop";
  double blamed = request.price_per_hour ? *request.price_per_hour
                  : e.hardware ? std::max(e.hardware->count, e.hardware->hours)
                  : request.tokens.value_or(e.training_flop.point);
  if (e.hardware) {
    double hours = e.hardware->count * e.hardware->hours;
    cost.basis = "accelerator-hours";
    cost.usd = Dollars(hours * hourly.low, hours * hourly.point, hours * hourly.high);
    FL_RETURN_IF_ERROR(CheckCost(hours * hourly.high, blame, blamed));
  } else {
    // FLOP alone: price per FLOP = price per hour / (peak x utilization x 3600 s).
    FL_ASSIGN_OR_RETURN(const Accelerator* a, accelerators.Find(accelerator_id));
    FL_ASSIGN_OR_RETURN(core::FlopPerSecond peak, accelerators.Peak(*a, ""));
    auto per_flop = [&](double price, double utilization) {
      return price / (peak.value() * utilization * 3600.0);
    };
    double mid_u = (kDefaultUtilizationLow + kDefaultUtilizationHigh) / 2;
    Range usd_per_flop{per_flop(hourly.low, kDefaultUtilizationHigh), per_flop(hourly.point, mid_u),
                       per_flop(hourly.high, kDefaultUtilizationLow)};
    cost.basis = "price-per-flop";
    cost.usd_per_flop = usd_per_flop;
    cost.usd = Dollars(e.training_flop.low * usd_per_flop.low, e.training_flop.point * usd_per_flop.point,
                       e.training_flop.high * usd_per_flop.high);
    FL_RETURN_IF_ERROR(CheckCost(e.training_flop.high * usd_per_flop.high, blame, blamed));
    cost.detail += fmt::format(
        "; FLOP priced on {} ({}) at {} {} peak and 30-40% utilization (Epoch AI defaults)",
        accelerator_id, request.pricing_accelerator ? "given" : "defaulted",
        core::Sci3(peak.value()), a->default_precision);
  }
  notes.push_back(
      "cost per SB 1047 §22602(e)(1)(A), 'average market prices of cloud compute at the start of "
      "training': the statute names no provider or pricing tier (ambiguity A1), so low-high spans "
      "the market and typical is the hyperscalers' on-demand median");
  return std::optional<CostEstimate>(cost);
}

}  // namespace

Result<Estimate> EstimateTraining(const EstimateRequest& request, const AcceleratorTable& accelerators,
                                  const PriceTable& prices) {
  FL_RETURN_IF_ERROR(CheckPositive(request.tokens, "tokens"));
  FL_RETURN_IF_ERROR(CheckPositive(request.params, "params"));
  FL_RETURN_IF_ERROR(CheckPositive(request.known_flop, "flop"));
  Estimate e;
  e.config_path = request.config_path;
  e.tokens = request.tokens;
  e.params_given = request.params;
  std::vector<std::string> methods;
  std::optional<Range> counted;  // the operation-counting method's result

  if ((request.architecture ? 1 : 0) + (request.params ? 1 : 0) + (request.known_flop ? 1 : 0) > 1) {
    return core::InvalidArgument("give one of a config, a parameter count or a known FLOP count", "params");
  }
  if ((request.architecture || request.params) && !request.tokens) {
    return core::InvalidArgument(
        fmt::format("is required with {}", request.architecture ? "--config" : "--params"), "tokens");
  }
  if (request.tokens && !request.architecture && !request.params) {
    return core::InvalidArgument("needs --config FILE or --params N to count from", "tokens");
  }

  if (request.architecture) {
    FL_ASSIGN_OR_RETURN(ArchitectureEstimate a, CountArchitecture(request, *request.tokens, e.notes));
    const double d = *request.tokens;
    FL_RETURN_IF_ERROR(CheckFiniteResult(
        std::max(a.training_flop_full_attention, 6.0 * a.six_nd_n_all_active * d) *
            (request.recompute ? 4.0 / 3.0 : 1.0),
        "tokens", d, "a training compute"));
    e.six_nd_n = a.six_nd_n;
    e.six_nd_n_definition = a.six_nd_n_definition;
    e.training_flop_6nd = 6.0 * *e.six_nd_n * d;
    e.training_flop_6nd_total_active = 6.0 * a.six_nd_n_all_active * d;
    double low = std::min(a.training_flop, *e.training_flop_6nd);
    double high = std::max({a.training_flop, a.training_flop_full_attention,
                            *e.training_flop_6nd_total_active});
    counted = Range{low, a.training_flop, high};
    if (request.recompute) {
      e.recompute_flop = (a.per_token.forward + a.per_token.training_only_forward) * d;
    }
    e.architecture = std::move(a);
    methods.push_back("architecture");
  } else if (request.known_flop) {
    counted = Range{*request.known_flop, *request.known_flop, *request.known_flop};
    methods.push_back("given");
  } else if (request.params) {
    e.six_nd_n = *request.params;
    e.six_nd_n_definition = "the parameter count given with --params";
    e.training_flop_6nd = 6.0 * *request.params * *request.tokens;
    FL_RETURN_IF_ERROR(CheckFiniteResult(
        *e.training_flop_6nd * kSixNdHighFactor,
        LargerOf(*request.params, "params", *request.tokens, "tokens"),
        std::max(*request.params, *request.tokens), "a training compute"));
    counted = Range{*e.training_flop_6nd, *e.training_flop_6nd, *e.training_flop_6nd * kSixNdHighFactor};
    if (request.recompute) e.recompute_flop = *e.training_flop_6nd / 3.0;
    methods.push_back("6nd-params");
    e.notes.push_back(
        "6·N·D from a parameter count alone omits attention over the context: the range runs to "
        "1.3 x 6ND (the +-30% the EU guidelines accept); give --config for an exact count");
  }

  if (request.hardware) {
    FL_ASSIGN_OR_RETURN(HardwareEstimate h, EstimateHardware(*request.hardware, accelerators));
    FL_RETURN_IF_ERROR(CheckFiniteResult(h.peak_flops * h.count * h.hours * 3600.0,
                                         LargerOf(h.count, "count", h.hours, "hours"),
                                         std::max(h.count, h.hours), "a hardware capacity"));
    e.hardware = std::move(h);
    methods.push_back("hardware-time");
  }
  if (methods.empty()) {
    return core::InvalidArgument(
        "nothing to estimate: give --config FILE --tokens N, --params N --tokens N, or "
        "--accelerator NAME --count N --hours H",
        "config");
  }

  if (counted && e.hardware) {
    // Counting is preferred (Epoch AI): the hardware method hinges on an assumed utilization.
    const HardwareEstimate& h = *e.hardware;
    double capacity = h.peak_flops * h.count * h.hours * 3600.0;
    Reconciliation r;
    r.ratio = counted->point / h.flop.point;
    r.implied_utilization = counted->point / capacity;
    if (e.recompute_flop) r.implied_hardware_utilization = (counted->point + *e.recompute_flop) / capacity;
    e.reconciliation = r;
    e.training_flop = {std::min(counted->low, h.flop.low), counted->point,
                       std::max(counted->high, h.flop.high)};
    if (r.implied_utilization > 1.0) {
      e.notes.push_back(fmt::format(
          "the counted FLOP need {} of the hardware's peak: the token count, the hours or the "
          "accelerator are inconsistent",
          core::Percent(r.implied_utilization)));
    }
  } else if (counted) {
    e.training_flop = *counted;
  } else {
    e.training_flop = e.hardware->flop;
  }
  e.method = methods[0];
  for (std::size_t i = 1; i < methods.size(); ++i) e.method += "+" + methods[i];

  FL_ASSIGN_OR_RETURN(e.cost, EstimateCost(request, e, accelerators, prices, e.notes));
  return e;
}

}  // namespace flopline::compute
