// `flopline assess FILE...`: where each model stands under each regime, as of a date. Thin: flags ->
// rules::LoadInventory -> rules::Engine::AssessEach -> a summary table (or markdown, or JSON), streamed
// one model at a time; `--explain` adds the clause traces, `--write-jsonl` converts the files to the
// bulk format instead.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "commands.h"
#include "flopline/core/format.h"
#include "flopline/rules/determination_json.h"
#include "flopline/rules/engine.h"

namespace flopline::cli {
namespace {

struct AssessFlags {
  std::vector<std::string> files, regimes, sets, explain;
  std::string as_of, format = "table", data_dir, regimes_dir, write_jsonl, compare;
  bool fail_if_covered = false, quiet = false, explain_all = false;
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
  // std::stod reads "nan", "inf" and 1e400 (out_of_range aside): refuse them here, by the flag.
  if (!std::isfinite(o.value) || o.value < 0) {
    return core::InvalidArgument(fmt::format("{}: a what-if value must be a finite number, zero or more", text),
                                 "--set");
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

// Standard output through one buffer, written in large pieces: a million rows must not cost a
// million writes, nor be held whole.
class Out {
 public:
  ~Out() { Flush(); }
  std::string& buffer() { return buffer_; }
  void MaybeFlush() {
    if (buffer_.size() >= (1u << 20)) Flush();
  }
  void Flush() {
    if (!buffer_.empty()) std::fwrite(buffer_.data(), 1, buffer_.size(), stdout);
    buffer_.clear();
  }

 private:
  std::string buffer_;
};

// The summary table's cells for one model under one regime.
struct Row {
  std::string model, regime, status, covered, basis, margin, deadline, penalty;
};

Row MakeRow(const rules::ModelAnswer& a, const rules::Determination& d) {
  Row row{a.id, d.regime, d.status, Covered(d.covered), "-", rules::KeyMargin(d), "-", "-"};
  if (!d.basis.empty()) row.basis = core::Join(d.basis, "; ");
  if (row.margin.empty()) row.margin = "-";
  if (const rules::ObligationState* o = rules::NextDeadline(d)) {
    row.deadline = fmt::format("{} {}{}", o->due->ToString(), o->id, o->state == "overdue" ? " (overdue)" : "");
  }
  if (d.penalty_first) {
    row.penalty = Amount(d.penalty_first, d.penalty_currency) + " / " + Amount(d.penalty_subsequent, d.penalty_currency);
  }
  return row;
}

// Column widths are set by the rows of the first chunk of models (all of them for any inventory a
// person reads whole); a later, longer cell widens its own line only, never the ones printed.
class Table {
 public:
  explicit Table(bool markdown) : markdown_(markdown) {}

  void Add(Out& out, Row row) {
    if (fixed_) {
      Print(out, row);
      return;
    }
    pending_.push_back(std::move(row));
    if (pending_.size() >= kWidthRows) Fix(out);
  }
  void Finish(Out& out) {
    if (!fixed_) Fix(out);
  }

 private:
  static constexpr std::size_t kWidthRows = 32768;

  void Fix(Out& out) {
    Row header{"model", "regime", "status", "covered", "basis", "margin", "next deadline", "max penalty (first / later)"};
    auto widen = [&](const Row& r) {
      const std::string* cells[] = {&r.model, &r.regime, &r.status, &r.covered, &r.basis, &r.margin, &r.deadline};
      for (std::size_t i = 0; i < 7; ++i) width_[i] = std::max(width_[i], cells[i]->size());
    };
    widen(header);
    for (const Row& r : pending_) widen(r);
    fixed_ = true;
    Print(out, header);
    if (markdown_) out.buffer() += "|---|---|---|---|---|---|---|---|\n";
    for (const Row& r : pending_) Print(out, r);
    pending_.clear();
    pending_.shrink_to_fit();
  }

  void Print(Out& out, const Row& r) {
    std::string& b = out.buffer();
    if (markdown_) {
      fmt::format_to(std::back_inserter(b), "| {} | {} | {} | {} | {} | {} | {} | {} |\n", r.model, r.regime, r.status,
                     r.covered, r.basis, r.margin, r.deadline, r.penalty);
    } else {
      fmt::format_to(std::back_inserter(b), "{:<{}}  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", r.model,
                     width_[0], r.regime, width_[1], r.status, width_[2], r.covered, width_[3], r.basis, width_[4],
                     r.margin, width_[5], r.deadline, width_[6], r.penalty);
    }
    out.MaybeFlush();
  }

  bool markdown_;
  bool fixed_ = false;
  std::size_t width_[7] = {};
  std::vector<Row> pending_;
};

// Every rule of every reading, obligations, penalty and notes: what --explain adds per model.
void PrintTrace(Out& out, const rules::ModelAnswer& a, bool markdown) {
  std::string& b = out.buffer();
  auto put = [&](const std::string& s) { b += s; };
  put(markdown ? fmt::format("\n## {}\n\n", a.id) : fmt::format("\n== {} ({})\n", a.id, a.developer));
  put(fmt::format("{}training {} FLOP (own), {} FLOP cumulative; cost {} (own), {} cumulative\n", markdown ? "" : "   ",
                  core::Sci3(a.own_flop), core::Sci3(a.cumulative_flop),
                  a.own_cost_usd ? core::Dollars(*a.own_cost_usd) : "unknown",
                  a.cumulative_cost_usd ? core::Dollars(*a.cumulative_cost_usd) : "unknown"));
  for (const auto& d : a.determinations) {
    put(markdown ? fmt::format("\n### {}: {}\n\n", d.regime, d.status)
                 : fmt::format("\n -- {}: {} (covered: {})\n", d.regime, d.status, Covered(d.covered)));
    for (const auto& o : d.outcomes) {
      if (d.outcomes.size() > 1) {
        put(markdown ? fmt::format("- **Reading {}**: {}\n", o.reading, o.status)
                     : fmt::format("    reading {}: {}\n", o.reading, o.status));
      }
      if (o.reading != d.outcomes.front().reading && o.status == d.outcomes.front().status) continue;
      for (const auto& step : o.explanation) {
        std::string cite = step.cite.empty() ? "" : fmt::format(" [{}]", step.cite);
        put(markdown ? fmt::format("  - {}{}\n", step.text, cite) : fmt::format("      - {}{}\n", step.text, cite));
      }
    }
    if (!d.obligations.empty()) {
      std::size_t id_w = 0, cite_w = 0, state_w = 0;
      for (const auto& o : d.obligations) {
        id_w = std::max(id_w, o.id.size());
        cite_w = std::max(cite_w, o.cite.size());
        state_w = std::max(state_w, o.state.size());
      }
      put(markdown ? "\n| obligation | cite | due | status |\n|---|---|---|---|\n" : "    obligations:\n");
      for (const auto& o : d.obligations) {
        std::string due = o.due ? o.due->ToString() : "-";
        put(markdown ? fmt::format("| {} | {} | {} | {} |\n", o.id, o.cite, due, o.state)
                     : fmt::format("      {:<{}}  {:<{}}  due {:<20}  {:<{}}  {}\n", o.id, id_w, o.cite, cite_w, due,
                                   o.state, state_w, o.detail));
      }
    }
    if (d.penalty_first) {
      put(fmt::format("{}max penalty: {} first violation, {} each later one [{}]\n", markdown ? "\n" : "    ",
                      Amount(d.penalty_first, d.penalty_currency), Amount(d.penalty_subsequent, d.penalty_currency),
                      d.penalty_cite));
    }
    for (const auto& n : d.notes) put(std::string(markdown ? "- note: " : "    note: ") + n + "\n");
  }
  out.MaybeFlush();
}

bool AnyCovered(const rules::ModelAnswer& a, const std::vector<const rules::Regime*>& regimes) {
  for (std::size_t i = 0; i < a.determinations.size(); ++i) {
    for (const rules::Outcome& o : a.determinations[i].outcomes) {
      if (regimes[i]->IsCovered(o.status)) return true;
    }
  }
  return false;
}

// `--compare A,B`: one row per model, side by side, and which duties only one of the two owes.
int PrintComparison(const rules::Engine& engine, const rules::Inventory& inventory, const rules::AssessOptions& options,
                    const std::string& compare, const std::string& format) {
  auto comma = compare.find(',');
  if (comma == std::string::npos || comma == 0 || comma + 1 == compare.size() ||
      compare.find(',', comma + 1) != std::string::npos) {
    return ReportError("assess", core::Error{core::Code::kInvalidArgument,
                                             fmt::format("expected two regime ids, A,B; got '{}'", compare), {}, "--compare"}
                                     .ToString());
  }
  auto cmp = rules::CompareVersions(engine, inventory, options, compare.substr(0, comma), compare.substr(comma + 1));
  if (!cmp) return ReportError("assess", cmp.error().ToString());
  auto penalty = [](const rules::VersionRow& r, int side) { return Amount(r.penalty_first[side], r.penalty_currency[side]); };
  std::size_t differing = 0;
  for (const auto& r : cmp->rows) differing += r.differs ? 1 : 0;
  if (format == "json") {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : cmp->rows) {
      nlohmann::json sides = nlohmann::json::array();
      for (int side = 0; side < 2; ++side) {
        nlohmann::json s = {{"regime", cmp->regime[side]},
                            {"status", r.status[side]},
                            {"covered", r.covered[side] ? nlohmann::json(*r.covered[side]) : nlohmann::json(nullptr)},
                            {"duties_only_here", r.duties_only[side]},
                            {"max_penalty_first", r.penalty_first[side] ? nlohmann::json(*r.penalty_first[side])
                                                                        : nlohmann::json(nullptr)},
                            {"currency", r.penalty_currency[side]}};
        sides.push_back(std::move(s));
      }
      rows.push_back({{"model", r.model}, {"differs", r.differs}, {"versions", std::move(sides)}});
    }
    nlohmann::json doc = {{"as_of", options.as_of.ToString()},
                          {"compare", {cmp->regime[0], cmp->regime[1]}},
                          {"models_that_differ", differing},
                          {"models", std::move(rows)}};
    std::printf("%s\n", doc.dump(2).c_str());
    return 0;
  }
  // The table holds counts; the duties themselves follow it, one line per model and version, so a
  // long list never widens every row.
  std::vector<std::array<std::string, 6>> cells;
  cells.push_back({"model", cmp->regime[0], cmp->regime[1], "covered", "duties only in one", "max penalty"});
  for (const auto& r : cmp->rows) {
    cells.push_back({r.model + (r.differs ? " *" : ""), r.status[0], r.status[1],
                     Covered(r.covered[0]) + " / " + Covered(r.covered[1]),
                     fmt::format("{} / {}", r.duties_only[0].size(), r.duties_only[1].size()),
                     penalty(r, 0) + " / " + penalty(r, 1)});
  }
  std::array<std::size_t, 6> width{};
  for (const auto& row : cells) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  const bool markdown = format == "markdown";
  std::printf("%sflopline assess, as of %s: %s against %s, %zu of %zu models differ (*)\n\n", markdown ? "# " : "",
              options.as_of.ToString().c_str(), cmp->regime[0].c_str(), cmp->regime[1].c_str(), differing,
              cmp->rows.size());
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::string line = markdown ? "|" : "";
    for (std::size_t c = 0; c < cells[i].size(); ++c) {
      line += markdown ? " " + cells[i][c] + " |" : fmt::format("{:<{}}  ", cells[i][c], width[c]);
    }
    while (!markdown && !line.empty() && line.back() == ' ') line.pop_back();
    std::printf("%s\n", line.c_str());
    if (markdown && i == 0) std::printf("|---|---|---|---|---|---|\n");
  }
  bool heading = false;
  for (const auto& r : cmp->rows) {
    for (int side = 0; side < 2; ++side) {
      if (r.duties_only[side].empty()) continue;
      if (!heading) std::printf("\n%sduties owed under one version only:\n", markdown ? "## " : "");
      heading = true;
      std::printf("%s%s, only under %s: %s\n", markdown ? "- " : "  ", r.model.c_str(), cmp->regime[side].c_str(),
                  core::Join(r.duties_only[side], ", ").c_str());
    }
  }
  return 0;
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

