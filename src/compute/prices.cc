#include "flopline/compute/prices.h"

#include <algorithm>

#include <fmt/format.h>

#include "flopline/core/toml_fields.h"

namespace flopline::compute {

using core::ParseToml;
using core::ParseTomlFile;
using core::TomlFields;
using core::TomlLocation;
namespace {

core::Result<std::vector<PriceRow>> RowsFromToml(const toml::table& root, const std::string& file) {
  std::vector<PriceRow> rows;
  FL_RETURN_IF_ERROR(core::ForEachTable(root, "price", file, /*required=*/true,
                                        [&](const TomlFields& f, const toml::table&) -> core::Result<void> {
    FL_RETURN_IF_ERROR(f.OnlyKeys({"accelerators", "from", "low", "typical", "high", "source"}));
    PriceRow row;
    FL_ASSIGN_OR_RETURN(row.accelerators, f.Strings("accelerators"));
    FL_ASSIGN_OR_RETURN(row.from, f.RequiredDate("from"));
    FL_ASSIGN_OR_RETURN(row.low, f.Positive("low"));
    FL_ASSIGN_OR_RETURN(row.typical, f.Positive("typical"));
    FL_ASSIGN_OR_RETURN(row.high, f.Positive("high"));
    FL_ASSIGN_OR_RETURN(row.source, f.String("source"));
    if (!(row.low <= row.typical && row.typical <= row.high)) {
      return f.Bad("typical", fmt::format("prices must satisfy low <= typical <= high, got {} / {} / {}",
                                          row.low, row.typical, row.high));
    }
    row.file = file;
    row.line = f.Where().line;
    rows.push_back(std::move(row));
    return core::Ok();
  }));
  return rows;
}

}  // namespace

core::Result<PriceTable> PriceTable::Load(const std::string& path) {
  FL_ASSIGN_OR_RETURN(toml::table root, ParseTomlFile(path));
  FL_ASSIGN_OR_RETURN(auto rows, RowsFromToml(root, path));
  return PriceTable(std::move(rows));
}

core::Result<PriceTable> PriceTable::Parse(std::string_view text, const std::string& file) {
  FL_ASSIGN_OR_RETURN(toml::table root, ParseToml(text, file));
  FL_ASSIGN_OR_RETURN(auto rows, RowsFromToml(root, file));
  return PriceTable(std::move(rows));
}

core::Result<const PriceRow*> PriceTable::At(std::string_view accelerator_id, core::Date date) const {
  const PriceRow* best = nullptr;
  const PriceRow* earliest = nullptr;
  for (const PriceRow& row : rows_) {
    if (std::find(row.accelerators.begin(), row.accelerators.end(), accelerator_id) ==
        row.accelerators.end()) {
      continue;
    }
    if (!earliest || row.from < earliest->from) earliest = &row;
    if (row.from <= date && (!best || best->from < row.from)) best = &row;
  }
  if (best) return best;
  if (!earliest) {
    return core::NotFound(fmt::format("the cloud price table has no price for {}; give "
                                      "--price-per-hour USD (or --cost-usd)",
                                      accelerator_id),
                          "accelerator");
  }
  return core::NotFound(
      fmt::format("the cloud price table has no price for {} on or before {} (its earliest row is "
                  "from {}); give --price-per-hour USD (or --cost-usd)",
                  accelerator_id, date.ToString(), earliest->from.ToString()),
      "start");
}

}  // namespace flopline::compute
