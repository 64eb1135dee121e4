#include "flopline/compute/hf_config.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "family_spec.h"
#include "json_location.h"

namespace flopline::compute {
namespace {

using arch::Value;
using core::Result;
using json = nlohmann::json;

// Evaluated sizes above this are rejected: with it, a product of two sizes stays far inside int64
// and CheckScale (in doubles) sees every layer before anything counts in integers.
constexpr std::int64_t kMaxEvaluatedSize = std::int64_t{1} << 30;

std::string Describe(const json& value) {
  std::string dumped = value.dump();
  if (dumped.size() > 40) dumped = dumped.substr(0, 37) + "...";
  return fmt::format("{} ({})", dumped, value.type_name());
}

std::vector<std::string> SplitPath(const std::string& key) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// Typed access to the fields of one config, with errors that name the file, line and field.
class Fields {
 public:
  Fields(const json& root, std::string_view text, std::string file)
      : root_(root), text_(text), file_(std::move(file)) {}

  const std::string& file() const { return file_; }
  const json& root() const { return root_; }

  tl::unexpected<core::Error> Bad(const std::string& key, const std::string& message) const {
    return core::InvalidArgument(message, key, LocateKey(text_, SplitPath(key), file_));
  }

  // The value at a key path ("a.b" is key b of object a), or nullptr when it or an object on the
  // way is absent or null. An object on the way that is something else is an error.
  Result<const json*> Lookup(const std::string& key) const {
    const json* node = &root_;
    std::vector<std::string> parts = SplitPath(key);
    std::string walked;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      if (k > 0) {
        if (node->is_null()) return nullptr;
        if (!node->is_object()) {
          return Bad(walked, fmt::format("expected an object or null, got {}", Describe(*node)));
        }
      }
      auto it = node->find(parts[k]);
      if (it == node->end()) return nullptr;
      node = &*it;
      walked += (walked.empty() ? "" : ".") + parts[k];
    }
    return node;
  }

  // An integer: integral floats such as 4096.0 pass.
  Result<std::int64_t> Int(const std::string& key, const json& value, std::int64_t min,
                           std::int64_t max) const {
    double number = 0;
    if (value.is_number_integer()) {
      if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
        return Bad(key, fmt::format("{} is larger than the supported maximum {}", value.dump(), max));
      }
      number = static_cast<double>(value.get<std::int64_t>());
    } else if (value.is_number_float()) {
      number = value.get<double>();
      if (!std::isfinite(number) || number != std::floor(number)) {
        return Bad(key, fmt::format("expected an integer, got {}", Describe(value)));
      }
    } else {
      return Bad(key, fmt::format("expected an integer, got {}", Describe(value)));
    }
    if (number < static_cast<double>(min)) {
      return Bad(key, fmt::format("must be at least {}, got {}", min, value.dump()));
    }
    if (number > static_cast<double>(max)) {
      return Bad(key, fmt::format("{} is larger than the supported maximum {}", value.dump(), max));
    }
    return static_cast<std::int64_t>(number);
  }

  // One [config] value of a family file, converted to its declared type.
  Result<Value> Convert(const ConfigParam& p, const std::string& key, const json& value) const {
    switch (p.type) {
      case ConfigParam::Type::kInt: {
        FL_ASSIGN_OR_RETURN(std::int64_t i, Int(key, value, p.min, p.max));
        return Value::Int(i);
      }
      case ConfigParam::Type::kBool:
        if (!value.is_boolean()) {
          return Bad(key, fmt::format("expected true or false, got {}", Describe(value)));
        }
        return Value::Bool(value.get<bool>());
      case ConfigParam::Type::kString:
        if (!value.is_string()) return Bad(key, fmt::format("expected a string, got {}", Describe(value)));
        return Value::String(value.get<std::string>());
      case ConfigParam::Type::kAny:  // Mamba's time_step_rank: "auto" or an integer
        if (value.is_boolean()) return Value::Bool(value.get<bool>());
        if (value.is_string()) return Value::String(value.get<std::string>());
        if (value.is_number()) {
          FL_ASSIGN_OR_RETURN(std::int64_t i, Int(key, value, p.min, p.max));
          return Value::Int(i);
        }
        return Bad(key, fmt::format("expected an integer, a string or true/false, got {}", Describe(value)));
      case ConfigParam::Type::kIntList:
      case ConfigParam::Type::kStringList: {
        if (!value.is_array()) return Bad(key, fmt::format("expected a list, got {}", Describe(value)));
        bool ints = p.type == ConfigParam::Type::kIntList;
        std::vector<Value> items;
        for (const json& item : value) {
          if (ints ? !item.is_number_integer() : !item.is_string()) {
            return Bad(key, fmt::format("expected a list of {}, got {}", ints ? "integers" : "strings",
                                        Describe(item)));
          }
          items.push_back(ints ? Value::Int(item.get<std::int64_t>()) : Value::String(item.get<std::string>()));
        }
        return Value::List(std::move(items));
      }
    }
    return Value::None();
  }

 private:
  const json& root_;
  std::string_view text_;
  std::string file_;
};

Linear MakeLinear(Component component, std::int64_t in, std::int64_t out, bool bias = false) {
  return Linear{component, in, out, bias};
}

