// File: flopline/compute/architecture.h
//
// A transformer described by what costs compute: the matrix multiplies each token goes through,
// layer by layer, and the attention products that depend on the sequence length. Parsers (see
// hf_config.h) build an Architecture from a config.json; the counter (flop_count.h) turns it into
// FLOP. Nothing here knows about file formats.
//
// Example: a Llama layer is {q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj} run for
// every token, plus an attention core of num_heads query heads of head_dim over a causal context.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace flopline::compute {

// Components a FLOP is attributed to in every breakdown.
enum class Component : std::uint8_t {
  kAttentionQkv,      // Q, K, V (and MLA down/up) projections
  kAttentionScores,   // Q.K^T over the context
  kAttentionValues,   // softmax(..).V over the context
  kAttentionOutput,   // output projection
  kMlp,               // dense feed-forward
  kMoeRouter,         // router / gate logits
  kMoeRoutedExperts,  // the top-k routed experts
  kMoeSharedExperts,  // always-on shared experts
  kOutputHead,        // logits over the vocabulary
  kMtp,               // multi-token prediction (training only)
  kSsmConv,           // a state-space layer's depthwise causal convolution
  kSsmScan,           // a state-space layer's selective scan (state update and readout)
  kSsmProjections,    // a state-space layer's input, x, dt and output projections
  kVisionTower,       // a vision-language model's image encoder and merger, per image
};
inline constexpr std::size_t kComponentCount = 14;

// The component's stable name: a JSON key of every breakdown.
constexpr const char* ComponentName(Component c) {
  constexpr const char* kNames[kComponentCount] = {
      "attention_qkv", "attention_scores", "attention_values", "attention_output", "mlp",
      "moe_router",    "moe_routed_experts", "moe_shared_experts", "output_head", "mtp",
      "ssm_conv",      "ssm_scan",           "ssm_projections",    "vision_tower"};
  return kNames[static_cast<std::size_t>(c)];
}

// One weight matrix applied to every token that reaches it: y = x W (+ b).
struct Linear {
  Component component;
  std::int64_t in = 0;
  std::int64_t out = 0;
  bool bias = false;

  std::int64_t Params() const { return in * out + (bias ? out : 0); }
  // 2 FLOP per multiply-accumulate. The bias add (`out` additions) is elementwise and not counted.
  double ForwardFlop() const { return 2.0 * static_cast<double>(in) * static_cast<double>(out); }
};

// The sequence-length-dependent part of attention in one layer.
struct AttentionCore {
  std::int64_t query_heads = 0;  // heads that compute scores (all query heads, GQA or not)
  std::int64_t qk_dim = 0;       // per-head dimension of the Q.K dot product
  std::int64_t v_dim = 0;        // per-head dimension of the values
  std::optional<std::int64_t> window;  // sliding-window size in tokens, if this layer has one
  bool bidirectional = false;  // an encoder's self-attention: every token sees the whole sequence
};

// The sequence-independent, non-matmul core of a state-space (Mamba) layer. Its FLOP per token are
// counted because, like attention's products, they are the mixer's own work and not small:
//   - the depthwise causal convolution: 2 x conv_channels x conv_kernel (a multiply-add per tap);
//   - the selective scan over `channels` x `state` values: scan_flop_per_state each (Mamba-1: 9, the
//     figure its authors give for the discretisation, the state update and the readout; Mamba-2: 6,
//     since its decay is one scalar per head).
struct SsmCore {
  std::int64_t channels = 0;       // d_inner
  std::int64_t state = 0;          // d_state
  std::int64_t conv_channels = 0;  // channels the convolution runs over
  std::int64_t conv_kernel = 0;    // d_conv
  int scan_flop_per_state = 0;
};

