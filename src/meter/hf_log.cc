// Hugging Face Trainer logs as step events (hf_log.h): the console's logs dicts (Python's str() of a
// dict: quoted keys, numbers, strings, None/True/False, tensor(...) reprs) read by hand, and
// trainer_state.json with nlohmann-json plus a scan for the line each log_history entry starts on.
#include "flopline/meter/hf_log.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "line_error.h"

namespace flopline::meter {
namespace {

using nlohmann::json;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// One key of a logs dict and its value when it is a number.
struct Item {
  std::string key;
  std::optional<double> number;
};

// Python's str() of a dict of scalars: {'loss': 2.3, 'epoch': 0.01}. Values that are not numbers
// (strings, None, tensor(1.2, device='cuda:0')) are kept as absent numbers.
core::Result<std::vector<Item>> ParseDict(std::string_view s, const At& at) {
  std::vector<Item> items;
  std::size_t i = 1;  // past '{'
  auto skip = [&] {
    while (i < s.size() && IsSpace(s[i])) ++i;
  };
  auto quoted = [&](std::string* out) -> bool {
    char q = s[i++];
    while (i < s.size() && s[i] != q) {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      if (out) out->push_back(s[i]);
      ++i;
    }
    if (i >= s.size()) return false;
    ++i;
    return true;
  };
  skip();
  if (i < s.size() && s[i] == '}') {
    ++i;
  } else {
    for (;;) {
      skip();
      if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) return Bad(at, "logs", "expected a quoted key in the logs dict");
      Item item;
      if (!quoted(&item.key)) return Bad(at, "logs", "a key is not closed");
      skip();
      if (i >= s.size() || s[i] != ':') return Bad(at, item.key, "expected ':' after the key");
      ++i;
      skip();
      std::size_t start = i;
      int depth = 0;
      while (i < s.size()) {
        char c = s[i];
        if (c == '\'' || c == '"') {
          if (!quoted(nullptr)) return Bad(at, item.key, "a string is not closed");
          continue;
        }
        if (c == '(' || c == '[' || c == '{') ++depth;
        if ((c == ')' || c == ']' || c == '}') && depth > 0) {
          --depth;
        } else if (depth == 0 && (c == ',' || c == '}')) {
          break;
        }
        ++i;
      }
      if (i >= s.size()) return Bad(at, item.key, "the logs dict is not closed");
      std::string_view value = Trim(s.substr(start, i - start));
      if (value.empty()) return Bad(at, item.key, "has no value");
      double v = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec == std::errc() && end == value.data() + value.size()) item.number = v;
      for (const Item& other : items) {
        if (other.key == item.key) return Bad(at, item.key, "is given twice");
      }
      items.push_back(std::move(item));
      if (s[i] == '}') {
        ++i;
        break;
      }
      ++i;  // ','
    }
  }
  if (!Trim(s.substr(i)).empty()) return Bad(at, "logs", "unexpected text after the logs dict");
  return items;
}

const Item* Find(const std::vector<Item>& items, std::string_view key) {
  for (const Item& i : items) {
    if (i.key == key) return &i;
  }
  return nullptr;
}

// A count the Trainer keeps: a finite number >= 0 (a whole one for tokens).
core::Result<double> Count(std::optional<double> v, const At& at, const std::string& key, double max, bool whole) {
  if (!v || !std::isfinite(*v) || *v < 0 || (whole && *v != std::floor(*v))) {
    return Bad(at, key, whole ? "expected a whole number >= 0" : "expected a finite number >= 0");
  }
  if (*v > max) return Bad(at, key, fmt::format("{:g} is more than {:g}", *v, max));
  return *v;
}

core::Result<double> Tokens(double seen, std::optional<double>& previous, const At& at) {
  double tokens = previous ? seen - *previous : seen;
  if (tokens < 0) {
    return Bad(at, "num_input_tokens_seen", fmt::format("goes backwards: {:g} after {:g}", seen, *previous));
  }
  if (tokens > kMaxTokensPerEvent) {
    return Bad(at, "num_input_tokens_seen", fmt::format("{:g} tokens in one entry is more than {:g}", tokens, kMaxTokensPerEvent));
  }
  previous = seen;
  return tokens;
}

constexpr char kNoTokens[] =
    "the log gives no tokens to compute FLOP from: give --tokens-per-step, or train with "
    "include_num_input_tokens_seen=True";

