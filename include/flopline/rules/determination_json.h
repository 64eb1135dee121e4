// File: flopline/rules/determination_json.h
//
// The JSON forms of `flopline assess` (docs/assess.md, docs/formats/assess-json.md), written one
// model at a time so that a million models are streamed, never held as one document:
//
//   {"as_of", "shape": "summary" | "explained", "regimes": [RegimeContext...], "models": [...]}
//
// A summary model is {"id", "developer", "training_flop", "cumulative_flop", "cost_usd",
// "cumulative_cost_usd", "determinations": [{"regime", "status", "covered", "basis", "readings",
// "developer_of_record", "margin", "next_deadline", "penalty_max", ..., "notes"}]}; an explained
// model has every key of the summary and the explanations, margins, parameters and obligations.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "flopline/core/date.h"
#include "flopline/rules/engine.h"

namespace flopline::rules {

// The whole document at once, every model explained: for tests and small inventories.
nlohmann::json AssessmentToJson(core::Date as_of, const std::vector<ModelAnswer>& answers);

// One model: explained (AssessmentToJson's shape, plus "margin" and "next_deadline") when its
// determinations are, else the summary shape.
nlohmann::json ModelToJson(const ModelAnswer& answer);
// The summary shape, appended as compact JSON text without building a JSON tree (the hot path for
// a million models).
void AppendSummaryJson(std::string& out, const ModelAnswer& answer);
nlohmann::json RegimesToJson(const std::vector<RegimeContext>& regimes);

// The first reading's first decided margin, e.g. "cumulative_flop 1.2x above covered_flop 1.00e+26";
// empty when there is none.
std::string KeyMargin(const Determination& d);
// The margin KeyMargin describes; nullptr when there is none.
const Margin* KeyMarginOf(const Determination& d);
// The most pressing obligation: the earliest overdue one, else the earliest open one with a due
// time; nullptr when none.
const ObligationState* NextDeadline(const Determination& d);
const ObligationState* NextDeadline(std::span<const ObligationState> obligations);

// `s` as a JSON string literal (quoted, escaped) appended to `out`.
void AppendJsonString(std::string& out, std::string_view s);
// The same without the quotes: a piece of a string literal.
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace flopline::rules
