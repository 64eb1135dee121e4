// File: flopline/forecast/thresholds.h
//
// The statutory compute lines to project, read from the regime files' [[line]] tables (the law is
// data in one place: regimes/), with the statute's figures in force on a date, before CPI indexing
// (the projection indexes them itself).
#pragma once

#include <vector>

#include "flopline/core/date.h"
#include "flopline/forecast/trends.h"
#include "flopline/rules/regime.h"

namespace flopline::forecast {

std::vector<Threshold> ThresholdsFromRegimes(const std::vector<rules::Regime>& regimes, core::Date date);

}  // namespace flopline::forecast
