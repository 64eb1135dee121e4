// File: compute/family_spec.h (private)
//
// A parsed architecture file (data/architectures/*.toml): the config.json values it reads and the
// expressions that map them onto the canonical block. hf_config.cc evaluates it against a config.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "arch_expr.h"
#include "flopline/compute/family.h"
#include "flopline/core/result.h"

namespace flopline::compute {

// Sizes above these are not models but typos or hostile input; they also keep every product of
// two sizes, times the expert and layer counts, inside int64 (checked again in CheckScale).
inline constexpr std::int64_t kMaxDimension = std::int64_t{1} << 24;  // 16.7M
inline constexpr std::int64_t kMaxCount = std::int64_t{1} << 16;      // layers, heads, experts

struct ConfigParam {
  enum class Type { kInt, kBool, kString, kIntList, kStringList, kAny };  // kAny: int, bool or string
  std::string name;               // the name expressions use
  std::vector<std::string> keys;  // config keys tried in order; "a.b" reads key b of object a
  Type type = Type::kInt;
  std::optional<arch::Expr> default_value;  // used when every key is absent (or null)
  bool optional = false;                    // absent means none (no default, not required)
  bool null_is_none = false;  // an explicit null means none even though a default exists
  std::optional<arch::Expr> when;  // read only when this holds; otherwise none
  std::int64_t min = 1;
  std::int64_t max = kMaxDimension;
  std::string note;  // said to the user when the default is used
};

struct FamilyCheck {
  arch::Expr require;
  std::string field;    // the config key the error names
  std::string message;  // may quote values as {name}
};

// Expressions of one canonical section (model, layer, attention, mlp, moe, ssm), by key.
using Section = std::map<std::string, arch::Expr, std::less<>>;

struct Family {
  std::string file;
  std::vector<std::string> model_types;
  std::string name;       // shown as the estimate's family
  std::string reference;  // where the description comes from (transformers' modeling file)
  std::vector<std::string> ignored;  // config keys that look count-relevant but are not
  std::vector<std::string> notes;    // conventions said with every estimate of this family
  std::vector<ConfigParam> config;   // in file order: the first missing key is the one reported
  std::vector<FamilyCheck> checks;
  std::vector<std::string> seq_len;  // config names tried in order for the pretraining length
  Section model, layer, attention, mlp, moe, ssm, vision;
};

}  // namespace flopline::compute
