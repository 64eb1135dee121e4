// File: flopline/core/format.h
//
// How flopline prints numbers to people: 3 significant figures in scientific notation for compute
// (ARCHITECTURE.md "Numbers"), thousands separators for exact counts, and dollars.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace flopline::core {

std::string Sci3(double value);                  // 8.40e+22
std::string Grouped(std::int64_t value);         // 6,738,415,616
std::string Dollars(double dollars);             // $1.23M, $4.10, $1.5B
std::string Percent(double fraction, int decimals = 1);  // 0.35 -> 35.0%
std::string Join(const std::vector<std::string>& items, const std::string& separator = ", ");

}  // namespace flopline::core
