#include "flopline/compute/flop_count.h"

namespace flopline::compute {
namespace {

// Adds one layer's forward FLOP per token to `out`, attributing every term to its component.
void AddLayer(const Layer& layer, std::int64_t seq_len, AttentionMask mask,
              std::map<std::string, double>& out) {
  for (const Linear& linear : layer.dense) out[linear.component] += linear.ForwardFlop();
  for (const Linear& linear : layer.routed_expert) {
    out[linear.component] += static_cast<double>(layer.experts_per_token) * linear.ForwardFlop();
  }
  const AttentionCore& a = layer.attention;
  double context = MeanAttendedPositions(seq_len, a.window, mask);
  double heads = static_cast<double>(a.query_heads);
  out[kAttentionScores] += 2.0 * heads * static_cast<double>(a.qk_dim) * context;
  out[kAttentionValues] += 2.0 * heads * static_cast<double>(a.v_dim) * context;
}

double Sum(const std::map<std::string, double>& parts) {
  double total = 0;
  for (const auto& [name, flop] : parts) total += flop;
  return total;
}

}  // namespace

const char* AttentionMaskName(AttentionMask mask) {
  return mask == AttentionMask::kCausal ? "causal" : "full";
}

double MeanAttendedPositions(std::int64_t seq_len, std::optional<std::int64_t> window,
                             AttentionMask mask) {
  const double s = static_cast<double>(seq_len);
  if (mask == AttentionMask::kFull) return s;
  if (!window || *window >= seq_len) return (s + 1.0) / 2.0;
  const double w = static_cast<double>(*window);
  // Positions 1..W see 1..W keys; the remaining S - W positions see W keys each.
  return (w * (w + 1.0) / 2.0 + (s - w) * w) / s;
}

PerTokenFlop CountPerToken(const Architecture& arch, std::int64_t seq_len, AttentionMask mask) {
  PerTokenFlop result;
  for (const Layer& layer : arch.layers) AddLayer(layer, seq_len, mask, result.forward_by_component);
  const double head = 2.0 * static_cast<double>(arch.hidden_size) * static_cast<double>(arch.vocab_size);
  result.forward_by_component[kOutputHead] += head;
  result.forward = Sum(result.forward_by_component);

  std::map<std::string, double> training_only;
  for (const Layer& layer : arch.training_only_layers) AddLayer(layer, seq_len, mask, training_only);
  for (const Linear& linear : arch.training_only_linears) training_only[kMtp] += linear.ForwardFlop();
  result.training_only_forward = Sum(training_only) + arch.training_only_output_heads * head;
  return result;
}

}  // namespace flopline::compute
