// File: flopline/core/units.h
//
// Strong units so that a FLOP count cannot be added to a price or a rate by accident:
// `Flop + UsdCents` does not compile. Conventions (ARCHITECTURE.md "Numbers"): compute is an IEEE
// double of operations, one multiply-accumulate = 2 FLOP, all precisions counted alike; money is an
// integer number of US cents.
#pragma once

#include <cmath>
#include <compare>
#include <cstdint>

namespace flopline::core {

// A double-valued quantity of one dimension. Same-tag arithmetic and scaling only.
template <typename Tag>
class Quantity {
 public:
  constexpr Quantity() = default;
  constexpr explicit Quantity(double value) : value_(value) {}
  constexpr double value() const { return value_; }

  constexpr Quantity operator+(Quantity o) const { return Quantity(value_ + o.value_); }
  constexpr Quantity operator-(Quantity o) const { return Quantity(value_ - o.value_); }
  constexpr Quantity& operator+=(Quantity o) {
    value_ += o.value_;
    return *this;
  }
  constexpr Quantity operator*(double k) const { return Quantity(value_ * k); }
  constexpr Quantity operator/(double k) const { return Quantity(value_ / k); }
  constexpr double operator/(Quantity o) const { return value_ / o.value_; }  // a ratio
  constexpr auto operator<=>(const Quantity&) const = default;

 private:
  double value_ = 0;
};

struct FlopTag {};
struct FlopPerSecondTag {};
struct HoursTag {};

using Flop = Quantity<FlopTag>;                  // floating-point or integer operations
using FlopPerSecond = Quantity<FlopPerSecondTag>;
using Hours = Quantity<HoursTag>;

// Work done at `rate` for `hours`.
constexpr Flop operator*(FlopPerSecond rate, Hours hours) {
  return Flop(rate.value() * hours.value() * 3600.0);
}

// Money in integer cents: what the statutes' dollar thresholds are compared against.
class UsdCents {
 public:
  constexpr UsdCents() = default;
  constexpr explicit UsdCents(std::int64_t cents) : cents_(cents) {}
  // Rounds to the nearest cent. Amounts above ~9e16 dollars do not fit and are clamped.
  static UsdCents FromDollars(double dollars);

  constexpr std::int64_t cents() const { return cents_; }
  constexpr double dollars() const { return static_cast<double>(cents_) / 100.0; }
  constexpr UsdCents operator+(UsdCents o) const { return UsdCents(cents_ + o.cents_); }
  constexpr auto operator<=>(const UsdCents&) const = default;

 private:
  std::int64_t cents_ = 0;
};

inline UsdCents UsdCents::FromDollars(double dollars) {
  constexpr double kMaxCents = 9.0e18;
  double cents = std::round(dollars * 100.0);
  if (cents > kMaxCents) cents = kMaxCents;
  if (cents < -kMaxCents) cents = -kMaxCents;
  return UsdCents(static_cast<std::int64_t>(cents));
}

}  // namespace flopline::core
