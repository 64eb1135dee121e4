#include "flopline/compute/family.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <tuple>
#include <set>

#include <fmt/format.h>

#include "family_spec.h"
#include "flopline/core/toml_fields.h"

namespace flopline::compute {

// The shipped files, generated from data/architectures/ at build time (CMakeLists.txt).
struct ShippedFamilyFile {
  const char* name;
  const char* text;
};
extern const ShippedFamilyFile kShippedFamilyFiles[];
extern const std::size_t kShippedFamilyFileCount;

namespace {

using core::Result;

struct SectionSpec {
  const char* name;
  std::vector<std::string_view> keys;
  std::vector<std::string_view> required;
  Section Family::*member;
};

const std::vector<SectionSpec>& SectionSpecs() {
  static const auto* specs = new std::vector<SectionSpec>{
      {"model",
       {"hidden", "vocab", "layers", "tied", "learned_positions", "norm", "head_bias", "mtp_depth",
        "encoder_layers"},
       {"hidden", "vocab", "layers"},
       &Family::model},
      {"layer", {"norm", "mixer", "mlp"}, {"norm"}, &Family::layer},
      {"attention",
       {"kind", "heads", "kv_heads", "head_dim", "v_head_dim", "qkv_bias", "o_bias", "fused_qkv", "window",
        "other_params", "q_lora_rank", "kv_lora_rank", "rope_dim", "cross"},
       {},
       &Family::attention},
      {"mlp", {"gated", "inner", "bias"}, {}, &Family::mlp},
      {"moe",
       {"layer", "experts", "top_k", "inner", "gated", "bias", "router_bias", "shared_inner",
        "shared_gate", "score_bias"},
       {},
       &Family::moe},
      {"ssm",
       {"d_inner", "d_state", "d_conv", "dt_rank", "conv_bias", "proj_bias", "heads", "groups"},
       {},
       &Family::ssm},
      {"vision",
       {"layers", "hidden", "heads", "inner", "gated", "qkv_bias", "o_bias", "mlp_bias", "norm", "window",
        "patch", "temporal_patch", "in_channels", "patch_bias", "merge", "out_hidden", "merger_hidden",
        "merger_norm", "merger_bias"},
       {},
       &Family::vision},
  };
  return *specs;
}

tl::unexpected<core::Error> BadAt(const toml::node& node, const std::string& file,
                                  const std::string& field, std::string message) {
  return core::InvalidArgument(std::move(message), field, core::TomlLocation(node, file));
}

// An expression from a TOML value: a string is parsed, an integer or boolean is a constant.
Result<arch::Expr> ReadExpr(const toml::node& node, const std::string& file, const std::string& field) {
  if (auto s = node.value<std::string>(); s && node.is_string()) {
    auto expr = arch::Expr::Parse(*s);
    if (!expr) return BadAt(node, file, field, expr.error().message);
    return *expr;
  }
  if (node.is_integer()) return arch::Expr::Constant(arch::Value::Int(*node.value<std::int64_t>()));
  if (node.is_boolean()) return arch::Expr::Constant(arch::Value::Bool(*node.value<bool>()));
  return BadAt(node, file, field, "expected an expression (a string), an integer or a boolean");
}

Result<std::vector<std::string>> ReadStrings(const toml::node& node, const std::string& file,
                                             const std::string& field) {
  const toml::array* array = node.as_array();
  if (!array) return BadAt(node, file, field, "expected a list of strings");
  std::vector<std::string> out;
  for (const toml::node& item : *array) {
    if (!item.is_string()) return BadAt(item, file, field, "expected a list of strings");
    out.push_back(*item.value<std::string>());
  }
  return out;
}

Result<std::string> ReadString(const toml::node& node, const std::string& file, const std::string& field) {
  if (!node.is_string()) return BadAt(node, file, field, "expected a string");
  return *node.value<std::string>();
}

// Every name an expression reads must be declared (config names, and `i` where per-layer).
Result<void> CheckNames(const arch::Expr& expr, const std::set<std::string, std::less<>>& known,
                        const toml::node& node, const std::string& file, const std::string& field) {
  for (const std::string& name : expr.Names()) {
    if (!known.count(name)) {
      return BadAt(node, file, field,
                   fmt::format("expression \"{}\" reads '{}', which is not a name of [config]{}",
                               expr.text(), name, known.count("i") ? " nor i" : " declared above it"));
    }
  }
  return core::Ok();
}

Result<ConfigParam> ReadParam(const std::string& name, const toml::node& node, const std::string& file,
                              const std::set<std::string, std::less<>>& declared) {
  const std::string field = "config." + name;
  const toml::table* table = node.as_table();
  if (!table) return BadAt(node, file, field, "expected a table such as { keys = [\"hidden_size\"] }");
  ConfigParam p;
  p.name = name;
  for (const auto& [key, value] : *table) {
    std::string k(key.str());
    std::string sub = field + "." + k;
    if (k == "keys") {
      FL_ASSIGN_OR_RETURN(p.keys, ReadStrings(value, file, sub));
    } else if (k == "type") {
      FL_ASSIGN_OR_RETURN(std::string type, ReadString(value, file, sub));
      static const std::map<std::string, ConfigParam::Type> kTypes = {
          {"int", ConfigParam::Type::kInt},          {"bool", ConfigParam::Type::kBool},
          {"string", ConfigParam::Type::kString},    {"int_list", ConfigParam::Type::kIntList},
          {"string_list", ConfigParam::Type::kStringList}, {"any", ConfigParam::Type::kAny}};
      auto it = kTypes.find(type);
      if (it == kTypes.end()) {
        return BadAt(value, file, sub, "expected int, bool, string, int_list, string_list or any");
      }
      p.type = it->second;
    } else if (k == "default" || k == "when") {
      FL_ASSIGN_OR_RETURN(arch::Expr expr, ReadExpr(value, file, sub));
      FL_RETURN_IF_ERROR(CheckNames(expr, declared, value, file, sub));
      (k == "default" ? p.default_value : p.when) = std::move(expr);
    } else if (k == "optional" || k == "null_is_none") {
      if (!value.is_boolean()) return BadAt(value, file, sub, "expected true or false");
      (k == "optional" ? p.optional : p.null_is_none) = *value.value<bool>();
    } else if (k == "min" || k == "max") {
      if (!value.is_integer()) return BadAt(value, file, sub, "expected an integer");
      std::int64_t bound = *value.value<std::int64_t>();
      if (bound < 0 || bound > kMaxDimension) {
        return BadAt(value, file, sub, fmt::format("must be between 0 and {}", kMaxDimension));
      }
      (k == "min" ? p.min : p.max) = bound;
    } else if (k == "note") {
      FL_ASSIGN_OR_RETURN(p.note, ReadString(value, file, sub));
    } else {
      return BadAt(value, file, sub,
                   "unknown key; expected keys, type, default, optional, null_is_none, when, min, "
                   "max or note");
    }
  }
  if (p.keys.empty()) return BadAt(node, file, field, "needs keys = [\"...\"], at least one");
  for (const std::string& key : p.keys) {
    if (key.empty() || key.front() == '.' || key.back() == '.' || key.find("..") != std::string::npos) {
      return BadAt(node, file, field, fmt::format("'{}' is not a config key", key));
    }
  }
  if (p.min > p.max) return BadAt(node, file, field, "min is above max");
  return p;
}

// The config table's entries in the order they are written: errors report the first missing key
// as transformers would, and defaults may read the names above them.
std::vector<std::pair<std::string, const toml::node*>> InFileOrder(const toml::table& table) {
  std::vector<std::pair<std::string, const toml::node*>> entries;
  for (const auto& [key, value] : table) entries.emplace_back(std::string(key.str()), &value);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    const auto& ra = a.second->source().begin;
    const auto& rb = b.second->source().begin;
    return ra.line != rb.line ? ra.line < rb.line : ra.column < rb.column;
  });
  return entries;
}

