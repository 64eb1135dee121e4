// File: compute/json_location.h (private)
//
// nlohmann::json keeps no source positions, so when a field has a bad value we find where its key
// is written by scanning the (already validated) text. Only used on the error path.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"

namespace flopline::compute {

// The 1-based line and column of byte `offset` in `text`.
core::Location OffsetToLocation(std::string_view text, std::size_t offset, std::string file);

// Where the key at `path` (object keys from the root) is written; line 0 if it is absent.
core::Location LocateKey(std::string_view text, const std::vector<std::string>& path,
                         std::string file);

}  // namespace flopline::compute