  if (!f.write_jsonl.empty()) {
    std::ofstream file(f.write_jsonl, std::ios::binary | std::ios::trunc);
    if (!file) {
      return ReportError("assess", core::Error{core::Code::kInvalidArgument, "cannot write the file", {}, "--write-jsonl"}.ToString());
    }
    auto written = rules::WriteJsonl(f.files, file);
    file.close();
    if (!written || !file) {
      return ReportError("assess", written ? std::string("--write-jsonl: could not write ") + f.write_jsonl
                                           : written.error().ToString());
    }
    if (!f.quiet) {
      std::printf("wrote %zu models and %zu events to %s\n", inventory->models.size(), inventory->events.size(),
                  f.write_jsonl.c_str());
    }
    return 0;
  }

  // --explain MODEL must name a model: a typo must not quietly explain nothing.
  std::vector<char> explain_model(inventory->models.size(), 0);
  for (const std::string& id : f.explain) {
    int at = inventory->Find(id);
    if (at < 0) {
      return ReportError("assess", core::Error{core::Code::kInvalidArgument,
                                               fmt::format("'{}' names no model in the files given", id), {}, "--explain"}
                                       .ToString());
    }
    explain_model[static_cast<std::size_t>(at)] = 1;
  }
  const bool explain_any = f.explain_all || !f.explain.empty();
  auto explained = [&](std::size_t i) { return f.explain_all || explain_model[i] != 0; };