Result<std::shared_ptr<const Family>> ParseFamily(std::string_view text, const std::string& file) {
  FL_ASSIGN_OR_RETURN(toml::table root, core::ParseToml(text, file));
  auto family = std::make_shared<Family>();
  family->file = file;
  static const std::set<std::string, std::less<>> kTopKeys = {
      "model_types", "family", "reference", "ignored", "notes", "config", "check", "seq_len",
      "model",       "layer",  "attention", "mlp",     "moe",   "ssm", "vision"};
  for (const auto& [key, value] : root) {
    if (!kTopKeys.count(key.str())) {
      return BadAt(value, file, std::string(key.str()),
                   "unknown key; expected model_types, family, reference, ignored, notes, config, "
                   "check, seq_len, model, layer, attention, mlp, moe, ssm or vision");
    }
  }
  auto need = [&](std::string_view key) -> Result<const toml::node*> {
    const toml::node* node = root.get(key);
    if (!node) {
      return core::InvalidArgument("is required", std::string(key), core::Location{file, 1, 1});
    }
    return node;
  };
  FL_ASSIGN_OR_RETURN(const toml::node* types, need("model_types"));
  FL_ASSIGN_OR_RETURN(family->model_types, ReadStrings(*types, file, "model_types"));
  if (family->model_types.empty()) return BadAt(*types, file, "model_types", "names no model_type");
  FL_ASSIGN_OR_RETURN(const toml::node* name, need("family"));
  FL_ASSIGN_OR_RETURN(family->name, ReadString(*name, file, "family"));
  FL_ASSIGN_OR_RETURN(const toml::node* reference, need("reference"));
  FL_ASSIGN_OR_RETURN(family->reference, ReadString(*reference, file, "reference"));
  if (const toml::node* n = root.get("ignored")) {
    FL_ASSIGN_OR_RETURN(family->ignored, ReadStrings(*n, file, "ignored"));
  }
  if (const toml::node* n = root.get("notes")) {
    FL_ASSIGN_OR_RETURN(family->notes, ReadStrings(*n, file, "notes"));
  }

  FL_ASSIGN_OR_RETURN(const toml::node* config_node, need("config"));
  const toml::table* config = config_node->as_table();
  if (!config) return BadAt(*config_node, file, "config", "expected a table");
  std::set<std::string, std::less<>> declared;
  for (const auto& [param_name, node] : InFileOrder(*config)) {
    if (param_name == "i" || param_name == "encoder") {
      return BadAt(*node, file, "config." + param_name, "'i' and 'encoder' are per-layer names; pick another");
    }
    FL_ASSIGN_OR_RETURN(ConfigParam param, ReadParam(param_name, *node, file, declared));
    declared.insert(param_name);
    family->config.push_back(std::move(param));
  }

  if (const toml::node* n = root.get("seq_len")) {
    FL_ASSIGN_OR_RETURN(family->seq_len, ReadStrings(*n, file, "seq_len"));
    for (const std::string& s : family->seq_len) {
      if (!declared.count(s)) return BadAt(*n, file, "seq_len", fmt::format("'{}' is not a name of [config]", s));
    }
  }

  if (const toml::node* n = root.get("check")) {
    const toml::array* checks = n->as_array();
    if (!checks) return BadAt(*n, file, "check", "expected [[check]] tables");
    for (const toml::node& item : *checks) {
      const toml::table* t = item.as_table();
      if (!t) return BadAt(item, file, "check", "expected [[check]] tables");
      core::TomlFields fields(*t, file, "check");
      FL_RETURN_IF_ERROR(fields.OnlyKeys({"require", "field", "message"}));
      const toml::node* require = t->get("require");
      if (!require) return BadAt(item, file, "check.require", "is required");
      FL_ASSIGN_OR_RETURN(arch::Expr expr, ReadExpr(*require, file, "check.require"));
      FL_RETURN_IF_ERROR(CheckNames(expr, declared, *require, file, "check.require"));
      FL_ASSIGN_OR_RETURN(std::string field, fields.String("field"));
      FL_ASSIGN_OR_RETURN(std::string message, fields.String("message"));
      family->checks.push_back({std::move(expr), std::move(field), std::move(message)});
    }
  }

  std::set<std::string, std::less<>> per_layer = declared;
  per_layer.insert("i");
  per_layer.insert("encoder");  // true in an encoder-decoder model's encoder stack
  for (const SectionSpec& spec : SectionSpecs()) {
    const toml::node* n = root.get(spec.name);
    Section& section = (*family).*spec.member;
    if (!n) {
      if (!spec.required.empty()) {
        return core::InvalidArgument("is required", spec.name, core::Location{file, 1, 1});
      }
      continue;
    }
    const toml::table* table = n->as_table();
    if (!table) return BadAt(*n, file, spec.name, "expected a table");
    for (const auto& [key, value] : *table) {
      std::string field = fmt::format("{}.{}", spec.name, key.str());
      if (std::find(spec.keys.begin(), spec.keys.end(), key.str()) == spec.keys.end()) {
        std::string allowed;
        for (std::string_view k : spec.keys) allowed += (allowed.empty() ? "" : ", ") + std::string(k);
        return BadAt(value, file, field, fmt::format("unknown key; [{}] takes {}", spec.name, allowed));
      }
      FL_ASSIGN_OR_RETURN(arch::Expr expr, ReadExpr(value, file, field));
      FL_RETURN_IF_ERROR(CheckNames(expr, per_layer, value, file, field));
      section.emplace(std::string(key.str()), std::move(expr));
    }
    for (std::string_view key : spec.required) {
      if (!section.count(key)) {
        return BadAt(*n, file, fmt::format("{}.{}", spec.name, key), "is required");
      }
    }
  }
  return std::shared_ptr<const Family>(std::move(family));
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

Result<void> FamilyCatalog::Add(std::shared_ptr<const Family> family) {
  for (const std::string& type : family->model_types) {
    for (const auto& other : families_) {
      const auto& theirs = other->model_types;
      if (std::find(theirs.begin(), theirs.end(), type) != theirs.end()) {
        return core::InvalidArgument(fmt::format("model_type '{}' is also described by {}", type, other->file),
                                     "model_types", core::Location{family->file, 0, 0});
      }
    }
  }
  families_.push_back(std::move(family));
  return core::Ok();
}

Result<FamilyCatalog> FamilyCatalog::Parse(std::string_view text, const std::string& file_name) {
  FamilyCatalog catalog;
  FL_ASSIGN_OR_RETURN(auto family, ParseFamily(text, file_name));
  FL_RETURN_IF_ERROR(catalog.Add(std::move(family)));
  return catalog;
}

Result<FamilyCatalog> FamilyCatalog::LoadDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> paths;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".toml") paths.push_back(it->path().string());
  }
  if (ec) return core::NotFound(fmt::format("cannot read the directory {}: {}", dir, ec.message()));
  std::sort(paths.begin(), paths.end());
  FamilyCatalog catalog;
  for (const std::string& path : paths) {
    FL_ASSIGN_OR_RETURN(std::string text, core::ReadFile(path));
    FL_ASSIGN_OR_RETURN(auto family, ParseFamily(text, path));
    FL_RETURN_IF_ERROR(catalog.Add(std::move(family)));
  }
  return catalog;
}

