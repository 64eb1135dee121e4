#include "flopline/core/instant.h"

#include <charconv>

#include <fmt/compile.h>
#include <fmt/format.h>

namespace flopline::core {

Result<Instant> Instant::Parse(std::string_view text) {
  if (text.size() == 10) {
    FL_ASSIGN_OR_RETURN(Date date, Date::Parse(text));
    return StartOf(date);
  }
  auto bad = [&] {
    return InvalidArgument(fmt::format("'{}' is not an instant of the form YYYY-MM-DDTHH:MM:SSZ", text));
  };
  if (text.size() != 20 || (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' ||
      (text[19] != 'Z' && text[19] != 'z')) {
    return bad();
  }
  auto date = Date::Parse(text.substr(0, 10));
  if (!date) return bad();
  int h = 0, m = 0, s = 0;
  auto parse = [&](std::size_t at, int& out, int max) {
    auto [ptr, ec] = std::from_chars(text.data() + at, text.data() + at + 2, out);
    return ec == std::errc() && ptr == text.data() + at + 2 && out >= 0 && out <= max;
  };
  if (!parse(11, h, 23) || !parse(14, m, 59) || !parse(17, s, 59)) return bad();
  return Instant(std::chrono::sys_days(date->ymd()) + std::chrono::hours(h) + std::chrono::minutes(m) +
                 std::chrono::seconds(s));
}

std::string Instant::ToString() const {
  auto day = std::chrono::floor<std::chrono::days>(t_);
  std::chrono::hh_mm_ss hms(t_ - day);
  const std::chrono::year_month_day ymd(day);
  return fmt::format(FMT_COMPILE("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z"), static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                     hms.minutes().count(), hms.seconds().count());
}

Instant Instant::PlusMonths(int months) const {
  using namespace std::chrono;
  auto day = floor<days>(t_);
  year_month_day ymd(day);
  year_month_day moved = ymd + std::chrono::months(months);
  if (!moved.ok()) moved = moved.year() / moved.month() / last;
  return Instant(sys_days(moved) + (t_ - day));
}

}  // namespace flopline::core
