#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "commands.h"

namespace flopline::cli {

namespace {

std::string FindDir(const std::string& flag_value, const char* env_name, const char* name, const char* probe) {
  namespace fs = std::filesystem;
  if (!flag_value.empty()) return flag_value;
  if (const char* env = std::getenv(env_name); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& candidate : {exe.parent_path() / ".." / name,
                                      exe.parent_path() / ".." / "share" / "flopline" / name}) {
      if (fs::exists(candidate / probe, ec)) return candidate.lexically_normal().string();
    }
  }
  return name;
}

}  // namespace

std::string FindDataDir(const std::string& flag_value) {
  return FindDir(flag_value, "FLOPLINE_DATA_DIR", "data", "accelerators.toml");
}

std::string FindRegimesDir(const std::string& flag_value) {
  return FindDir(flag_value, "FLOPLINE_REGIMES_DIR", "regimes", "ca-sb1047.toml");
}

std::string FindDocumentsDir(const std::string& flag_value) {
  return FindDir(flag_value, "FLOPLINE_DOCUMENTS_DIR", "documents", "ca-sb1047.toml");
}

int ReportError(const std::string& command, const std::string& message, bool bad_input) {
  std::cerr << "flopline " << command << ": " << message << "\n";
  return bad_input ? 2 : 1;
}

}  // namespace flopline::cli
