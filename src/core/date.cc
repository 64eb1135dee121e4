#include "flopline/core/date.h"

#include <charconv>

#include <fmt/compile.h>
#include <fmt/format.h>

namespace flopline::core {

Date Date::FromYmd(int year, unsigned month, unsigned day) {
  return Date(std::chrono::year_month_day(std::chrono::year(year), std::chrono::month(month),
                                          std::chrono::day(day)));
}

Result<Date> Date::Parse(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument(fmt::format("'{}' is not a date of the form YYYY-MM-DD", text));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int year = 0;
  unsigned month = 0, day = 0;
  auto parse = [&](std::string_view part, auto& out) {
    auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
    return ec == std::errc() && ptr == part.data() + part.size();
  };
  if (!parse(text.substr(0, 4), year) || !parse(text.substr(5, 2), month) ||
      !parse(text.substr(8, 2), day)) {
    return bad();
  }
  Date date = FromYmd(year, month, day);
  if (!date.ymd_.ok()) return bad();
  return date;
}

std::string Date::ToString() const {
  return fmt::format(FMT_COMPILE("{:04}-{:02}-{:02}"), static_cast<int>(ymd_.year()),
                     static_cast<unsigned>(ymd_.month()), static_cast<unsigned>(ymd_.day()));
}

}  // namespace flopline::core
