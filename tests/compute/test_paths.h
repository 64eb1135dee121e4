// Paths to the repository's fixtures, from the source dir CMake compiles in.
#pragma once

#include <string>

namespace flopline::compute::testing {

inline std::string ExampleConfig(const std::string& name) {
  return std::string(FLOPLINE_SOURCE_DIR) + "/examples/configs/" + name;
}
inline std::string FixtureConfig(const std::string& name) {
  return std::string(FLOPLINE_SOURCE_DIR) + "/tests/fixtures/configs/" + name;
}
inline std::string DataFile(const std::string& name) {
  return std::string(FLOPLINE_SOURCE_DIR) + "/data/" + name;
}

}  // namespace flopline::compute::testing
