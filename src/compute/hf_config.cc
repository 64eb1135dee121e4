#include "flopline/compute/hf_config.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "json_location.h"

namespace flopline::compute {
namespace {

using core::Result;
using json = nlohmann::json;

// Sizes above these are not models but typos or hostile input; they also keep every product of
// two sizes, times the expert and layer counts, inside int64 (checked again in CheckScale).
constexpr std::int64_t kMaxDimension = std::int64_t{1} << 24;  // 16.7M
constexpr std::int64_t kMaxCount = std::int64_t{1} << 16;      // layers, heads, experts

std::string Describe(const json& value) {
  std::string dumped = value.dump();
  if (dumped.size() > 40) dumped = dumped.substr(0, 37) + "...";
  return fmt::format("{} ({})", dumped, value.type_name());
}

// Typed access to the fields of one config, with errors that name the file, line and field.
class Fields {
 public:
  Fields(const json& root, std::string_view text, std::string file)
      : root_(root), text_(text), file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  // The value of the first of `keys` present and not null, or nullptr.
  const json* Find(std::initializer_list<std::string_view> keys, std::string* found_key) const {
    for (std::string_view key : keys) {
      auto it = root_.find(key);
      if (it != root_.end() && !it->is_null()) {
        if (found_key) *found_key = std::string(key);
        return &*it;
      }
    }
    return nullptr;
  }

  tl::unexpected<core::Error> Bad(const std::string& key, const std::string& message) const {
    return core::InvalidArgument(message, key, LocateKey(text_, {key}, file_));
  }

  // An integer field that must be >= min (1 by default). Integral floats such as 4096.0 pass.
  Result<std::optional<std::int64_t>> OptionalInt(std::initializer_list<std::string_view> keys,
                                                  std::int64_t min = 1,
                                                  std::int64_t max = kMaxDimension) const {
    std::string key;
    const json* value = Find(keys, &key);
    if (!value) return std::optional<std::int64_t>();
    double number = 0;
    if (value->is_number_integer()) {
      if (value->is_number_unsigned() && value->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
        return Bad(key, fmt::format("{} is larger than the supported maximum {}", value->dump(), max));
      }
      number = static_cast<double>(value->get<std::int64_t>());
    } else if (value->is_number_float()) {
      number = value->get<double>();
      if (!std::isfinite(number) || number != std::floor(number)) {
        return Bad(key, fmt::format("expected an integer, got {}", Describe(*value)));
      }
    } else {
      return Bad(key, fmt::format("expected an integer, got {}", Describe(*value)));
    }
    if (number < static_cast<double>(min)) {
      return Bad(key, fmt::format("must be at least {}, got {}", min, value->dump()));
    }
    if (number > static_cast<double>(max)) {
      return Bad(key, fmt::format("{} is larger than the supported maximum {}", value->dump(), max));
    }
    return std::optional<std::int64_t>(static_cast<std::int64_t>(number));
  }

  Result<std::int64_t> Int(std::initializer_list<std::string_view> keys, std::int64_t min = 1,
                           std::int64_t max = kMaxDimension) const {
    FL_ASSIGN_OR_RETURN(auto value, OptionalInt(keys, min, max));
    if (!value) {
      std::string names;
      for (std::string_view key : keys) names += (names.empty() ? "" : " or ") + std::string(key);
      return core::InvalidArgument(
          fmt::format("is required for model_type '{}' and missing", model_type_),
          std::string(*keys.begin()), core::Location{file_, 0, 0});
    }
    return *value;
  }

  Result<std::int64_t> IntOr(std::initializer_list<std::string_view> keys, std::int64_t fallback,
                             std::int64_t min = 1, std::int64_t max = kMaxDimension) const {
    FL_ASSIGN_OR_RETURN(auto value, OptionalInt(keys, min, max));
    return value.value_or(fallback);
  }

  Result<bool> BoolOr(std::initializer_list<std::string_view> keys, bool fallback) const {
    std::string key;
    const json* value = Find(keys, &key);
    if (!value) return fallback;
    if (!value->is_boolean()) {
      return Bad(key, fmt::format("expected true or false, got {}", Describe(*value)));
    }
    return value->get<bool>();
  }

  Result<std::optional<std::string>> OptionalString(std::string_view key) const {
    std::string found;
    const json* value = Find({key}, &found);
    if (!value) return std::optional<std::string>();
    if (!value->is_string()) {
      return Bad(found, fmt::format("expected a string, got {}", Describe(*value)));
    }
    return std::optional<std::string>(value->get<std::string>());
  }