// The byte offsets at which the elements of the root object's "log_history" array start.
std::vector<std::size_t> HistoryOffsets(std::string_view text) {
  std::vector<std::size_t> out;
  int depth = 0;
  bool in_history = false;
  std::string last_key;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      std::size_t start = ++i;
      while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      if (depth == 1 && i <= text.size()) last_key = std::string(text.substr(start, std::min(i, text.size()) - start));
      if (in_history && depth == 2) out.push_back(start - 1);
      continue;
    }
    if (c == '{' || c == '[') {
      if (in_history && depth == 2) out.push_back(i);
      if (depth == 1 && c == '[' && last_key == "log_history") in_history = true;
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
      if (depth == 1) in_history = false;
    } else if (in_history && depth == 2 && !IsSpace(c) && c != '\n' && c != ',') {
      out.push_back(i);  // a number, true, false or null in the array
      while (i + 1 < text.size() && text[i + 1] != ',' && text[i + 1] != ']' && !IsSpace(text[i + 1])) ++i;
    }
  }
  return out;
}

int LineOf(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

}  // namespace

core::Result<std::optional<StepEvent>> HfLogParser::ParseLine(std::string_view line, const std::string& file,
                                                              int line_number, double time, const HfCounted& counted) {
  At at{file, line_number};
  if (line.size() > kMaxLineBytes) return Bad(at, "", fmt::format("the line is {} bytes; at most {}", line.size(), kMaxLineBytes));
  // tqdm's bar may precede the dict on the same line (it ends its updates with '\r', not '\n').
  std::size_t open = line.find("{'");
  if (open == std::string_view::npos) return std::nullopt;
  FL_ASSIGN_OR_RETURN(std::vector<Item> items, ParseDict(line.substr(open), at));
  bool training = Find(items, "loss") != nullptr;
  bool final = Find(items, "train_runtime") != nullptr;
  if (!training && !final) return std::nullopt;  // an evaluation's metrics: no training compute
  StepEvent e;
  e.run = options_.run;
  e.time = time;
  if (training) {
    ++entries_;
    e.step = std::min(entries_ * options_.logging_steps, kMaxStep);
    std::optional<double> tokens;
    if (const Item* seen = Find(items, "num_input_tokens_seen")) {
      FL_ASSIGN_OR_RETURN(double v, Count(seen->number, at, seen->key, 1e18, true));
      FL_ASSIGN_OR_RETURN(tokens, Tokens(v, tokens_seen_, at));
    } else if (options_.tokens_per_step) {
      tokens = *options_.tokens_per_step * static_cast<double>(options_.logging_steps);
    }
    if (!options_.flop_from_config) return std::nullopt;  // the final total_flos counts the run
    if (!tokens) return Bad(at, "num_input_tokens_seen", kNoTokens);
    if (*tokens > kMaxTokensPerEvent) return Bad(at, "num_input_tokens_seen", "too many tokens in one entry");
    e.tokens = *tokens;
    return std::optional<StepEvent>(e);
  }
  if (options_.flop_from_config) return std::nullopt;  // counted from the entries' tokens
  const Item* total = Find(items, "total_flos");
  if (!total) return Bad(at, "total_flos", "is required without --config: it is the Trainer's own count");
  FL_ASSIGN_OR_RETURN(double flos, Count(total->number, at, total->key, kMaxFlopPerEvent, false));
  if (flos <= counted.flop) return std::nullopt;  // nothing the run has not counted
  e.step = std::max<std::int64_t>(1, std::min(entries_ * options_.logging_steps, kMaxStep));
  e.flop = flos - counted.flop;
  e.tokens = tokens_seen_ ? std::clamp(*tokens_seen_ - counted.tokens, 0.0, kMaxTokensPerEvent) : 0;
  return std::optional<StepEvent>(e);
}

