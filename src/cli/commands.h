// File: cli/commands.h (private)
//
// One function pair per subcommand: Add*Command registers its flags on the parent app and returns a
// callback that runs it and yields the process exit code (0 ok, 1 a finding asked for, 2 bad input).
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace flopline::cli {

using CommandRunner = std::function<int()>;

CommandRunner AddFlopsCommand(CLI::App& app);
CommandRunner AddForecastCommand(CLI::App& app);
CommandRunner AddAssessCommand(CLI::App& app);
CommandRunner AddLedgerCommand(CLI::App& app);
CommandRunner AddImportCommand(CLI::App& app);
CommandRunner AddKillswitchCommand(CLI::App& app);
CommandRunner AddMeterCommand(CLI::App& app);
CommandRunner AddServeCommand(CLI::App& app);
CommandRunner AddUserCommand(CLI::App& app);
CommandRunner AddWorkspaceCommand(CLI::App& app);
CommandRunner AddDocumentCommand(CLI::App& app);

// The directory holding accelerators.toml and cloud-prices.toml: --data-dir, then $FLOPLINE_DATA_DIR,
// then ../data and ../share/flopline/data beside the binary, then ./data.
std::string FindDataDir(const std::string& flag_value);
// The directory of regime files: --regimes-dir, then $FLOPLINE_REGIMES_DIR, then ../regimes and
// ../share/flopline/regimes beside the binary, then ./regimes.
std::string FindRegimesDir(const std::string& flag_value);
// The directory of document kinds: --documents-dir, then $FLOPLINE_DOCUMENTS_DIR, then ../documents
// and ../share/flopline/documents beside the binary, then ./documents.
std::string FindDocumentsDir(const std::string& flag_value);

// Prints "flopline: MESSAGE" on stderr and returns the exit code for its kind of error.
int ReportError(const std::string& command, const std::string& message, bool bad_input = true);

}  // namespace flopline::cli
