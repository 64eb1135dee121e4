// File: cli/range_flag.h (private): flags that take a value or a range, "0.4" or "0.3-0.45".
#pragma once

#include <string>
#include <utility>

#include "flopline/core/result.h"

namespace flopline::cli {

// {value, value} for "X", {low, high} for "LOW-HIGH" (a leading minus sign is part of the number).
// Not-a-number text is kInvalidArgument naming `field`; ranges are not checked for order here.
core::Result<std::pair<double, double>> ParseValueOrRange(const std::string& text, const char* field);

}  // namespace flopline::cli
