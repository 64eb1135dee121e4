// File: workspace/model_json.h (private)
//
// The workspace's JSON forms of a model and an event, read strictly: an unknown key, a wrong type or
// a bad value is kInvalidArgument naming the field as a path ("training[0].flop").
//
//   {"id", "developer", "developer_revenue_usd"?: number|null, "foundation_model"?: bool,
//    "base"?: string, "derivation"?: string, "open_source"?: bool, "eu_established"?: bool|null,
//    "developer_turnover_eur"?: number|null, "costs"?: {component: usd},
//    "training"?: [{"kind", "start": "YYYY-MM-DD", "flop": number > 0, "flop_low"?, "flop_high"?,
//                   "flop_method"?: string, "cost_usd"?: number|null, "cost_source"?: string}]}
//   event: {"model", "kind", "at": "YYYY-MM-DDTHH:MM:SSZ"}
#pragma once

#include <nlohmann/json.hpp>

#include "flopline/core/result.h"
#include "flopline/rules/inventory.h"

namespace flopline::workspace {

// A JSON key as a refusal names it: the key itself, or `""` for the empty key (a refusal always names
// its field, and an empty name would name none).
std::string FieldName(const std::string& key);

core::Result<rules::Model> ModelFromJson(const nlohmann::json& j);
nlohmann::json ModelToJson(const rules::Model& m);
core::Result<rules::Event> EventFromJson(const nlohmann::json& j);
nlohmann::json EventToJson(const rules::Event& e);

}  // namespace flopline::workspace
