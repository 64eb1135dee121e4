// `flopline assess FILE...`: where each model stands under each regime, as of a date, with the
// clauses, margins, obligations and penalties. Thin: flags -> rules::Engine -> table, markdown, JSON.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "flopline/core/format.h"
#include "flopline/rules/determination_json.h"
#include "flopline/rules/engine.h"

namespace flopline::cli {
namespace {

struct AssessFlags {
  std::vector<std::string> files, regimes, sets;
  std::string as_of, format = "table", data_dir, regimes_dir;
  bool fail_if_covered = false;
};

core::Result<rules::Override> ParseSet(const std::string& text) {
  auto dot = text.find('.');
  auto eq = text.find('=');
  if (dot == std::string::npos || eq == std::string::npos || eq < dot) {
    return core::InvalidArgument(fmt::format("expected REGIME.PARAM=VALUE, got '{}'", text), "--set");
  }
  rules::Override o{text.substr(0, dot), text.substr(dot + 1, eq - dot - 1), 0};
  try {
    std::size_t used = 0;
    o.value = std::stod(text.substr(eq + 1), &used);
    if (used != text.size() - eq - 1) throw std::invalid_argument(text);
  } catch (const std::exception&) {
    return core::InvalidArgument(fmt::format("'{}' is not a number", text.substr(eq + 1)), "--set");
  }
  return o;
}

core::Date Today() {
  return core::Date(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())));
}

std::string Covered(const std::optional<bool>& c) { return !c ? "?" : *c ? "yes" : "no"; }

std::string Amount(const std::optional<double>& v, const std::string& currency) {
  if (!v) return "-";
  std::string s = core::Dollars(*v);
  return currency == "USD" || currency.empty() ? s : currency + " " + s.substr(1);
}

std::string KeyMargin(const rules::Determination& d) {
  for (const rules::Margin& m : d.outcomes.front().margins) {
    if (m.holds != "unknown") return fmt::format("{} {} {} {}", m.left, m.text, m.right.rfind("param.", 0) == 0 ? m.right.substr(6) : m.right, core::Sci3(m.threshold));
  }
  return "-";
}

void PrintText(const std::vector<rules::ModelAnswer>& answers, core::Date as_of, bool markdown,
               const std::vector<rules::Regime>& regimes) {
  std::vector<std::string> notes_once;
  for (const auto& r : regimes) {
    if (!r.note.empty()) notes_once.push_back(r.note);
  }
  if (markdown) std::cout << fmt::format("# flopline assess, as of {}\n\n", as_of.ToString());
  else std::cout << fmt::format("flopline assess, as of {}\n", as_of.ToString());
  for (const auto& n : notes_once) std::cout << (markdown ? "> " : "") << n << "\n";
  std::cout << "\n";
  if (markdown) {
    std::cout << "| model | regime | status | covered | basis | margin | max penalty (first / later) |\n|---|---|---|---|---|---|---|\n";
  } else {
    std::cout << fmt::format("{:<22} {:<15} {:<40} {:<7} {:<40} {}\n", "model", "regime", "status", "covered", "basis", "max penalty (first / later)");
  }
  for (const auto& a : answers) {
    for (const auto& d : a.determinations) {
      std::string basis = d.basis.empty() ? "-" : d.basis.front();
      std::string penalty = d.penalty_first ? Amount(d.penalty_first, d.penalty_currency) + " / " +
                                                  Amount(d.penalty_subsequent, d.penalty_currency)
                                            : "-";
      if (markdown) {
        std::cout << fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", a.id, d.regime, d.status, Covered(d.covered),
                                 basis, KeyMargin(d), penalty);
      } else {
        std::cout << fmt::format("{:<22} {:<15} {:<40} {:<7} {:<40} {}\n", a.id.substr(0, 22), d.regime, d.status,
                                 Covered(d.covered), basis.substr(0, 40), penalty);
      }
    }
  }
  for (const auto& a : answers) {
    std::cout << (markdown ? fmt::format("\n## {}\n\n", a.id) : fmt::format("\n== {} ({})\n", a.id, a.developer));
    std::cout << fmt::format("{}training {} FLOP (own), {} FLOP cumulative; cost {} (own), {} cumulative\n",
                             markdown ? "" : "   ", core::Sci3(a.own_flop), core::Sci3(a.cumulative_flop),
                             a.own_cost_usd ? core::Dollars(*a.own_cost_usd) : "unknown",
                             a.cumulative_cost_usd ? core::Dollars(*a.cumulative_cost_usd) : "unknown");
    for (const auto& d : a.determinations) {
      std::cout << (markdown ? fmt::format("\n### {}: {}\n\n", d.regime, d.status)
                             : fmt::format("\n -- {}: {} (covered: {})\n", d.regime, d.status, Covered(d.covered)));
      for (const auto& o : d.outcomes) {
        if (d.outcomes.size() > 1) {
          std::cout << (markdown ? fmt::format("- **Reading {}**: {}\n", o.reading, o.status)
                                 : fmt::format("    reading {}: {}\n", o.reading, o.status));
        }
        if (o.reading != d.outcomes.front().reading && o.status == d.outcomes.front().status) continue;
        for (const auto& step : o.explanation) {
          std::string cite = step.cite.empty() ? "" : fmt::format(" [{}]", step.cite);
          std::cout << (markdown ? fmt::format("  - {}{}\n", step.text, cite) : fmt::format("      - {}{}\n", step.text, cite));
        }
      }
      if (!d.obligations.empty()) {
        std::cout << (markdown ? "\n| obligation | cite | due | status |\n|---|---|---|---|\n" : "    obligations:\n");
        for (const auto& o : d.obligations) {
          std::string due = o.due ? o.due->ToString() : "-";
          std::cout << (markdown ? fmt::format("| {} | {} | {} | {} |\n", o.id, o.cite, due, o.state)
                                 : fmt::format("      {:<38} {:<22} due {:<21} {:<13} {}\n", o.id, o.cite, due, o.state, o.detail));
        }
      }
      if (d.penalty_first) {
        std::cout << fmt::format("{}max penalty: {} first violation, {} each later one [{}]\n", markdown ? "\n" : "    ",
                                 Amount(d.penalty_first, d.penalty_currency), Amount(d.penalty_subsequent, d.penalty_currency),
                                 d.penalty_cite);
      }
      for (const auto& n : d.notes) std::cout << (markdown ? "- note: " : "    note: ") << n << "\n";
    }
  }
}