core::Result<std::vector<std::pair<int, StepEvent>>> HfLogParser::ParseTrainerState(std::string_view text,
                                                                                  const std::string& file, double time,
                                                                                  const HfCounted& counted) {
  if (text.size() > kMaxTrainerStateBytes) {
    return Bad(At{file, 1}, "", fmt::format("the file is {} bytes; at most {}", text.size(), kMaxTrainerStateBytes));
  }
  json d;
  try {
    d = json::parse(text);
  } catch (const json::parse_error& e) {
    std::string what = e.what();
    if (auto close = what.find("] "); close != std::string::npos) what = what.substr(close + 2);
    return Bad(At{file, LineOf(text, e.byte > 0 ? e.byte - 1 : 0)}, "", "not valid JSON: " + what);
  } catch (const json::exception& e) {
    // A number too large for a double ("number overflow parsing '1e400'"): the line it is on.
    std::string what = e.what();
    if (auto close = what.find("] "); close != std::string::npos) what = what.substr(close + 2);
    std::size_t at = 0;
    if (auto q = what.find('\''); q != std::string::npos) {
      std::size_t end = what.find('\'', q + 1);
      if (end != std::string::npos && end > q + 1) at = std::min(text.find(what.substr(q + 1, end - q - 1)), text.size());
    }
    return Bad(At{file, LineOf(text, at)}, "", "not valid JSON: " + what);
  }
  At top{file, 1};
  if (!d.is_object()) return Bad(top, "", "expected trainer_state.json's object");
  auto history = d.find("log_history");
  if (history == d.end() || !history->is_array()) return Bad(top, "log_history", "is required (an array)");
  auto global = d.find("global_step");
  if (global == d.end() || !global->is_number()) return Bad(top, "global_step", "is required (a whole number)");
  FL_ASSIGN_OR_RETURN(double global_step, Count(global->get<double>(), top, "global_step", static_cast<double>(kMaxStep), true));
  std::vector<std::size_t> offsets = HistoryOffsets(text);

  std::vector<std::pair<int, StepEvent>> events;
  std::optional<double> seen;  // num_input_tokens_seen of the previous training entry
  double previous_step = 0;
  for (std::size_t k = 0; k < history->size(); ++k) {
    At at{file, k < offsets.size() ? LineOf(text, offsets[k]) : 1};
    const json& entry = (*history)[k];
    if (!entry.is_object()) return Bad(at, "log_history", "expected an object per entry");
    if (!entry.contains("loss")) continue;  // evaluations and the final metrics
    auto step = entry.find("step");
    if (step == entry.end() || !step->is_number()) return Bad(at, "step", "is required (a whole number)");
    FL_ASSIGN_OR_RETURN(double s, Count(step->get<double>(), at, "step", static_cast<double>(kMaxStep), true));
    if (s < 1) return Bad(at, "step", "must be at least 1");
    std::optional<double> tokens;
    if (auto t = entry.find("num_input_tokens_seen"); t != entry.end()) {
      FL_ASSIGN_OR_RETURN(double v, Count(t->is_number() ? std::optional<double>(t->get<double>()) : std::nullopt, at,
                                          "num_input_tokens_seen", 1e18, true));
      FL_ASSIGN_OR_RETURN(tokens, Tokens(v, seen, at));
    } else if (options_.tokens_per_step) {
      tokens = *options_.tokens_per_step * std::max(0.0, s - previous_step);
      if (*tokens > kMaxTokensPerEvent) return Bad(at, "step", "too many tokens in one entry");
    }
    previous_step = std::max(previous_step, s);
    if (!options_.flop_from_config) continue;
    if (!tokens) return Bad(at, "num_input_tokens_seen", kNoTokens);
    StepEvent e;
    e.run = options_.run;
    e.time = time;
    e.step = static_cast<std::int64_t>(s);
    e.tokens = *tokens;
    events.emplace_back(at.line, e);
  }
  if (options_.flop_from_config || global_step < 1) return events;
  auto total = d.find("total_flos");
  if (total == d.end()) return Bad(top, "total_flos", "is required without --config: it is the Trainer's own count");
  FL_ASSIGN_OR_RETURN(double flos, Count(total->is_number() ? std::optional<double>(total->get<double>()) : std::nullopt,
                                         top, "total_flos", kMaxFlopPerEvent, false));
  if (flos <= counted.flop) return events;
  StepEvent e;
  e.run = options_.run;
  e.time = time;
  e.step = static_cast<std::int64_t>(global_step);
  e.flop = flos - counted.flop;
  e.tokens = seen ? std::clamp(*seen - counted.tokens, 0.0, kMaxTokensPerEvent) : 0;
  events.emplace_back(1, e);
  return events;
}

}  // namespace flopline::meter