  // A list of layer indices (Qwen's mlp_only_layers); absent means empty.
  Result<std::vector<std::int64_t>> IntList(std::string_view key) const {
    std::string found;
    const json* value = Find({key}, &found);
    std::vector<std::int64_t> out;
    if (!value) return out;
    if (!value->is_array()) return Bad(found, fmt::format("expected a list, got {}", Describe(*value)));
    for (const json& item : *value) {
      if (!item.is_number_integer()) {
        return Bad(found, fmt::format("expected a list of integers, got {}", Describe(item)));
      }
      out.push_back(item.get<std::int64_t>());
    }
    return out;
  }

  // A list of strings (layer_types); absent means empty.
  Result<std::vector<std::string>> StringList(std::string_view key) const {
    std::string found;
    const json* value = Find({key}, &found);
    std::vector<std::string> out;
    if (!value) return out;
    if (!value->is_array()) return Bad(found, fmt::format("expected a list, got {}", Describe(*value)));
    for (const json& item : *value) {
      if (!item.is_string()) {
        return Bad(found, fmt::format("expected a list of strings, got {}", Describe(item)));
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  // rope_scaling.original_max_position_embeddings, when rope_scaling is an object that has it.
  Result<std::optional<std::int64_t>> RopeOriginalLength() const {
    auto it = root_.find("rope_scaling");
    if (it == root_.end() || it->is_null()) return std::optional<std::int64_t>();
    if (!it->is_object()) {
      return Bad("rope_scaling", fmt::format("expected an object or null, got {}", Describe(*it)));
    }
    auto inner = it->find("original_max_position_embeddings");
    if (inner == it->end() || inner->is_null()) return std::optional<std::int64_t>();
    if (!inner->is_number_integer() || inner->get<std::int64_t>() < 1 ||
        inner->get<std::int64_t>() > kMaxDimension) {
      return core::InvalidArgument(
          fmt::format("expected a positive integer, got {}", Describe(*inner)),
          "rope_scaling.original_max_position_embeddings",
          LocateKey(text_, {"rope_scaling", "original_max_position_embeddings"}, file_));
    }
    return std::optional<std::int64_t>(inner->get<std::int64_t>());
  }

  void set_model_type(std::string model_type) { model_type_ = std::move(model_type); }

 private:
  const json& root_;
  std::string_view text_;
  std::string file_;
  std::string model_type_;
};

// The pretraining sequence length: rope_scaling's original length before the (possibly extended)
// max_position_embeddings, as the issue and Llama 3.1 / DeepSeek-V3 configs require.
Result<void> ReadSequenceLength(const Fields& f, Architecture& arch,
                                std::initializer_list<std::string_view> position_keys) {
  FL_ASSIGN_OR_RETURN(auto original, f.RopeOriginalLength());
  if (original) {
    arch.pretraining_seq_len = *original;
    arch.pretraining_seq_len_source = "rope_scaling.original_max_position_embeddings";
    return core::Ok();
  }
  std::string key;
  if (f.Find(position_keys, &key)) {
    FL_ASSIGN_OR_RETURN(arch.pretraining_seq_len, f.OptionalInt({key}));
    arch.pretraining_seq_len_source = key;
  }
  return core::Ok();
}

Linear MakeLinear(Component component, std::int64_t in, std::int64_t out, bool bias = false) {
  return Linear{component, in, out, bias};
}

// The gated (SwiGLU / GeGLU) feed-forward of Llama-style models: gate, up and down projections.
std::vector<Linear> GatedMlp(Component component, std::int64_t hidden, std::int64_t inner,
                             bool bias = false) {
  return {MakeLinear(component, hidden, inner, bias), MakeLinear(component, hidden, inner, bias),
          MakeLinear(component, inner, hidden, bias)};
}

void Append(std::vector<Linear>& to, const std::vector<Linear>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// Query/key/value heads of standard multi-head, grouped-query or multi-query attention.
struct HeadShape {
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;
  std::int64_t head_dim = 0;
};

Result<HeadShape> ReadHeads(const Fields& f, std::int64_t hidden, bool head_dim_key) {
  HeadShape shape;
  FL_ASSIGN_OR_RETURN(shape.heads, f.Int({"num_attention_heads", "n_head"}, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(shape.kv_heads,
                      f.IntOr({"num_key_value_heads"}, shape.heads, 1, kMaxCount));
  std::optional<std::int64_t> head_dim;
  if (head_dim_key) {
    FL_ASSIGN_OR_RETURN(head_dim, f.OptionalInt({"head_dim"}));
  }
  if (head_dim) {
    shape.head_dim = *head_dim;
  } else {
    if (hidden % shape.heads != 0) {
      return f.Bad("num_attention_heads",
                   fmt::format("hidden_size {} is not divisible by num_attention_heads {}", hidden,
                               shape.heads));
    }
    shape.head_dim = hidden / shape.heads;
  }
  if (shape.heads % shape.kv_heads != 0) {
    return f.Bad("num_key_value_heads",
                 fmt::format("num_attention_heads {} is not a multiple of num_key_value_heads {}",
                             shape.heads, shape.kv_heads));
  }
  return shape;
}

std::vector<Linear> QkvoProjections(std::int64_t hidden, const HeadShape& s, bool qkv_bias,
                                    bool o_bias) {
  return {MakeLinear(Component::kAttentionQkv, hidden, s.heads * s.head_dim, qkv_bias),
          MakeLinear(Component::kAttentionQkv, hidden, s.kv_heads * s.head_dim, qkv_bias),
          MakeLinear(Component::kAttentionQkv, hidden, s.kv_heads * s.head_dim, qkv_bias),
          MakeLinear(Component::kAttentionOutput, s.heads * s.head_dim, hidden, o_bias)};
}

// Which layers use a sliding window. `layer_types` (newer transformers) wins when present.
Result<std::vector<bool>> SlidingLayers(const Fields& f, std::int64_t layers,
                                        const std::function<bool(std::int64_t)>& default_rule) {
  FL_ASSIGN_OR_RETURN(auto types, f.StringList("layer_types"));
  std::vector<bool> sliding(static_cast<std::size_t>(layers));
  if (!types.empty()) {
    if (static_cast<std::int64_t>(types.size()) != layers) {
      return f.Bad("layer_types", fmt::format("has {} entries for {} layers", types.size(), layers));
    }
    for (std::size_t i = 0; i < types.size(); ++i) sliding[i] = types[i] == "sliding_attention";
    return sliding;
  }
  for (std::int64_t i = 0; i < layers; ++i) sliding[static_cast<std::size_t>(i)] = default_rule(i);
  return sliding;
}

// ---- Llama family: llama, mistral, qwen2, qwen3, gemma, gemma2, mixtral, qwen2_moe, qwen3_moe ----

struct LlamaTraits {
  const char* family;
  bool qkv_bias_always = false;  // Qwen2: q, k, v carry biases whatever attention_bias says
  bool tie_default = false;
  int norms_per_layer = 2;       // Gemma 2 has four
  bool qk_norm = false;          // Qwen3: RMSNorm over head_dim on q and k
};

enum class SlidingRule { kNone, kAllLayers, kQwen, kEvenLayers };
enum class MoeKind { kNone, kMixtral, kQwen };

Result<Architecture> BuildLlamaLike(const Fields& f, const std::string& model_type,
                                    const LlamaTraits& traits, SlidingRule sliding_rule,
                                    MoeKind moe) {
  Architecture arch;
  arch.model_type = model_type;
  arch.family = traits.family;
  FL_ASSIGN_OR_RETURN(arch.hidden_size, f.Int({"hidden_size"}));
  FL_ASSIGN_OR_RETURN(arch.vocab_size, f.Int({"vocab_size"}));
  FL_ASSIGN_OR_RETURN(std::int64_t layers, f.Int({"num_hidden_layers"}, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(HeadShape heads, ReadHeads(f, arch.hidden_size, /*head_dim_key=*/true));
  FL_ASSIGN_OR_RETURN(std::int64_t intermediate, f.Int({"intermediate_size"}));
  FL_ASSIGN_OR_RETURN(arch.tied_embeddings, f.BoolOr({"tie_word_embeddings"}, traits.tie_default));
  FL_ASSIGN_OR_RETURN(bool attention_bias, f.BoolOr({"attention_bias"}, false));
  FL_ASSIGN_OR_RETURN(bool mlp_bias, f.BoolOr({"mlp_bias"}, false));
  FL_RETURN_IF_ERROR(ReadSequenceLength(f, arch, {"max_position_embeddings"}));
  const std::int64_t d = arch.hidden_size;
  arch.final_norm_params = d;

  // Sliding windows.
  std::optional<std::int64_t> window;
  std::function<bool(std::int64_t)> rule = [](std::int64_t) { return false; };
  if (sliding_rule == SlidingRule::kAllLayers) {
    // MistralConfig defaults sliding_window to 4096 when the key is absent; an explicit null is none.
    std::string key;
    bool present = f.Find({"sliding_window"}, &key) != nullptr;
    FL_ASSIGN_OR_RETURN(window, f.OptionalInt({"sliding_window"}));
    if (!present && model_type == "mistral") {
      window = 4096;
      arch.notes.push_back("sliding_window absent: transformers' MistralConfig default 4096 used");
    }
    rule = [](std::int64_t) { return true; };
  } else if (sliding_rule == SlidingRule::kQwen) {
    FL_ASSIGN_OR_RETURN(bool use_sliding, f.BoolOr({"use_sliding_window"}, false));
    if (use_sliding) {
      FL_ASSIGN_OR_RETURN(window, f.OptionalInt({"sliding_window"}));
      FL_ASSIGN_OR_RETURN(std::int64_t max_window_layers,
                          f.IntOr({"max_window_layers"}, layers, 0, kMaxCount));
      rule = [max_window_layers](std::int64_t i) { return i >= max_window_layers; };
    }
  } else if (sliding_rule == SlidingRule::kEvenLayers) {
    FL_ASSIGN_OR_RETURN(window, f.IntOr({"sliding_window"}, 4096));
    rule = [](std::int64_t i) { return i % 2 == 0; };
  }
  std::vector<bool> sliding(static_cast<std::size_t>(layers), false);
  if (window) {
    FL_ASSIGN_OR_RETURN(sliding, SlidingLayers(f, layers, rule));
  }

  // Mixture of experts.
  std::int64_t experts = 0, top_k = 0, expert_inner = 0, shared_inner = 0, sparse_step = 1;
  std::vector<std::int64_t> mlp_only_layers;
  if (moe == MoeKind::kMixtral) {
    FL_ASSIGN_OR_RETURN(experts, f.Int({"num_local_experts"}, 1, kMaxCount));
    expert_inner = intermediate;  // Mixtral's intermediate_size is per expert
  } else if (moe == MoeKind::kQwen) {
    FL_ASSIGN_OR_RETURN(experts, f.Int({"num_experts"}, 1, kMaxCount));
    FL_ASSIGN_OR_RETURN(expert_inner, f.Int({"moe_intermediate_size"}));
    FL_ASSIGN_OR_RETURN(shared_inner, f.IntOr({"shared_expert_intermediate_size"}, 0, 0));
    FL_ASSIGN_OR_RETURN(sparse_step, f.IntOr({"decoder_sparse_step"}, 1, 1, kMaxCount));
    FL_ASSIGN_OR_RETURN(mlp_only_layers, f.IntList("mlp_only_layers"));
  }
  if (moe != MoeKind::kNone) {
    FL_ASSIGN_OR_RETURN(top_k, f.Int({"num_experts_per_tok"}, 1, kMaxCount));
    if (top_k > experts) {
      return f.Bad("num_experts_per_tok",
                   fmt::format("{} experts per token but only {} experts", top_k, experts));
    }
  }

  bool qkv_bias = attention_bias || traits.qkv_bias_always;
  bool o_bias = attention_bias && !traits.qkv_bias_always;
  for (std::int64_t i = 0; i < layers; ++i) {
    Layer layer;
    layer.dense = QkvoProjections(d, heads, qkv_bias, o_bias);
    layer.other_params = traits.norms_per_layer * d + (traits.qk_norm ? 2 * heads.head_dim : 0);
    layer.attention = {heads.heads, heads.head_dim, heads.head_dim, std::nullopt};
    if (sliding[static_cast<std::size_t>(i)]) layer.attention.window = window;

    bool sparse = moe != MoeKind::kNone;
    if (moe == MoeKind::kQwen) {
      bool listed = std::find(mlp_only_layers.begin(), mlp_only_layers.end(), i) != mlp_only_layers.end();
      sparse = !listed && (i + 1) % sparse_step == 0;
    }
    if (!sparse) {
      Append(layer.dense, GatedMlp(Component::kMlp, d, intermediate, mlp_bias));
    } else {
      layer.dense.push_back(MakeLinear(Component::kMoeRouter, d, experts));
      layer.routed_expert = GatedMlp(Component::kMoeRoutedExperts, d, expert_inner);
      layer.routed_experts = experts;
      layer.experts_per_token = top_k;
      if (shared_inner > 0) {  // Qwen2-MoE: one always-on shared expert and its scalar gate
        Append(layer.dense, GatedMlp(Component::kMoeSharedExperts, d, shared_inner));
        layer.dense.push_back(MakeLinear(Component::kMoeRouter, d, 1));
      }
    }
    arch.layers.push_back(std::move(layer));
  }
  return arch;
}

// ---- DeepSeek-V2 / V3: multi-head latent attention, shared + routed experts, dense first layers ----

Result<Architecture> BuildDeepseek(const Fields& f, const std::string& model_type) {
  Architecture arch;
  arch.model_type = model_type;
  arch.family = "deepseek (MLA, shared + routed experts)";
  FL_ASSIGN_OR_RETURN(arch.hidden_size, f.Int({"hidden_size"}));
  FL_ASSIGN_OR_RETURN(arch.vocab_size, f.Int({"vocab_size"}));
  FL_ASSIGN_OR_RETURN(std::int64_t layers, f.Int({"num_hidden_layers"}, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t heads, f.Int({"num_attention_heads"}, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t intermediate, f.Int({"intermediate_size"}));
  FL_ASSIGN_OR_RETURN(std::optional<std::int64_t> q_lora, f.OptionalInt({"q_lora_rank"}));
  FL_ASSIGN_OR_RETURN(std::int64_t kv_lora, f.Int({"kv_lora_rank"}));
  FL_ASSIGN_OR_RETURN(std::int64_t nope, f.Int({"qk_nope_head_dim"}));
  FL_ASSIGN_OR_RETURN(std::int64_t rope, f.Int({"qk_rope_head_dim"}));
  FL_ASSIGN_OR_RETURN(std::int64_t v_dim, f.Int({"v_head_dim"}));
  FL_ASSIGN_OR_RETURN(bool bias, f.BoolOr({"attention_bias"}, false));
  FL_ASSIGN_OR_RETURN(std::optional<std::int64_t> routed,
                      f.OptionalInt({"n_routed_experts"}, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t shared, f.IntOr({"n_shared_experts"}, 0, 0, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t first_dense, f.IntOr({"first_k_dense_replace"}, 0, 0, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t layer_freq, f.IntOr({"moe_layer_freq"}, 1, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t mtp_depth, f.IntOr({"num_nextn_predict_layers"}, 0, 0, kMaxCount));
  FL_ASSIGN_OR_RETURN(arch.tied_embeddings, f.BoolOr({"tie_word_embeddings"}, false));
  FL_ASSIGN_OR_RETURN(auto topk_method, f.OptionalString("topk_method"));
  FL_RETURN_IF_ERROR(ReadSequenceLength(f, arch, {"max_position_embeddings"}));
  std::int64_t expert_inner = 0, top_k = 0;
  if (routed) {
    FL_ASSIGN_OR_RETURN(expert_inner, f.Int({"moe_intermediate_size"}));
    FL_ASSIGN_OR_RETURN(top_k, f.Int({"num_experts_per_tok"}, 1, kMaxCount));
    if (top_k > *routed) {
      return f.Bad("num_experts_per_tok",
                   fmt::format("{} experts per token but only {} routed experts", top_k, *routed));
    }
  }
  // V3's router adds a per-expert score-correction bias (aux-loss-free balancing, "noaux_tc").
  bool score_bias = model_type == "deepseek_v3" ? (!topk_method || *topk_method == "noaux_tc")
                                                : (topk_method && *topk_method == "noaux_tc");
  const std::int64_t d = arch.hidden_size;
  const std::int64_t qk_dim = nope + rope;
  arch.final_norm_params = d;

  auto make_layer = [&](bool moe_layer) {
    Layer layer;
    if (q_lora) {
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d, *q_lora, bias));  // q_a_proj
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, *q_lora, heads * qk_dim));  // q_b_proj
      layer.other_params += *q_lora;  // q_a_layernorm
    } else {
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d, heads * qk_dim));  // q_proj
    }
    layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d, kv_lora + rope, bias));  // kv_a_proj_with_mqa
    layer.other_params += kv_lora;                                              // kv_a_layernorm
    layer.dense.push_back(MakeLinear(Component::kAttentionQkv, kv_lora, heads * (nope + v_dim)));  // kv_b_proj
    layer.dense.push_back(MakeLinear(Component::kAttentionOutput, heads * v_dim, d, bias));        // o_proj
    layer.other_params += 2 * d;  // input and post-attention RMSNorms
    layer.attention = {heads, qk_dim, v_dim, std::nullopt};
    if (!moe_layer) {
      Append(layer.dense, GatedMlp(Component::kMlp, d, intermediate));
      return layer;
    }
    layer.dense.push_back(MakeLinear(Component::kMoeRouter, d, *routed));
    if (score_bias) layer.other_params += *routed;
    layer.routed_expert = GatedMlp(Component::kMoeRoutedExperts, d, expert_inner);
    layer.routed_experts = *routed;
    layer.experts_per_token = top_k;
    if (shared > 0) Append(layer.dense, GatedMlp(Component::kMoeSharedExperts, d, expert_inner * shared));
    return layer;
  };

  for (std::int64_t i = 0; i < layers; ++i) {
    bool moe_layer = routed && i >= first_dense && i % layer_freq == 0;
    arch.layers.push_back(make_layer(moe_layer));
  }
  if (mtp_depth > 0) {
    // Each MTP module: RMSNorms on the embedding and hidden state, a projection of their
    // concatenation, one decoder layer like the last one, a norm, and the shared output head.
    for (std::int64_t i = 0; i < mtp_depth; ++i) {
      arch.training_only_linears.push_back(MakeLinear(Component::kMtp, 2 * d, d));
      arch.training_only_layers.push_back(make_layer(routed && layers - 1 >= first_dense));
      arch.training_only_other_params += 3 * d;
    }
    arch.training_only_output_heads = static_cast<int>(mtp_depth);
    arch.notes.push_back(fmt::format(
        "num_nextn_predict_layers = {}: multi-token-prediction modules run in training only; their "
        "FLOP are counted (component 'mtp') and their parameters reported apart",
        mtp_depth));
  }
  return arch;
}

// ---- GPT-2: learned positions, fused QKV with biases, GELU MLP, tied head ----

Result<Architecture> BuildGpt2(const Fields& f, const std::string& model_type) {
  Architecture arch;
  arch.model_type = model_type;
  arch.family = "gpt2 (MHA, GELU MLP, learned positions)";
  FL_ASSIGN_OR_RETURN(arch.hidden_size, f.Int({"n_embd", "hidden_size"}));
  FL_ASSIGN_OR_RETURN(arch.vocab_size, f.Int({"vocab_size"}));
  FL_ASSIGN_OR_RETURN(std::int64_t layers, f.Int({"n_layer", "num_hidden_layers"}, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t heads, f.Int({"n_head", "num_attention_heads"}, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t positions, f.Int({"n_positions", "max_position_embeddings"}));
  const std::int64_t d = arch.hidden_size;
  FL_ASSIGN_OR_RETURN(std::int64_t inner, f.IntOr({"n_inner"}, 4 * d));
  if (d % heads != 0) {
    return f.Bad("n_head", fmt::format("n_embd {} is not divisible by n_head {}", d, heads));
  }
  arch.tied_embeddings = true;  // GPT2LMHeadModel always ties lm_head to wte
  arch.position_embedding_params = positions * d;
  arch.final_norm_params = 2 * d;
  arch.pretraining_seq_len = positions;
  arch.pretraining_seq_len_source = f.Find({"n_positions"}, nullptr) ? "n_positions"
                                                                     : "max_position_embeddings";
  for (std::int64_t i = 0; i < layers; ++i) {
    Layer layer;
    layer.dense = {MakeLinear(Component::kAttentionQkv, d, 3 * d, true), MakeLinear(Component::kAttentionOutput, d, d, true),
                   MakeLinear(Component::kMlp, d, inner, true), MakeLinear(Component::kMlp, inner, d, true)};
    layer.other_params = 4 * d;  // ln_1, ln_2 (weight and bias)
    layer.attention = {heads, d / heads, d / heads, std::nullopt};
    arch.layers.push_back(std::move(layer));
  }
  return arch;
}

// ---- GPT-NeoX (Pythia): fused QKV, GELU MLP, all with biases, untied head ----

Result<Architecture> BuildGptNeox(const Fields& f, const std::string& model_type) {
  Architecture arch;
  arch.model_type = model_type;
  arch.family = "gpt_neox (MHA, GELU MLP, parallel residual)";
  FL_ASSIGN_OR_RETURN(arch.hidden_size, f.Int({"hidden_size"}));
  FL_ASSIGN_OR_RETURN(arch.vocab_size, f.Int({"vocab_size"}));
  FL_ASSIGN_OR_RETURN(std::int64_t layers, f.Int({"num_hidden_layers"}, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(HeadShape heads, ReadHeads(f, arch.hidden_size, /*head_dim_key=*/false));
  FL_ASSIGN_OR_RETURN(std::int64_t inner, f.Int({"intermediate_size"}));
  FL_ASSIGN_OR_RETURN(arch.tied_embeddings, f.BoolOr({"tie_word_embeddings"}, false));
  FL_ASSIGN_OR_RETURN(bool attention_bias, f.BoolOr({"attention_bias"}, true));
  FL_RETURN_IF_ERROR(ReadSequenceLength(f, arch, {"max_position_embeddings"}));
  const std::int64_t d = arch.hidden_size;
  arch.final_norm_params = 2 * d;
  for (std::int64_t i = 0; i < layers; ++i) {
    Layer layer;
    layer.dense = {MakeLinear(Component::kAttentionQkv, d, 3 * d, attention_bias),
                   MakeLinear(Component::kAttentionOutput, d, d, attention_bias),
                   MakeLinear(Component::kMlp, d, inner, true), MakeLinear(Component::kMlp, inner, d, true)};
    layer.other_params = 4 * d;  // input and post-attention LayerNorms
    layer.attention = {heads.heads, heads.head_dim, heads.head_dim, std::nullopt};
    arch.layers.push_back(std::move(layer));
  }
  return arch;
}

// ---- Falcon: multi-query (7B) or grouped KV (40B/180B, "new decoder architecture") ----

Result<Architecture> BuildFalcon(const Fields& f, const std::string& model_type) {
  Architecture arch;
  arch.model_type = model_type;
  arch.family = "falcon (MQA/GQA, GELU MLP, parallel attention)";
  FL_ASSIGN_OR_RETURN(arch.hidden_size, f.Int({"hidden_size"}));
  FL_ASSIGN_OR_RETURN(arch.vocab_size, f.Int({"vocab_size"}));
  FL_ASSIGN_OR_RETURN(std::int64_t layers, f.Int({"num_hidden_layers", "n_layer"}, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t heads, f.Int({"num_attention_heads", "n_head"}, 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(bool multi_query, f.BoolOr({"multi_query"}, true));
  FL_ASSIGN_OR_RETURN(bool new_arch, f.BoolOr({"new_decoder_architecture"}, false));
  FL_ASSIGN_OR_RETURN(bool parallel_attn, f.BoolOr({"parallel_attn"}, true));
  FL_ASSIGN_OR_RETURN(bool bias, f.BoolOr({"bias"}, false));
  FL_ASSIGN_OR_RETURN(arch.tied_embeddings, f.BoolOr({"tie_word_embeddings"}, true));
  const std::int64_t d = arch.hidden_size;
  FL_ASSIGN_OR_RETURN(std::int64_t inner, f.IntOr({"ffn_hidden_size"}, 4 * d));
  if (d % heads != 0) {
    return f.Bad("num_attention_heads",
                 fmt::format("hidden_size {} is not divisible by num_attention_heads {}", d, heads));
  }
  std::int64_t kv_heads = heads;
  if (new_arch) {
    FL_ASSIGN_OR_RETURN(kv_heads, f.IntOr({"num_kv_heads", "n_head_kv"}, heads, 1, kMaxCount));
  } else if (multi_query) {
    kv_heads = 1;
  }
  FL_ASSIGN_OR_RETURN(std::int64_t ln_in_parallel, f.IntOr({"num_ln_in_parallel_attn"}, 2, 1, 2));
  FL_RETURN_IF_ERROR(ReadSequenceLength(f, arch, {"max_position_embeddings"}));
  const std::int64_t head_dim = d / heads;
  arch.final_norm_params = 2 * d;
  std::int64_t norms = 2 * d;
  if (new_arch ? ln_in_parallel == 2 : !parallel_attn) norms = 4 * d;
  for (std::int64_t i = 0; i < layers; ++i) {
    Layer layer;
    layer.dense = {MakeLinear(Component::kAttentionQkv, d, (heads + 2 * kv_heads) * head_dim, bias),
                   MakeLinear(Component::kAttentionOutput, d, d, bias), MakeLinear(Component::kMlp, d, inner, bias),
                   MakeLinear(Component::kMlp, inner, d, bias)};
    layer.other_params = norms;
    layer.attention = {heads, head_dim, head_dim, std::nullopt};
    arch.layers.push_back(std::move(layer));
  }
  return arch;
}

using Builder = std::function<Result<Architecture>(const Fields&, const std::string&)>;

const std::map<std::string, Builder>& Builders() {
  static const auto* builders = new std::map<std::string, Builder>{
      {"llama", [](const Fields& f, const std::string& t) {
         return BuildLlamaLike(f, t, {"llama (GQA, SwiGLU)"}, SlidingRule::kNone, MoeKind::kNone);
       }},
      {"mistral", [](const Fields& f, const std::string& t) {
         return BuildLlamaLike(f, t, {"mistral (GQA, SwiGLU, sliding window)"},
                               SlidingRule::kAllLayers, MoeKind::kNone);
       }},
      {"qwen2", [](const Fields& f, const std::string& t) {
         return BuildLlamaLike(f, t, {"qwen2 (GQA with QKV bias, SwiGLU)", true},
                               SlidingRule::kQwen, MoeKind::kNone);
       }},
      {"qwen3", [](const Fields& f, const std::string& t) {
         return BuildLlamaLike(f, t, {"qwen3 (GQA, QK-norm, SwiGLU)", false, false, 2, true},
                               SlidingRule::kQwen, MoeKind::kNone);
       }},
      {"gemma", [](const Fields& f, const std::string& t) {
         return BuildLlamaLike(f, t, {"gemma (head_dim apart, GeGLU, tied)", false, true},
                               SlidingRule::kNone, MoeKind::kNone);
       }},
      {"gemma2", [](const Fields& f, const std::string& t) {
         return BuildLlamaLike(f, t, {"gemma2 (alternating sliding window, GeGLU, tied)", false, true, 4},
                               SlidingRule::kEvenLayers, MoeKind::kNone);
       }},
      {"mixtral", [](const Fields& f, const std::string& t) {
         return BuildLlamaLike(f, t, {"mixtral (routed experts, top-k)"}, SlidingRule::kAllLayers,
                               MoeKind::kMixtral);
       }},
      {"qwen2_moe", [](const Fields& f, const std::string& t) {
         return BuildLlamaLike(f, t, {"qwen2_moe (routed + gated shared expert)", true},
                               SlidingRule::kQwen, MoeKind::kQwen);
       }},
      {"qwen3_moe", [](const Fields& f, const std::string& t) {
         return BuildLlamaLike(f, t, {"qwen3_moe (routed experts, QK-norm)", false, false, 2, true},
                               SlidingRule::kQwen, MoeKind::kQwen);
       }},
      {"deepseek_v2", BuildDeepseek},
      {"deepseek_v3", BuildDeepseek},
      {"gpt2", BuildGpt2},
      {"gpt_neox", BuildGptNeox},
      {"falcon", BuildFalcon},
      {"RefinedWeb", BuildFalcon},
      {"RefinedWebModel", BuildFalcon},
  };
  return *builders;
}

// Rejects architectures whose parameter count would overflow int64 before anything counts them.
Result<void> CheckScale(const Fields& f, const Architecture& arch) {
  double params = 2.0 * static_cast<double>(arch.vocab_size) * static_cast<double>(arch.hidden_size);
  auto layer_params = [](const Layer& layer) {
    double sum = static_cast<double>(layer.other_params);
    for (const Linear& l : layer.dense) sum += static_cast<double>(l.in) * static_cast<double>(l.out + 1);
    for (const Linear& l : layer.routed_expert) {
      sum += static_cast<double>(layer.routed_experts) * static_cast<double>(l.in) *
             static_cast<double>(l.out + 1);
    }
    return sum;
  };
  for (const Layer& layer : arch.layers) params += layer_params(layer);
  for (const Layer& layer : arch.training_only_layers) params += layer_params(layer);
  if (params > 1e18) {
    return core::InvalidArgument(
        fmt::format("describes {:.3g} parameters, beyond what flopline counts (1e18)", params),
        "model_type", core::Location{f.file(), 0, 0});
  }
  return core::Ok();
}

}  // namespace

const std::vector<std::string>& SupportedModelTypes() {
  static const auto* types = [] {
    auto* out = new std::vector<std::string>();
    for (const auto& [name, builder] : Builders()) out->push_back(name);
    return out;
  }();
  return *types;
}

Result<Architecture> ParseHfConfig(std::string_view text, const std::string& file_name) {
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    std::string what = e.what();
    auto cut = what.find("syntax error");
    return core::InvalidArgument(
        fmt::format("malformed JSON: {}", cut == std::string::npos ? what : what.substr(cut)), {},
        OffsetToLocation(text, offset, file_name));
  } catch (const json::exception& e) {
    // E.g. out_of_range for a number literal too large for a double (found by hf_config_fuzz).
    std::string what = e.what();
    auto cut = what.find("] ");
    return core::InvalidArgument(
        fmt::format("malformed JSON: {}", cut == std::string::npos ? what : what.substr(cut + 2)), {},
        core::Location{file_name, 0, 0});
  }
  if (!root.is_object()) {
    return core::InvalidArgument(fmt::format("expected a JSON object, got {}", root.type_name()), {},
                                 core::Location{file_name, 1, 1});
  }
  Fields fields(root, text, file_name);
  FL_ASSIGN_OR_RETURN(auto model_type, fields.OptionalString("model_type"));
  std::string supported;
  for (const std::string& name : SupportedModelTypes()) supported += (supported.empty() ? "" : ", ") + name;
  if (!model_type) {
    return core::InvalidArgument(
        fmt::format("is missing; supported: {} (or give --params N for the 6ND method)", supported),
        "model_type", core::Location{file_name, 0, 0});
  }
  auto it = Builders().find(*model_type);
  if (it == Builders().end()) {
    return fields.Bad("model_type",
                      fmt::format("unsupported model_type '{}'; supported: {} (or give --params N "
                                  "for the 6ND method)",
                                  *model_type, supported));
  }
  fields.set_model_type(*model_type);
  FL_ASSIGN_OR_RETURN(Architecture arch, it->second(fields, *model_type));
  FL_RETURN_IF_ERROR(CheckScale(fields, arch));
  return arch;
}

Result<Architecture> LoadHfConfig(const std::string& path) {
  FL_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
  return ParseHfConfig(text, path);
}

}  // namespace flopline::compute
