#include "flopline/store/open.h"

#include <fmt/format.h>

namespace flopline::store {

core::Result<std::unique_ptr<ledger::Storage>> Open(const std::string& spec) {
  if (spec.starts_with("sqlite:") && spec.size() > 7) return OpenSqlite(spec.substr(7));
  if (spec.starts_with("postgres:") && spec.size() > 9) return OpenPostgres(spec.substr(9));
  return core::InvalidArgument(fmt::format("'{}' names no store: use sqlite:PATH or postgres:CONNINFO", spec),
                               "store");
}

}  // namespace flopline::store
