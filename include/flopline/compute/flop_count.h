// File: flopline/compute/flop_count.h
//
// Exact FLOP per token from an Architecture: every matrix multiply of the forward pass at
// 2 FLOP per multiply-accumulate, plus the attention score and value products, which depend on how
// many positions each token attends to. Elementwise work (norms, softmax, activations, residual adds,
// bias adds, rotary embeddings) and the embedding lookup (a gather) are not counted: they are under
// ~1% of the total for the models here, and no regime asks for them.
//
// Training = forward + backward = 3 x forward per token (the backward pass computes gradients with
// respect to both activations and weights: two matmuls for each forward one). Full activation
// recomputation adds one more forward pass; it is reported apart because the EU guidelines exclude
// it and others do not.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "flopline/compute/architecture.h"

namespace flopline::compute {

enum class AttentionMask {
  kCausal,  // token i attends to positions <= i (and within its window): what FlashAttention computes
  kFull,    // the whole S x S score matrix, as a dense implementation computes it (an upper bound)
};

const char* AttentionMaskName(AttentionMask mask);

// Mean number of positions one token attends to, over a packed sequence of `seq_len` tokens.
// Causal without window: (S + 1) / 2. Causal with window W: token i (1-based) sees min(i, W).
// Full: S, window ignored (the dense matrix is computed, then masked).
double MeanAttendedPositions(std::int64_t seq_len, std::optional<std::int64_t> window,
                             AttentionMask mask);

struct PerTokenFlop {
  // The released model's forward pass, keyed by ComponentName(); components with no FLOP are absent.
  std::map<std::string, double> forward_by_component;
  double forward = 0;                                    // sum of the above
  double training_only_forward = 0;  // forward FLOP of modules run only in training (Component::kMtp)
};

// How an encoder-decoder model is fed: decoder (target) tokens per encoder (input) token, and the
// decoder's sequence length. T5's span corruption: 114 targets per 512 inputs.
struct EncoderDecoderRun {
  double decoder_tokens_per_encoder_token = 0;
  std::int64_t decoder_seq_len = 0;
};

// Requires seq_len >= 1. For an encoder-decoder model seq_len is the encoder's length, `run` must be
// given, and the result is per encoder token: the encoder's FLOP plus `decoder_tokens_per_encoder_token`
// times the decoder's per decoder token (its causal self-attention over decoder_seq_len, its
// cross-attention over the whole encoder sequence, the output head).
// How a vision-language model is fed: images per training sample (a sample is seq_len language
// model tokens, the images' own tokens among them) and their size in pixels (square).
struct VisionRun {
  double images_per_sample = 0;
  std::int64_t image_size = 0;
};

// With `vision` (and an Architecture with a vision tower), component vision_tower adds the tower's
// FLOP per image x images per sample / seq_len: its share of each language-model token.
PerTokenFlop CountPerToken(const Architecture& arch, std::int64_t seq_len, AttentionMask mask,
                           const EncoderDecoderRun* run = nullptr, const VisionRun* vision = nullptr);

}  // namespace flopline::compute
