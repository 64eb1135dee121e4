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
#include <numeric>
#include <set>
#include <span>
#include <thread>
#include <unordered_map>
#include <cstring>

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

// Formatted numbers remembered: a million rows hold a handful of distinct thresholds and penalties,
// and formatting each again is most of what printing a row would cost.
class FormatCache {
 public:
  template <typename Make>
  const std::string& Get(double a, double b, std::string_view tag, Make make) {
    for (Entry& e : entries_) {
      if (e.a == a && e.b == b && e.tag == tag) return e.text;
    }
    if (entries_.size() >= 64) entries_.clear();  // many distinct values: bounded, formatted as they come
    return entries_.emplace_back(Entry{a, b, std::string(tag), make()}).text;
  }

 private:
  struct Entry {
    double a, b;
    std::string tag, text;
  };
  std::vector<Entry> entries_;
};

// The summary cells of one model under one regime, and the caches of one printing thread.
struct Row {
  std::string_view status, covered;
  std::string basis, margin, deadline;
  const std::string* penalty = nullptr;
  FormatCache numbers;
};

// The deciding margin, short: "1.2x above 1e+26" (the full one, with what is measured and which
// line, is in --explain and in JSON's "margin").
void ShortMargin(const rules::Determination& d, Row& row) {
  const rules::Margin* m = rules::KeyMarginOf(d);
  if (!m) {
    row.margin = "-";
    return;
  }
  row.margin = m->text;
  row.margin += ' ';
  row.margin += row.numbers.Get(m->threshold, 0, "line", [&] { return fmt::format("{:.3g}", m->threshold); });
}

// Notes that differ only in the parameter they name ("covered_cost_usd: the CPI adjustment ...",
// "finetune_cost_usd: the CPI adjustment ...") as one, naming each: the same sentence twice is noise.
std::vector<std::string> MergeSharedNotes(const std::vector<std::string>& notes) {
  std::vector<std::pair<std::string, std::string>> merged;  // (names, text) in order; names empty: as is
  for (const std::string& n : notes) {
    const std::size_t colon = n.find(": ");
    if (colon == std::string::npos || n.find(' ') < colon) {
      merged.emplace_back("", n);
      continue;
    }
    std::string name = n.substr(0, colon), text = n.substr(colon + 2);
    auto same = std::find_if(merged.begin(), merged.end(), [&](const auto& m) { return !m.first.empty() && m.second == text; });
    if (same != merged.end()) {
      same->first += ", " + name;
    } else {
      merged.emplace_back(std::move(name), std::move(text));
    }
  }
  std::vector<std::string> out;
  for (const auto& [names, text] : merged) out.push_back(names.empty() ? text : names + ": " + text);
  return out;
}

// "2026-11-14 22:00Z", or the date alone at midnight UTC (most statutory deadlines are dates).
std::string ShortInstant(const core::Instant& t) {
  std::string full = t.ToString();  // 2026-11-14T22:00:00Z
  if (full.size() < 20 || full.substr(10) == "T00:00:00Z") return full.substr(0, 10);
  return full.substr(0, 10) + " " + full.substr(11, 5) + "Z";
}

// `text`, its first line starting at column `first_col`, wrapped at spaces so that no line passes
// `width` (a word longer than a line is not cut), the others starting at column `indent`.
void AppendWrapped(std::string& b, std::string_view text, std::size_t first_col, std::size_t indent,
                   std::size_t width) {
  bool first = true;
  while (!text.empty()) {
    const std::size_t col = first ? first_col : indent;
    const std::size_t room = width > col + 20 ? width - col : 20;
    if (!first) b.append(indent, ' ');
    first = false;
    std::size_t take = text.size();
    if (take > room) {
      take = text.rfind(' ', room);
      if (take == std::string_view::npos || take == 0) take = std::min(text.find(' '), text.size());
    }
    b.append(text.substr(0, take));
    b += '\n';
    text.remove_prefix(take);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  }
}

// The summary table. Text: one line per model and regime, every cell aligned: model, regime,
// status, covered, margin, max penalty, and the basis as footnote keys ("[3]") whose clauses are
// printed in full once, under the table, for the keys used; a row with an open or overdue duty has
// its next deadline on a line of its own under it (the rows that need someone stand out, and the
// table stays narrow). A basis in full in every row would make rows of 200 columns or a wall of
// lines; the same few clauses decide most rows. Keys are numbered over the regimes' rules, known
// before the first row, so any chunk of rows can be printed on its own, on any thread; the column
// widths are fitted to the first chunk (all of a small inventory) and a longer cell later pushes
// only its own row. Markdown: one table row each, the basis in full (a renderer wraps).
class Table {
 public:
  static constexpr std::size_t kNoteWidth = 110;  // notes and the legend are wrapped here at least
  static constexpr std::string_view kDeadline = "    next deadline  ";
  static constexpr std::string_view kLegend = "basis  ";  // then the clauses behind the keys

