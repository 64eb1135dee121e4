// File: flopline/compute/accelerators.h
//
// The accelerator table (data/accelerators.toml): peak dense throughput per precision, with the
// source of every row. Loaded at run time so a new chip needs no recompile.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "flopline/core/result.h"
#include "flopline/core/units.h"

namespace flopline::compute {

struct Accelerator {
  std::string id;    // canonical name, e.g. "H100-SXM"
  std::string name;  // for people, e.g. "NVIDIA H100 SXM5 80GB"
  std::vector<std::string> aliases;
  std::string default_precision;
  std::map<std::string, core::FlopPerSecond> peak;  // precision -> dense peak
  std::string source;
};

class AcceleratorTable {
 public:
  AcceleratorTable() = default;
  // Errors: unreadable file (kNotFound), bad TOML or a bad row (kInvalidArgument at file:line).
  static core::Result<AcceleratorTable> Load(const std::string& path);
  static core::Result<AcceleratorTable> Parse(std::string_view text, const std::string& file);

  // Matches id or alias ignoring case, '-', '_' and spaces. Unknown names are kNotFound with the
  // list of known ids in the message.
  core::Result<const Accelerator*> Find(std::string_view name) const;
  // The peak at `precision` ("" = the accelerator's default); kInvalidArgument if not listed.
  core::Result<core::FlopPerSecond> Peak(const Accelerator& accelerator,
                                         std::string_view precision) const;
  const std::vector<Accelerator>& all() const { return accelerators_; }

 private:
  explicit AcceleratorTable(std::vector<Accelerator> accelerators)
      : accelerators_(std::move(accelerators)) {}
  std::vector<Accelerator> accelerators_;
};

}  // namespace flopline::compute
