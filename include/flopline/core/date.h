// File: flopline/core/date.h
//
// A calendar date (ISO 8601, proleptic Gregorian), the unit every dated parameter and price row
// is keyed on. Built on std::chrono::year_month_day; time zones are never involved.
#pragma once

#include <chrono>
#include <compare>
#include <string>
#include <string_view>

#include "flopline/core/result.h"

namespace flopline::core {

class Date {
 public:
  constexpr Date() = default;
  constexpr explicit Date(std::chrono::year_month_day ymd) : ymd_(ymd) {}
  static Date FromYmd(int year, unsigned month, unsigned day);

  // Accepts exactly YYYY-MM-DD naming a real day; anything else is kInvalidArgument.
  static Result<Date> Parse(std::string_view text);

  std::string ToString() const;  // YYYY-MM-DD
  int year() const { return static_cast<int>(ymd_.year()); }
  std::chrono::year_month_day ymd() const { return ymd_; }

  auto operator<=>(const Date& o) const {
    return std::chrono::sys_days(ymd_) <=> std::chrono::sys_days(o.ymd_);
  }
  bool operator==(const Date& o) const { return ymd_ == o.ymd_; }

 private:
  std::chrono::year_month_day ymd_{std::chrono::year(1970), std::chrono::month(1),
                                   std::chrono::day(1)};
};

}  // namespace flopline::core