  Table(bool markdown, const std::vector<const rules::Regime*>& regimes) : markdown_(markdown) {
    for (const rules::Regime* r : regimes) {
      for (const rules::Rule& rule : r->rules) {
        if (rule.cite.empty() || keys_.contains(rule.cite)) continue;
        keys_.emplace(rule.cite, cites_.size());
        cites_.push_back(rule.cite);
        key_text_.push_back(std::to_string(cites_.size()));
      }
    }
  }

  std::size_t cites() const { return cites_.size(); }

  // The column widths, from the answers of the first chunk; then the header.
  void Fit(std::span<const rules::ModelAnswer> answers, std::string& b) {
    const char* names[] = {"model", "regime", "status", "covered", "margin", "max penalty"};
    for (std::size_t i = 0; i < std::size(names); ++i) width_[i] = std::strlen(names[i]);
    Row row;
    std::vector<char> ignored(cites_.size());
    for (const rules::ModelAnswer& a : answers) {
      width_[0] = std::max(width_[0], a.id.size());
      for (const rules::Determination& d : a.determinations) {
        MakeRow(d, row, ignored);
        const std::string_view cells[] = {d.regime, row.status, row.covered, row.margin, *row.penalty};
        for (std::size_t i = 0; i < std::size(cells); ++i) width_[i + 1] = std::max(width_[i + 1], cells[i].size());
        basis_width_ = std::max(basis_width_, row.basis.size());
      }
    }
    if (markdown_) {
      b += "| model | regime | status | covered | margin | max penalty (first / later) | next deadline | basis |\n"
           "|---|---|---|---|---|---|---|---|\n";
      return;
    }
    for (std::size_t i = 0; i < std::size(names); ++i) fmt::format_to(std::back_inserter(b), "{:<{}}  ", names[i], width_[i]);
    b += "basis\n";
  }

  // The width of a row.
  std::size_t RowWidth() const {
    return std::accumulate(std::begin(width_), std::end(width_), std::size_t{0}) + 2 * std::size(width_) +
           std::max<std::size_t>(basis_width_, 5);
  }

  // One row; the basis keys it uses are marked in `used`.
  void Add(std::string& b, const rules::ModelAnswer& a, const rules::Determination& d, Row& row, std::vector<char>& used) const {
    MakeRow(d, row, used);
    if (markdown_) {
      const std::string margin = rules::KeyMargin(d);  // in full: a renderer wraps
      fmt::format_to(std::back_inserter(b), "| {} | {} | {} | {} | {} | {} | {} | {} |\n", a.id, d.regime, row.status,
                     row.covered, margin.empty() ? "-" : margin, *row.penalty, row.deadline,
                     d.basis.empty() ? "-" : core::Join(d.basis, "; "));
      return;
    }
    const std::string_view cells[] = {a.id, d.regime, row.status, row.covered, row.margin, *row.penalty};
    for (std::size_t i = 0; i < std::size(cells); ++i) {  // padded by hand: fmt's parsing is most of a row's cost
      b += cells[i];
      b.append(cells[i].size() < width_[i] ? width_[i] - cells[i].size() + 2 : 2, ' ');
    }
    b += row.basis;
    b += '\n';
    if (row.deadline != "-") {
      b += kDeadline;
      b += row.deadline;
      b += '\n';
    }
  }