  rules::Engine engine(std::move(*regimes), std::move(*cpi));
  if (!f.compare.empty()) return PrintComparison(engine, *inventory, options, f.compare, f.format);
  auto contexts = engine.Context(options);
  if (!contexts) return ReportError("assess", contexts.error().ToString());
  std::vector<const rules::Regime*> shown;
  for (const auto& c : *contexts) {
    for (const auto& r : engine.regimes()) {
      if (r.id == c.id) shown.push_back(&r);
    }
  }
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  bool any_covered = false;
  Out out;

  if (f.quiet) {
    auto done = engine.AssessEach(*inventory, options, {}, [&](std::size_t, const rules::ModelAnswer& a) {
      any_covered = any_covered || AnyCovered(a, shown);
      return !(any_covered && f.fail_if_covered);  // the answer is known: stop judging
    }, threads);
    if (!done) return ReportError("assess", done.error().ToString());
    return f.fail_if_covered && any_covered ? 1 : 0;
  }

  if (f.format == "json") {
    // Streamed: the head, then one model at a time, then the tail. Explained models (all, or those
    // named) come in the explained shape, the others in the summary shape, whose keys both have.
    nlohmann::json head_regimes = rules::RegimesToJson(*contexts);
    std::string& b = out.buffer();
    b += "{\"as_of\":";
    rules::AppendJsonString(b, options.as_of.ToString());
    b += ",\"shape\":";
    rules::AppendJsonString(b, f.explain_all ? "explained" : "summary");
    b += ",\"explained_models\":";
    b += nlohmann::json(f.explain).dump();
    b += ",\"regimes\":";
    b += head_regimes.dump();
    b += ",\"models\":[\n";
    bool first = true;
    auto done = engine.AssessEach(*inventory, options, explained, [&](std::size_t, const rules::ModelAnswer& a) {
      any_covered = any_covered || AnyCovered(a, shown);
      if (!first) b += ",\n";
      first = false;
      if (a.determinations.empty() || !a.determinations.front().explained) {
        rules::AppendSummaryJson(b, a);
      } else {
        b += rules::ModelToJson(a).dump();
      }
      out.MaybeFlush();
      return true;
    }, threads);
    if (!done) {
      out.buffer().clear();
      return ReportError("assess", done.error().ToString());
    }
    b += "\n]}\n";
    out.Flush();
    return f.fail_if_covered && any_covered ? 1 : 0;
  }