struct Layer {
  std::vector<Linear> dense;          // run for every token
  std::vector<Linear> routed_expert;  // the linears of ONE routed expert (empty if not MoE)
  std::int64_t routed_experts = 0;    // experts that exist
  std::int64_t experts_per_token = 0; // experts each token is routed to (top-k)
  std::int64_t other_params = 0;      // norms, gates' score biases: parameters with no matmul
  AttentionCore attention;          // query_heads = 0: no attention in this layer (a state-space one)
  SsmCore ssm;                      // channels = 0: no state-space mixer
  // A decoder layer's cross-attention core over the encoder's output (T5): each decoder token
  // attends to every encoder position. Its q and o projections are in `dense`; its k and v run on
  // encoder tokens (Architecture::encoder_side).
  AttentionCore cross_attention;
};

// A vision-language model's image encoder (Qwen2.5-VL's ViT): an image becomes patches of
// patch_size pixels, its own transformer layers run over every patch (bidirectional attention,
// within a window of `window` patches or over the whole image), and groups of merge x merge patches
// become one image token of the language model.
struct VisionTower {
  std::vector<Layer> layers;           // per patch
  std::vector<Linear> patch_linears;   // per patch: the patch embedding (a convolution with stride = kernel)
  std::vector<Linear> merged_linears;  // per image token: the merger's projection to the language model
  std::int64_t other_params = 0;       // norms outside the layers
  std::int64_t patch_size = 0;
  std::int64_t merge = 1;              // spatial_merge_size: patches per image token = merge^2

  std::int64_t Params() const;
  // Patches and forward FLOP for one square image of `image_size` pixels (rounded down to patches).
  std::int64_t Patches(std::int64_t image_size) const;
  double ForwardFlopPerImage(std::int64_t image_size) const;
};

struct Architecture {
  std::string model_type;  // as the config says, e.g. "llama"
  std::string family;      // what flopline parsed it as, e.g. "llama (GQA, SwiGLU)"
  std::int64_t hidden_size = 0;
  std::int64_t vocab_size = 0;
  bool tied_embeddings = false;
  std::int64_t position_embedding_params = 0;  // learned absolute positions (GPT-2); 0 for RoPE
  std::int64_t final_norm_params = 0;
  std::vector<Layer> layers;  // the decoder's, for an encoder-decoder model

  // Encoder-decoder models (T5): layers run once per encoder (input) token, and the linears that
  // run on encoder tokens for the decoder (cross-attention keys and values). Empty otherwise.
  std::vector<Layer> encoder_layers;
  std::vector<Linear> encoder_side;
  bool encoder_decoder() const { return !encoder_layers.empty(); }

  std::optional<VisionTower> vision;  // vision-language models; its parameters count in `total` only

  // Modules that run during training but are not part of the released model's forward pass, such as
  // DeepSeek-V3's multi-token-prediction depth. Counted apart (Component::kMtp) and excluded from the
  // parameter counts, which follow the Hugging Face model.
  std::vector<Layer> training_only_layers;
  std::vector<Linear> training_only_linears;  // e.g. MTP's projection of [embedding; hidden]
  std::int64_t training_only_other_params = 0;
  int training_only_output_heads = 0;         // extra passes through the (shared) output head

  // Sequence length the config states for pretraining, and which key it came from.
  std::optional<std::int64_t> pretraining_seq_len;
  std::string pretraining_seq_len_source;
  bool causal = true;  // decoder-only models attend to earlier positions only

  std::vector<std::string> notes;  // what the parser assumed, shown to the user
  // Config keys no part of the count reads, which the family file or transformers' generic
  // configuration says do not change it (dropout, token ids, generation settings, ...).
  std::vector<std::string> ignored_keys;
  std::string family_file;  // the architecture file the config was read with
};

struct ParamCounts {
  std::int64_t total = 0;              // every parameter of the model
  std::int64_t active = 0;             // those a token actually uses (top-k of the routed experts)
  std::int64_t embedding = 0;          // token (and learned position) embedding tables
  std::int64_t output_head = 0;        // untied output head; 0 when tied to the embedding
  std::int64_t active_non_embedding = 0;  // active minus embedding tables and output head (Kaplan's N)
  std::int64_t training_only = 0;      // e.g. multi-token-prediction modules, not in total
  std::int64_t vision = 0;             // a vision tower's: in total, not in active (it runs per image)
};

ParamCounts CountParams(const Architecture& arch);

}  // namespace flopline::compute