  // The clauses behind the keys `used` marks, in key order, those of one code ("Cal. Bus. & Prof.
  // Code", the part before the "§") after its name, once, and wrapped at `width` between entries.
  void Legend(std::string& b, const std::vector<char>& used, std::size_t width) const {
    if (markdown_) return;
    std::vector<std::pair<std::string, std::vector<std::string>>> codes;  // (code, "[n] clause")
    for (std::size_t i = 0; i < cites_.size(); ++i) {
      if (!used[i]) continue;
      const std::string& cite = cites_[i];
      const std::size_t section = cite.find("§");
      // A code's name has no numbers ("Art. 3(63); GPAI Guidelines §2.1" is two clauses, not a name).
      const bool named = section != std::string::npos && section > 0 && cite[section - 1] == ' ' &&
                         std::none_of(cite.begin(), cite.begin() + static_cast<std::ptrdiff_t>(section),
                                      [](char c) { return c >= '0' && c <= '9'; });
      std::string code = named ? cite.substr(0, section - 1) : "";
      auto at = std::find_if(codes.begin(), codes.end(), [&](const auto& c) { return c.first == code; });
      if (at == codes.end()) at = codes.insert(codes.end(), {code, {}});
      at->second.push_back(fmt::format("[{}] {}", i + 1, named ? cite.substr(section) : cite));
    }
    if (codes.empty()) return;
    // Under the label "basis", as the next deadline is under its row.
    b += "\n";
    bool first = true;
    for (const auto& [code, entries] : codes) {
      const std::size_t indent = kLegend.size() + (code.empty() ? 0 : code.size() + 1);
      std::string line = first ? std::string(kLegend) : std::string(kLegend.size(), ' ');
      line += code.empty() ? code : code + " ";
      first = false;
      bool empty = true;
      for (const std::string& e : entries) {
        if (!empty && line.size() + 2 + e.size() > width) {
          b += line;
          b += '\n';
          line.assign(indent, ' ');
          empty = true;
        }
        if (!empty) line += "  ";
        line += e;
        empty = false;
      }
      b += line;
      b += '\n';
    }
  }

 private:
  void MakeRow(const rules::Determination& d, Row& row, std::vector<char>& used) const {
    static const std::string kNone = "-";
    row.status = d.status;
    row.covered = !d.covered ? "?" : *d.covered ? "yes" : "no";
    ShortMargin(d, row);
    row.deadline = "-";
    if (const rules::ObligationState* o = rules::NextDeadline(d)) {
      row.deadline = fmt::format("{} {}{}", ShortInstant(*o->due), o->id, o->state == "overdue" ? " (overdue)" : "");
    }
    row.penalty = &kNone;
    if (d.penalty_first) {
      row.penalty = &row.numbers.Get(*d.penalty_first, d.penalty_subsequent.value_or(-1), d.penalty_currency, [&] {
        return Amount(d.penalty_first, d.penalty_currency) + " / " + Amount(d.penalty_subsequent, d.penalty_currency);
      });
    }
    row.basis.clear();
    for (const std::string& cite : d.basis) {
      auto it = keys_.find(cite);
      if (it == keys_.end()) {  // not a rule's cite (none such today): in full
        row.basis += (row.basis.empty() ? "" : "; ") + cite;
        continue;
      }
      used[it->second] = 1;
      row.basis += row.basis.empty() ? '[' : ',';
      row.basis += key_text_[it->second];
    }
    if (!row.basis.empty() && row.basis.front() == '[') row.basis += ']';
    if (row.basis.empty()) row.basis = "-";
  }

  bool markdown_;
  std::size_t width_[6] = {};
  std::size_t basis_width_ = 0;
  std::unordered_map<std::string, std::size_t> keys_;  // cite -> index in cites_
  std::vector<std::string> cites_;
  std::vector<std::string> key_text_;  // "1", "2", ...: the keys as printed
};

// Prints each chunk of answers on every core: the chunk is cut into one run of models per thread,
// each printed into its own buffer, and the buffers are written in order.
class ChunkPrinter {
 public:
  explicit ChunkPrinter(unsigned threads) : buffers_(std::max(1u, threads)) {}

  // `print(buffer, part, index, answer)` for every answer, `part` being the thread's (0 to threads -
  // 1, for its scratch); false from `print` stops (what came before it, in order, is written).
  template <typename Fn>
  bool Print(std::size_t first, std::span<const rules::ModelAnswer> answers, Fn print) {
    const std::size_t n = answers.size();
    const std::size_t parts = std::min<std::size_t>(buffers_.size(), std::max<std::size_t>(1, n / 64));
    std::vector<std::size_t> stop(parts, n);
    auto run = [&](std::size_t part) {
      std::string& b = buffers_[part];
      b.clear();
      for (std::size_t i = n * part / parts; i < n * (part + 1) / parts; ++i) {
        if (!print(b, part, first + i, answers[i])) {
          stop[part] = i;
          return;
        }
      }
    };
    std::vector<std::thread> workers;
    for (std::size_t part = 1; part < parts; ++part) workers.emplace_back(run, part);
    run(0);
    for (std::thread& w : workers) w.join();
    for (std::size_t part = 0; part < parts; ++part) {
      std::fwrite(buffers_[part].data(), 1, buffers_[part].size(), stdout);
      if (stop[part] != n) return false;
    }
    return true;
  }

 private:
  std::vector<std::string> buffers_;
};

