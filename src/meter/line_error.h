// Private to the meter's parsers: the error of one input line, naming its file, line and field
// (core::Error's location), as every parser of the meter reports it.
#pragma once

#include <string>

#include "flopline/core/result.h"

namespace flopline::meter {

struct At {
  const std::string& file;
  int line;
};

inline tl::unexpected<core::Error> Bad(const At& at, std::string field, std::string message) {
  return core::InvalidArgument(std::move(message), std::move(field), core::Location{at.file, at.line, 0});
}

}  // namespace flopline::meter