// A feed-forward block: gated (SwiGLU / GeGLU: gate, up, down) or plain (up, down).
std::vector<Linear> Mlp(Component component, std::int64_t hidden, std::int64_t inner, bool gated,
                        bool bias) {
  std::vector<Linear> out;
  if (gated) out.push_back(MakeLinear(component, hidden, inner, bias));
  out.push_back(MakeLinear(component, hidden, inner, bias));
  out.push_back(MakeLinear(component, inner, hidden, bias));
  return out;
}

void Append(std::vector<Linear>& to, const std::vector<Linear>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// Evaluates a family's expressions against one config, with errors that name the family file and
// the section key (a family-file bug) or the config key (a config the family rejects).
class Evaluator {
 public:
  Evaluator(const Family& family, const Fields& fields, const std::string& model_type)
      : family_(family), fields_(fields), model_type_(model_type) {}

  arch::Scope& scope() { return scope_; }
  const std::map<std::string, std::string>& found_keys() const { return found_keys_; }

  // Reads every [config] value, in file order, then runs the [[check]]s.
  Result<void> ReadConfig(std::vector<std::string>& notes) {
    for (const ConfigParam& p : family_.config) {
      if (p.when) {
        FL_ASSIGN_OR_RETURN(Value when, Eval(*p.when, "config." + p.name + ".when"));
        if (when.kind != Value::Kind::kBool) return NotBool("config." + p.name + ".when", when);
        if (!when.b) {
          scope_.values[p.name] = Value::None();
          continue;
        }
      }
      const json* value = nullptr;
      bool explicit_null = false;
      std::string key;
      for (const std::string& candidate : p.keys) {
        FL_ASSIGN_OR_RETURN(const json* found, fields_.Lookup(candidate));
        if (found && found->is_null()) {
          explicit_null = true;
          continue;
        }
        if (found) {
          value = found;
          key = candidate;
          break;
        }
      }
      if (value) {
        FL_ASSIGN_OR_RETURN(scope_.values[p.name], fields_.Convert(p, key, *value));
        scope_.given.insert(p.name);
        found_keys_[p.name] = key;
        continue;
      }
      if (explicit_null && p.null_is_none) {
        scope_.values[p.name] = Value::None();
      } else if (p.default_value) {
        FL_ASSIGN_OR_RETURN(scope_.values[p.name], Eval(*p.default_value, "config." + p.name + ".default"));
        if (!p.note.empty()) notes.push_back(p.note);
      } else if (p.optional) {
        scope_.values[p.name] = Value::None();
      } else {
        return core::InvalidArgument(
            fmt::format("is required for model_type '{}' and missing", model_type_), p.keys.front(),
            core::Location{fields_.file(), 0, 0});
      }
    }
    for (const FamilyCheck& check : family_.checks) {
      FL_ASSIGN_OR_RETURN(Value ok, Eval(check.require, "check.require"));
      if (ok.kind != Value::Kind::kBool) return NotBool("check.require", ok);
      if (!ok.b) return fields_.Bad(check.field, Interpolate(check.message));
    }
    return core::Ok();
  }

  Result<Value> Eval(const arch::Expr& expr, const std::string& where) const {
    auto value = expr.Eval(scope_);
    if (!value) return FamilyError(where, value.error().message);
    return value;
  }

  // A section key's value; `fallback` when the file does not write it (nullopt: required).
  Result<Value> Get(const Section& section, const char* section_name, std::string_view key,
                    std::optional<Value> fallback) const {
    // The "section.key" name is only formatted on an error: this runs for every key of every layer.
    auto it = section.find(key);
    if (it == section.end()) {
      if (fallback) return *fallback;
      return FamilyError(fmt::format("{}.{}", section_name, key),
                         "is required for this model and missing from the family file");
    }
    const arch::Expr& expr = it->second;
    if (!expr.per_layer()) {
      auto cached = cache_.find(&expr);
      if (cached != cache_.end()) return cached->second;
    }
    auto value = expr.Eval(scope_);
    if (!value) return FamilyError(fmt::format("{}.{}", section_name, key), value.error().message);
    if (!expr.per_layer()) cache_.emplace(&expr, *value);
    return value;
  }

  Result<std::int64_t> Size(const Section& section, const char* name, std::string_view key,
                            std::optional<std::int64_t> fallback = std::nullopt,
                            std::int64_t max = kMaxEvaluatedSize) const {
    std::optional<Value> fb;
    if (fallback) fb = Value::Int(*fallback);
    FL_ASSIGN_OR_RETURN(Value v, Get(section, name, key, fb));
    return CheckSize(v, name, key, max);
  }

  // A size that may be none (no sliding window; no query compression).
  Result<std::optional<std::int64_t>> OptionalSize(const Section& section, const char* name,
                                                   std::string_view key) const {
    FL_ASSIGN_OR_RETURN(Value v, Get(section, name, key, Value::None()));
    if (v.is_none()) return std::optional<std::int64_t>();
    FL_ASSIGN_OR_RETURN(std::int64_t size, CheckSize(v, name, key, kMaxEvaluatedSize));
    return std::optional<std::int64_t>(size);
  }

  Result<bool> Flag(const Section& section, const char* name, std::string_view key, bool fallback) const {
    FL_ASSIGN_OR_RETURN(Value v, Get(section, name, key, Value::Bool(fallback)));
    if (v.kind != Value::Kind::kBool) return NotBool(fmt::format("{}.{}", name, key), v);
    return v.b;
  }

  Result<std::string> Word(const Section& section, const char* name, std::string_view key,
                           const char* fallback) const {
    FL_ASSIGN_OR_RETURN(Value v, Get(section, name, key, Value::String(fallback)));
    if (v.kind != Value::Kind::kString) {
      return FamilyError(fmt::format("{}.{}", name, key), "expected a string such as 'attention', got " + v.Describe());
    }
    return v.s;
  }

  tl::unexpected<core::Error> FamilyError(const std::string& where, const std::string& message) const {
    return core::InvalidArgument(
        fmt::format("{} (family file {}, reading {})", message, family_.file, fields_.file()), where,
        core::Location{family_.file, 0, 0});
  }

 private:
  Result<std::int64_t> CheckSize(const Value& v, const char* name, std::string_view key, std::int64_t max) const {
    if (v.kind != Value::Kind::kInt) {
      return FamilyError(fmt::format("{}.{}", name, key), "expected an integer, got " + v.Describe());
    }
    if (v.i < 0 || v.i > max) {
      return FamilyError(fmt::format("{}.{}", name, key), fmt::format("evaluates to {}, outside 0..{}", v.i, max));
    }
    return v.i;
  }

  tl::unexpected<core::Error> NotBool(const std::string& where, const Value& v) const {
    return FamilyError(where, "expected true or false, got " + v.Describe());
  }

  // "{hidden}" in a check's message becomes the value of `hidden`.
  std::string Interpolate(const std::string& message) const {
    std::string out;
    for (std::size_t k = 0; k < message.size(); ++k) {
      std::size_t close = message.find('}', k);
      if (message[k] == '{' && close != std::string::npos) {
        auto it = scope_.values.find(message.substr(k + 1, close - k - 1));
        if (it != scope_.values.end()) {
          out += it->second.Describe();
          k = close;
          continue;
        }
      }
      out += message[k];
    }
    return out;
  }

  const Family& family_;
  const Fields& fields_;
  const std::string& model_type_;
  arch::Scope scope_;
  std::map<std::string, std::string> found_keys_;
  // Values of the expressions that do not depend on the layer, computed once (the [config] values
  // they read are fixed by the time any section is evaluated).
  mutable std::unordered_map<const arch::Expr*, Value> cache_;
};

// Checked int64 arithmetic for the parameter tallies a layer keeps outside its linears.
Result<std::int64_t> Product(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return core::InvalidArgument("parameter count overflows");
  return out;
}

Result<void> BuildAttention(const Evaluator& ev, const Family& fam, std::int64_t d, bool encoder,
                            Layer& layer, Architecture& arch) {
  const Section& a = fam.attention;
  FL_ASSIGN_OR_RETURN(std::string kind, ev.Word(a, "attention", "kind", "standard"));
  FL_ASSIGN_OR_RETURN(std::int64_t heads, ev.Size(a, "attention", "heads", std::nullopt, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t head_dim, ev.Size(a, "attention", "head_dim"));
  FL_ASSIGN_OR_RETURN(std::int64_t v_head_dim, ev.Size(a, "attention", "v_head_dim", head_dim));
  FL_ASSIGN_OR_RETURN(bool qkv_bias, ev.Flag(a, "attention", "qkv_bias", false));
  FL_ASSIGN_OR_RETURN(bool o_bias, ev.Flag(a, "attention", "o_bias", false));
  FL_ASSIGN_OR_RETURN(std::optional<std::int64_t> window, ev.OptionalSize(a, "attention", "window"));
  FL_ASSIGN_OR_RETURN(std::int64_t other, ev.Size(a, "attention", "other_params", 0));
  if (heads == 0 || head_dim == 0) return ev.FamilyError("attention.heads", "an attention layer needs heads and head_dim");
  layer.other_params += other;
  layer.attention = {heads, head_dim, v_head_dim, window, encoder};
  if (kind == "standard") {
    FL_ASSIGN_OR_RETURN(std::int64_t kv_heads, ev.Size(a, "attention", "kv_heads", heads, kMaxCount));
    FL_ASSIGN_OR_RETURN(bool cross, ev.Flag(a, "attention", "cross", false));
    if (cross && !encoder && arch.encoder_decoder()) {
      // Cross-attention: queries and output per decoder token, keys and values per encoder token.
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d, heads * head_dim, qkv_bias));
      layer.dense.push_back(MakeLinear(Component::kAttentionOutput, heads * v_head_dim, d, o_bias));
      arch.encoder_side.push_back(MakeLinear(Component::kAttentionQkv, d, kv_heads * head_dim, qkv_bias));
      arch.encoder_side.push_back(MakeLinear(Component::kAttentionQkv, d, kv_heads * v_head_dim, qkv_bias));
      layer.cross_attention = {heads, head_dim, v_head_dim, std::nullopt, true};
    }
    FL_ASSIGN_OR_RETURN(bool fused, ev.Flag(a, "attention", "fused_qkv", false));
    if (fused) {  // one projection (GPT-2's c_attn, Falcon's query_key_value): same count, one matrix
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d,
                                       heads * head_dim + kv_heads * (head_dim + v_head_dim), qkv_bias));
    } else {
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d, heads * head_dim, qkv_bias));
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d, kv_heads * head_dim, qkv_bias));
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d, kv_heads * v_head_dim, qkv_bias));
    }
    layer.dense.push_back(MakeLinear(Component::kAttentionOutput, heads * v_head_dim, d, o_bias));
    return core::Ok();
  }
  if (kind == "mla") {
    // Multi-head latent attention (DeepSeek-V2/V3): queries optionally through a low-rank
    // compression, keys and values through one shared latent of kv_lora_rank plus a decoupled
    // rotary key of rope_dim; each compression has its RMSNorm.
    FL_ASSIGN_OR_RETURN(std::optional<std::int64_t> q_lora, ev.OptionalSize(a, "attention", "q_lora_rank"));
    FL_ASSIGN_OR_RETURN(std::int64_t kv_lora, ev.Size(a, "attention", "kv_lora_rank"));
    FL_ASSIGN_OR_RETURN(std::int64_t rope, ev.Size(a, "attention", "rope_dim"));
    if (rope > head_dim) return ev.FamilyError("attention.rope_dim", "is larger than head_dim");
    const std::int64_t nope = head_dim - rope;
    if (q_lora) {
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d, *q_lora, qkv_bias));  // q_a_proj
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, *q_lora, heads * head_dim));  // q_b_proj
      layer.other_params += *q_lora;  // q_a_layernorm
    } else {
      layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d, heads * head_dim));  // q_proj
    }
    layer.dense.push_back(MakeLinear(Component::kAttentionQkv, d, kv_lora + rope, qkv_bias));  // kv_a_proj_with_mqa
    layer.other_params += kv_lora;  // kv_a_layernorm
    layer.dense.push_back(MakeLinear(Component::kAttentionQkv, kv_lora, heads * (nope + v_head_dim)));  // kv_b_proj
    layer.dense.push_back(MakeLinear(Component::kAttentionOutput, heads * v_head_dim, d, o_bias));
    return core::Ok();
  }
  return ev.FamilyError("attention.kind", fmt::format("unknown kind '{}'; expected 'standard' or 'mla'", kind));
}

