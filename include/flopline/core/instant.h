// File: flopline/core/instant.h
//
// A moment in UTC at one-second resolution, for events and deadlines ("within 72 hours of ...").
// ISO 8601 with a Z suffix only: time zones are never involved (ARCHITECTURE.md "Numbers").
#pragma once

#include <chrono>
#include <compare>
#include <string>
#include <string_view>

#include "flopline/core/date.h"
#include "flopline/core/result.h"

namespace flopline::core {

class Instant {
 public:
  constexpr Instant() = default;
  constexpr explicit Instant(std::chrono::sys_seconds t) : t_(t) {}
  static Instant StartOf(Date date) { return Instant(std::chrono::sys_days(date.ymd())); }
  // "YYYY-MM-DDTHH:MM:SSZ", or a bare date meaning its start.
  static Result<Instant> Parse(std::string_view text);

  std::string ToString() const;  // YYYY-MM-DDTHH:MM:SSZ
  Date date() const { return Date(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(t_))); }
  std::chrono::sys_seconds time() const { return t_; }

  Instant operator+(std::chrono::seconds d) const { return Instant(t_ + d); }
  // Calendar arithmetic that keeps the day of month (clamped: Jan 31 + 1 month = Feb 28/29).
  Instant PlusMonths(int months) const;
  auto operator<=>(const Instant&) const = default;

 private:
  std::chrono::sys_seconds t_{};
};

}  // namespace flopline::core
