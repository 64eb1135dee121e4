// The flopline binary: parses the subcommand and hands over to it. Exit codes: 0 success,
// 1 a finding the user asked to fail on, 2 bad input (ARCHITECTURE.md "Contracts").
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"flopline: compute-threshold AI regulation, from FLOP to filings"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "flopline 0.1.0");
  flopline::cli::CommandRunner run_flops = flopline::cli::AddFlopsCommand(app);
  flopline::cli::CommandRunner run_forecast = flopline::cli::AddForecastCommand(app);
  flopline::cli::CommandRunner run_assess = flopline::cli::AddAssessCommand(app);
  flopline::cli::CommandRunner run_ledger = flopline::cli::AddLedgerCommand(app);
  flopline::cli::CommandRunner run_import = flopline::cli::AddImportCommand(app);
  flopline::cli::CommandRunner run_killswitch = flopline::cli::AddKillswitchCommand(app);
  flopline::cli::CommandRunner run_meter = flopline::cli::AddMeterCommand(app);
  flopline::cli::CommandRunner run_serve = flopline::cli::AddServeCommand(app);
  flopline::cli::CommandRunner run_user = flopline::cli::AddUserCommand(app);
  flopline::cli::CommandRunner run_workspace = flopline::cli::AddWorkspaceCommand(app);
  flopline::cli::CommandRunner run_document = flopline::cli::AddDocumentCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "flopline: " << e.what() << " (see flopline --help)\n";
    return 2;
  }
  if (app.got_subcommand("flops")) return run_flops();
  if (app.got_subcommand("forecast")) return run_forecast();
  if (app.got_subcommand("assess")) return run_assess();
  if (app.got_subcommand("ledger")) return run_ledger();
  if (app.got_subcommand("import")) return run_import();
  if (app.got_subcommand("killswitch")) return run_killswitch();
  if (app.got_subcommand("meter")) return run_meter();
  if (app.got_subcommand("serve")) return run_serve();
  if (app.got_subcommand("user")) return run_user();
  if (app.got_subcommand("workspace")) return run_workspace();
  if (app.got_subcommand("document")) return run_document();
  return 2;
}
