// File: flopline/compute/prices.h
//
// Dated cloud prices per accelerator-hour (data/cloud-prices.toml), for SB 1047's "average market
// prices of cloud compute at the start of training" (§22602(e)(1)(A)). A row holds from its date
// until the next row for the same accelerator.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/date.h"
#include "flopline/core/result.h"

namespace flopline::compute {

struct PriceRow {
  std::vector<std::string> accelerators;  // accelerator ids this row prices
  core::Date from;
  double low = 0, typical = 0, high = 0;  // USD per accelerator-hour
  std::string source;
  std::string file;
  int line = 0;
};

class PriceTable {
 public:
  PriceTable() = default;
  static core::Result<PriceTable> Load(const std::string& path);
  static core::Result<PriceTable> Parse(std::string_view text, const std::string& file);

  // The row in force for `accelerator_id` on `date`: the latest one whose `from` is not after it.
  // kNotFound, with a message that says what to do, when the accelerator has no rows or none yet.
  core::Result<const PriceRow*> At(std::string_view accelerator_id, core::Date date) const;

 private:
  explicit PriceTable(std::vector<PriceRow> rows) : rows_(std::move(rows)) {}
  std::vector<PriceRow> rows_;
};

}  // namespace flopline::compute
