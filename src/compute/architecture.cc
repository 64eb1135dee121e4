#include "flopline/compute/architecture.h"

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
  counts.active_non_embedding = counts.active - counts.embedding - counts.output_head;
  counts.training_only = SumParams(arch.training_only_linears) + arch.training_only_other_params;
  for (const Layer& layer : arch.training_only_layers) counts.training_only += CountLayer(layer).total;
  return counts;
}

}  // namespace flopline::compute