int Run(const AssessFlags& f) {
  auto regimes = rules::LoadRegimeDir(FindRegimesDir(f.regimes_dir));
  if (!regimes) return ReportError("assess", regimes.error().ToString());
  std::string data = FindDataDir(f.data_dir);
  auto cpi = rules::LoadCpi(data + "/cpi.toml");
  if (!cpi) return ReportError("assess", cpi.error().ToString());
  auto accelerators = compute::AcceleratorTable::Load(data + "/accelerators.toml");
  if (!accelerators) return ReportError("assess", accelerators.error().ToString());
  auto prices = compute::PriceTable::Load(data + "/cloud-prices.toml");
  if (!prices) return ReportError("assess", prices.error().ToString());

  rules::AssessOptions options;
  options.as_of = Today();
  if (!f.as_of.empty()) {
    auto date = core::Date::Parse(f.as_of);
    if (!date) return ReportError("assess", core::Error{core::Code::kInvalidArgument, date.error().message, {}, "--as-of"}.ToString());
    options.as_of = *date;
  }
  for (const auto& s : f.sets) {
    auto o = ParseSet(s);
    if (!o) return ReportError("assess", o.error().ToString());
    options.overrides.push_back(*o);
  }
  options.regimes = f.regimes;
  auto inventory = rules::LoadInventory(f.files, *accelerators, *prices);
  if (!inventory) return ReportError("assess", inventory.error().ToString());
  rules::Engine engine(std::move(*regimes), std::move(*cpi));
  auto answers = engine.Assess(*inventory, options);
  if (!answers) return ReportError("assess", answers.error().ToString());

  if (f.format == "json") {
    std::cout << rules::AssessmentToJson(options.as_of, *answers).dump(2) << "\n";
  } else {
    std::vector<rules::Regime> shown;
    for (const auto& r : engine.regimes()) {
      if (options.regimes.empty() || std::find(options.regimes.begin(), options.regimes.end(), r.id) != options.regimes.end()) {
        shown.push_back(r);
      }
    }
    PrintText(*answers, options.as_of, f.format == "markdown", shown);
  }
  if (f.fail_if_covered) {
    for (const auto& a : *answers) {
      for (const auto& d : a.determinations) {
        bool any = std::any_of(d.outcomes.begin(), d.outcomes.end(), [&](const rules::Outcome& o) {
          const auto& regs = engine.regimes();
          auto r = std::find_if(regs.begin(), regs.end(), [&](const rules::Regime& x) { return x.id == d.regime; });
          return r != regs.end() && r->IsCovered(o.status);
        });
        if (any) return 1;
      }
    }
  }
  return 0;
}

}  // namespace

CommandRunner AddAssessCommand(CLI::App& app) {
  auto flags = std::make_shared<AssessFlags>();
  CLI::App* cmd = app.add_subcommand("assess", "Judge models against each regime: status, clauses, margins, obligations, penalties");
  cmd->add_option("files", flags->files, "model files (TOML)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--as-of", flags->as_of, "date to judge on, YYYY-MM-DD (default: today, UTC)");
  cmd->add_option("--regime", flags->regimes, "regime id (repeatable; default: all in the regimes directory)");
  cmd->add_option("--set", flags->sets, "what-if: REGIME.PARAM=VALUE, e.g. ca-sb1047.covered_flop=2e26 (repeatable)");
  cmd->add_option("--format", flags->format, "table (default), markdown or json")
      ->check(CLI::IsMember({"table", "markdown", "json"}));
  cmd->add_flag("--fail-if-covered", flags->fail_if_covered, "exit 1 if any model is covered under any reading");
  cmd->add_option("--data-dir", flags->data_dir, "directory of the data tables");
  cmd->add_option("--regimes-dir", flags->regimes_dir, "directory of the regime files");
  return [flags] { return Run(*flags); };
}

}  // namespace flopline::cli
