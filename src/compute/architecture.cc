#include "flopline/compute/architecture.h"

#include <algorithm>

namespace flopline::compute {
namespace {

std::int64_t SumParams(const std::vector<Linear>& linears) {
  std::int64_t sum = 0;
  for (const Linear& linear : linears) sum += linear.Params();
  return sum;
}

struct LayerParams {
  std::int64_t total = 0;
  std::int64_t active = 0;
};

LayerParams CountLayer(const Layer& layer) {
  std::int64_t base = SumParams(layer.dense) + layer.other_params;
  std::int64_t expert = SumParams(layer.routed_expert);
  return {base + expert * layer.routed_experts, base + expert * layer.experts_per_token};
}

}  // namespace

std::int64_t VisionTower::Params() const {
  std::int64_t sum = other_params + SumParams(patch_linears) + SumParams(merged_linears);
  for (const Layer& layer : layers) sum += CountLayer(layer).total;
  return sum;
}

std::int64_t VisionTower::Patches(std::int64_t image_size) const {
  std::int64_t side = patch_size > 0 ? image_size / patch_size : 0;
  return side * side;
}

double VisionTower::ForwardFlopPerImage(std::int64_t image_size) const {
  const double patches = static_cast<double>(Patches(image_size));
  double per_patch = 0;
  for (const Linear& l : patch_linears) per_patch += l.ForwardFlop();
  double attention = 0;
  for (const Layer& layer : layers) {
    for (const Linear& l : layer.dense) per_patch += l.ForwardFlop();
    const AttentionCore& a = layer.attention;
    // Bidirectional: a patch sees its whole window, or the whole image.
    double context = a.window ? std::min(static_cast<double>(*a.window), patches) : patches;
    attention += 2.0 * static_cast<double>(a.query_heads) * static_cast<double>(a.qk_dim + a.v_dim) * context;
  }
  double per_token = 0;
  for (const Linear& l : merged_linears) per_token += l.ForwardFlop();
  const double tokens = patches / static_cast<double>(merge * merge);
  return patches * (per_patch + attention) + tokens * per_token;
}

ParamCounts CountParams(const Architecture& arch) {
  ParamCounts counts;
  counts.embedding = arch.vocab_size * arch.hidden_size + arch.position_embedding_params;
  counts.output_head = arch.tied_embeddings ? 0 : arch.vocab_size * arch.hidden_size;
  std::int64_t outside_layers = counts.embedding + counts.output_head + arch.final_norm_params;
  counts.total = outside_layers;
  counts.active = outside_layers;
  for (const std::vector<Layer>* stack : {&arch.encoder_layers, &arch.layers}) {
    for (const Layer& layer : *stack) {
      LayerParams p = CountLayer(layer);
      counts.total += p.total;
      counts.active += p.active;
    }
  }
  counts.total += SumParams(arch.encoder_side);
  counts.active += SumParams(arch.encoder_side);
  if (arch.vision) {
    counts.vision = arch.vision->Params();
    counts.total += counts.vision;
  }
  counts.active_non_embedding = counts.active - counts.embedding - counts.output_head;
  counts.training_only = SumParams(arch.training_only_linears) + arch.training_only_other_params;
  for (const Layer& layer : arch.training_only_layers) counts.training_only += CountLayer(layer).total;
  return counts;
}

}  // namespace flopline::compute