const FamilyCatalog& FamilyCatalog::Shipped() {
  static const FamilyCatalog* catalog = [] {
    auto* out = new FamilyCatalog();
    for (std::size_t k = 0; k < kShippedFamilyFileCount; ++k) {
      const ShippedFamilyFile& f = kShippedFamilyFiles[k];
      std::string name = std::string("data/architectures/") + f.name;
      auto family = ParseFamily(f.text, name);
      // The shipped files are checked by FamilyFilesTest.EveryShippedFileLoads; a broken one is a
      // build of flopline that must not count anything, so it fails loudly here too.
      if (!family) {
        fmt::print(stderr, "flopline: shipped architecture file broken: {}\n", family.error().ToString());
        std::abort();
      }
      auto added = out->Add(std::move(*family));
      if (!added) {
        fmt::print(stderr, "flopline: {}\n", added.error().ToString());
        std::abort();
      }
    }
    return out;
  }();
  return *catalog;
}

const Family* FamilyCatalog::Find(std::string_view model_type) const {
  for (const auto& family : families_) {
    for (const std::string& type : family->model_types) {
      if (type == model_type) return family.get();
    }
  }
  return nullptr;
}

std::vector<std::string> FamilyCatalog::ModelTypes() const {
  std::vector<std::string> out;
  for (const auto& family : families_) {
    out.insert(out.end(), family->model_types.begin(), family->model_types.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> FamilyCatalog::Closest(std::string_view model_type, std::size_t n) const {
  // Lower-case first: "Llama" is llama.
  std::string wanted(model_type);
  std::transform(wanted.begin(), wanted.end(), wanted.begin(), [](unsigned char c) { return std::tolower(c); });
  // (distance, longer shared prefix first, name): gemma3 is nearer gemma3_text than gemma.
  std::vector<std::tuple<std::size_t, std::size_t, std::string>> scored;
  for (const std::string& type : ModelTypes()) {
    std::string lower = type;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    // Edit distance, doubled so that "one name extends the other" (gemma3 ~ gemma3_text,
    // qwen2_5_vl ~ qwen2) can rank just ahead of a one-letter difference.
    std::size_t distance = 2 * EditDistance(wanted.substr(0, 64), lower);
    bool extends = wanted.size() >= 3 && lower.size() >= 3 &&
                   (lower.rfind(wanted, 0) == 0 || wanted.rfind(lower, 0) == 0);
    if (extends) distance = std::min<std::size_t>(distance, 1);
    std::size_t prefix = 0;
    while (prefix < wanted.size() && prefix < lower.size() && wanted[prefix] == lower[prefix]) ++prefix;
    scored.emplace_back(distance, std::numeric_limits<std::size_t>::max() - prefix, type);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (const auto& [distance, prefix, type] : scored) {
    if (out.size() >= n) break;
    out.push_back(type);
  }
  return out;
}

}  // namespace flopline::compute
