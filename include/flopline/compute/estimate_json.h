// File: flopline/compute/estimate_json.h
//
// The stable JSON form of an Estimate (docs/formats/flops-json.md). Numbers are plain JSON
// numbers; an unknown value is null; money is in dollars with cents precision.
#pragma once

#include <nlohmann/json.hpp>

#include "flopline/compute/estimate.h"

namespace flopline::compute {

nlohmann::json EstimateToJson(const Estimate& estimate);

}  // namespace flopline::compute
