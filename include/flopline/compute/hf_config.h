// File: flopline/compute/hf_config.h
//
// Builds an Architecture from a Hugging Face `config.json`, through the family file (family.h,
// data/architectures/) that describes its model_type. Supported `model_type`s are listed by
// SupportedModelTypes(); each is read the way transformers reads it, including its defaults for
// absent keys (e.g. Falcon's `multi_query = true`), which the result's notes then mention.
// Config keys the family does not read are listed in Architecture::ignored_keys; an unread key
// whose name says it sizes something (`*_size`, `num_*`, `*_bias`, ...) is an error naming it.
//
// Errors (all kInvalidArgument, with file:line:column and the field):
//   - text that is not JSON (line and column of the syntax error);
//   - a missing required field, a field of the wrong type, a non-positive size;
//   - shapes that cannot be (hidden_size not divisible by heads, heads not a multiple of kv heads);
//   - an unknown model_type: the message names the closest known ones, how to describe it in data,
//     and lists the supported ones.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flopline/compute/architecture.h"
#include "flopline/compute/family.h"
#include "flopline/core/result.h"

namespace flopline::compute {

// With the shipped family files (FamilyCatalog::Shipped()), or with `catalog`.
core::Result<Architecture> ParseHfConfig(std::string_view text, const std::string& file_name);
core::Result<Architecture> ParseHfConfig(std::string_view text, const std::string& file_name,
                                         const FamilyCatalog& catalog);

// Reads `path` and parses it; a file that cannot be read is kNotFound naming the path.
core::Result<Architecture> LoadHfConfig(const std::string& path);
core::Result<Architecture> LoadHfConfig(const std::string& path, const FamilyCatalog& catalog);

// The model_types of the shipped family files, sorted.
const std::vector<std::string>& SupportedModelTypes();

}  // namespace flopline::compute