// A state-space mixer as transformers' MambaMixer / Mamba2Mixer builds it.
Result<void> BuildSsm(const Evaluator& ev, const Family& fam, const std::string& mixer, std::int64_t d,
                      Layer& layer) {
  const Section& s = fam.ssm;
  FL_ASSIGN_OR_RETURN(std::int64_t inner, ev.Size(s, "ssm", "d_inner"));
  FL_ASSIGN_OR_RETURN(std::int64_t state, ev.Size(s, "ssm", "d_state"));
  FL_ASSIGN_OR_RETURN(std::int64_t conv, ev.Size(s, "ssm", "d_conv"));
  FL_ASSIGN_OR_RETURN(bool conv_bias, ev.Flag(s, "ssm", "conv_bias", true));
  FL_ASSIGN_OR_RETURN(bool proj_bias, ev.Flag(s, "ssm", "proj_bias", false));
  const Component c = Component::kSsmProjections;
  if (mixer == "mamba") {
    FL_ASSIGN_OR_RETURN(std::int64_t dt_rank, ev.Size(s, "ssm", "dt_rank"));
    layer.dense.push_back(MakeLinear(c, d, 2 * inner, proj_bias));                 // in_proj (x and gate z)
    layer.dense.push_back(MakeLinear(c, inner, dt_rank + 2 * state));             // x_proj (dt, B, C)
    layer.dense.push_back(MakeLinear(c, dt_rank, inner, true));                    // dt_proj
    layer.dense.push_back(MakeLinear(c, inner, d, proj_bias));                     // out_proj
    FL_ASSIGN_OR_RETURN(std::int64_t conv_weights, Product(inner, conv));
    FL_ASSIGN_OR_RETURN(std::int64_t a_log, Product(inner, state));
    layer.other_params += conv_weights + (conv_bias ? inner : 0) + a_log + inner;  // conv1d, A_log, D
    layer.ssm = {inner, state, inner, conv, 9};
    return core::Ok();
  }
  // Mamba-2: one in_proj gives x, the gate z, B and C for each group, and dt for each head.
  FL_ASSIGN_OR_RETURN(std::int64_t heads, ev.Size(s, "ssm", "heads", std::nullopt, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t groups, ev.Size(s, "ssm", "groups", 1, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t group_state, Product(groups, state));
  const std::int64_t conv_dim = inner + 2 * group_state;
  layer.dense.push_back(MakeLinear(c, d, 2 * inner + 2 * group_state + heads, proj_bias));  // in_proj
  layer.dense.push_back(MakeLinear(c, inner, d, proj_bias));                               // out_proj
  FL_ASSIGN_OR_RETURN(std::int64_t conv_weights, Product(conv_dim, conv));
  // conv1d, dt_bias, A_log, D (one per head), and the gated RMSNorm over d_inner.
  layer.other_params += conv_weights + (conv_bias ? conv_dim : 0) + 3 * heads + inner;
  layer.ssm = {inner, state, conv_dim, conv, 6};
  return core::Ok();
}

Result<void> BuildFeedForward(const Evaluator& ev, const Family& fam, std::int64_t d, Layer& layer) {
  FL_ASSIGN_OR_RETURN(bool moe_layer, ev.Flag(fam.moe, "moe", "layer", false));
  if (!moe_layer) {
    const Section& m = fam.mlp;
    FL_ASSIGN_OR_RETURN(std::int64_t inner, ev.Size(m, "mlp", "inner"));
    FL_ASSIGN_OR_RETURN(bool gated, ev.Flag(m, "mlp", "gated", true));
    FL_ASSIGN_OR_RETURN(bool bias, ev.Flag(m, "mlp", "bias", false));
    Append(layer.dense, Mlp(Component::kMlp, d, inner, gated, bias));
    return core::Ok();
  }
  const Section& m = fam.moe;
  FL_ASSIGN_OR_RETURN(std::int64_t experts, ev.Size(m, "moe", "experts", std::nullopt, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t top_k, ev.Size(m, "moe", "top_k", std::nullopt, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t inner, ev.Size(m, "moe", "inner"));
  FL_ASSIGN_OR_RETURN(bool gated, ev.Flag(m, "moe", "gated", true));
  FL_ASSIGN_OR_RETURN(bool bias, ev.Flag(m, "moe", "bias", false));
  FL_ASSIGN_OR_RETURN(bool router_bias, ev.Flag(m, "moe", "router_bias", false));
  FL_ASSIGN_OR_RETURN(std::int64_t shared_inner, ev.Size(m, "moe", "shared_inner", 0));
  FL_ASSIGN_OR_RETURN(bool shared_gate, ev.Flag(m, "moe", "shared_gate", false));
  FL_ASSIGN_OR_RETURN(bool score_bias, ev.Flag(m, "moe", "score_bias", false));
  if (experts == 0 || top_k == 0 || top_k > experts) {
    return ev.FamilyError("moe.top_k", fmt::format("{} experts per token of {} experts", top_k, experts));
  }
  layer.dense.push_back(MakeLinear(Component::kMoeRouter, d, experts, router_bias));
  // DeepSeek-V3's aux-loss-free balancing adds one score-correction bias per expert.
  if (score_bias) layer.other_params += experts;
  layer.routed_expert = Mlp(Component::kMoeRoutedExperts, d, inner, gated, bias);
  layer.routed_experts = experts;
  layer.experts_per_token = top_k;
  if (shared_inner > 0) {
    Append(layer.dense, Mlp(Component::kMoeSharedExperts, d, shared_inner, gated, false));
    // Qwen-MoE scales its shared expert by a sigmoid gate: one more d -> 1 projection.
    if (shared_gate) layer.dense.push_back(MakeLinear(Component::kMoeRouter, d, 1));
  }
  return core::Ok();
}

Result<Layer> BuildLayer(Evaluator& ev, const Family& fam, std::int64_t d, std::int64_t i, bool encoder,
                         Architecture& arch) {
  ev.scope().values["i"] = Value::Int(i);
  ev.scope().values["encoder"] = Value::Bool(encoder);
  Layer layer;
  FL_ASSIGN_OR_RETURN(layer.other_params, ev.Size(fam.layer, "layer", "norm"));
  FL_ASSIGN_OR_RETURN(std::string mixer, ev.Word(fam.layer, "layer", "mixer", "attention"));
  if (mixer == "attention") {
    FL_RETURN_IF_ERROR(BuildAttention(ev, fam, d, encoder, layer, arch));
  } else if (mixer == "mamba" || mixer == "mamba2") {
    FL_RETURN_IF_ERROR(BuildSsm(ev, fam, mixer, d, layer));
  } else if (mixer != "none") {
    return ev.FamilyError("layer.mixer",
                          fmt::format("unknown mixer '{}'; expected 'attention', 'mamba', 'mamba2' or 'none'", mixer));
  }
  FL_ASSIGN_OR_RETURN(bool has_ffn, ev.Flag(fam.layer, "layer", "mlp", true));
  if (has_ffn) FL_RETURN_IF_ERROR(BuildFeedForward(ev, fam, d, layer));
  return layer;
}

// A vision tower ([vision]): per-patch layers of fused QKV attention and an MLP, the patch
// embedding, and the merger that turns merge x merge patches into one language-model token.
Result<std::optional<VisionTower>> BuildVision(Evaluator& ev, const Family& fam) {
  const Section& v = fam.vision;
  if (v.empty()) return std::optional<VisionTower>();
  FL_ASSIGN_OR_RETURN(std::int64_t layers, ev.Size(v, "vision", "layers", std::nullopt, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t h, ev.Size(v, "vision", "hidden"));
  FL_ASSIGN_OR_RETURN(std::int64_t heads, ev.Size(v, "vision", "heads", std::nullopt, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t inner, ev.Size(v, "vision", "inner"));
  FL_ASSIGN_OR_RETURN(bool gated, ev.Flag(v, "vision", "gated", false));
  FL_ASSIGN_OR_RETURN(bool qkv_bias, ev.Flag(v, "vision", "qkv_bias", true));
  FL_ASSIGN_OR_RETURN(bool o_bias, ev.Flag(v, "vision", "o_bias", true));
  FL_ASSIGN_OR_RETURN(bool mlp_bias, ev.Flag(v, "vision", "mlp_bias", true));
  FL_ASSIGN_OR_RETURN(std::int64_t patch, ev.Size(v, "vision", "patch"));
  FL_ASSIGN_OR_RETURN(std::int64_t temporal, ev.Size(v, "vision", "temporal_patch", 1));
  FL_ASSIGN_OR_RETURN(std::int64_t channels, ev.Size(v, "vision", "in_channels", 3));
  FL_ASSIGN_OR_RETURN(bool patch_bias, ev.Flag(v, "vision", "patch_bias", false));
  FL_ASSIGN_OR_RETURN(std::int64_t merge, ev.Size(v, "vision", "merge", 1, 64));
  FL_ASSIGN_OR_RETURN(std::int64_t out_hidden, ev.Size(v, "vision", "out_hidden"));
  FL_ASSIGN_OR_RETURN(std::int64_t merger_hidden, ev.Size(v, "vision", "merger_hidden", h * merge * merge));
  FL_ASSIGN_OR_RETURN(std::int64_t merger_norm, ev.Size(v, "vision", "merger_norm", 0));
  FL_ASSIGN_OR_RETURN(bool merger_bias, ev.Flag(v, "vision", "merger_bias", true));
  if (heads == 0 || h % heads != 0 || patch == 0 || merge == 0) {
    return ev.FamilyError("vision.heads", "needs heads dividing hidden, a patch size and a merge size");
  }
  VisionTower tower;
  tower.patch_size = patch;
  tower.merge = merge;
  FL_ASSIGN_OR_RETURN(std::int64_t patch_in, Product(channels * temporal, patch * patch));
  tower.patch_linears.push_back(MakeLinear(Component::kVisionTower, patch_in, h, patch_bias));
  const std::int64_t merged_in = h * merge * merge;
  tower.merged_linears.push_back(MakeLinear(Component::kVisionTower, merged_in, merger_hidden, merger_bias));
  tower.merged_linears.push_back(MakeLinear(Component::kVisionTower, merger_hidden, out_hidden, merger_bias));
  tower.other_params = merger_norm;
  for (std::int64_t i = 0; i < layers; ++i) {
    ev.scope().values["i"] = Value::Int(i);
    ev.scope().values["encoder"] = Value::Bool(true);
    Layer layer;
    FL_ASSIGN_OR_RETURN(layer.other_params, ev.Size(v, "vision", "norm", 0));
    FL_ASSIGN_OR_RETURN(std::optional<std::int64_t> window, ev.OptionalSize(v, "vision", "window"));
    layer.dense.push_back(MakeLinear(Component::kVisionTower, h, 3 * h, qkv_bias));
    layer.dense.push_back(MakeLinear(Component::kVisionTower, h, h, o_bias));
    Append(layer.dense, Mlp(Component::kVisionTower, h, inner, gated, mlp_bias));
    layer.attention = {heads, h / heads, h / heads, window, true};
    tower.layers.push_back(std::move(layer));
  }
  return std::optional<VisionTower>(std::move(tower));
}

// Names that suggest a key sizes part of the model. An unknown key carrying one of them may change
// the count, so it is refused, naming the key, rather than silently ignored.
bool LooksCountRelevant(const std::string& key) {
  static const std::set<std::string, std::less<>> kTokens = {
      "size",  "dim",     "dims",      "layer", "layers", "head",   "heads",  "expert",
      "experts", "rank",  "vocab",     "inner", "embd",   "embed",  "embeddings", "ff",
      "ffn",   "intermediate", "kv",   "lora",  "moe",    "mlp",    "window", "bias",
      "tie",   "positions", "state",   "conv",  "expand", "group",  "groups", "norm",
      "layernorm", "shared", "routed", "sparse", "dense", "latent", "proj",  "projection"};
  if (key.rfind("num_", 0) == 0 || key.rfind("n_", 0) == 0 || key.rfind("d_", 0) == 0) return true;
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t end = key.find('_', start);
    if (end == std::string::npos) end = key.size();
    if (kTokens.count(std::string_view(key).substr(start, end - start))) return true;
    start = end + 1;
  }
  return false;
}

// transformers' PretrainedConfig attributes (and common export extras) whose names look
// count-relevant by the rule above but are generation, tokenizer or numerics settings.
const std::set<std::string, std::less<>>& GenericIgnoredKeys() {
  static const auto* keys = new std::set<std::string, std::less<>>{
      "layer_norm_eps", "layer_norm_epsilon", "rms_norm_eps", "norm_eps", "norm_epsilon",
      "chunk_size_feed_forward", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size",
      "num_beams", "num_beam_groups", "num_return_sequences", "num_labels", "pruned_heads",
      "cross_attention_hidden_size", "tie_encoder_decoder", "norm_topk_prob", "n_ctx",
      "embedding_dropout", "embd_pdrop", "router_aux_loss_coef", "output_router_logits",
      "layer_norm_type", "normalization_factor", "rope_scaling"};
  return *keys;
}

bool IsEmpty(const json& value) {
  return value.is_null() || ((value.is_object() || value.is_array() || value.is_string()) && value.empty());
}

// Lists the keys the family does not read; refuses the unknown ones that may change the count.
Result<void> SortUnreadKeys(const Fields& f, const Family& fam, Architecture& out) {
  std::set<std::string> read = {"model_type"};
  std::set<std::string> sub_configs;  // nested configs the family reads from, e.g. text_config
  for (const ConfigParam& p : fam.config) {
    for (const std::string& key : p.keys) {
      read.insert(key);
      std::vector<std::string> parts = SplitPath(key);
      if (parts.size() == 2 && parts[0].size() > 7 && parts[0].ends_with("_config")) sub_configs.insert(parts[0]);
      if (parts.size() > 1) read.insert(parts[0]);
    }
  }
  auto visit = [&](const json& object, const std::string& prefix) -> Result<void> {
    for (auto it = object.begin(); it != object.end(); ++it) {
      const std::string name = prefix + it.key();
      if (read.count(name)) continue;
      bool ignored = GenericIgnoredKeys().count(it.key()) ||
                     std::find(fam.ignored.begin(), fam.ignored.end(), name) != fam.ignored.end();
      if (!ignored && !IsEmpty(it.value()) && LooksCountRelevant(it.key())) {
        return f.Bad(name, fmt::format(
                               "is not described by {} and may change the parameter count; add it to "
                               "that file's [config] and use it, or list it under `ignored` if it "
                               "does not change the count (docs/flops.md, Adding a family)",
                               fam.file));
      }
      out.ignored_keys.push_back(name);
    }
    return core::Ok();
  };
  FL_RETURN_IF_ERROR(visit(f.root(), ""));
  for (const std::string& sub : sub_configs) {
    auto it = f.root().find(sub);
    if (it != f.root().end() && it->is_object()) FL_RETURN_IF_ERROR(visit(*it, sub + "."));
  }
  std::sort(out.ignored_keys.begin(), out.ignored_keys.end());
  return core::Ok();
}

Result<Architecture> BuildFromFamily(const Fields& f, const Family& fam, const std::string& model_type) {
  Architecture arch;
  arch.model_type = model_type;
  arch.family = fam.name;
  arch.family_file = fam.file;
  Evaluator ev(fam, f, model_type);
  FL_RETURN_IF_ERROR(ev.ReadConfig(arch.notes));
  const Section& m = fam.model;
  FL_ASSIGN_OR_RETURN(arch.hidden_size, ev.Size(m, "model", "hidden"));
  FL_ASSIGN_OR_RETURN(arch.vocab_size, ev.Size(m, "model", "vocab"));
  FL_ASSIGN_OR_RETURN(std::int64_t layers, ev.Size(m, "model", "layers", std::nullopt, kMaxCount));
  FL_ASSIGN_OR_RETURN(arch.tied_embeddings, ev.Flag(m, "model", "tied", false));
  FL_ASSIGN_OR_RETURN(std::int64_t positions, ev.Size(m, "model", "learned_positions", 0));
  FL_ASSIGN_OR_RETURN(std::int64_t final_norm, ev.Size(m, "model", "norm", arch.hidden_size));
  FL_ASSIGN_OR_RETURN(bool head_bias, ev.Flag(m, "model", "head_bias", false));
  FL_ASSIGN_OR_RETURN(std::int64_t mtp_depth, ev.Size(m, "model", "mtp_depth", 0, kMaxCount));
  FL_ASSIGN_OR_RETURN(std::int64_t encoder_layers, ev.Size(m, "model", "encoder_layers", 0, kMaxCount));
  const std::int64_t d = arch.hidden_size;
  if (d == 0 || arch.vocab_size == 0) return ev.FamilyError("model.hidden", "hidden and vocab must be positive");
  FL_ASSIGN_OR_RETURN(arch.position_embedding_params, Product(positions, d));
  // An output head's bias (phi-2) has no matmul: it is counted with the norms, outside the layers.
  arch.final_norm_params = final_norm + (head_bias ? arch.vocab_size : 0);

  for (const std::string& name : fam.seq_len) {
    const Value& v = ev.scope().values[name];
    if (v.kind == Value::Kind::kInt) {
      arch.pretraining_seq_len = v.i;
      auto key = ev.found_keys().find(name);
      arch.pretraining_seq_len_source = key != ev.found_keys().end() ? key->second : name;
      break;
    }
  }

  // An encoder-decoder model builds its encoder first: the decoder's cross-attention needs to know
  // it has one. `i` counts within each stack.
  for (std::int64_t i = 0; i < encoder_layers; ++i) {
    FL_ASSIGN_OR_RETURN(Layer layer, BuildLayer(ev, fam, d, i, /*encoder=*/true, arch));
    arch.encoder_layers.push_back(std::move(layer));
  }
  for (std::int64_t i = 0; i < layers; ++i) {
    FL_ASSIGN_OR_RETURN(Layer layer, BuildLayer(ev, fam, d, i, /*encoder=*/false, arch));
    arch.layers.push_back(std::move(layer));
  }
  FL_ASSIGN_OR_RETURN(arch.vision, BuildVision(ev, fam));
  bool any_attention = std::any_of(arch.layers.begin(), arch.layers.end(),
                                   [](const Layer& l) { return l.attention.query_heads > 0; });
  if (!arch.pretraining_seq_len && !any_attention) {
    // Without attention nothing depends on the sequence length: state-space layers cost the same
    // per token at any length, so no --seq-len is needed.
    arch.pretraining_seq_len = 1;
    arch.pretraining_seq_len_source = "not needed: no attention layers";
  }
  if (mtp_depth > 0 && !arch.layers.empty()) {
    // Each multi-token-prediction module (DeepSeek-V3): RMSNorms on the embedding and hidden state,
    // a projection of their concatenation, one decoder layer like the last one, a norm, and the
    // shared output head.
    for (std::int64_t k = 0; k < mtp_depth; ++k) {
      arch.training_only_linears.push_back(MakeLinear(Component::kMtp, 2 * d, d));
      arch.training_only_layers.push_back(arch.layers.back());
      arch.training_only_other_params += 3 * d;
    }
    arch.training_only_output_heads = static_cast<int>(mtp_depth);
    arch.notes.push_back(fmt::format(
        "num_nextn_predict_layers = {}: multi-token-prediction modules run in training only; their "
        "FLOP are counted (component 'mtp') and their parameters reported apart",
        mtp_depth));
  }
  for (const std::string& note : fam.notes) arch.notes.push_back(note);
  FL_RETURN_IF_ERROR(SortUnreadKeys(f, fam, arch));
  return arch;
}

// Rejects architectures whose parameter count would overflow int64 before anything counts them.
Result<void> CheckScale(const Fields& f, const Architecture& arch) {
  double params = 2.0 * static_cast<double>(arch.vocab_size) * static_cast<double>(arch.hidden_size) +
                  static_cast<double>(arch.position_embedding_params) +
                  static_cast<double>(arch.final_norm_params) +
                  static_cast<double>(arch.training_only_other_params);
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
  for (const Layer& layer : arch.encoder_layers) params += layer_params(layer);
  for (const Linear& l : arch.encoder_side) params += static_cast<double>(l.in) * static_cast<double>(l.out + 1);
  if (arch.vision) {
    for (const Layer& layer : arch.vision->layers) params += layer_params(layer);
    for (const auto* list : {&arch.vision->patch_linears, &arch.vision->merged_linears}) {
      for (const Linear& l : *list) params += static_cast<double>(l.in) * static_cast<double>(l.out + 1);
    }
  }
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
  static const auto* types = new std::vector<std::string>(FamilyCatalog::Shipped().ModelTypes());
  return *types;
}

Result<Architecture> ParseHfConfig(std::string_view text, const std::string& file_name) {
  return ParseHfConfig(text, file_name, FamilyCatalog::Shipped());
}

Result<Architecture> ParseHfConfig(std::string_view text, const std::string& file_name,
                                   const FamilyCatalog& catalog) {
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
  auto supported_list = [&catalog] {  // only on the error paths: it sorts every model_type
    std::string out;
    for (const std::string& name : catalog.ModelTypes()) out += (out.empty() ? "" : ", ") + name;
    return out;
  };
  auto type_it = root.find("model_type");
  if (type_it == root.end() || type_it->is_null()) {
    return core::InvalidArgument(
        fmt::format("is missing; supported: {} (or give --params N for the 6ND method)", supported_list()),
        "model_type", core::Location{file_name, 0, 0});
  }
  if (!type_it->is_string()) {
    return fields.Bad("model_type", fmt::format("expected a string, got {}", Describe(*type_it)));
  }
  const std::string model_type = type_it->get<std::string>();
  const Family* family = catalog.Find(model_type);
  if (!family) {
    std::string closest;
    for (const std::string& name : catalog.Closest(model_type, 3)) closest += (closest.empty() ? "" : ", ") + name;
    return fields.Bad(
        "model_type",
        fmt::format("unsupported model_type '{}'; supported: {} (or give --params N for the 6ND "
                    "method). Closest known: {}. To count it exactly, describe it in a file of "
                    "data/architectures/: copy the closest family's file, set model_types and map "
                    "its config keys (docs/flops.md, Adding a family)",
                    model_type.substr(0, 64), supported_list(), closest));
  }
  FL_ASSIGN_OR_RETURN(Architecture arch, BuildFromFamily(fields, *family, model_type));
  FL_RETURN_IF_ERROR(CheckScale(fields, arch));
  return arch;
}

Result<Architecture> LoadHfConfig(const std::string& path) {
  return LoadHfConfig(path, FamilyCatalog::Shipped());
}

Result<Architecture> LoadHfConfig(const std::string& path, const FamilyCatalog& catalog) {
  FL_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
  return ParseHfConfig(text, path, catalog);
}

}  // namespace flopline::compute
