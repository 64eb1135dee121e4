#include "flopline/compute/accelerators.h"

#include <cctype>

#include <fmt/format.h>

#include "flopline/core/toml_fields.h"

namespace flopline::compute {

using core::ParseToml;
using core::ParseTomlFile;
using core::TomlFields;
using core::TomlLocation;
namespace {

std::string Normalize(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == '-' || c == '_' || c == ' ') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

constexpr std::string_view kPrecisions[] = {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4"};

core::Result<std::vector<Accelerator>> RowsFromToml(const toml::table& root, const std::string& path) {
  std::vector<Accelerator> table;
  FL_RETURN_IF_ERROR(core::ForEachTable(root, "accelerator", path, /*required=*/true,
                                        [&](const TomlFields& f, const toml::table& row) -> core::Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"id", "aliases", "name", "default_precision", "peak_flops", "source"}));
    Accelerator a;
    FL_ASSIGN_OR_RETURN(a.id, f.String("id"));
    FL_ASSIGN_OR_RETURN(a.name, f.String("name"));
    FL_ASSIGN_OR_RETURN(a.aliases, f.Strings("aliases"));
    FL_ASSIGN_OR_RETURN(a.default_precision, f.String("default_precision"));
    FL_ASSIGN_OR_RETURN(a.source, f.String("source"));
    const toml::table* peaks = row["peak_flops"].as_table();
    if (!peaks) return f.Bad("peak_flops", "expected a table of precision = FLOP/s");
    TomlFields pf(*peaks, path, f.Name("peak_flops"));
    FL_RETURN_IF_ERROR(pf.OnlyKeys({"fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8", "fp4"}));
    for (std::string_view precision : kPrecisions) {
      FL_ASSIGN_OR_RETURN(auto value, pf.OptionalPositive(precision));
      if (value) a.peak[std::string(precision)] = core::FlopPerSecond(*value);
    }
    if (!a.peak.count(a.default_precision)) {
      return f.Bad("default_precision", fmt::format("'{}' has no entry in peak_flops", a.default_precision));
    }
    table.push_back(std::move(a));
    return core::Ok();
  }));
  return table;
}

}  // namespace

core::Result<AcceleratorTable> AcceleratorTable::Load(const std::string& path) {
  FL_ASSIGN_OR_RETURN(toml::table root, ParseTomlFile(path));
  FL_ASSIGN_OR_RETURN(auto rows, RowsFromToml(root, path));
  return AcceleratorTable(std::move(rows));
}

core::Result<AcceleratorTable> AcceleratorTable::Parse(std::string_view text, const std::string& file) {
  FL_ASSIGN_OR_RETURN(toml::table root, ParseToml(text, file));
  FL_ASSIGN_OR_RETURN(auto rows, RowsFromToml(root, file));
  return AcceleratorTable(std::move(rows));
}

core::Result<const Accelerator*> AcceleratorTable::Find(std::string_view name) const {
  std::string wanted = Normalize(name);
  for (const Accelerator& a : accelerators_) {
    if (Normalize(a.id) == wanted) return &a;
    for (const std::string& alias : a.aliases) {
      if (Normalize(alias) == wanted) return &a;
    }
  }
  std::string known;
  for (const Accelerator& a : accelerators_) known += (known.empty() ? "" : ", ") + a.id;
  return core::NotFound(fmt::format("unknown accelerator '{}'; known: {}", name, known), "accelerator");
}

core::Result<core::FlopPerSecond> AcceleratorTable::Peak(const Accelerator& accelerator,
                                                         std::string_view precision) const {
  std::string wanted = precision.empty() ? accelerator.default_precision : Normalize(precision);
  auto it = accelerator.peak.find(wanted);
  if (it == accelerator.peak.end()) {
    std::string known;
    for (const auto& [p, value] : accelerator.peak) known += (known.empty() ? "" : ", ") + p;
    return core::InvalidArgument(
        fmt::format("{} has no listed peak for '{}'; listed: {}", accelerator.id, precision, known),
        "precision");
  }
  return it->second;
}

}  // namespace flopline::compute
