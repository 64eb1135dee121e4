// File: flopline/forecast/base_price.h
//
// The price of one FLOP in a base year: the reference accelerator's cloud price per hour in force
// on January 1 of that year (data/cloud-prices.toml), over its dense peak times a utilization.
//   low   = low price  / (peak x high utilization x 3600)
//   point = typical    / (peak x point utilization x 3600)
//   high  = high price / (peak x low utilization x 3600)
#pragma once

#include <string>

#include "flopline/compute/accelerators.h"
#include "flopline/compute/prices.h"
#include "flopline/core/result.h"
#include "flopline/forecast/trends.h"

namespace flopline::forecast {

struct BasePrice {
  Spread usd_per_flop;
  std::string detail;  // which accelerator, row and utilization, for the output
};

// Errors: an unknown accelerator, or no price for it on that date (kNotFound, saying to give
// --usd-per-flop).
core::Result<BasePrice> BasePricePerFlop(const compute::AcceleratorTable& accelerators,
                                         const compute::PriceTable& prices,
                                         const std::string& accelerator, int year,
                                         const Spread& utilization);

}  // namespace flopline::forecast
