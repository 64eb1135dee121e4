#include "flopline/compute/flop_count.h"

#include <array>

namespace flopline::compute {
namespace {

// Per-component sums, indexed by Component: no string keys on the hot path.
using Sums = std::array<double, kComponentCount>;

double& At(Sums& sums, Component c) { return sums[static_cast<std::size_t>(c)]; }

// Adds one layer's forward FLOP per token to `out`, attributing every term to its component.
void AddLayer(const Layer& layer, std::int64_t seq_len, AttentionMask mask, Sums& out,
              std::int64_t cross_len = 0) {
  for (const Linear& linear : layer.dense) At(out, linear.component) += linear.ForwardFlop();
  for (const Linear& linear : layer.routed_expert) {
    At(out, linear.component) += static_cast<double>(layer.experts_per_token) * linear.ForwardFlop();
  }
  const AttentionCore& a = layer.attention;
  double context = MeanAttendedPositions(seq_len, a.window, a.bidirectional ? AttentionMask::kFull : mask);
  double heads = static_cast<double>(a.query_heads);
  At(out, Component::kAttentionScores) += 2.0 * heads * static_cast<double>(a.qk_dim) * context;
  At(out, Component::kAttentionValues) += 2.0 * heads * static_cast<double>(a.v_dim) * context;
  const AttentionCore& x = layer.cross_attention;  // every decoder token sees the whole encoder output
  double cross = static_cast<double>(x.query_heads) * static_cast<double>(cross_len);
  At(out, Component::kAttentionScores) += 2.0 * cross * static_cast<double>(x.qk_dim);
  At(out, Component::kAttentionValues) += 2.0 * cross * static_cast<double>(x.v_dim);
  const SsmCore& ssm = layer.ssm;
  At(out, Component::kSsmConv) +=
      2.0 * static_cast<double>(ssm.conv_channels) * static_cast<double>(ssm.conv_kernel);
  At(out, Component::kSsmScan) += static_cast<double>(ssm.scan_flop_per_state) *
                                  static_cast<double>(ssm.channels) * static_cast<double>(ssm.state);
}

double Sum(const Sums& parts) {
  double total = 0;
  for (double flop : parts) total += flop;
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

PerTokenFlop CountPerToken(const Architecture& arch, std::int64_t seq_len, AttentionMask mask,
                           const EncoderDecoderRun* run, const VisionRun* vision) {
  PerTokenFlop result;
  Sums forward{};
  const double head = 2.0 * static_cast<double>(arch.hidden_size) * static_cast<double>(arch.vocab_size);
  if (arch.encoder_decoder() && run) {
    for (const Layer& layer : arch.encoder_layers) AddLayer(layer, seq_len, mask, forward);
    for (const Linear& linear : arch.encoder_side) At(forward, linear.component) += linear.ForwardFlop();
    Sums decoder{};
    for (const Layer& layer : arch.layers) AddLayer(layer, run->decoder_seq_len, mask, decoder, seq_len);
    At(decoder, Component::kOutputHead) += head;
    for (std::size_t i = 0; i < kComponentCount; ++i) forward[i] += run->decoder_tokens_per_encoder_token * decoder[i];
  } else {
    for (const Layer& layer : arch.layers) AddLayer(layer, seq_len, mask, forward);
    At(forward, Component::kOutputHead) += head;
  }
  if (arch.vision && vision && vision->images_per_sample > 0) {
    At(forward, Component::kVisionTower) += vision->images_per_sample *
                                            arch.vision->ForwardFlopPerImage(vision->image_size) /
                                            static_cast<double>(seq_len);
  }
  result.forward = Sum(forward);
  for (std::size_t i = 0; i < kComponentCount; ++i) {
    if (forward[i] > 0) result.forward_by_component[ComponentName(static_cast<Component>(i))] = forward[i];
  }

  Sums training_only{};
  for (const Layer& layer : arch.training_only_layers) AddLayer(layer, seq_len, mask, training_only);
  for (const Linear& linear : arch.training_only_linears) At(training_only, linear.component) += linear.ForwardFlop();
  result.training_only_forward = Sum(training_only) + arch.training_only_output_heads * head;
  return result;
}

}  // namespace flopline::compute
