// File: flopline/rules/determination_json.h
//
// The JSON form of `flopline assess` (docs/formats/assess-json.md):
// {"as_of", "models": [{"id", "training_flop", "cumulative_flop", "cost_usd", "determinations":
//   [{"regime", "status", "covered", "basis", "explanation", "margins", "obligations",
//     "penalty_max_usd", ...}]}]}
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/core/date.h"
#include "flopline/rules/engine.h"

namespace flopline::rules {

nlohmann::json AssessmentToJson(core::Date as_of, const std::vector<ModelAnswer>& answers);

}  // namespace flopline::rules