// One output buffer per judging thread, for Engine::AssessChunks's `judged` hook: each thread
// appends the models it judges (a consecutive run of the chunk). When a chunk is done its buffers
// are written in order on a thread of their own while the next chunk is judged into a second set:
// the judging threads never wait for a write (a million models' JSON is gigabytes), only, at the
// next chunk's end, for the write before it.
class Fused {
 public:
  explicit Fused(unsigned threads) {
    for (auto& set : sets_) set.resize(std::max(1u, threads));
  }
  ~Fused() { Wait(); }
  std::string& buffer(unsigned part) { return sets_[current_][part]; }
  // Called between chunks (the judging threads are done with the current set).
  bool Write() {
    Wait();  // the set before, which the next chunk is judged into
    std::vector<std::string>& full = sets_[current_];
    writing_ = std::thread([&full] {
      for (std::string& b : full) {
        std::fwrite(b.data(), 1, b.size(), stdout);
        b.clear();
      }
    });
    current_ ^= 1;
    return true;
  }
  // Every set written: before anything else goes to standard output.
  void Wait() {
    if (writing_.joinable()) writing_.join();
  }

 private:
  std::array<std::vector<std::string>, 2> sets_;
  unsigned current_ = 0;
  std::thread writing_;
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

bool AnyCovered(const rules::ModelAnswer& a) {
  for (const rules::Determination& d : a.determinations) {
    for (const rules::Outcome& o : d.outcomes) {
      if (o.covered) return true;
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
  // Each side's regime-wide notes (a superseded version's sources and what no source gives), so a
  // missing duty or penalty is read with its reason.
  rules::AssessOptions both = options;
  both.regimes = {cmp->regime[0], cmp->regime[1]};
  auto contexts = engine.Context(both);
  if (!contexts) return ReportError("assess", contexts.error().ToString());
  auto notes_of = [&](const std::string& id) {
    std::vector<std::string> out;
    for (const auto& c : *contexts) {
      if (c.id != id) continue;
      if (!c.note.empty()) out.push_back(c.note);
      out.insert(out.end(), c.notes.begin(), c.notes.end());
    }
    return out;
  };
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
                          {"notes", {{cmp->regime[0], notes_of(cmp->regime[0])}, {cmp->regime[1], notes_of(cmp->regime[1])}}},
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
  for (int side = 0; side < 2; ++side) {
    std::vector<std::string> notes = notes_of(cmp->regime[side]);
    if (notes.empty()) continue;
    std::printf("\n%snotes on %s:\n", markdown ? "## " : "", cmp->regime[side].c_str());
    for (const auto& n : notes) std::printf("%s%s\n", markdown ? "- " : "  ", n.c_str());
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
  auto loaded = rules::LoadInventory(f.files, *accelerators, *prices);
  if (!loaded) return ReportError("assess", loaded.error().ToString());
  // Kept until the process ends and never freed: freeing a million models' strings one by one
  // took a core most of a second after the answer was written, for nothing. (Reachable from a
  // static, so a leak checker does not count it.)
  static const rules::Inventory* kept = nullptr;
  kept = new rules::Inventory(std::move(*loaded));
  const rules::Inventory* inventory = kept;

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
  // Judged in chunks on every core, and printed the same way. Summaries are brief (the obligations
  // reduced to the next deadline): that is all a summary prints.
  ChunkPrinter printer(threads);
  std::vector<char> covered_seen(threads, 0);          // per printing thread, read once at the end
  std::vector<std::size_t> with_notes(threads, 0);
  auto covered = [&] { return std::find(covered_seen.begin(), covered_seen.end(), 1) != covered_seen.end(); };
  // Each model printed as it is judged, on its judging thread (Fused).
  auto each_chunk = [&](const std::function<bool(std::size_t)>& explain,
                        const std::function<bool(std::string&, std::size_t, std::size_t, const rules::ModelAnswer&)>& print) {
    Fused fused(threads);
    auto done = engine.AssessChunks(*inventory, options, explain,
                                    [&](std::size_t, std::span<const rules::ModelAnswer>) {
                                      fused.Wait();
                                      out.Flush();  // the head, before the first chunk
                                      return fused.Write();
                                    },
                                    threads, rules::Engine::Summaries::kBrief,
                                    [&](unsigned part, std::size_t i, const rules::ModelAnswer& a) {
                                      print(fused.buffer(part), part, i, a);
                                    });
    fused.Wait();
    return done;
  };

  if (f.quiet) {
    auto done = engine.AssessChunks(*inventory, options, {}, [&](std::size_t, std::span<const rules::ModelAnswer> answers) {
      for (const rules::ModelAnswer& a : answers) any_covered = any_covered || AnyCovered(a);
      return !(any_covered && f.fail_if_covered);  // the answer is known: stop judging
    }, threads, rules::Engine::Summaries::kBrief);
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
    std::function<bool(std::size_t)> explain;  // none: large chunks
    if (explain_any) explain = explained;
    auto done = each_chunk(explain, [&](std::string& into, std::size_t part, std::size_t i, const rules::ModelAnswer& a) {
      if (!covered_seen[part] && AnyCovered(a)) covered_seen[part] = 1;
      if (i > 0) into += ",\n";
      if (a.determinations.empty() || !a.determinations.front().explained) {
        rules::AppendSummaryJson(into, a);
      } else {
        into += rules::ModelToJson(a).dump();
      }
      return true;
    });
    if (!done) {
      out.buffer().clear();
      return ReportError("assess", done.error().ToString());
    }
    b += "\n]}\n";
    out.Flush();
    return f.fail_if_covered && covered() ? 1 : 0;
  }

  const bool markdown = f.format == "markdown";
  std::string& b = out.buffer();
  Table table(markdown, shown);
  std::size_t width = Table::kNoteWidth;  // the notes' and the legend's: the table's, once fitted
  // The title, then the notes that hold for every model, stated once (a note several parameters
  // share, named once with all of them), then the header: after the first chunk is judged, so that
  // the columns fit it and the notes wrap at the table's width.
  auto head = [&](std::span<const rules::ModelAnswer> first_chunk) {
    std::string header;
    table.Fit(first_chunk, header);
    width = std::max(width, table.RowWidth());
    b += markdown ? fmt::format("# flopline assess, as of {}\n\n", options.as_of.ToString())
                  : fmt::format("flopline assess, as of {}: {} models under {} regimes\n", options.as_of.ToString(),
                                inventory->models.size(), contexts->size());
    auto note = [&](const std::string& text) {
      if (markdown) {
        b += "> " + text + "\n";
      } else {
        AppendWrapped(b, text, 0, 2, width);  // continued two columns in
      }
    };
    for (const auto& c : *contexts) {
      if (!c.note.empty()) note(c.note);
      for (const auto& n : MergeSharedNotes(c.notes)) note(c.id + ": " + n);
    }
    b += "\n";
    b += header;
  };
  std::vector<Row> rows(threads);  // one per printing thread, reused row after row
  std::vector<std::vector<char>> used(threads, std::vector<char>(table.cites(), 0));  // basis keys, per thread
  bool headed = false;
  auto print_row = [&](std::string& into, std::size_t part, std::size_t, const rules::ModelAnswer& a) {
    if (!covered_seen[part] && AnyCovered(a)) covered_seen[part] = 1;
    for (const auto& d : a.determinations) {
      if (!d.notes.empty()) ++with_notes[part];
      table.Add(into, a, d, rows[part], used[part]);
    }
    return true;
  };
  // The first chunk is printed once judged, as its widths are fitted to it; the later ones as each
  // model is judged, on its judging thread, into that thread's buffer (Fused).
  Fused fused(threads);
  auto done = engine.AssessChunks(*inventory, options, {},
                                  [&](std::size_t first, std::span<const rules::ModelAnswer> answers) {
                                    if (headed) return fused.Write();
                                    head(answers);
                                    headed = true;
                                    out.Flush();
                                    return printer.Print(first, answers, print_row);
                                  },
                                  threads, rules::Engine::Summaries::kBrief,
                                  [&](unsigned part, std::size_t i, const rules::ModelAnswer& a) {
                                    if (headed) print_row(fused.buffer(part), part, i, a);
                                  });
  fused.Wait();  // the last chunk written before the legend
  if (!done) {
    out.buffer().clear();
    return ReportError("assess", done.error().ToString());
  }
  if (!headed) head({});  // no models
  any_covered = covered();
  for (std::size_t part = 1; part < used.size(); ++part) {
    for (std::size_t i = 0; i < used[0].size(); ++i) used[0][i] |= used[part][i];
  }
  table.Legend(b, used[0], width);
  const std::size_t noted = std::accumulate(with_notes.begin(), with_notes.end(), std::size_t{0});
  if (noted > 0 && !explain_any) {
    AppendWrapped(b, fmt::format("{} of these answers carry notes of their own (ambiguities, unpriced stages, "
                                 "dates): --explain=MODEL shows them.",
                                 noted),
                  0, 0, width);
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
