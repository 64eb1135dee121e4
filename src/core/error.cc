#include "flopline/core/result.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace flopline::core {

std::string Error::ToString() const {
  std::string out;
  if (where && !where->file.empty()) {
    out += where->file;
    if (where->line > 0) {
      out += fmt::format(":{}", where->line);
      if (where->column > 0) out += fmt::format(":{}", where->column);
    }
    out += ": ";
  }
  if (!field.empty()) out += fmt::format("field '{}': ", field);
  out += message;
  return out;
}

tl::unexpected<Error> MakeError(Code code, std::string message, std::string field,
                                std::optional<Location> where) {
  return tl::unexpected(Error{code, std::move(message), std::move(where), std::move(field)});
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open the file", {}, Location{path, 0, 0});
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return NotFound("cannot read the file", {}, Location{path, 0, 0});
  return buffer.str();
}

}  // namespace flopline::core
