#include "range_flag.h"

#include <fmt/format.h>

namespace flopline::cli {

core::Result<std::pair<double, double>> ParseValueOrRange(const std::string& text, const char* field) {
  auto number = [&](const std::string& part) -> core::Result<double> {
    try {
      std::size_t used = 0;
      double value = std::stod(part, &used);
      if (used == part.size()) return value;
    } catch (const std::exception&) {
    }
    return core::InvalidArgument(fmt::format("expected a number such as 0.4 or a range such as 0.3-0.45, got '{}'", text),
                                 field);
  };
  auto dash = text.find('-', 1);
  if (dash == std::string::npos) {
    FL_ASSIGN_OR_RETURN(double v, number(text));
    return std::pair{v, v};
  }
  FL_ASSIGN_OR_RETURN(double low, number(text.substr(0, dash)));
  FL_ASSIGN_OR_RETURN(double high, number(text.substr(dash + 1)));
  return std::pair{low, high};
}

}  // namespace flopline::cli
