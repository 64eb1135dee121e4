#include "flopline/compute/estimate_json.h"

namespace flopline::compute {
namespace {

using json = nlohmann::json;

template <typename T>
json OrNull(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}

json RangeJson(const Range& r) { return {{"low", r.low}, {"point", r.point}, {"high", r.high}}; }

}  // namespace

json EstimateToJson(const Estimate& e) {
  json out;
  out["method"] = e.method;
  out["config"] = e.config_path.empty() ? json(nullptr) : json(e.config_path);
  out["tokens"] = OrNull(e.tokens);

  const ArchitectureEstimate* a = e.architecture ? &*e.architecture : nullptr;
  out["model_type"] = a ? json(a->model_type) : json(nullptr);
  out["family"] = a ? json(a->family) : json(nullptr);
  out["family_file"] = a ? json(a->family_file) : json(nullptr);
  out["ignored_config_keys"] = a ? json(a->ignored_keys) : json(nullptr);
  out["params_total"] = a ? json(a->params.total) : OrNull(e.params_given);
  out["params_active"] = a ? json(a->params.active) : OrNull(e.params_given);
  out["params_embedding"] = a ? json(a->params.embedding) : json(nullptr);
  out["params_output_head"] = a ? json(a->params.output_head) : json(nullptr);
  out["params_active_non_embedding"] = a ? json(a->params.active_non_embedding) : json(nullptr);
  out["params_training_only"] = a ? json(a->params.training_only) : json(nullptr);
  out["seq_len"] = a ? json(a->seq_len) : json(nullptr);
  out["seq_len_source"] = a ? json(a->seq_len_source) : json(nullptr);
  const EncoderDecoderRun* ed = a && a->encoder_decoder ? &*a->encoder_decoder : nullptr;
  out["decoder_tokens_per_encoder_token"] = ed ? json(ed->decoder_tokens_per_encoder_token) : json(nullptr);
  out["decoder_seq_len"] = ed ? json(ed->decoder_seq_len) : json(nullptr);
  const VisionRun* vr = a && a->vision ? &*a->vision : nullptr;
  out["params_vision"] = a ? json(a->params.vision) : json(nullptr);
  out["images_per_sample"] = vr ? json(vr->images_per_sample) : json(nullptr);
  out["image_size"] = vr ? json(vr->image_size) : json(nullptr);
  out["image_tokens_per_image"] = vr ? json(a->image_tokens_per_image) : json(nullptr);
  out["vision_flop_per_image_forward"] = vr ? json(a->vision_flop_per_image) : json(nullptr);
  out["attention_mask"] = a ? json(AttentionMaskName(a->mask)) : json(nullptr);
  out["flop_per_token_forward"] = a ? json(a->per_token.forward) : json(nullptr);
  out["flop_per_token_training"] = a ? json(a->flop_per_token_training) : json(nullptr);

  out["training_flop"] = e.training_flop.point;
  out["training_flop_low"] = e.training_flop.low;
  out["training_flop_high"] = e.training_flop.high;
  out["training_flop_6nd"] = OrNull(e.training_flop_6nd);
  out["six_nd"] = e.six_nd_n ? json{{"n", *e.six_nd_n},
                                    {"n_definition", e.six_nd_n_definition},
                                    {"training_flop_with_all_active_params",
                                     OrNull(e.training_flop_6nd_total_active)}}
                             : json(nullptr);
  out["recompute_flop"] = OrNull(e.recompute_flop);
  out["training_flop_with_recompute"] =
      e.recompute_flop ? json(e.training_flop.point + *e.recompute_flop) : json(nullptr);

  json breakdown = json::object(), forward = json::object();
  if (a) {
    for (const auto& [component, flop] : a->breakdown) breakdown[component] = flop;
    for (const auto& [component, flop] : a->per_token.forward_by_component) forward[component] = flop;
    if (a->per_token.training_only_forward > 0) forward[ComponentName(Component::kMtp)] = a->per_token.training_only_forward;
  } else if (e.training_flop_6nd) {
    breakdown["6nd"] = *e.training_flop_6nd;
  }
  out["breakdown"] = breakdown;
  out["breakdown_forward_per_token"] = forward;

  if (e.hardware) {
    const HardwareEstimate& h = *e.hardware;
    out["hardware"] = {{"accelerator", h.accelerator_id},
                       {"accelerator_name", h.accelerator_name},
                       {"accelerator_source", h.accelerator_source},
                       {"precision", h.precision},
                       {"peak_flops", h.peak_flops},
                       {"count", h.count},
                       {"hours", h.hours},
                       {"accelerator_hours", h.count * h.hours},
                       {"utilization", RangeJson(h.utilization)},
                       {"utilization_source", h.utilization_source},
                       {"training_flop", RangeJson(h.flop)}};
  } else {
    out["hardware"] = nullptr;
  }
  if (e.reconciliation) {
    const Reconciliation& r = *e.reconciliation;
    out["reconciliation"] = {{"counted_over_hardware", r.ratio},
                             {"implied_utilization", r.implied_utilization},
                             {"implied_hardware_utilization", OrNull(r.implied_hardware_utilization)}};
  } else {
    out["reconciliation"] = nullptr;
  }

  if (e.cost) {
    const CostEstimate& c = *e.cost;
    out["cost_usd"] = c.usd.point.dollars();
    out["cost_usd_low"] = c.usd.low.dollars();
    out["cost_usd_high"] = c.usd.high.dollars();
    out["cost_source"] = c.source;
    out["cost_basis"] = c.basis.empty() ? json(nullptr) : json(c.basis);
    out["cost_detail"] = c.detail;
    out["usd_per_flop"] = c.usd_per_flop ? RangeJson(*c.usd_per_flop) : json(nullptr);
  } else {
    out["cost_usd"] = nullptr;
    out["cost_source"] = "not priced";
  }
  out["conventions"] = {
      {"flop_per_multiply_accumulate", 2},
      {"training_over_forward", 3},
      {"counted", "matrix multiplies of the forward pass and the attention score and value "
                  "products; elementwise operations and embedding lookups are not counted"},
      {"precision_weighting", "none: all operations count alike"},
      {"recompute", "reported apart, never in training_flop"}};
  out["notes"] = e.notes;
  return out;
}

}  // namespace flopline::compute
