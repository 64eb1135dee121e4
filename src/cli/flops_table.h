// File: cli/flops_table.h (private): the people-facing rendering of estimates.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "flopline/compute/estimate.h"

namespace flopline::cli {

// The full report of one estimate.
void PrintEstimate(std::ostream& out, const compute::Estimate& estimate);

// One line per run, for `--runs`.
void PrintRunsTable(std::ostream& out, const std::vector<std::string>& names,
                    const std::vector<compute::Estimate>& estimates);

}  // namespace flopline::cli