  const bool markdown = f.format == "markdown";
  std::string& b = out.buffer();
  b += markdown ? fmt::format("# flopline assess, as of {}\n\n", options.as_of.ToString())
                : fmt::format("flopline assess, as of {}: {} models under {} regimes\n", options.as_of.ToString(),
                              inventory->models.size(), contexts->size());
  // The notes that hold for every model, stated once.
  for (const auto& c : *contexts) {
    if (!c.note.empty()) b += (markdown ? "> " : "") + c.note + "\n";
    for (const auto& n : c.notes) b += fmt::format("{}{}: {}\n", markdown ? "> " : "", c.id, n);
  }
  b += "\n";
  Table table(markdown);
  std::size_t with_notes = 0;
  auto done = engine.AssessEach(*inventory, options, {}, [&](std::size_t, const rules::ModelAnswer& a) {
    any_covered = any_covered || AnyCovered(a, shown);
    for (const auto& d : a.determinations) {
      if (!d.notes.empty()) ++with_notes;
      table.Add(out, MakeRow(a, d));
    }
    return true;
  }, threads);
  if (!done) {
    out.buffer().clear();
    return ReportError("assess", done.error().ToString());
  }
  table.Finish(out);
  if (with_notes > 0 && !explain_any) {
    b += fmt::format("\n{} of these answers carry notes of their own (ambiguities, unpriced stages, effective dates): "
                     "--explain MODEL shows them with every rule considered.\n",
                     with_notes);
  }
  if (explain_any) {
    // A second pass, so that the table comes first and no explanation is held while it prints.
    auto traced = engine.AssessEach(*inventory, options, explained, [&](std::size_t i, const rules::ModelAnswer& a) {
      if (explained(i)) PrintTrace(out, a, markdown);
      return true;
    }, threads);
    if (!traced) return ReportError("assess", traced.error().ToString());
  }
  out.Flush();
  return f.fail_if_covered && any_covered ? 1 : 0;
}

}  // namespace

CommandRunner AddAssessCommand(CLI::App& app) {
  auto flags = std::make_shared<AssessFlags>();
  CLI::App* cmd = app.add_subcommand("assess", "Judge models against each regime: status, clauses, margins, obligations, penalties");
  cmd->add_option("files", flags->files, "model files: TOML, or JSON Lines (.jsonl) for large inventories")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--as-of", flags->as_of, "date to judge on, YYYY-MM-DD (default: today, UTC)");
  cmd->add_option("--regime", flags->regimes, "regime id (repeatable; default: all in the regimes directory)");
  cmd->add_option("--set", flags->sets, "what-if: REGIME.PARAM=VALUE, e.g. ca-sb1047.covered_flop=2e26 (repeatable)");
  cmd->add_option("--format", flags->format, "table (default), markdown or json")
      ->check(CLI::IsMember({"table", "markdown", "json"}));
  CLI::Option* explain =
      cmd->add_option("--explain", flags->explain,
                      "explain every model, or with --explain=MODEL (repeatable) those named: every rule of every "
                      "reading, obligations, notes")
          ->expected(0, 1);
  cmd->add_flag("--fail-if-covered", flags->fail_if_covered, "exit 1 if any model is covered under any reading");
  cmd->add_flag("--quiet", flags->quiet, "print nothing; with --fail-if-covered, the exit code is the answer");
  cmd->add_option("--write-jsonl", flags->write_jsonl,
                  "write the files' models and events as JSON Lines to this file (the bulk format) instead of assessing");
  cmd->add_option("--compare", flags->compare,
                  "A,B: how two regime versions (or any two regimes) differ per model: status, coverage, duties, "
                  "penalty");
  cmd->add_option("--data-dir", flags->data_dir, "directory of the data tables");
  cmd->add_option("--regimes-dir", flags->regimes_dir, "directory of the regime files");
  return [flags, explain] {
    // "--explain" with no value explains every model; with values, only the models named.
    flags->explain.erase(std::remove(flags->explain.begin(), flags->explain.end(), std::string()), flags->explain.end());
    flags->explain_all = explain->count() > 0 && flags->explain.empty();
    return Run(*flags);
  };
}

}  // namespace flopline::cli
