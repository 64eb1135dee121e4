#include "flopline/forecast/trends.h"

#include <cmath>

#include <fmt/format.h>

#include "flopline/core/toml_fields.h"

namespace flopline::forecast {
namespace {

using core::Result;
using core::TomlFields;

Result<Spread> ReadSpread(const toml::table& parent, const std::string& file, const std::string& prefix,
                          std::string_view key, double max = 1e30) {
  TomlFields f(parent, file, prefix);
  const toml::table* table = parent[key].as_table();
  if (!table) return f.Bad(key, "expected { low = .., point = .., high = .. }");
  TomlFields g(*table, file, prefix + "." + std::string(key));
  FL_RETURN_IF_ERROR(g.OnlyKeys({"low", "point", "high"}));
  Spread s;
  FL_ASSIGN_OR_RETURN(s.low, g.Positive("low"));
  FL_ASSIGN_OR_RETURN(s.point, g.Positive("point"));
  FL_ASSIGN_OR_RETURN(s.high, g.Positive("high"));
  if (!(s.low <= s.point && s.point <= s.high)) {
    return g.Bad("point", fmt::format("must satisfy low <= point <= high, got {} / {} / {}", s.low, s.point, s.high));
  }
  if (s.high > max) return g.Bad("high", fmt::format("must be at most {}", max));
  return s;
}

Result<const toml::table*> Section(const toml::table& root, const std::string& file, std::string_view name) {
  const toml::table* table = root[name].as_table();
  if (!table) {
    return core::InvalidArgument(fmt::format("the [{}] table is missing", name), std::string(name),
                                 core::Location{file, 0, 0});
  }
  return table;
}

Result<Trends> FromToml(const toml::table& root, const std::string& file) {
  for (const auto& [key, node] : root) {
    std::string_view k = key.str();
    if (k != "hardware" && k != "algorithmic" && k != "cpi" && k != "frontier") {
      return core::InvalidArgument("unknown key; expected hardware, algorithmic, cpi, frontier (statutory lines live in regimes/)",
                                   std::string(k), core::TomlLocation(node, file));
    }
  }
  Trends t;
  FL_ASSIGN_OR_RETURN(const toml::table* hw, Section(root, file, "hardware"));
  TomlFields h(*hw, file, "hardware");
  FL_RETURN_IF_ERROR(h.OnlyKeys({"halving_years", "source", "reference_accelerator", "utilization"}));
  FL_ASSIGN_OR_RETURN(t.hardware_halving_years, ReadSpread(*hw, file, "hardware", "halving_years"));
  FL_ASSIGN_OR_RETURN(t.hardware_source, h.String("source"));
  FL_ASSIGN_OR_RETURN(t.reference_accelerator, h.String("reference_accelerator"));
  FL_ASSIGN_OR_RETURN(t.utilization, ReadSpread(*hw, file, "hardware", "utilization", 1.0));

  FL_ASSIGN_OR_RETURN(const toml::table* algo, Section(root, file, "algorithmic"));
  TomlFields a(*algo, file, "algorithmic");
  FL_RETURN_IF_ERROR(a.OnlyKeys({"halving_months", "source"}));
  FL_ASSIGN_OR_RETURN(t.algorithmic_halving_months, ReadSpread(*algo, file, "algorithmic", "halving_months"));
  FL_ASSIGN_OR_RETURN(t.algorithmic_source, a.String("source"));

  FL_ASSIGN_OR_RETURN(const toml::table* cpi, Section(root, file, "cpi"));
  TomlFields c(*cpi, file, "cpi");
  FL_RETURN_IF_ERROR(c.OnlyKeys({"annual_rate", "source"}));
  FL_ASSIGN_OR_RETURN(t.cpi_rate, ReadSpread(*cpi, file, "cpi", "annual_rate", 1.0));
  FL_ASSIGN_OR_RETURN(t.cpi_source, c.String("source"));

  FL_ASSIGN_OR_RETURN(const toml::table* fr, Section(root, file, "frontier"));
  TomlFields f(*fr, file, "frontier");
  FL_RETURN_IF_ERROR(f.OnlyKeys({"base_year", "base_flop", "growth_per_year", "source"}));
  FL_ASSIGN_OR_RETURN(double base_year, f.Positive("base_year"));
  if (base_year != std::floor(base_year) || base_year < 1900 || base_year > 3000) {
    return f.Bad("base_year", "expected a year between 1900 and 3000");
  }
  t.frontier_base_year = static_cast<int>(base_year);
  FL_ASSIGN_OR_RETURN(t.frontier_base_flop, f.Positive("base_flop"));
  FL_ASSIGN_OR_RETURN(t.frontier_growth_per_year, ReadSpread(*fr, file, "frontier", "growth_per_year"));
  FL_ASSIGN_OR_RETURN(t.frontier_source, f.String("source"));

  return t;
}

}  // namespace

double Spread::Quantile(double u) const {
  if (high <= low) return point;
  const double width = high - low;
  const double mode_cdf = (point - low) / width;
  if (u < mode_cdf) return low + std::sqrt(u * width * (point - low));
  return high - std::sqrt((1.0 - u) * width * (high - point));
}

Result<Trends> LoadTrends(const std::string& path) {
  FL_ASSIGN_OR_RETURN(toml::table root, core::ParseTomlFile(path));
  return FromToml(root, path);
}

Result<Trends> ParseTrends(std::string_view text, const std::string& file) {
  FL_ASSIGN_OR_RETURN(toml::table root, core::ParseToml(text, file));
  return FromToml(root, file);
}

}  // namespace flopline::forecast
