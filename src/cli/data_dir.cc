#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "commands.h"

namespace flopline::cli {

std::string FindDataDir(const std::string& flag_value) {
  namespace fs = std::filesystem;
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv("FLOPLINE_DATA_DIR"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& candidate : {exe.parent_path() / ".." / "data",
                                      exe.parent_path() / ".." / "share" / "flopline" / "data"}) {
      if (fs::exists(candidate / "accelerators.toml", ec)) return candidate.lexically_normal().string();
    }
  }
  return "data";
}

int ReportError(const std::string& command, const std::string& message, bool bad_input) {
  std::cerr << "flopline " << command << ": " << message << "\n";
  return bad_input ? 2 : 1;
}

}  // namespace flopline::cli
